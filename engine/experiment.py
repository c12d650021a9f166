"""One complete experiment: scan, split, zero-shot baseline, fine-tune, evaluate, save the run."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from engine.runs import RunInfo
from engine.settings import Settings
from engine.training import EventCallback, TrainConfig
from engine.zero_shot import ZeroShotClassifier


def run_experiment(
    data_dir: str | Path,
    config: TrainConfig,
    settings: Settings,
    split_file: str | Path | None = None,
    mapping: dict[str, list[int]] | None = None,
    zero_shot: Callable[[], ZeroShotClassifier] | None = None,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
) -> RunInfo:
    """Run everything and save it in settings.runs_dir; returns the saved run's info.

    zero_shot is a loader (default ZeroShotClassifier.load); if it raises
    ModelUnavailableError the run is saved without zero-shot figures and says why.
    On cancel a 'cancelled' run (config + history so far, no model) is saved and
    TrainingCancelled is re-raised.
    """
    raise NotImplementedError
