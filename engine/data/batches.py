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

    One thread decodes the next batch while the caller runs the model on this one: with
    LiteRT (which leaves the GIL) that measured 0.88 of the model-only rate, against 0.85
    for decoding each batch on every core between model calls, and against less for more
    decode threads, which slow the model's own (bench/inference.py). Two batches at most
    are in memory.

    Raises:
        ImageError: a file cannot be read any more; the message names it.
    """
    load = partial(load_for_batch, size=image_size, max_pixels=max_pixels)

    def decode(start: int) -> np.ndarray:
        return np.stack([load(path) for path in subset.paths[start : start + batch_size]])

    starts = list(range(0, len(subset), batch_size))
    if not starts:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as ahead:
        pending = ahead.submit(decode, starts[0])
        for following in starts[1:]:
            batch = pending.result()
            pending = ahead.submit(decode, following)
            yield batch
        yield pending.result()


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
