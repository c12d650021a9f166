"""Tests for engine.datasets: scanning, splitting, split files, tf.data pipelines, user paths."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from engine import datasets, images
from engine.datasets import Dataset, Subset
from engine.errors import DatasetError, ImageError, PathNotAllowedError
from engine.settings import Settings
from tests.conftest import CLASS_COLORS, write_image
from tests.engine import badfiles

NUM_PER_CLASS = 12  # the image_folder fixture: red / green / blue x 12


def _write_class(root: Path, name: str, count: int) -> None:
    for i in range(count):
        write_image(root / name / f"{name}_{i:02d}.png", CLASS_COLORS.get(name, (90, 90, 90)), 8)


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


# --- scan_dataset ---------------------------------------------------------------------


def test_scan_finds_classes_sorted_with_absolute_paths(image_folder: Path) -> None:
    dataset = datasets.scan_dataset(image_folder)
    assert dataset.class_names == ("blue", "green", "red")
    assert dataset.counts() == {"blue": 12, "green": 12, "red": 12}
    assert dataset.root == image_folder.resolve()
    assert all(path.is_absolute() for path in dataset.paths)
    assert list(dataset.paths) == sorted(dataset.paths)
    for path, label in zip(dataset.paths, dataset.labels, strict=True):
        assert path.parent.name == dataset.class_names[label]
    assert dataset.skipped == () and dataset.warnings == ()


def test_scan_ignores_hidden_and_top_level_files_and_reads_any_case_extension(
    image_folder: Path,
) -> None:
    (image_folder / "splits.csv").write_text("path,label,split\n")
    (image_folder / "README.txt").write_text("hello")
    _write_class(image_folder, ".cache", 2)
    (image_folder / "red" / ".DS_Store").write_bytes(b"\0")
    write_image(image_folder / "red" / "SHOUTING.PNG", (220, 30, 30), 8)
    write_image(image_folder / "red" / "nested" / "deeper.png", (220, 30, 30), 8)
    dataset = datasets.scan_dataset(image_folder)
    assert dataset.class_names == ("blue", "green", "red")
    assert dataset.counts()["red"] == NUM_PER_CLASS + 2
    assert dataset.skipped == ()


def test_scan_skips_bad_files_with_reasons_and_keeps_good_ones(image_folder: Path) -> None:
    badfiles.refused_photos(image_folder / "red")
    (image_folder / "red" / "notes.txt").write_text("not a photo")
    dataset = datasets.scan_dataset(image_folder)
    assert dataset.counts()["red"] == NUM_PER_CLASS
    reasons = {item.path: item.reason for item in dataset.skipped}
    assert "empty file" in reasons["red/empty.jpg"]
    assert "truncated or corrupt" in reasons["red/truncated.jpg"]
    assert "HTML/text" in reasons["red/page.jpg"]
    assert "HTML/text" in reasons["red/notes.jpg"]
    assert "megapixels" in reasons["red/huge.png"]
    assert "not a supported image type" in reasons["red/notes.txt"]


def test_scan_applies_the_pixel_limit(image_folder: Path) -> None:
    write_image(image_folder / "red" / "large.png", (220, 30, 30), size=64)
    dataset = datasets.scan_dataset(image_folder, max_pixels=40 * 40)
    assert [item.path for item in dataset.skipped] == ["red/large.png"]


def test_empty_class_folder_is_skipped_and_dropped(image_folder: Path) -> None:
    (image_folder / "yellow").mkdir()
    badfiles.zero_byte(image_folder / "purple")
    dataset = datasets.scan_dataset(image_folder)
    assert dataset.class_names == ("blue", "green", "red")
    reasons = {item.path: item.reason for item in dataset.skipped}
    assert "empty folder" in reasons["yellow/"]
    assert "no readable images" in reasons["purple/"]


def test_class_with_one_image_is_kept_with_a_warning(image_folder: Path) -> None:
    _write_class(image_folder, "white", 1)
    dataset = datasets.scan_dataset(image_folder)
    assert dataset.counts()["white"] == 1
    assert dataset.warnings == ("class 'white' has only 1 image (5 or more recommended)",)


def test_one_class_is_not_a_dataset(tmp_path: Path) -> None:
    _write_class(tmp_path / "data", "cats", 3)
    (tmp_path / "data" / "dogs").mkdir()
    with pytest.raises(DatasetError, match=r"found 1 class \('cats'\).*at least 2 class"):
        datasets.scan_dataset(tmp_path / "data")


@pytest.mark.parametrize("case", ["missing", "file", "no_subfolders"])
def test_unusable_root_names_the_path(tmp_path: Path, case: str) -> None:
    root = tmp_path / "photos"
    expected = {"missing": "does not exist", "file": "not a folder", "no_subfolders": "sub-folder"}
    if case == "file":
        root.write_text("x")
    elif case == "no_subfolders":
        write_image(root / "loose.png", (1, 2, 3), 8)
    with pytest.raises(DatasetError) as caught:
        datasets.scan_dataset(root)
    assert str(root) in str(caught.value)
    assert expected[case] in str(caught.value)
    if case == "no_subfolders":
        assert "holds 1 images directly" in str(caught.value)


def test_file_name_that_is_not_utf8_is_skipped_with_a_printable_reason(
    image_folder: Path,
) -> None:
    if badfiles.non_utf8_name(image_folder / "red") is None:
        pytest.skip("this filesystem refuses file names that are not valid UTF-8")
    dataset = datasets.scan_dataset(image_folder)
    assert dataset.counts()["red"] == NUM_PER_CLASS
    (item,) = dataset.skipped
    assert item.path == "red/bad\ufffd.png"
    assert "UTF-8" in item.reason
    item.path.encode("utf-8")


# --- split_dataset --------------------------------------------------------------------


def _split_sets(split) -> list[set[Path]]:
    return [set(part.paths) for part in (split.train, split.validation, split.test)]


def test_split_is_stratified_disjoint_and_complete(image_folder: Path) -> None:
    dataset = datasets.scan_dataset(image_folder)
    split = datasets.split_dataset(dataset, validation_fraction=0.25, test_fraction=0.25, seed=3)
    train, validation, test = _split_sets(split)
    assert not (train & validation or train & test or validation & test)
    assert train | validation | test == set(dataset.paths)
    for part, per_class in ((split.train, 6), (split.validation, 3), (split.test, 3)):
        assert np.bincount(part.labels, minlength=3).tolist() == [per_class] * 3
        for path, label in zip(part.paths, part.labels, strict=True):
            assert path.parent.name == split.class_names[label]


def test_split_depends_only_on_the_seed(image_folder: Path) -> None:
    dataset = datasets.scan_dataset(image_folder)
    first = datasets.split_dataset(dataset, seed=7)
    assert datasets.split_dataset(dataset, seed=7) == first
    assert datasets.split_dataset(dataset, seed=8) != first


@pytest.mark.parametrize(("count", "train", "validation", "test"), [(1, 1, 0, 0), (2, 1, 0, 1)])
def test_tiny_class_keeps_a_training_image(
    image_folder: Path, count: int, train: int, validation: int, test: int
) -> None:
    _write_class(image_folder, "white", count)
    dataset = datasets.scan_dataset(image_folder)
    white = dataset.class_names.index("white")
    split = datasets.split_dataset(dataset)
    counted = [part.labels.count(white) for part in (split.train, split.validation, split.test)]
    assert counted == [train, validation, test]


@pytest.mark.parametrize(("validation", "test"), [(-0.1, 0.2), (0.5, 0.5), (0.1, 1.2)])
def test_bad_fractions_are_refused(image_folder: Path, validation: float, test: float) -> None:
    dataset = datasets.scan_dataset(image_folder)
    with pytest.raises(DatasetError, match="add up to less than 1"):
        datasets.split_dataset(dataset, validation, test)


# --- read_split_file ------------------------------------------------------------------


def test_split_file_with_validation_rows_is_used_as_written(
    image_folder: Path, tmp_path: Path
) -> None:
    dataset = datasets.scan_dataset(image_folder)
    names = ["TRAIN", "train", "Val", "validation", "test", "test"]
    csv_path = _write_csv(tmp_path / "s.csv", _rows(dataset, lambda i: names[i % 6]))
    split = datasets.read_split_file(dataset, csv_path)
    assert (len(split.train), len(split.validation), len(split.test)) == (12, 12, 12)
    assert set(split.test.paths) == set(dataset.paths[4::6] + dataset.paths[5::6])
    assert list(split.test.paths) == sorted(split.test.paths)  # dataset order
    assert split.notes == ()


def test_split_file_without_validation_rows_carves_a_seeded_validation_part(
    image_folder: Path, tmp_path: Path
) -> None:
    dataset = datasets.scan_dataset(image_folder)
    csv_path = _write_csv(
        tmp_path / "s.csv", _rows(dataset, lambda i: "test" if i % 4 == 0 else "train")
    )
    split = datasets.read_split_file(dataset, csv_path, validation_fraction=0.2, seed=1)
    assert (len(split.train), len(split.validation), len(split.test)) == (21, 6, 9)
    assert np.bincount(split.validation.labels).tolist() == [2, 2, 2]
    assert not set(split.validation.paths) & set(split.test.paths)
    assert split == datasets.read_split_file(dataset, csv_path, validation_fraction=0.2, seed=1)
    assert "no validation rows" in split.notes[0]


def test_split_file_drops_rows_for_missing_and_skipped_files_and_counts_them(
    image_folder: Path, tmp_path: Path
) -> None:
    badfiles.zero_byte(image_folder / "red")
    dataset = datasets.scan_dataset(image_folder)
    rows = _rows(dataset, lambda i: "test" if i % 2 else "train")
    rows += [("red/empty.jpg", "red", "train"), ("red/gone.png", "red", "test")]
    rows += [(".\\red\\gone2.png", "red", "test")]
    split = datasets.read_split_file(dataset, _write_csv(tmp_path / "s.csv", rows))
    assert len(split.train) + len(split.validation) + len(split.test) == len(dataset.paths)
    notes = " ".join(split.notes)
    assert "2 rows of s.csv name files that do not exist" in notes
    assert "1 rows of s.csv name files skipped while scanning" in notes


def test_split_file_label_overrides_folder_only_when_it_is_a_class(
    image_folder: Path, tmp_path: Path
) -> None:
    dataset = datasets.scan_dataset(image_folder)
    rows = _rows(dataset, lambda i: "test" if i % 2 else "train")
    rows[0] = (rows[0][0], "green", rows[0][2])  # a blue photo the CSV calls green
    split = datasets.read_split_file(dataset, _write_csv(tmp_path / "s.csv", rows))
    position = split.train.paths.index(dataset.paths[0])
    assert split.class_names[split.train.labels[position]] == "green"
    assert any("CSV label was used" in note for note in split.notes)
    rows[0] = (rows[0][0], "purple", rows[0][2])
    with pytest.raises(DatasetError, match="label 'purple' is not one of the classes"):
        datasets.read_split_file(dataset, _write_csv(tmp_path / "s.csv", rows))


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
    dataset = datasets.scan_dataset(image_folder)
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
        datasets.read_split_file(dataset, csv_path)
    assert word in str(caught.value)


# --- make_pipeline --------------------------------------------------------------------


def test_pipeline_shapes_dtypes_and_order(image_folder: Path) -> None:
    dataset = datasets.scan_dataset(image_folder)
    subset = Subset(dataset.paths[::3], dataset.labels[::3])
    pipeline = datasets.make_pipeline(subset, image_size=16, batch_size=5)
    assert pipeline.element_spec[0].shape.as_list() == [None, 16, 16, 3]
    batches = list(pipeline)
    assert [len(labels) for _, labels in batches] == [5, 5, 2]
    pictures = np.concatenate([pixels.numpy() for pixels, _ in batches])
    labels = np.concatenate([labels.numpy() for _, labels in batches])
    assert batches[0][0].dtype == tf.float32 and batches[0][1].dtype == tf.int32
    assert labels.tolist() == list(subset.labels)
    np.testing.assert_array_equal(pictures[4], images.load_array(subset.paths[4], 16))
    assert 0 <= pictures.min() and pictures.max() <= 255


def test_pipeline_shuffles_with_seed_and_reshuffles_each_epoch(image_folder: Path) -> None:
    dataset = datasets.scan_dataset(image_folder)
    subset = Subset(dataset.paths, tuple(range(len(dataset.paths))))  # labels = positions

    def epochs(pipeline: tf.data.Dataset) -> list[list[int]]:
        return [np.concatenate([y.numpy() for _, y in pipeline]).tolist() for _ in range(2)]

    first, second = epochs(datasets.make_pipeline(subset, 8, 8, shuffle=True, seed=5))
    assert sorted(first) == list(range(len(subset)))
    assert first != second and first != sorted(first)
    assert epochs(datasets.make_pipeline(subset, 8, 8, shuffle=True, seed=5)) == [first, second]


def test_pipeline_names_a_file_that_broke_after_scanning(image_folder: Path) -> None:
    dataset = datasets.scan_dataset(image_folder)
    broken = dataset.paths[2]
    broken.write_bytes(b"")
    pipeline = datasets.make_pipeline(Subset(dataset.paths[:4], dataset.labels[:4]), 8, 2)
    with pytest.raises(tf.errors.OpError) as caught:
        list(pipeline)
    unwrapped = datasets.unwrap_pipeline_error(caught.value)
    assert isinstance(unwrapped, ImageError)
    assert str(unwrapped).startswith(f"{broken.name}: empty file")
    assert str(broken) in str(unwrapped) and "scan the folder again" in str(unwrapped)
    other = tf.errors.InvalidArgumentError(None, None, "shapes do not match")
    assert datasets.unwrap_pipeline_error(other) is None


def test_pipeline_reads_paths_that_are_not_utf8(tmp_path: Path) -> None:
    path = badfiles.non_utf8_name(tmp_path)
    if path is None:
        pytest.skip("this filesystem refuses file names that are not valid UTF-8")
    ((pixels, labels),) = list(datasets.make_pipeline(Subset((path,), (0,)), 4, 1))
    assert pixels.shape == (1, 4, 4, 3) and labels.numpy().tolist() == [0]


# --- decode_batches -------------------------------------------------------------------


def test_decode_batches_keeps_order_and_matches_load_array(image_folder: Path) -> None:
    dataset = datasets.scan_dataset(image_folder)
    subset = Subset(dataset.paths[::3], dataset.labels[::3])
    batches = list(datasets.decode_batches(subset, image_size=16, batch_size=5))
    assert [len(batch) for batch in batches] == [5, 5, 2]
    assert all(batch.dtype == np.uint8 and batch.shape[1:] == (16, 16, 3) for batch in batches)
    expected = np.stack([images.load_array(path, 16) for path in subset.paths])
    np.testing.assert_array_equal(np.concatenate(batches), expected)
    assert list(datasets.decode_batches(Subset((), ()), 16, 5)) == []


def test_decode_batches_names_a_file_that_broke_after_scanning(image_folder: Path) -> None:
    dataset = datasets.scan_dataset(image_folder)
    broken = dataset.paths[2]
    broken.write_text("not an image any more")
    with pytest.raises(ImageError, match="scan the folder again") as caught:
        list(datasets.decode_batches(Subset(dataset.paths[:4], dataset.labels[:4]), 8, 2))
    assert str(broken) in str(caught.value)


def test_decode_batches_reads_paths_that_are_not_utf8(tmp_path: Path) -> None:
    path = badfiles.non_utf8_name(tmp_path)
    if path is None:
        pytest.skip("this filesystem refuses file names that are not valid UTF-8")
    (batch,) = list(datasets.decode_batches(Subset((path,), (0,)), 4, 1))
    assert batch.shape == (1, 4, 4, 3)


# --- resolve_user_path ----------------------------------------------------------------


@pytest.fixture
def rooted(tmp_path: Path) -> Settings:
    """Settings whose only allowed data roots are tmp_path/uploads and tmp_path/data."""
    (tmp_path / "data" / "flowers").mkdir(parents=True)
    return dataclasses.replace(
        Settings(), uploads_dir=tmp_path / "uploads", extra_data_roots=(tmp_path / "data",)
    )


def test_path_inside_a_root_resolves(rooted: Settings, tmp_path: Path) -> None:
    typed = f"  {tmp_path}/data/../data/flowers  "
    assert datasets.resolve_user_path(typed, rooted) == (tmp_path / "data" / "flowers").resolve()


def test_path_outside_the_roots_is_refused_with_the_roots_listed(
    rooted: Settings, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(PathNotAllowedError) as caught:
        datasets.resolve_user_path(str(tmp_path / "elsewhere"), rooted)
    assert str((tmp_path / "data").resolve()) in str(caught.value)
    assert "TLAB_DATA_ROOTS" in str(caught.value)


def test_symlink_escaping_the_root_is_refused(rooted: Settings, tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    link = tmp_path / "data" / "innocent"
    try:
        os.symlink(tmp_path / "secret", link)
    except OSError:
        pytest.skip("cannot create symlinks here")
    with pytest.raises(PathNotAllowedError, match="outside the allowed data folders"):
        datasets.resolve_user_path(str(link), rooted)


@pytest.mark.parametrize(
    ("name", "word"), [("nothing", "does not exist"), ("f.txt", "not a folder")]
)
def test_missing_path_or_file_is_a_dataset_error(
    rooted: Settings, tmp_path: Path, name: str, word: str
) -> None:
    (tmp_path / "data" / "f.txt").write_text("x")
    with pytest.raises(DatasetError, match=word):
        datasets.resolve_user_path(str(tmp_path / "data" / name), rooted)


# --- the real flowers photos ----------------------------------------------------------


@pytest.mark.integration
def test_flowers_scan_and_split_file(shared_dir: Path) -> None:
    root = shared_dir / "datasets" / "flowers"
    dataset = datasets.scan_dataset(root)
    assert dataset.class_names == ("daisy", "dandelion", "roses", "sunflowers", "tulips")
    assert len(dataset.paths) == 1000 and dataset.skipped == ()
    split = datasets.read_split_file(dataset, root / "splits.csv", validation_fraction=0.1)
    assert (len(split.train), len(split.validation), len(split.test)) == (720, 80, 200)
    assert np.bincount(split.test.labels).tolist() == [40] * 5
