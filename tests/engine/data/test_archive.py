"""Tests for engine.data.archive.import_zip: safe extraction of uploaded dataset archives."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.data.archive import import_zip, import_zip_report
from engine.data.scan import scan_dataset
from engine.errors import ArchiveError
from engine.settings import Settings
from tests.engine import badfiles


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings that extract into tmp_path/uploads with a 1 MB / 50 entry cap."""
    return dataclasses.replace(
        Settings(), uploads_dir=tmp_path / "uploads", max_archive_mb=1, max_archive_files=50
    )


def _outside_uploads(tmp_path: Path, settings: Settings) -> set[Path]:
    """Every path under tmp_path except the uploads folder and what it holds."""
    uploads = settings.uploads_dir
    return {p for p in tmp_path.rglob("*") if p != uploads and uploads not in p.parents}


def test_good_zip_is_extracted_through_its_wrapper_folder(
    tmp_path: Path, settings: Settings
) -> None:
    archive = badfiles.dataset_zip(tmp_path / "my photos.zip")
    before = _outside_uploads(tmp_path, settings)
    folder = import_zip(archive, settings)
    assert _outside_uploads(tmp_path, settings) == before
    assert [p.name for p in settings.uploads_dir.iterdir()] == [folder.parent.name]
    assert folder.parent.parent == settings.uploads_dir
    assert folder.name == "photos" and folder.parent.name.startswith("my_photos-")
    assert sorted(p.name for p in folder.iterdir()) == ["cats", "dogs"]  # no .DS_Store
    assert not (folder.parent / "__MACOSX").exists()
    dataset = scan_dataset(folder)
    assert dataset.counts() == {"cats": 6, "dogs": 6}


def test_the_same_archive_again_reuses_its_extraction(tmp_path: Path, settings: Settings) -> None:
    archive = badfiles.dataset_zip(tmp_path / "d.zip", wrapper=None)
    first = import_zip(archive, settings)
    (first / "cats" / "added-later.txt").write_text("kept")  # proves nothing is re-extracted
    again = import_zip(archive, settings, name="renamed copy.zip")
    other = import_zip(badfiles.dataset_zip(tmp_path / "e.zip", wrapper="x"), settings)

    assert again == first and (again / "cats" / "added-later.txt").exists()
    assert other != first and other.parent.parent == first.parent == settings.uploads_dir
    assert len(list(settings.uploads_dir.iterdir())) == 2, "no second copy, no staging left"


def test_name_of_the_upload_is_used_for_messages_and_folder(
    tmp_path: Path, settings: Settings
) -> None:
    copy = badfiles.dataset_zip(tmp_path / "tmp8x2k.zip")
    assert import_zip(copy, settings, name="Holiday 2024.zip").parent.name.startswith(
        "Holiday_2024-"
    )
    with pytest.raises(ArchiveError, match="^holiday.zip is not a zip archive"):
        import_zip(badfiles.not_a_zip(tmp_path / "tmp1.zip"), settings, name="holiday.zip")


def test_nested_zip_is_skipped_and_reported(tmp_path: Path, settings: Settings) -> None:
    report = import_zip_report(badfiles.nested_zip(tmp_path / "n.zip"), settings)
    assert not (report.folder / "cats" / "more.zip").exists()
    assert [(s.path, "archive inside" in s.reason) for s in report.skipped] == [
        ("cats/more.zip", True)
    ]


BAD_ARCHIVES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "traversal": (badfiles.traversal_zip, "'..'"),
    "backslash traversal": (lambda p: badfiles.traversal_zip(p, "..\\up.jpg"), "'..'"),
    "absolute": (badfiles.absolute_zip, "absolute path"),
    "drive letter": (lambda p: badfiles.absolute_zip(p, "C:/evil.jpg"), "absolute path"),
    "symlink": (badfiles.symlink_zip, "symbolic link"),
    "password": (badfiles.encrypted_flag_zip, "password"),
    "bomb": (badfiles.bomb_zip, "TLAB_MAX_ARCHIVE_MB"),
    "too many files": (lambda p: badfiles.many_files_zip(p, 60), "TLAB_MAX_ARCHIVE_FILES"),
    "no class folders": (badfiles.no_class_zip, "no class sub-folders"),
    "not a zip": (badfiles.not_a_zip, "not a zip archive"),
    "empty file": (lambda p: badfiles.zero_byte(p.parent, p.name), "not a zip archive"),
}


@pytest.mark.parametrize("case", BAD_ARCHIVES)
def test_bad_archives_are_refused_and_leave_nothing_behind(
    tmp_path: Path, settings: Settings, case: str
) -> None:
    make, word = BAD_ARCHIVES[case]
    archive = make(tmp_path / "incoming" / "upload.zip")
    before = _outside_uploads(tmp_path, settings)
    with pytest.raises(ArchiveError) as caught:
        import_zip(archive, settings)
    assert word in str(caught.value)
    assert "upload.zip" in str(caught.value)
    assert _outside_uploads(tmp_path, settings) == before
    uploads = settings.uploads_dir
    assert not uploads.exists() or list(uploads.iterdir()) == []
    assert not Path("/tmp/tlab-absolute.jpg").exists()


def test_bomb_zip_is_only_a_few_kilobytes(tmp_path: Path) -> None:
    assert badfiles.bomb_zip(tmp_path / "b.zip").stat().st_size < 20_000


def test_lying_sizes_are_caught_while_extracting(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Headers pass the declared-size check, but every entry inflates to 512 KB.
    archive = badfiles.dataset_zip(tmp_path / "liar.zip")
    monkeypatch.setattr(
        zipfile.ZipFile, "open", lambda self, info, *args, **kwargs: io.BytesIO(bytes(512 * 1024))
    )
    with pytest.raises(ArchiveError, match="more than 1 MB"):
        import_zip(archive, settings)
    assert list(settings.uploads_dir.iterdir()) == []


def test_corrupt_entry_data_is_an_archive_error(tmp_path: Path, settings: Settings) -> None:
    archive = badfiles.dataset_zip(tmp_path / "bad.zip", wrapper=None)
    data = bytearray(archive.read_bytes())
    data[60:90] = bytes(30)  # inside the first entry's compressed data
    archive.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="could not be extracted"):
        import_zip(archive, settings)
    assert list(settings.uploads_dir.iterdir()) == []


def test_zip_with_a_single_class_is_left_for_scanning_to_explain(
    tmp_path: Path, settings: Settings
) -> None:
    entries = {f"cats/{i}.png": badfiles.image_bytes() for i in range(3)}
    archive = tmp_path / "one.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    folder = import_zip(archive, settings)
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == ["cats"]
