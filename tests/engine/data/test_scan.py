"""Tests for engine.data.scan: classes, skipped files, limits, unusable roots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.data.scan import scan_dataset
from engine.data.split import read_split_file
from engine.errors import DatasetError
from tests.conftest import NUM_PER_CLASS, write_class, write_image
from tests.engine import badfiles

# --- scan_dataset ---------------------------------------------------------------------


def test_scan_finds_classes_sorted_with_absolute_paths(image_folder: Path) -> None:
    dataset = scan_dataset(image_folder)
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
    write_class(image_folder, ".cache", 2)
    (image_folder / "red" / ".DS_Store").write_bytes(b"\0")
    write_image(image_folder / "red" / "SHOUTING.PNG", (220, 30, 30), 8)
    write_image(image_folder / "red" / "nested" / "deeper.png", (220, 30, 30), 8)
    dataset = scan_dataset(image_folder)
    assert dataset.class_names == ("blue", "green", "red")
    assert dataset.counts()["red"] == NUM_PER_CLASS + 2
    assert dataset.skipped == ()


def test_scan_skips_bad_files_with_reasons_and_keeps_good_ones(image_folder: Path) -> None:
    badfiles.refused_photos(image_folder / "red")
    (image_folder / "red" / "notes.txt").write_text("not a photo")
    dataset = scan_dataset(image_folder)
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
    dataset = scan_dataset(image_folder, max_pixels=40 * 40)
    assert [item.path for item in dataset.skipped] == ["red/large.png"]


def test_empty_class_folder_is_skipped_and_dropped(image_folder: Path) -> None:
    (image_folder / "yellow").mkdir()
    badfiles.zero_byte(image_folder / "purple")
    dataset = scan_dataset(image_folder)
    assert dataset.class_names == ("blue", "green", "red")
    reasons = {item.path: item.reason for item in dataset.skipped}
    assert "empty folder" in reasons["yellow/"]
    assert "no readable images" in reasons["purple/"]


def test_class_with_one_image_is_kept_with_a_warning(image_folder: Path) -> None:
    write_class(image_folder, "white", 1)
    dataset = scan_dataset(image_folder)
    assert dataset.counts()["white"] == 1
    assert dataset.warnings == ("class 'white' has only 1 image (5 or more recommended)",)


def test_one_class_is_not_a_dataset(tmp_path: Path) -> None:
    write_class(tmp_path / "data", "cats", 3)
    (tmp_path / "data" / "dogs").mkdir()
    with pytest.raises(DatasetError, match=r"found 1 class \('cats'\).*at least 2 class"):
        scan_dataset(tmp_path / "data")


@pytest.mark.parametrize("case", ["missing", "file", "no_subfolders"])
def test_unusable_root_names_the_path(tmp_path: Path, case: str) -> None:
    root = tmp_path / "photos"
    expected = {"missing": "does not exist", "file": "not a folder", "no_subfolders": "sub-folder"}
    if case == "file":
        root.write_text("x")
    elif case == "no_subfolders":
        write_image(root / "loose.png", (1, 2, 3), 8)
    with pytest.raises(DatasetError) as caught:
        scan_dataset(root)
    assert str(root) in str(caught.value)
    assert expected[case] in str(caught.value)
    if case == "no_subfolders":
        assert "holds 1 images directly" in str(caught.value)


def test_file_name_that_is_not_utf8_is_skipped_with_a_printable_reason(
    image_folder: Path,
) -> None:
    if badfiles.non_utf8_name(image_folder / "red") is None:
        pytest.skip("this filesystem refuses file names that are not valid UTF-8")
    dataset = scan_dataset(image_folder)
    assert dataset.counts()["red"] == NUM_PER_CLASS
    (item,) = dataset.skipped
    assert item.path == "red/bad\ufffd.png"
    assert "UTF-8" in item.reason
    item.path.encode("utf-8")


# --- the real flowers photos ----------------------------------------------------------


@pytest.mark.integration
def test_flowers_scan_and_split_file(shared_dir: Path) -> None:
    root = shared_dir / "datasets" / "flowers"
    dataset = scan_dataset(root)
    assert dataset.class_names == ("daisy", "dandelion", "roses", "sunflowers", "tulips")
    assert len(dataset.paths) == 1000 and dataset.skipped == ()
    split = read_split_file(dataset, root / "splits.csv", validation_fraction=0.1)
    assert (len(split.train), len(split.validation), len(split.test)) == (720, 80, 200)
    assert np.bincount(split.test.labels).tolist() == [40] * 5
