"""Generated photos with a shape (so perceptual hashes tell them apart) and their copies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine import images
from engine.data.scan import Dataset, scan_dataset


def write_pattern(path: Path, seed: int, size: tuple[int, int] = (160, 120)) -> Path:
    """A JPEG of smooth random colour blobs: every seed gives a different picture."""
    coarse = np.random.default_rng(seed).uniform(0, 255, (4, 5, 3)).astype(np.uint8)
    picture = Image.fromarray(coarse).resize(size, Image.Resampling.BICUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    picture.save(path, quality=92)
    return path


def write_copy(source: Path, target: Path, how: str) -> Path:
    """A near copy of source: 're-encoded' (JPEG quality 50), 'resized' (half size, PNG) or
    'cropped' (5% off every side)."""
    picture = images.open_image(source)
    width, height = picture.size
    if how == "resized":
        picture = picture.resize((width // 2, height // 2))
    elif how == "cropped":
        dx, dy = width // 20, height // 20
        picture = picture.crop((dx, dy, width - dx, height - dy))
    target.parent.mkdir(parents=True, exist_ok=True)
    picture.save(target, quality=50) if target.suffix == ".jpg" else picture.save(target)
    return target


def pattern_features(paths) -> np.ndarray:
    """A stand-in for MobileNetV2's features: each photo's centred 8x8 gray pattern (equal for
    copies, unrelated for different pictures), so tests need no model."""
    rows = []
    for path in paths:
        gray = images.load_array(path, 8).astype(np.float32).mean(axis=2).flatten()
        rows.append(gray - gray.mean())
    return np.stack(rows)


@pytest.fixture
def pattern_folder(tmp_path: Path) -> Path:
    """3 classes x 10 distinct pattern photos."""
    root = tmp_path / "patterns"
    for label, name in enumerate(("ants", "bees", "wasps")):
        for i in range(10):
            write_pattern(root / name / f"{name}_{i:02d}.jpg", seed=100 * label + i)
    return root


def scan(root: Path) -> Dataset:
    return scan_dataset(root)
