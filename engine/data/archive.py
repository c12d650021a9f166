"""Import a dataset .zip safely: every entry checked before anything is written, sizes capped."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from engine import disk, images
from engine.access import require_editor
from engine.data.scan import Skipped, is_hidden, visible_subfolders
from engine.errors import ArchiveError, StorageFullError
from engine.schema import Fields
from engine.settings import Settings

_ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_COPY_CHUNK = 1 << 16
_MB = 1024 * 1024
STAGING_PREFIX = ".importing-"  # a half-extracted import (removed if a process dies)
IMPORT_MARKER = ".transfer-lab-import.json"  # written last, inside a complete extraction


@dataclass(frozen=True)
class ZipImport:
    """Where an imported archive was extracted, and the entries that were left out."""

    folder: Path  # the folder holding the class sub-folders
    skipped: tuple[Skipped, ...]  # e.g. nested archives, which are never extracted


def check_upload_size(name: str, size_bytes: int, settings: Settings) -> None:
    """Refuse an uploaded archive over settings.max_upload_mb before it is copied or opened.

    Raises:
        ArchiveError: the upload is too big; the message names the setting.
    """
    limit_mb = settings.max_upload_mb
    if size_bytes > limit_mb * _MB:
        raise ArchiveError(
            f"{images.printable(name)} is {size_bytes / _MB:.0f} MB, over the {limit_mb} MB limit "
            "(TLAB_MAX_UPLOAD_MB). Upload a smaller archive or raise the limit."
        )


def import_zip(archive: str | Path, settings: Settings, *, name: str | None = None) -> Path:
    """Extract a dataset .zip into a new folder under settings.uploads_dir and return it.

    The returned folder is the one holding the class sub-folders (a single top-level wrapper
    folder is looked through). Entries with absolute paths or '..' and symlinks are refused,
    nested archives are skipped, and the total size / file count are capped
    (settings.max_archive_mb, settings.max_archive_files). Nothing is written elsewhere.
    `name` is what the user calls the archive (e.g. the uploaded file's name, when archive
    is a temporary copy); messages and the new folder's name use it.

    Raises:
        ArchiveError: not a zip, unsafe entry, too big, or no class folders inside.
    """
    return import_zip_report(archive, settings, name=name).folder


def import_zip_report(
    archive: str | Path, settings: Settings, *, name: str | None = None, loose: bool = False
) -> ZipImport:
    """import_zip, also returning the entries left out (nested archives) to show the user.

    The same archive (by content) imported again reuses its first extraction. `loose` accepts
    photos in any folder layout (batch classify), not only one sub-folder per class.

    Raises:
        ArchiveError: not a zip, unsafe entry, too big, or no class folders inside.
    """
    require_editor(settings, "import an uploaded dataset")
    archive = Path(archive)
    name = images.printable(Path(name or archive).name)
    with _open_zip(archive, name) as bundle:
        uploads = settings.uploads_dir.resolve()
        digest = _sha256(archive)
        earlier = _earlier_import(uploads, digest)
        if earlier is not None:
            # Used again: kept another TLAB_KEEP_DAYS.
            disk.touch(uploads / earlier.folder.relative_to(uploads).parts[0])
            return earlier
        final = uploads / _folder_name(name, digest)
        members, skipped = _plan_extraction(bundle, name, settings)
        declared = sum(info.file_size for info, _ in members)
        if declared > settings.max_archive_mb * _MB:
            raise ArchiveError(_too_big_message(name, f"{declared / _MB:.1f} MB", settings))
        disk.check_room(
            uploads, declared, settings.max_uploads_mb, f"{name}", "TLAB_MAX_UPLOADS_MB"
        )
        uploads.mkdir(parents=True, exist_ok=True)
        # Extract into a hidden sibling and rename at the end, so a failed import leaves
        # nothing behind and a half-extracted folder is never visible as a dataset.
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=uploads))
        try:
            _extract(bundle, members, staging, name, settings)
            dataset_dir = _dataset_folder(staging, name, loose)
            result = ZipImport(final / dataset_dir.relative_to(staging), tuple(skipped))
            _write_marker(staging, result, final)
            staging.rename(final)
        except OSError as error:
            shutil.rmtree(staging, ignore_errors=True)
            # Another session imported the same archive meanwhile: use that copy.
            earlier = _earlier_import(uploads, digest)
            if earlier is None and disk.is_disk_full(error):
                raise StorageFullError(
                    f"{name} could not be extracted: the disk holding {uploads} is full. "
                    "Nothing was kept; free some space and upload it again."
                ) from error
            if earlier is None:
                raise ArchiveError(f"{name} could not be extracted ({error}).") from error
            return earlier
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return result


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_COPY_CHUNK * 16):
            digest.update(chunk)
    return digest.hexdigest()


def _folder_name(archive_name: str, digest: str) -> str:
    """<archive stem>-<content hash>, limited to characters safe on every filesystem."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(archive_name).stem).strip("._")[:40]
    return f"{stem or 'dataset'}-{digest[:16]}"


def _write_marker(staging: Path, result: ZipImport, final: Path) -> None:
    """Record what the import found, inside the folder, so a later import can reuse it."""
    marker = {
        "folder": result.folder.relative_to(final).as_posix(),
        "skipped": [{"path": item.path, "reason": item.reason} for item in result.skipped],
    }
    (staging / IMPORT_MARKER).write_text(json.dumps(marker), encoding="utf-8")


def _earlier_import(uploads: Path, digest: str) -> ZipImport | None:
    """A complete earlier extraction of the archive with this content (whatever it was called
    then), or None."""
    for final in sorted(uploads.glob(f"*-{digest[:16]}")):
        found = _read_marker(final)
        if found is not None:
            return found
    return None


