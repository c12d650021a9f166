"""Where label fixes may change files: only an uploaded dataset (or a copy of the sample in the
uploads) or a folder under TLAB_DATA_ROOTS, never the sample folder; paths checked part by part,
no symbolic link ever followed."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import stat
import tempfile
from pathlib import Path, PurePosixPath

from engine import images
from engine.access import require_editor
from engine.data.archive import STAGING_PREFIX
from engine.data.scan import Dataset, is_hidden
from engine.data.split import find_split_file
from engine.errors import DatasetError, PathNotAllowedError
from engine.settings import Settings

COPY_MARKER = ".transfer-lab-copy.json"  # in a copy of the sample: where it was copied from


def editable_root(root: str | Path, settings: Settings, action: str) -> Path:
    """The dataset folder (resolved) when its photos may be moved.

    Raises:
        ReadOnlyError: viewer mode.
        PathNotAllowedError: the sample folder (copy it first), a folder outside the uploads
            and TLAB_DATA_ROOTS, or a link.
        DatasetError: not a folder.
    """
    require_editor(settings, action)
    reason = why_not_editable(root, settings)
    if reason is not None:
        raise PathNotAllowedError(reason)
    return Path(root).resolve()


def why_not_editable(root: str | Path, settings: Settings) -> str | None:
    """Why the photos of root cannot be moved here (None when they can); looking only."""
    folder = Path(root)
    shown = images.printable(folder)
    if folder.is_symlink():
        return f"{shown} is a symbolic link; fixes are only made in real folders."
    resolved = folder.resolve()
    if not resolved.is_dir():
        return f"{shown} is not a folder."
    sample = settings.data_dir.resolve() if settings.data_dir is not None else None
    if sample is not None and (resolved.is_relative_to(sample) or sample.is_relative_to(resolved)):
        return (
            "The sample dataset is never changed. Copy it into the uploads first; the copy's "
            "photos can then be moved."
        )
    uploads = settings.uploads_dir.resolve()
    inside_uploads = resolved != uploads and resolved.is_relative_to(uploads)
    if not inside_uploads and not any(
        resolved.is_relative_to(r.resolve()) for r in settings.extra_data_roots
    ):
        return (
            f"{shown} is neither an uploaded dataset nor under TLAB_DATA_ROOTS; photos are only "
            "moved there. Upload it as a .zip, or allow its folder with TLAB_DATA_ROOTS."
        )
    return None


def photo_in(root: Path, relative: str) -> Path:
    """root/relative when it names a regular file inside a visible class folder of root,
    reached through no symbolic link.

    Raises:
        PathNotAllowedError: absolute, '..', hidden parts, a link, or not 'class/photo'.
        DatasetError: the photo is not there any more.
    """
    text = str(relative)
    pure = PurePosixPath(text)
    bad_part = any(part in ("", ".", "..") or is_hidden(part) for part in pure.parts)
    if "\x00" in text or "\\" in text or pure.is_absolute() or len(pure.parts) < 2 or bad_part:
        raise PathNotAllowedError(
            f"{images.printable(text)!r} is not a photo inside the dataset folder "
            "(expected class/photo.jpg)."
        )
    path = root
    for part in pure.parts:
        path = path / part
        if path.is_symlink():
            raise PathNotAllowedError(
                f"{images.printable(text)} goes through a symbolic link; links are never moved."
            )
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError as error:
        raise DatasetError(
            f"{images.printable(text)} is not in the dataset any more; look for suspects again."
        ) from error
    if not stat.S_ISREG(mode):
        raise PathNotAllowedError(f"{images.printable(text)} is not a regular file.")
    return path


def class_folder(root: Path, name: str) -> Path:
    """root/name when name is one of the dataset's class folders (a real folder, no link).

    Raises:
        PathNotAllowedError: not a plain class folder name, or a link.
        DatasetError: no such class folder.
    """
    if not name or "/" in name or "\\" in name or "\x00" in name or is_hidden(name):
        raise PathNotAllowedError(f"{images.printable(name)!r} is not a class folder name.")
    folder = root / name
    if folder.is_symlink():
        raise PathNotAllowedError(f"class folder {images.printable(name)} is a symbolic link.")
    if not folder.is_dir():
        raise DatasetError(f"the dataset has no class folder {images.printable(name)}.")
    return folder


def free_name(folder: Path, name: str) -> str:
    """name, or name with -2, -3, ... before its suffix: a name no entry of folder has."""
    candidate, stem, suffix, number = name, Path(name).stem, Path(name).suffix, 1
    while os.path.lexists(folder / candidate):
        number += 1
        candidate = f"{stem}-{number}{suffix}"
    return candidate


def copy_to_uploads(dataset: Dataset, settings: Settings) -> Path:
    """Copy the dataset's photos (and its splits.csv) into a new folder in the uploads, whose
    photos can then be moved; the original is untouched. Returns the new folder.

    Raises:
        ReadOnlyError: viewer mode.
        DatasetError: the copy could not be written (disk full, permissions).
    """
    require_editor(settings, "copy a dataset into the uploads")
    uploads = settings.uploads_dir.resolve()
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", dataset.root.name).strip("._")[:40] or "dataset"
    try:
        uploads.mkdir(parents=True, exist_ok=True)
        # Copied into a hidden staging folder and renamed at the end (as zip imports are),
        # so a half-made copy is never seen and start-up removes it.
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=uploads))
    except OSError as error:
        raise DatasetError(f"cannot write in the uploads folder ({error.strerror}).") from error
    try:
        for path in dataset.paths:
            target = staging / path.relative_to(dataset.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        split_file = find_split_file(dataset.root)
        if split_file is not None and not split_file.is_symlink():
            shutil.copyfile(split_file, staging / split_file.name)
        origin = {"copied_from": str(dataset.root)}
        (staging / COPY_MARKER).write_text(json.dumps(origin), encoding="utf-8")
        final = uploads / f"{name}-copy-{secrets.token_hex(4)}"
        staging.rename(final)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise DatasetError(
            f"could not copy the dataset into the uploads ({error.strerror}); free some space."
        ) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def copied_from(root: Path) -> str | None:
    """The folder root was copied from by copy_to_uploads, if it is such a copy."""
    marker = Path(root) / COPY_MARKER
    try:
        if marker.is_symlink():
            return None
        origin = json.loads(marker.read_text(encoding="utf-8")).get("copied_from")
    except (OSError, ValueError, AttributeError):
        return None
    return origin if isinstance(origin, str) else None
