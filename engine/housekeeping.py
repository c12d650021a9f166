"""Start-up clean-up of what killed processes left in the app's own folders (never elsewhere)."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from engine import disk
from engine.data.archive import IMPORT_MARKER, STAGING_PREFIX
from engine.settings import Settings

STALE_SECONDS = 3600  # an import or cache write takes seconds; an hour-old leftover is dead

logger = logging.getLogger(__name__)


def clean_leftovers(settings: Settings) -> list[Path]:
    """Remove half-extracted zip imports and half-written feature-cache and converted-model
    files over an hour old, only in their own folders, only with the names this product gives
    them; then what TLAB_KEEP_DAYS says is unused. Returns what was removed."""
    cutoff = time.time() - STALE_SECONDS
    leftovers = [
        *_old(settings.uploads_dir, f"{STAGING_PREFIX}*", cutoff),
        *_old(settings.cache_root / "features", "*.tmp", cutoff),
        *_old(settings.model_cache, ".*.tmp", cutoff),  # a conversion killed mid-write
    ]
    for path in leftovers:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        logger.info("Removed a leftover of a killed process: %s", path)
    return leftovers + remove_unused(settings)


def remove_unused(settings: Settings) -> list[Path]:
    """Remove uploaded datasets and cache files unused for settings.keep_days (reuse and
    reads refresh their time): complete imports only, cache files by their own names."""
    imports = [
        folder
        for folder in _entries(settings.uploads_dir, "*")
        if (folder / IMPORT_MARKER).is_file() and not folder.name.startswith(".")
    ]
    caches = [
        *_entries(settings.cache_root / "features", "*.npz"),
        *_entries(settings.model_cache, "*.tflite"),
    ]
    removed = disk.remove_unused([*imports, *caches], settings.keep_days)
    for path in removed:
        logger.info("Removed %s: unused for %d days (TLAB_KEEP_DAYS)", path, settings.keep_days)
    return removed


def _entries(folder: Path, pattern: str) -> list[Path]:
    try:
        return list(folder.glob(pattern))
    except OSError:
        return []


def _old(folder: Path, pattern: str, cutoff: float) -> list[Path]:
    try:
        return [
            path
            for path in folder.glob(pattern)
            if not path.is_symlink() and path.stat().st_mtime < cutoff
        ]
    except OSError:
        return []
