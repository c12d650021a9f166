"""Frozen MobileNetV2 features of photos, kept on disk by photo content: a photo moved to
another class folder, or checked again after other fixes, is never run through the model twice.

Loads TensorFlow: the health check imports it only when it needs features.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from engine import feature_cache
from engine.backbones import DEFAULT_BACKBONE
from engine.data.split import Subset
from engine.insight.features import FrozenFeatures
from engine.settings import Settings

MAX_STORED = 50_000  # photos whose features the store keeps (about 250 MB at 1280 floats)

logger = logging.getLogger(__name__)


def photo_features(
    paths: Sequence[Path],
    sha1s: Sequence[str],
    settings: Settings,
    on_photos: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Pooled MobileNetV2 features [N, 1280] of the photos at paths (sha1s: their contents).

    Only photos whose content the store lacks are decoded and run (training's extractor, on
    the fastest runtime); on_photos(done, to_do) reports them.

    Raises:
        ModelUnavailableError: the backbone weights cannot be loaded.
        ImageError: a photo cannot be read any more.
    """
    frozen = FrozenFeatures(DEFAULT_BACKBONE, settings)
    # The cache file of no photos names the model and runtime; the store sits beside it.
    named = feature_cache.cache_file(settings, frozen.spec, frozen.weights, [], frozen.runtime.name)
    store = named.with_name(f"photos-{named.name}") if named is not None else None
    known = _stored(store)
    missing = [i for i, sha1 in enumerate(sha1s) if sha1 not in known]
    if missing:
        subset = Subset(tuple(paths[i] for i in missing), (0,) * len(missing))
        report = (lambda done: on_photos(done, len(missing))) if on_photos else (lambda _: None)
        for i, row in zip(missing, frozen.extract(subset, report), strict=True):
            known[sha1s[i]] = row
        _store(store, known, keep=set(sha1s), cap_mb=settings.max_cache_mb)
    return np.stack([known[sha1] for sha1 in sha1s]).astype(np.float32)


def _stored(store: Path | None) -> dict[str, np.ndarray]:
    """{content hash: features} saved so far; empty when absent or unreadable."""
    if store is None or not store.is_file():
        return {}
    try:
        with np.load(store, allow_pickle=False) as saved:
            return dict(zip(saved["paths"].tolist(), saved["features"], strict=True))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        logger.warning("Ignoring the unreadable feature store %s: %s", store, error)
        return {}


def _store(store: Path | None, known: dict[str, np.ndarray], keep: set[str], cap_mb: int) -> None:
    """Save the store (through feature_cache.write: atomic, within the cache's size cap), the
    photos in keep first, at most MAX_STORED in all."""
    order = [*keep, *(sha1 for sha1 in known if sha1 not in keep)][:MAX_STORED]
    feature_cache.write(store, order, np.stack([known[sha1] for sha1 in order]), cap_mb)
