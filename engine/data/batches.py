"""Decode image batches for inference and training pipelines, on every core, in subset order."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from engine import images
from engine.data.split import Subset
from engine.errors import ImageError
from engine.settings import DEFAULT_MAX_IMAGE_PIXELS


def decode_batches(
    subset: Subset, image_size: int, batch_size: int, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> Iterator[np.ndarray]:
    """Uint8 image batches [B,S,S,3] of subset, in order, for inference (nothing when empty).

    Each batch is decoded by every core at once, and only when it is asked for, so between
    model calls: decoding while the model runs (tf.data prefetch) slows the model's own
    multi-threaded ops far more than it saves (bench/inference.py). One batch is in memory.

    Raises:
        ImageError: a file cannot be read any more; the message names it.
    """
    load = partial(load_for_batch, size=image_size, max_pixels=max_pixels)
    with ThreadPoolExecutor(thread_name_prefix="decode") as pool:  # Pillow releases the GIL
        for start in range(0, len(subset), batch_size):
            yield np.stack(list(pool.map(load, subset.paths[start : start + batch_size])))


def load_for_batch(path: bytes | str | Path, size: int, max_pixels: int) -> np.ndarray:
    """Decode one image for a batch; errors name the full path and what to do."""
    file_path = os.fsdecode(path)
    try:
        return images.load_array(file_path, size, max_pixels)
    except ImageError as error:
        raise ImageError(
            f"{error} (file: {images.printable(file_path)}; it changed after the dataset was "
            "scanned, so scan the folder again)"
        ) from error
