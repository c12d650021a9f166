"""The photos to batch-classify: a folder (or an uploaded .zip's) files, and what is left out."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine import images
from engine.access import require_editor
from engine.data import archive
from engine.data.scan import Skipped, is_hidden, relative_path
from engine.errors import DatasetError
from engine.settings import Settings

_SUPPORTED = ", ".join(images.IMAGE_EXTENSIONS)
_LINKED_FOLDER = "a link to a folder; not followed"


@dataclass(frozen=True)
class Photos:
    """Image files found under a folder, in name order, and the entries left out with why."""

    root: Path
    files: tuple[Path, ...]  # by extension; their content is checked when they are decoded
    skipped: tuple[Skipped, ...]

    def name(self, path: Path) -> str:
        """path as shown to the user: relative to root, '/'-separated, printable."""
        return relative_path(path, self.root)


def list_photos(folder: Path, settings: Settings, skipped: tuple[Skipped, ...] = ()) -> Photos:
    """Every image file under folder, at any depth; hidden entries are ignored.

    Links are never followed out of the folder (a linked file that stays inside is read; a
    linked folder is not entered). `skipped` (entries left in an archive) is listed first.

    Raises:
        DatasetError: folder is missing, holds no image file, or more files than
            settings.max_archive_files.
    """
    root = Path(folder).resolve()
    shown = images.printable(root)
    if not root.is_dir():
        raise DatasetError(f"{shown} is not a folder; give a folder of photos or a .zip.")
    files: list[Path] = []
    left_out = list(skipped)
    for directory, subfolders, names in os.walk(root):
        here = Path(directory)
        subfolders[:] = sorted(name for name in subfolders if not is_hidden(name))
        for name in [name for name in subfolders if (here / name).is_symlink()]:
            subfolders.remove(name)
            left_out.append(Skipped(relative_path(here / name, root) + "/", _LINKED_FOLDER))
        for name in sorted(name for name in names if not is_hidden(name)):
            path = here / name
            reason = _reason_to_skip(path, root)
            if reason is None:
                files.append(path)
            else:
                left_out.append(Skipped(relative_path(path, root), reason))
        if len(files) + len(left_out) > settings.max_archive_files:
            raise DatasetError(
                f"{shown} holds more than {settings.max_archive_files} files "
                "(TLAB_MAX_ARCHIVE_FILES); classify a smaller folder or raise the limit."
            )
    if not files:
        example = f" Left out, e.g. {left_out[0].path}: {left_out[0].reason}." if left_out else ""
        raise DatasetError(f"{shown} holds no photos (supported: {_SUPPORTED}).{example}")
    return Photos(root, tuple(files), tuple(left_out))


def _reason_to_skip(path: Path, root: Path) -> str | None:
    """Why a file is not classified, or None when it is a candidate photo."""
    try:
        outside = not path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a loop of links
        outside = True
    if outside:
        return "a link to a file outside the folder; not followed"
    if path.suffix.lower() not in images.IMAGE_EXTENSIONS:
        return f"not a supported image type (supported: {_SUPPORTED})"
    return None


def open_zip(archive_path: Path, settings: Settings) -> Photos:
    """The photos of a .zip, extracted safely into the uploads folder (once per content).

    Raises:
        ReadOnlyError: viewer mode (extracting writes to disk).
        ArchiveError: not a zip, unsafe, too big, or no photos inside.
    """
    require_editor(settings, "extract an uploaded .zip")
    extracted = archive.import_zip_report(archive_path, settings, loose=True)
    left_in_zip = tuple(Skipped(f"(zip) {item.path}", item.reason) for item in extracted.skipped)
    return list_photos(extracted.folder, settings, left_in_zip)
