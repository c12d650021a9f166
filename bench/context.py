"""Shared set-up for benchmarks: offline settings, the flowers split, models built once per run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import numpy as np

from engine.classifiers import FineTunedClassifier
from engine.config import TrainConfig
from engine.data.scan import scan_dataset
from engine.data.split import Split, Subset, read_split_file
from engine.evaluation import predict_subset
from engine.settings import Settings
from engine.training import fit
from engine.zero_shot import ZeroShotClassifier
from tests.support.paths import FLOWERS, ROOT, offline_defaults

T = TypeVar("T")
QUICK_EPOCHS = 2  # --quick trains this many epochs: enough to exercise the code, not to compare


def apply_offline_defaults() -> None:
    """Fill unset TLAB_* variables (children inherit them) so a bare `python -m bench` works."""
    for name, value in offline_defaults().items():
        if not os.environ.get(name, "").strip():
            os.environ[name] = value


def run_child(module: str, *args: str) -> dict:
    """Run `python -m module args` from the project root and return the JSON on its last line.

    Used where a measurement needs a fresh process (peak RSS, TF thread settings).
    """
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def timed(function: Callable[..., T], *args: object, **kwargs: object) -> tuple[float, T]:
    """(wall seconds, result) of one call."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def accuracy(classifier: FineTunedClassifier, subset: Subset) -> float:
    """Top-1 accuracy of classifier on subset."""
    predicted = predict_subset(classifier, subset).argmax(axis=1)
    return float(np.mean(predicted == np.array(subset.labels)))


class Context:
    """Objects several benchmarks use, each built on first use and then shared."""

    def __init__(self, workdir: Path, quick: bool = False) -> None:
        self.workdir = workdir
        self.quick = quick
        self.settings = Settings.from_env()
        self.scan_seconds = 0.0  # set when the split is first built

    @property
    def data_dir(self) -> Path:
        """The sample photos: TLAB_DATA_DIR, else the flowers in ../shared."""
        return self.settings.data_dir or FLOWERS

    @property
    def train_config(self) -> TrainConfig:
        """The one-click defaults, or a few epochs only with --quick."""
        return TrainConfig(epochs=QUICK_EPOCHS) if self.quick else TrainConfig()

    def fresh_settings(self) -> Settings:
        """Settings with a new empty runs folder, so no feature cache from earlier runs is used."""
        return replace(self.settings, runs_dir=Path(tempfile.mkdtemp(dir=self.workdir)))

    @cached_property
    def split(self) -> Split:
        """The flowers photos split by their splits.csv (800 train incl. validation, 200 test)."""
        start = time.perf_counter()
        dataset = scan_dataset(self.data_dir, self.settings.max_image_pixels)
        split = read_split_file(dataset, self.data_dir / "splits.csv")
        self.scan_seconds = time.perf_counter() - start
        return split

    @cached_property
    def fine_tuned(self) -> FineTunedClassifier:
        """The engine's default fine-tuned model (the training benchmark sets it when it runs)."""
        return fit(self.split, self.train_config, self.fresh_settings()).classifier

    @cached_property
    def zero_shot(self) -> ZeroShotClassifier:
        """The Hub ImageNet classifier from settings."""
        return ZeroShotClassifier.load(self.settings)
