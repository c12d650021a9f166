"""Uploaded datasets: telling one from any other folder, and deleting it (editors only)."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from engine.access import require_editor
from engine.data.archive import IMPORT_MARKER, STAGING_PREFIX
from engine.errors import DatasetError, RunStoreError, first_line
from engine.settings import Settings


def upload_folder(folder: Path, settings: Settings) -> Path | None:
    """The extraction under settings.uploads_dir that holds folder, None when it is no upload."""
    uploads = settings.uploads_dir.resolve()
    try:
        inside = Path(folder).resolve().relative_to(uploads)
    except (OSError, ValueError):
        return None
    top = uploads / inside.parts[0] if inside.parts else None
    if top is None or top.is_symlink() or not (top / IMPORT_MARKER).is_file():
        return None
    return top


def delete_upload(folder: Path, settings: Settings) -> None:
    """Delete the uploaded dataset holding folder (its whole extraction).

    Raises:
        ReadOnlyError: viewer mode. DatasetError: folder is not an uploaded dataset.
        RunStoreError: the uploads folder cannot be written.
    """
    require_editor(settings, "delete an uploaded dataset")
    top = upload_folder(folder, settings)
    if top is None:
        raise DatasetError(f"{folder} is not an uploaded dataset, so it is not deleted here.")
    # Renamed first (the name start-up clean-up removes), so a kill mid-way leaves no dataset.
    doomed = top.with_name(f"{STAGING_PREFIX}deleted-{secrets.token_hex(4)}")
    try:
        top.rename(doomed)
    except OSError as error:
        raise RunStoreError(
            f"Could not delete {top.name}: {first_line(error)}. Check that {top.parent} is "
            "writable."
        ) from error
    shutil.rmtree(doomed, ignore_errors=True)
