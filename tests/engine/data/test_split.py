"""Tests for engine.data.split: stratified seeded splits and split files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.data.scan import Dataset, scan_dataset
from engine.data.split import read_split_file, split_dataset
from engine.errors import DatasetError
from tests.conftest import write_class
from tests.engine import badfiles


def _write_csv(path: Path, rows: list[tuple[str, str, str]], header: str = "path,label,split"):
    lines = [header, *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rows(dataset: Dataset, split_of) -> list[tuple[str, str, str]]:
    """One CSV row per dataset image; split_of(i) names its split."""
    return [
        (path.relative_to(dataset.root).as_posix(), dataset.class_names[label], split_of(i))
        for i, (path, label) in enumerate(zip(dataset.paths, dataset.labels, strict=True))
    ]


# --- split_dataset --------------------------------------------------------------------


def _split_sets(split) -> list[set[Path]]:
    return [set(part.paths) for part in (split.train, split.validation, split.test)]


def test_split_is_stratified_disjoint_and_complete(image_folder: Path) -> None:
    dataset = scan_dataset(image_folder)
    split = split_dataset(dataset, validation_fraction=0.25, test_fraction=0.25, seed=3)
    train, validation, test = _split_sets(split)
    assert not (train & validation or train & test or validation & test)
    assert train | validation | test == set(dataset.paths)
    for part, per_class in ((split.train, 6), (split.validation, 3), (split.test, 3)):
        assert np.bincount(part.labels, minlength=3).tolist() == [per_class] * 3
        for path, label in zip(part.paths, part.labels, strict=True):
            assert path.parent.name == split.class_names[label]


def test_split_depends_only_on_the_seed(image_folder: Path) -> None:
    dataset = scan_dataset(image_folder)
    first = split_dataset(dataset, seed=7)
    assert split_dataset(dataset, seed=7) == first
    assert split_dataset(dataset, seed=8) != first


@pytest.mark.parametrize(("count", "train", "validation", "test"), [(1, 1, 0, 0), (2, 1, 0, 1)])
def test_tiny_class_keeps_a_training_image(
    image_folder: Path, count: int, train: int, validation: int, test: int
) -> None:
    write_class(image_folder, "white", count)
    dataset = scan_dataset(image_folder)
    white = dataset.class_names.index("white")
    split = split_dataset(dataset)
    counted = [part.labels.count(white) for part in (split.train, split.validation, split.test)]
    assert counted == [train, validation, test]


@pytest.mark.parametrize(("validation", "test"), [(-0.1, 0.2), (0.5, 0.5), (0.1, 1.2)])
def test_bad_fractions_are_refused(image_folder: Path, validation: float, test: float) -> None:
    dataset = scan_dataset(image_folder)
    with pytest.raises(DatasetError, match="add up to less than 1"):
        split_dataset(dataset, validation, test)


# --- read_split_file ------------------------------------------------------------------


def test_split_file_with_validation_rows_is_used_as_written(
    image_folder: Path, tmp_path: Path
) -> None:
    dataset = scan_dataset(image_folder)
    names = ["TRAIN", "train", "Val", "validation", "test", "test"]
    csv_path = _write_csv(tmp_path / "s.csv", _rows(dataset, lambda i: names[i % 6]))
    split = read_split_file(dataset, csv_path)
    assert (len(split.train), len(split.validation), len(split.test)) == (12, 12, 12)
    assert set(split.test.paths) == set(dataset.paths[4::6] + dataset.paths[5::6])
    assert list(split.test.paths) == sorted(split.test.paths)  # dataset order
    assert split.notes == ()


def test_split_file_without_validation_rows_carves_a_seeded_validation_part(
    image_folder: Path, tmp_path: Path
) -> None:
    dataset = scan_dataset(image_folder)
    csv_path = _write_csv(
        tmp_path / "s.csv", _rows(dataset, lambda i: "test" if i % 4 == 0 else "train")
    )
    split = read_split_file(dataset, csv_path, validation_fraction=0.2, seed=1)
    assert (len(split.train), len(split.validation), len(split.test)) == (21, 6, 9)
    assert np.bincount(split.validation.labels).tolist() == [2, 2, 2]
    assert not set(split.validation.paths) & set(split.test.paths)
    assert split == read_split_file(dataset, csv_path, validation_fraction=0.2, seed=1)
    assert "no validation rows" in split.notes[0]


def test_split_file_drops_rows_for_missing_and_skipped_files_and_counts_them(
    image_folder: Path, tmp_path: Path
) -> None:
    badfiles.zero_byte(image_folder / "red")
    dataset = scan_dataset(image_folder)
    rows = _rows(dataset, lambda i: "test" if i % 2 else "train")
    rows += [("red/empty.jpg", "red", "train"), ("red/gone.png", "red", "test")]
    rows += [(".\\red\\gone2.png", "red", "test")]
    split = read_split_file(dataset, _write_csv(tmp_path / "s.csv", rows))
    assert len(split.train) + len(split.validation) + len(split.test) == len(dataset.paths)
    notes = " ".join(split.notes)
    assert "2 rows of s.csv name files that do not exist" in notes
    assert "1 rows of s.csv name files skipped while scanning" in notes


def test_split_file_label_overrides_folder_only_when_it_is_a_class(
    image_folder: Path, tmp_path: Path
) -> None:
    dataset = scan_dataset(image_folder)
    rows = _rows(dataset, lambda i: "test" if i % 2 else "train")
    rows[0] = (rows[0][0], "green", rows[0][2])  # a blue photo the CSV calls green
    split = read_split_file(dataset, _write_csv(tmp_path / "s.csv", rows))
    position = split.train.paths.index(dataset.paths[0])
    assert split.class_names[split.train.labels[position]] == "green"
    assert any("CSV label was used" in note for note in split.notes)
    rows[0] = (rows[0][0], "purple", rows[0][2])
    with pytest.raises(DatasetError, match="label 'purple' is not one of the classes"):
        read_split_file(dataset, _write_csv(tmp_path / "s.csv", rows))


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ("no_test", "no test rows"),
        ("bad_split", "is not train, validation"),
        ("duplicate", "listed twice"),
        ("bad_header", "lacks the column(s) split"),
        ("missing_file", "does not exist"),
        ("not_utf8", "UTF-8 CSV"),
    ],
)
def test_bad_split_files_raise_dataset_error(
    image_folder: Path, tmp_path: Path, change: str, word: str
) -> None:
    dataset = scan_dataset(image_folder)
    rows = _rows(dataset, lambda i: "test" if i % 2 else "train")
    csv_path = tmp_path / "s.csv"
    if change == "no_test":
        _write_csv(csv_path, [(p, label, "train") for p, label, _ in rows])
    elif change == "bad_split":
        _write_csv(csv_path, [*rows, (rows[0][0], rows[0][1], "holdout")])
    elif change == "duplicate":
        _write_csv(csv_path, [*rows, rows[0]])
    elif change == "bad_header":
        _write_csv(csv_path, rows, header="path,label,part")
    elif change == "not_utf8":
        csv_path.write_bytes(b"path,label,split\n\xff\xfe\xfa,x,y\n")
    with pytest.raises(DatasetError) as caught:
        read_split_file(dataset, csv_path)
    assert word in str(caught.value)