def _read_marker(final: Path) -> ZipImport | None:
    """The import recorded in final, or None (absent, damaged, or not made by an import)."""
    try:
        marker = Fields(json.loads((final / IMPORT_MARKER).read_text("utf-8")), IMPORT_MARKER)
        folder = (final / marker.text("folder")).resolve()
        skipped = marker.items(
            "skipped", lambda item, where: Skipped(*_skipped_fields(item, where))
        )
    except (OSError, ValueError):
        return None
    if not folder.is_relative_to(final) or not folder.is_dir():
        return None
    return ZipImport(folder, tuple(skipped))


def _skipped_fields(item: object, where: str) -> tuple[str, str]:
    fields = Fields(item, where)
    return fields.text("path"), fields.text("reason")


def _open_zip(archive: Path, name: str) -> zipfile.ZipFile:
    if not archive.is_file():
        raise ArchiveError(f"{name} does not exist or is not a file; upload the .zip again.")
    try:
        if not zipfile.is_zipfile(archive):
            raise ArchiveError(
                f"{name} is not a zip archive (its content is not in ZIP format); expected a "
                ".zip made with e.g. 'Compress' (macOS) or 'Send to > Compressed folder' (Windows)."
            )
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError) as error:
        raise ArchiveError(
            f"{name} is a damaged zip archive ({error}); create it again."
        ) from error


def _plan_extraction(
    bundle: zipfile.ZipFile, name: str, settings: Settings
) -> tuple[list[tuple[zipfile.ZipInfo, tuple[str, ...]]], list[Skipped]]:
    """Check every entry before anything is written: (entry, safe path parts) to extract."""
    entries = bundle.infolist()
    if len(entries) > settings.max_archive_files:
        raise ArchiveError(
            f"{name} holds {len(entries)} entries; the limit is {settings.max_archive_files} "
            "(TLAB_MAX_ARCHIVE_FILES). Split the dataset or raise the limit."
        )
    members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
    skipped: list[Skipped] = []
    for info in entries:
        parts = _safe_parts(info, name)
        if info.is_dir() or not parts or any(is_hidden(part) for part in parts):
            continue
        if parts[-1].lower().endswith(_ARCHIVE_SUFFIXES):
            skipped.append(Skipped("/".join(parts), "archive inside the archive; not extracted"))
            continue
        members.append((info, parts))
    return members, skipped


def _safe_parts(info: zipfile.ZipInfo, name: str) -> tuple[str, ...]:
    """The entry's path parts; ArchiveError for entries that could write outside the folder."""
    entry = info.filename.replace("\\", "/")  # Windows tools sometimes write backslashes
    refuse = f"{name} is refused: entry {entry!r}"
    fix = "Create the zip again from inside the dataset folder."
    if entry.startswith("/") or _DRIVE_LETTER.match(entry):
        raise ArchiveError(f"{refuse} has an absolute path. {fix}")
    parts = tuple(part for part in entry.split("/") if part not in ("", "."))
    if ".." in parts:
        raise ArchiveError(f"{refuse} climbs out of the folder with '..'. {fix}")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveError(f"{refuse} is a symbolic link. Create the zip again without links.")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{refuse} is password-protected. Create the zip without a password.")
    return parts


def _too_big_message(name: str, size: str, settings: Settings) -> str:
    return (
        f"{name} expands to {size}; the limit is {settings.max_archive_mb} MB "
        "(TLAB_MAX_ARCHIVE_MB). Upload a smaller dataset or raise the limit."
    )


def _extract(
    bundle: zipfile.ZipFile,
    members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]],
    staging: Path,
    name: str,
    settings: Settings,
) -> None:
    """Copy members under staging, counting real bytes: headers may understate sizes."""
    limit_bytes = settings.max_archive_mb * _MB
    written = 0
    try:
        for info, parts in members:
            target = staging.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(info) as source, open(target, "wb") as sink:
                while chunk := source.read(_COPY_CHUNK):
                    written += len(chunk)
                    if written > limit_bytes:
                        raise ArchiveError(
                            _too_big_message(
                                name, f"more than {settings.max_archive_mb} MB", settings
                            )
                        )
                    sink.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as error:
        if isinstance(error, OSError) and disk.is_disk_full(error):
            raise  # not the archive's fault: said as such by the caller
        raise ArchiveError(f"{name} could not be extracted ({error}); create it again.") from error


def _dataset_folder(staging: Path, name: str, loose: bool = False) -> Path:
    """The folder holding class sub-folders (or, when loose, any photos), looking through
    single wrapper folders."""
    folder = staging
    while True:
        subfolders = visible_subfolders(folder)
        # A lone sub-folder is a wrapper when it holds folders but no images of its own;
        # otherwise it is a (single) class folder and scanning will say so.
        if len(subfolders) != 1 or not visible_subfolders(subfolders[0]):
            break
        if any(p.suffix.lower() in images.IMAGE_EXTENSIONS for p in subfolders[0].iterdir()):
            break
        folder = subfolders[0]
    if loose:
        if not _holds_images(folder):
            supported = ", ".join(images.IMAGE_EXTENSIONS)
            raise ArchiveError(f"{name} holds no photos (supported: {supported}).")
        return folder
    if not any(_holds_images(sub) for sub in visible_subfolders(folder)):
        raise ArchiveError(
            f"{name} has no class sub-folders with images; expected e.g. cats/1.jpg and "
            "dogs/1.jpg inside the zip (optionally inside one top-level folder)."
        )
    return folder


def _holds_images(folder: Path) -> bool:
    return any(
        Path(name).suffix.lower() in images.IMAGE_EXTENSIONS
        for _, _, names in os.walk(folder)
        for name in names
    )
