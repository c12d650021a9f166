"""On-disk cache of frozen-base features, keyed by the images and the weights that made them."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine import disk
from engine.backbones import Backbone
from engine.runtime import CONVERSION_VERSION
from engine.settings import Settings

logger = logging.getLogger(__name__)

VERSION = "3"  # bump when the way features are computed changes (2: standard-layer preprocessing)


def cache_file(
    settings: Settings, spec: Backbone, weights: str | None, paths: Sequence[Path], runtime: str
) -> Path | None:
    """settings.cache_root/features/<sha1>.npz for these images under these weights, computed
    on this runtime (LiteRT's features differ from TensorFlow's in the fifth decimal).

    None when caching is unsafe: random weights (they change with the seed) or an image that
    cannot be stat'ed.
    """
    if weights is None:
        return None
    digest = hashlib.sha1(f"{VERSION}\n{spec.name}\n{runtime}-{CONVERSION_VERSION}\n".encode())
    try:
        identity = weights
        if weights != "imagenet":
            stat = os.stat(weights)
            identity = f"{Path(weights).resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}"
        digest.update(f"{identity}\n".encode())
        for path in sorted(str(p) for p in paths):
            stat = os.stat(path)
            digest.update(f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    except OSError:
        return None
    return settings.cache_root / "features" / f"{digest.hexdigest()}.npz"


def read(file: Path | None, paths: Sequence[Path], feature_dim: int) -> np.ndarray | None:
    """Cached features in the order of paths, or None when absent, unreadable or incomplete."""
    if file is None or not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as saved:
            cached_paths, features = saved["paths"].tolist(), saved["features"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("Ignoring unreadable feature cache %s: %s", file, exc)
        return None
    if features.shape != (len(cached_paths), feature_dim):
        logger.warning("Ignoring feature cache %s: unexpected shape", file)
        return None
    disk.touch(file)  # recently used: evicted last, kept TLAB_KEEP_DAYS from now
    rows = {path: row for row, path in enumerate(cached_paths)}
    try:
        return features[[rows[str(path)] for path in paths]].astype(np.float32)
    except KeyError:
        return None


def write(
    file: Path | None, paths: Sequence[Path], features: np.ndarray, cap_mb: int | None = None
) -> None:
    """Atomically store features (temp file + os.replace); a failure only costs the speed-up.

    With cap_mb, the least recently used cache files then go until the cache fits in it.
    """
    if file is None:
        return
    temp_name = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=file.parent, suffix=".tmp", delete=False) as handle:
            temp_name = handle.name
            np.savez(handle, paths=np.array([str(p) for p in paths]), features=features)
        os.replace(temp_name, file)
        if cap_mb is not None:
            others = (path for path in file.parent.glob("*.npz") if path != file)
            disk.evict_least_recent([*others, file], cap_mb)
    except OSError as exc:
        logger.warning("Could not write the feature cache %s: %s", file, exc)
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
