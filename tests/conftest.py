"""Shared fixtures: generated image folders, offline settings pointing at ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# TensorFlow reads it once, at import, which the next line causes.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.context import FLOWERS, MODELS, SHARED, offline_defaults  # noqa: E402

SHARED_MISSING = "../shared (real MobileNetV2 weights and flowers photos) is not beside the project"


def offline_env(runs_dir: Path) -> dict[str, str]:
    """TLAB_* variables that point every model and dataset at ../shared, runs at runs_dir."""
    return {**offline_defaults(), "TLAB_RUNS_DIR": str(runs_dir)}


@pytest.fixture
def shared_dir() -> Path:
    """../shared, or skip the test with a clear reason."""
    if not (MODELS / "classification").is_dir() or not (FLOWERS / "splits.csv").is_file():
        pytest.skip(SHARED_MISSING)
    return SHARED


@pytest.fixture
def offline_settings(shared_dir: Path, tmp_path: Path):
    """engine Settings on ../shared with a fresh runs folder."""
    from engine.settings import Settings

    return Settings.from_env(offline_env(tmp_path / "runs"))


def write_image(path: Path, color: tuple[int, int, int], size: int = 32, seed: int = 0) -> Path:
    """Save a small noisy RGB image of roughly one colour (so classes are learnable)."""
    rng = np.random.default_rng(seed)
    base = np.array(color, dtype=np.float32)
    pixels = np.clip(base + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


CLASS_COLORS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A dataset folder: 3 classes (red/green/blue) x 12 small PNG images."""
    root = tmp_path / "colors"
    for name, color in CLASS_COLORS.items():
        for i in range(12):
            write_image(root / name / f"{name}_{i:02d}.png", color, seed=i)
    return root
