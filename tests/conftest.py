"""Shared fixtures: generated image folders, offline settings pointing at ../shared."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# TensorFlow reads it once, at import, which the next line causes.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tests.support.paths import (  # noqa: E402
    FLOWERS,
    SHARED,
    SHARED_MISSING,
    offline_defaults,
    shared_present,
)


def offline_env(runs_dir: Path) -> dict[str, str]:
    """TLAB_* variables that point every model and dataset at ../shared, runs at runs_dir."""
    return {**offline_defaults(), "TLAB_RUNS_DIR": str(runs_dir)}


@pytest.fixture
def shared_dir() -> Path:
    """../shared, or skip the test with a clear reason."""
    if not shared_present():
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


NUM_PER_CLASS = 12  # the image_folder fixture: red / green / blue x 12
CLASS_COLORS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def write_class(root: Path, name: str, count: int) -> None:
    """count tiny images in root/name, of the class's colour when it is one of CLASS_COLORS."""
    for i in range(count):
        write_image(root / name / f"{name}_{i:02d}.png", CLASS_COLORS.get(name, (90, 90, 90)), 8)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A dataset folder: 3 classes (red/green/blue) x 12 small PNG images."""
    root = tmp_path / "colors"
    for name, color in CLASS_COLORS.items():
        for i in range(NUM_PER_CLASS):
            write_image(root / name / f"{name}_{i:02d}.png", color, seed=i)
    return root


@dataclasses.dataclass(frozen=True)
class FlowersRun:
    """One default-recipe training on the shared flowers (their splits.csv), for every
    integration test that needs a real trained run: trained once per test session."""

    settings: object  # engine.settings.Settings
    run_id: str


@pytest.fixture(scope="session")
def flowers_run(tmp_path_factory: pytest.TempPathFactory) -> FlowersRun:
    if not shared_present():
        pytest.skip(SHARED_MISSING)
    from engine.config import TrainConfig
    from engine.experiment import run_experiment
    from engine.settings import Settings

    settings = Settings.from_env(offline_env(tmp_path_factory.mktemp("flowers") / "runs"))
    info = run_experiment(FLOWERS, TrainConfig(), settings, split_file=FLOWERS / "splits.csv")
    return FlowersRun(settings, info.run_id)
