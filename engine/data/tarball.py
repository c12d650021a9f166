"""Extract a downloaded .tar / .tgz with the zip import's rules: no absolute paths, '..',
links or devices; hidden files left out, nested archives skipped; entries and bytes capped."""

from __future__ import annotations

import os
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

from engine.data.archive import NESTED_ARCHIVE, entry_parts, is_nested_archive, too_big_message
from engine.data.scan import Skipped, is_hidden
from engine.errors import ArchiveError
from engine.settings import Settings

Progress = Callable[[int, int | None], None]  # (archive bytes read, archive size)
_COPY_CHUNK = 1 << 16
_MB = 1024 * 1024


def extract_tar(
    archive: Path,
    destination: Path,
    name: str,
    settings: Settings,
    on_progress: Progress | None = None,
) -> tuple[Skipped, ...]:
    """Extract archive's regular files under destination (a new, empty folder the caller
    removes on failure), streaming: each entry is checked before anything of it is written.

    Entries and expanded bytes are capped by settings.max_archive_files and
    settings.max_archive_mb, counting real bytes (a header cannot understate them). name is
    what messages call the archive. Returns the entries left out (nested archives).

    Raises:
        ArchiveError: not a tar archive, damaged, an unsafe entry (absolute path, '..', link,
            device), too many entries or too many bytes; nothing outside destination is written.
    """
    size = archive.stat().st_size
    skipped: list[Skipped] = []
    written = 0
    try:
        with open(archive, "rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as bundle:
            for count, member in enumerate(bundle, start=1):
                if count > settings.max_archive_files:
                    raise ArchiveError(
                        f"{name} holds more than {settings.max_archive_files} entries "
                        "(TLAB_MAX_ARCHIVE_FILES). Use a smaller archive or raise the limit."
                    )
                parts = _checked_parts(member, name)
                if member.isdir() or not parts or any(is_hidden(part) for part in parts):
                    continue
                if is_nested_archive(parts[-1]):
                    skipped.append(Skipped("/".join(parts), NESTED_ARCHIVE))
                    continue
                target = destination.joinpath(*parts)
                written = _extract_member(bundle, member, target, written, name, settings)
                if on_progress is not None:
                    on_progress(raw.tell(), size)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        raise ArchiveError(
            f"{name} could not be extracted ({error}); download it again."
        ) from error
    return tuple(skipped)


def _checked_parts(member: tarfile.TarInfo, name: str) -> tuple[str, ...]:
    """The member's path parts; ArchiveError for anything but plain files and folders."""
    parts = entry_parts(member.name, name, kind="archive")
    refuse = f"{name} is refused: entry {member.name!r}"
    if member.issym() or member.islnk():
        raise ArchiveError(f"{refuse} is a link. Use an archive without links.")
    if not (member.isreg() or member.isdir()):  # devices, pipes, and unknown types
        raise ArchiveError(f"{refuse} is a device or pipe, not a file. Use an archive of photos.")
    return parts


def _extract_member(
    bundle: tarfile.TarFile,
    member: tarfile.TarInfo,
    target: Path,
    written: int,
    name: str,
    settings: Settings,
) -> int:
    """Copy one regular file to target; returns the bytes written so far, all entries."""
    limit_bytes = settings.max_archive_mb * _MB
    too_big = too_big_message(name, f"more than {settings.max_archive_mb} MB", settings)
    if written + member.size > limit_bytes:  # refused before writing what it announces
        raise ArchiveError(too_big)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = bundle.extractfile(member)
    # O_EXCL: an entry repeated in the archive, or anything already there, is never overwritten
    # (a folder made here holds only what this extraction wrote).
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with source, os.fdopen(descriptor, "wb") as sink:
        while chunk := source.read(_COPY_CHUNK):
            written += len(chunk)
            if written > limit_bytes:
                raise ArchiveError(too_big)
            sink.write(chunk)
    return written
