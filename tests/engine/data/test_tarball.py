"""Tests for engine.data.tarball.extract_tar: a downloaded .tgz follows the zip import's rules."""

from __future__ import annotations

import dataclasses
import io
import tarfile
from pathlib import Path

import pytest

from engine.data.tarball import extract_tar
from engine.errors import ArchiveError
from engine.settings import Settings
from tests.support.http_files import jpeg_bytes, sample_tgz, tgz

SETTINGS = dataclasses.replace(Settings(), max_archive_mb=1, max_archive_files=50)


def _write(tmp_path: Path, content: bytes, name: str = "photos.tgz") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _tgz_with(member: tarfile.TarInfo, content: bytes = b"") -> bytes:
    """A .tgz holding one good photo, then member (a link, device, odd path...)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        photo = jpeg_bytes((10, 200, 10))
        good = tarfile.TarInfo("flowers/daisy/1.jpg")
        good.size = len(photo)
        bundle.addfile(good, io.BytesIO(photo))
        member.size = len(content) if member.isreg() else 0
        bundle.addfile(member, io.BytesIO(content) if member.isreg() else None)
    return buffer.getvalue()


def _everything_under(tmp_path: Path) -> set[Path]:
    return set(tmp_path.rglob("*"))


def test_the_sample_layout_is_extracted_with_progress(tmp_path: Path) -> None:
    archive = _write(tmp_path, sample_tgz(per_class=3))
    seen: list[tuple[int, int | None]] = []
    skipped = extract_tar(
        archive, tmp_path / "out", "photos.tgz", SETTINGS, lambda *progress: seen.append(progress)
    )
    assert skipped == ()
    folder = tmp_path / "out" / "flower_photos"
    assert sorted(p.name for p in folder.iterdir()) == ["LICENSE.txt", "daisy", "roses"]
    assert len(list((folder / "daisy").iterdir())) == 3
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert {total for _, total in seen} == {archive.stat().st_size}


@pytest.mark.parametrize(
    "entry, why",
    [
        ("../evil.jpg", "climbs out of the folder with '..'"),
        ("flowers/../../evil.jpg", "climbs out of the folder with '..'"),
        ("/etc/evil.jpg", "has an absolute path"),
        ("C:/evil.jpg", "has an absolute path"),
    ],
)
def test_paths_leaving_the_folder_refuse_the_archive(tmp_path: Path, entry: str, why: str):
    archive = _write(tmp_path, _tgz_with(tarfile.TarInfo(entry), b"x"))
    before = _everything_under(tmp_path)
    with pytest.raises(ArchiveError, match=why):
        extract_tar(archive, tmp_path / "out" / "inner", "photos.tgz", SETTINGS)
    written = _everything_under(tmp_path) - before
    assert all(tmp_path / "out" in path.parents or path == tmp_path / "out" for path in written)
    assert not (tmp_path / "evil.jpg").exists() and not (tmp_path / "out" / "evil.jpg").exists()


@pytest.mark.parametrize(
    "kind, why",
    [
        (tarfile.SYMTYPE, "is a link"),
        (tarfile.LNKTYPE, "is a link"),
        (tarfile.CHRTYPE, "is a device or pipe"),
        (tarfile.BLKTYPE, "is a device or pipe"),
        (tarfile.FIFOTYPE, "is a device or pipe"),
    ],
)
def test_links_devices_and_pipes_refuse_the_archive(tmp_path: Path, kind: bytes, why: str):
    member = tarfile.TarInfo("flowers/daisy/2.jpg")
    member.type = kind
    member.linkname = "/etc/passwd"
    archive = _write(tmp_path, _tgz_with(member))
    with pytest.raises(ArchiveError, match=why):
        extract_tar(archive, tmp_path / "out", "photos.tgz", SETTINGS)
    assert not (tmp_path / "out" / "flowers" / "daisy" / "2.jpg").exists()


def test_a_bomb_is_refused_from_its_header_before_writing_it(tmp_path: Path) -> None:
    # 8 MB of zeros compress to a few kB: over the 1 MB cap once expanded.
    archive = _write(tmp_path, tgz({"flowers/daisy/big.jpg": bytes(8 * 2**20)}))
    assert archive.stat().st_size < 100_000
    with pytest.raises(ArchiveError, match="TLAB_MAX_ARCHIVE_MB"):
        extract_tar(archive, tmp_path / "out", "photos.tgz", SETTINGS)
    assert not (tmp_path / "out" / "flowers" / "daisy" / "big.jpg").exists()


def test_many_small_files_over_the_byte_cap_are_refused(tmp_path: Path) -> None:
    entries = {f"flowers/daisy/{i}.jpg": bytes(300_000) for i in range(5)}  # 1.5 MB in all
    archive = _write(tmp_path, tgz(entries))
    with pytest.raises(ArchiveError, match="more than 1 MB"):
        extract_tar(archive, tmp_path / "out", "photos.tgz", SETTINGS)


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    archive = _write(tmp_path, tgz({f"flowers/daisy/{i}.jpg": b"x" for i in range(51)}))
    with pytest.raises(ArchiveError, match="TLAB_MAX_ARCHIVE_FILES"):
        extract_tar(archive, tmp_path / "out", "photos.tgz", SETTINGS)


def test_nested_archives_are_skipped_and_hidden_files_left_out(tmp_path: Path) -> None:
    photo = jpeg_bytes((10, 10, 200))
    entries = {
        "flowers/daisy/1.jpg": photo,
        "flowers/daisy/more.tgz": tgz({"x.jpg": photo}),
        "flowers/.DS_Store": b"debris",
        "__MACOSX/flowers/._1.jpg": b"debris",
    }
    archive = _write(tmp_path, tgz(entries))
    skipped = extract_tar(archive, tmp_path / "out", "photos.tgz", SETTINGS)
    assert [(item.path, "archive inside" in item.reason) for item in skipped] == [
        ("flowers/daisy/more.tgz", True)
    ]
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["1.jpg", "daisy", "flowers"]


@pytest.mark.parametrize("content", [b"not an archive at all", sample_tgz()[:500]])
def test_a_damaged_or_foreign_file_is_refused(tmp_path: Path, content: bytes) -> None:
    archive = _write(tmp_path, content)
    with pytest.raises(ArchiveError, match="could not be extracted"):
        extract_tar(archive, tmp_path / "out", "photos.tgz", SETTINGS)
