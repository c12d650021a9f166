"""Start-up clean-up of what killed processes left in the app's own folders (never elsewhere)."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from engine.data.archive import STAGING_PREFIX
from engine.downloads import TEMP_PREFIX
from engine.model_files import HUB_STAGING_PREFIX, hub_cache_dir
from engine.sample import STAGING_PREFIX as SAMPLE_STAGING_PREFIX
from engine.sample import keras_home
from engine.settings import Settings

STALE_SECONDS = 3600  # an import or cache write takes seconds; an hour-old leftover is dead

logger = logging.getLogger(__name__)


def clean_leftovers(settings: Settings) -> list[Path]:
    """Remove half-extracted zip imports, half-written feature-cache files and killed
    downloads over an hour old, only under the uploads, cache and download folders, only with
    the names this product gives them. Returns what was removed."""
    cutoff = time.time() - STALE_SECONDS
    leftovers = [
        *_old(settings.uploads_dir, f"{STAGING_PREFIX}*", cutoff),
        *_old(settings.cache_root / "features", "*.tmp", cutoff),
        # Killed downloads of the sample photos and of model files, in Keras' and Hub's caches.
        *_old(keras_home() / "datasets", f"{SAMPLE_STAGING_PREFIX}*", cutoff),
        *_old(keras_home() / "models", f"{TEMP_PREFIX}*", cutoff),
        *_old(hub_cache_dir(), f"{HUB_STAGING_PREFIX}*", cutoff),
    ]
    for path in leftovers:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        logger.info("Removed a leftover of a killed process: %s", path)
    return leftovers


def _old(folder: Path, pattern: str, cutoff: float) -> list[Path]:
    try:
        return [
            path
            for path in folder.glob(pattern)
            if not path.is_symlink() and path.stat().st_mtime < cutoff
        ]
    except OSError:
        return []
