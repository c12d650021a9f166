"""Decoding phone-sized photos: 12-MP JPEGs to a 224x224 model input, engine vs a full decode."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from bench.context import Context
from bench.report import Outcome, Row
from engine.images import load_array

PHONE_SIZE = (4000, 3000)  # 12 MP, what most phone cameras write
INPUT_SIZE = 224
PHOTOS = 12
QUICK_PHOTOS = 2
REPEATS = 3
TARGET_RATIO = 3.0


def write_phone_photos(sources: list[str], folder: Path) -> list[Path]:
    """12-MP JPEGs upscaled from the sample photos (quality 92, like a phone's camera app)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number, source in enumerate(sources):
        with Image.open(source) as photo:
            big = photo.convert("RGB").resize(PHONE_SIZE, Image.Resampling.BICUBIC)
        written.append(folder / f"phone_{number:02d}.jpg")
        big.save(written[-1], quality=92)
    return written


def full_decode(path: Path) -> np.ndarray:
    """Decode every pixel, orient, then resize: what a straightforward loader does."""
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image.convert("RGB"))
        resized = upright.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
        return np.asarray(resized, dtype=np.uint8)


def _rate(load: Callable[[Path], np.ndarray], photos: list[Path]) -> float:
    start = time.perf_counter()
    for photo in photos:
        load(photo)
    return len(photos) / (time.perf_counter() - start)


def run(ctx: Context) -> Outcome:
    """Images/s of engine.images.load_array vs full_decode on the same 12-MP files, one core."""
    count = QUICK_PHOTOS if ctx.quick else PHOTOS
    photos = write_phone_photos(list(ctx.split.test.paths[:count]), ctx.workdir / "phone")

    def engine_load(path: Path) -> np.ndarray:
        return load_array(path, INPUT_SIZE)

    engine_load(photos[0]), full_decode(photos[0])  # warm the file cache and Pillow's plugins
    passes = [
        (_rate(engine_load, photos), _rate(full_decode, photos))
        for _ in range(1 if ctx.quick else REPEATS)
    ]
    engine_rate = statistics.median(engine for engine, _ in passes)
    full_rate = statistics.median(full for _, full in passes)
    row = Row(
        f"Decode+resize {count} 12-MP JPEGs to {INPUT_SIZE}x{INPUT_SIZE}, one thread",
        f"{engine_rate:.1f} img/s (draft decode)",
        f"{full_rate:.1f} img/s (full decode)",
        engine_rate / full_rate,
        f">= {TARGET_RATIO:.0f}",
        engine_rate / full_rate >= TARGET_RATIO,
    )
    difference = np.abs(
        engine_load(photos[0]).astype(np.int16) - full_decode(photos[0]).astype(np.int16)
    )
    notes = [
        f"{PHONE_SIZE[0]}x{PHONE_SIZE[1]} JPEGs upscaled from test photos; median of "
        f"{len(passes)} interleaved passes. Draft decode = engine.images.load_array: libjpeg "
        "decodes in the DCT domain at the smallest 1/2, 1/4 or 1/8 scale that stays >= the "
        "model input, with the same EXIF orientation and pixel-limit checks as a full decode. "
        f"Pixels differ from the full decode by {difference.mean():.1f} on average "
        f"(max {difference.max()}) out of 255.",
    ]
    return Outcome([row], notes=notes)
