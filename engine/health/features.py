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
from engine.backbones import DEFAULT_BACKBONE, get_backbone, weights_source
from engine.data.batches import decode_batches
from engine.data.split import Subset
from engine.model import build_model, feature_extractor
from engine.runtime import Runtime, keras_forward
from engine.settings import Settings

MAX_STORED = 50_000  # photos whose features the store keeps (about 250 MB at 1280 floats)
BATCH_SIZE = 32

logger = logging.getLogger(__name__)


def photo_features(
    paths: Sequence[Path],
    sha1s: Sequence[str],
    settings: Settings,
    on_batch: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Pooled MobileNetV2 features [N, 1280] of the photos at paths (sha1s: their contents).

    Only photos whose content the store lacks are decoded and run (on the fastest runtime).
    on_batch(done, total) reports each batch of those.

    Raises:
        ModelUnavailableError: the backbone weights cannot be loaded.
        ImageError: a photo cannot be read any more.
    """
    spec = get_backbone(DEFAULT_BACKBONE)
    weights = weights_source(spec.name, settings.backbone_weights)
    runtime = Runtime.from_settings(settings)
    # The cache file of no photos names the model and runtime; the store sits beside it.
    named = feature_cache.cache_file(settings, spec, weights, [], runtime.name)
    store = named.with_name(f"photos-{named.name}") if named is not None else None
    known = _stored(store)
    missing = [i for i, sha1 in enumerate(sha1s) if sha1 not in known]
    if missing:
        model, _, _ = build_model(spec.name, 2, 0.0, weights)
        extract = keras_forward(feature_extractor(model), spec.input_size, runtime, "features")
        subset = Subset(tuple(paths[i] for i in missing), (0,) * len(missing))
        total = -(-len(missing) // BATCH_SIZE)
        rows = []
        batches = decode_batches(subset, spec.input_size, BATCH_SIZE, settings.max_image_pixels)
        for done, pixels in enumerate(batches, start=1):
            rows.append(extract(pixels.astype(np.float32)))
            if on_batch is not None:
                on_batch(done, total)
        for i, row in zip(missing, np.concatenate(rows), strict=True):
            known[sha1s[i]] = row
        _store(store, known, keep=set(sha1s))
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


def _store(store: Path | None, known: dict[str, np.ndarray], keep: set[str]) -> None:
    """Save the store (through feature_cache.write: atomic), the photos in keep first, at most
    MAX_STORED in all."""
    order = [*keep, *(sha1 for sha1 in known if sha1 not in keep)][:MAX_STORED]
    feature_cache.write(store, order, np.stack([known[sha1] for sha1 in order]))
