"""Paths a user types (CLI arguments, the Data page): checked, resolved, confined to roots."""

from __future__ import annotations

import os
from pathlib import Path

from engine import images
from engine.errors import BadPathError, DatasetError, PathNotAllowedError
from engine.settings import Settings

MAX_NAME_BYTES = 255  # one path component, as on every common filesystem
MAX_PATH_BYTES = 4095


def checked_path(text: str | Path, what: str) -> Path:
    """A user-given path made safe to hand to the filesystem (nothing is opened here).

    Raises:
        BadPathError: a NUL byte, a name or path too long, '~user' of an unknown user, or a
            loop of symbolic links; the message names `what` the path was for.
    """
    shown = images.printable(str(text))
    if "\x00" in str(text):
        raise BadPathError(f"{what} {shown!r} contains a NUL byte; give a real path.")
    try:
        path = Path(text).expanduser()
    except RuntimeError as error:  # '~nosuchuser/...'
        raise BadPathError(f"{what} {shown}: {error}; give a full path.") from error
    raw = os.fsencode(path)
    if len(raw) > MAX_PATH_BYTES or any(len(part) > MAX_NAME_BYTES for part in raw.split(b"/")):
        raise BadPathError(
            f"{what} {shown[:80]}... is too long (names of at most {MAX_NAME_BYTES} bytes, "
            f"{MAX_PATH_BYTES} in all); give a shorter path."
        )
    try:
        path.resolve()
    except (RuntimeError, OSError) as error:  # a loop of links (RuntimeError before 3.13)
        raise BadPathError(f"{what} {shown} cannot be resolved ({error}).") from error
    return path


def resolve_user_path(text: str, settings: Settings) -> Path:
    """Resolve a typed dataset path; it must exist and stay under settings.typed_roots.

    `~` is expanded, relative paths start at the working directory and symlinks are
    followed before the check, so a link cannot point out of the allowed roots. Uploads are
    never reachable this way: each session finds its own upload with the upload button.

    Raises:
        PathNotAllowedError: outside every allowed root (message lists the roots).
        DatasetError: does not exist or is not a folder.
        BadPathError: not a usable path at all.
    """
    typed = text.strip()
    if not typed:
        raise DatasetError(
            "no folder given; type the path of a folder with one sub-folder per class."
        )
    path = checked_path(typed, "the folder").resolve()
    roots = settings.typed_roots
    if path.is_relative_to(settings.uploads_dir.resolve()) or not any(
        path.is_relative_to(root) for root in roots
    ):
        allowed = ", ".join(map(str, roots)) or "none: set TLAB_DATA_DIR or TLAB_DATA_ROOTS"
        raise PathNotAllowedError(
            f"{path} is outside the allowed data folders ({allowed}). "
            "Choose a folder under one of them, or allow more by setting TLAB_DATA_ROOTS to "
            f"a list of folders separated by '{os.pathsep}'. Uploaded zips are chosen with "
            "the upload button."
        )
    if not path.exists():
        raise DatasetError(f"{path} does not exist; check the spelling of the path.")
    if not path.is_dir():
        raise DatasetError(
            f"{path} is a file, not a folder; give the folder that holds one sub-folder per class."
        )
    return path
