"""Which files batch classify reads: any depth, no links leaving the folder, safe zips."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from engine.batch.photos import list_photos, open_zip
from engine.errors import ArchiveError, DatasetError, ReadOnlyError
from engine.settings import Settings
from tests.conftest import write_image
from tests.engine import badfiles


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(runs_dir=tmp_path / "runs", uploads_dir=tmp_path / "uploads")


def test_photos_at_any_depth_in_name_order_and_other_files_listed(tmp_path, settings):
    root = tmp_path / "holiday"
    for name in ("b.png", "a.png", "day 2/c.png", "day 2/deeper/d.jpg"):
        write_image(root / name, (200, 0, 0), 8)
    (root / "notes.txt").write_text("not a photo")
    (root / ".hidden.png").write_bytes(b"ignored")
    write_image(root / ".cache" / "x.png", (0, 0, 0), 8)

    photos = list_photos(root, settings)

    assert [photos.name(path) for path in photos.files] == [
        "a.png",
        "b.png",
        "day 2/c.png",
        "day 2/deeper/d.jpg",
    ]
    [skipped] = photos.skipped
    assert skipped.path == "notes.txt" and "not a supported image type" in skipped.reason


def test_links_are_never_followed_out_of_the_folder(tmp_path, settings):
    root = tmp_path / "photos"
    inside = write_image(root / "a.png", (0, 200, 0), 8)
    outside = write_image(tmp_path / "secret" / "s.png", (0, 0, 200), 8)
    os.symlink(outside, root / "leak.png")
    os.symlink(tmp_path / "secret", root / "linked folder")
    os.symlink(inside, root / "again.png")

    photos = list_photos(root, settings)

    assert [photos.name(path) for path in photos.files] == ["a.png", "again.png"]
    reasons = {item.path: item.reason for item in photos.skipped}
    assert reasons == {
        "leak.png": "a link to a file outside the folder; not followed",
        "linked folder/": "a link to a folder; not followed",
    }


def test_a_folder_without_photos_is_refused_with_an_example(tmp_path, settings):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.md").write_text("#")
    with pytest.raises(DatasetError, match=r"holds no photos.*readme\.md: not a supported"):
        list_photos(tmp_path / "docs", settings)
    with pytest.raises(DatasetError, match="is not a folder"):
        list_photos(tmp_path / "missing", settings)


def test_too_many_files_are_refused_before_anything_is_read(tmp_path, settings):
    for index in range(4):
        write_image(tmp_path / "many" / f"{index}.png", (0, 0, 0), 4)
    few = Settings(max_archive_files=3)
    with pytest.raises(DatasetError, match="more than 3 files.*TLAB_MAX_ARCHIVE_FILES"):
        list_photos(tmp_path / "many", few)
    assert len(list_photos(tmp_path / "many", settings).files) == 4


def loose_zip(path: Path) -> Path:
    """Photos with no class folders, one nested archive (never extracted)."""
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("trip/one.png", badfiles.image_bytes())
        bundle.writestr("trip/two.png", badfiles.image_bytes(badfiles.BLUE))
        bundle.writestr("trip/more.zip", b"PK")
    return path


def test_a_zip_of_loose_photos_is_extracted_once_into_the_uploads(tmp_path, settings):
    photos = open_zip(loose_zip(tmp_path / "trip.zip"), settings)

    assert photos.root.is_relative_to(settings.uploads_dir.resolve())
    assert [photos.name(path) for path in photos.files] == ["trip/one.png", "trip/two.png"]
    assert [(item.path, item.reason) for item in photos.skipped] == [
        ("(zip) trip/more.zip", "archive inside the archive; not extracted")
    ]
    # The same content under another name reuses the first extraction.
    again = open_zip(loose_zip(tmp_path / "copy.zip"), settings)
    assert again.root == photos.root
    assert len(list(settings.uploads_dir.iterdir())) == 1


def test_a_dataset_zip_works_too(tmp_path, settings):
    photos = open_zip(badfiles.dataset_zip(tmp_path / "pets.zip"), settings)
    assert len(photos.files) == 12
    assert photos.name(photos.files[0]) == "cats/cats_0.png"


def test_loose_photos_a_dataset_import_refuses_are_fine_here(tmp_path, settings):
    photos = open_zip(badfiles.no_class_zip(tmp_path / "loose.zip"), settings)
    assert [photos.name(path) for path in photos.files] == ["a.png", "b.png"]
    assert [item.path for item in photos.skipped] == ["docs/readme.txt"]


def no_photos_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("docs/readme.txt", "hello")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (badfiles.traversal_zip, "climbs out of the folder"),
        (badfiles.symlink_zip, "is a symbolic link"),
        (badfiles.not_a_zip, "is not a zip archive"),
        (no_photos_zip, "holds no photos"),
    ],
)
def test_unsafe_or_empty_zips_are_refused_and_nothing_is_left(tmp_path, settings, make, message):
    with pytest.raises(ArchiveError, match=message):
        open_zip(make(tmp_path / "bad.zip"), settings)
    assert not (tmp_path / "escaped.jpg").exists()
    assert not any(settings.uploads_dir.glob("*")) if settings.uploads_dir.exists() else True


def test_viewer_mode_extracts_nothing(tmp_path):
    viewer = Settings(uploads_dir=tmp_path / "uploads", mode="viewer")
    with pytest.raises(ReadOnlyError, match="extract an uploaded .zip"):
        open_zip(loose_zip(tmp_path / "trip.zip"), viewer)
    assert not (tmp_path / "uploads").exists()
