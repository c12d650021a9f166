"""One cheap pass over the photos: content hash, perceptual hash and the few pixel statistics
the health check needs (size, how uniform, how colourful), computed on every core."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from engine import images
from engine.data.record import file_digest
from engine.errors import ImageError
from engine.settings import DEFAULT_MAX_IMAGE_PIXELS

THUMBNAIL = 64  # side of the squashed thumbnail the statistics and the hashes are taken from
_HASHED = 32  # the hashes look at 32x32 gray pixels...
_HASH_SIDE = 8  # ...and keep their 8x8 lowest frequencies: 64 bits
_CENTRE = slice(3, 61)  # the middle 90% of the thumbnail: a copy cropped 5% a side looks so
_GRAY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma
UNIFORM_STD = 6.0  # gray levels spread less than this: a blank or nearly one-colour photo


@dataclass(frozen=True)
class Fingerprint:
    """What the health check knows about one photo without running a model."""

    sha1: str  # of the file's bytes: equal for exact copies
    phash: int  # 64-bit perceptual hash: few bits differ between re-encoded or resized copies
    phash_centre: int  # the same of its middle 90%: close to the hash of a slightly cropped copy
    colour: tuple[float, float, float]  # mean red, green, blue (0-255): hashes ignore colour
    colour_centre: tuple[float, float, float]  # ... of its middle 90%
    width: int
    height: int
    gray_std: float  # spread of the gray levels (0-255) of the thumbnail; ~0 for a blank photo
    colourfulness: float  # mean of max - min channel per pixel (0-255); ~0 for grayscale

    @property
    def uniform(self) -> bool:
        """Nearly one colour: its perceptual hash says nothing (every blank photo shares it)."""
        return self.gray_std < UNIFORM_STD


def fingerprints(
    paths: Sequence[Path], max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> list[Fingerprint | None]:
    """The Fingerprint of every photo, in order; None for a photo that cannot be read any more.

    Remembered per file (path, size, modification time) for the life of the process, so the
    Data page's reruns and a training that follows do not read the photos again.
    """
    with ThreadPoolExecutor(thread_name_prefix="fingerprint") as pool:
        return list(pool.map(functools.partial(_fingerprint, max_pixels=max_pixels), paths))


def _fingerprint(path: Path, max_pixels: int) -> Fingerprint | None:
    try:
        stat = os.stat(path)
        return _remembered(str(path), stat.st_size, stat.st_mtime_ns, max_pixels)
    except (OSError, ValueError, ImageError):
        return None


@functools.lru_cache(maxsize=200_000)
def _remembered(path: str, size: int, mtime_ns: int, max_pixels: int) -> Fingerprint:
    """Fingerprint of one file version (size and mtime are part of the cache key only)."""
    with Image.open(path) as header:  # the header alone: the pixels are decoded small below
        width, height = header.size
    pixels = images.load_array(path, THUMBNAIL, max_pixels).astype(np.float32)
    gray = pixels @ _GRAY
    return Fingerprint(
        sha1=file_digest(Path(path)),
        phash=perceptual_hash(_shrunk(gray)),
        phash_centre=perceptual_hash(_shrunk(gray[_CENTRE, _CENTRE])),
        colour=tuple(float(c) for c in pixels.mean(axis=(0, 1))),
        colour_centre=tuple(float(c) for c in pixels[_CENTRE, _CENTRE].mean(axis=(0, 1))),
        width=width,
        height=height,
        gray_std=float(gray.std()),
        colourfulness=float((pixels.max(axis=2) - pixels.min(axis=2)).mean()),
    )


def _shrunk(gray: np.ndarray) -> np.ndarray:
    """gray resized to the hash's 32x32 (each output pixel the mean of its box)."""
    picture = Image.fromarray(gray).resize((_HASHED, _HASHED), Image.Resampling.BOX)
    return np.asarray(picture, dtype=np.float32)


@functools.cache
def _dct_matrix(size: int) -> np.ndarray:
    """The orthonormal DCT-II matrix: D @ x transforms the columns of x."""
    k, i = np.arange(size)[:, None], np.arange(size)[None, :]
    matrix = np.cos(np.pi * (2 * i + 1) * k / (2 * size)) * np.sqrt(2 / size)
    matrix[0] /= np.sqrt(2)
    return matrix.astype(np.float32)


def perceptual_hash(gray: np.ndarray) -> int:
    """64-bit pHash of a square grayscale thumbnail: which of its 8x8 lowest frequencies lie
    above their median. Coarse shapes survive re-encoding, resizing and small crops."""
    dct = _dct_matrix(gray.shape[0])
    low = (dct @ gray @ dct.T)[:_HASH_SIDE, :_HASH_SIDE].flatten()
    bits = low > np.median(low[1:])  # the first coefficient is the mean brightness
    return int(np.packbits(bits).view(">u8")[0])
