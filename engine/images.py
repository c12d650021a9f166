"""Decode one image safely: pixel limits, EXIF orientation, any mode to 8-bit RGB."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

from engine.errors import ImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
DEFAULT_MAX_PIXELS = 50_000_000

ImageSource = str | Path | bytes | BinaryIO


def open_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Return the image as upright 8-bit RGB (first frame of animations).

    Raises:
        ImageError: empty, truncated, not an image, or more than max_pixels pixels; the
            message names the file (when known) and the reason in plain words.
    """
    raise NotImplementedError


def load_array(source: ImageSource, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Return uint8 [size, size, 3]: open_image, then resize (bilinear, aspect squashed)."""
    raise NotImplementedError


def thumbnail(source: ImageSource, size: int = 192, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Return a small RGB copy (longest side = size) for grids."""
    raise NotImplementedError
