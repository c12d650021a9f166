"""Dataset paths a user types: resolved, and confined to the allowed data roots."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import DatasetError, PathNotAllowedError
from engine.settings import Settings


def resolve_user_path(text: str, settings: Settings) -> Path:
    """Resolve a typed dataset path; it must exist and stay under settings.data_roots.

    `~` is expanded, relative paths start at the working directory and symlinks are
    followed before the check, so a link cannot point out of the allowed roots.

    Raises:
        PathNotAllowedError: outside every allowed root (message lists the roots).
        DatasetError: does not exist or is not a folder.
    """
    typed = text.strip()
    if not typed:
        raise DatasetError(
            "no folder given; type the path of a folder with one sub-folder per class."
        )
    path = Path(typed).expanduser().resolve()
    roots = settings.data_roots
    if not any(path.is_relative_to(root) for root in roots):
        raise PathNotAllowedError(
            f"{path} is outside the allowed data folders ({', '.join(map(str, roots))}). "
            "Choose a folder under one of them, or allow more by setting TLAB_DATA_ROOTS to "
            f"a list of folders separated by '{os.pathsep}'."
        )
    if not path.exists():
        raise DatasetError(f"{path} does not exist; check the spelling of the path.")
    if not path.is_dir():
        raise DatasetError(
            f"{path} is a file, not a folder; give the folder that holds one sub-folder per class."
        )
    return path
