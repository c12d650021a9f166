"""Run store on disk: one folder per run, written atomically; list, load, delete, export."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.training import FineTunedClassifier

EXPORT_FORMATS = ("keras", "savedmodel", "tflite")


@dataclass(frozen=True)
class RunInfo:
    """Headline facts of one run, as listed on the Runs page."""

    run_id: str
    created: str  # ISO 8601, UTC
    status: str  # 'complete' | 'cancelled'
    dataset: str
    class_names: tuple[str, ...]
    config: dict
    test_accuracy: float | None
    zero_shot_accuracy: float | None
    train_seconds: float | None


@dataclass(frozen=True)
class Run:
    """Everything saved for one run except the model."""

    info: RunInfo
    history: dict  # {'loss': [...], ..., 'stage': [...]}
    metrics: dict  # accuracy, per_class, confusion, zero_shot {accuracy, per_class, confusion, mapping, unmapped_classes}
    predictions: list[dict]  # per-image rows (engine.evaluation.Evaluation.rows)


class RunStore:
    """Runs under one folder; a run is visible only once completely written (temp dir + rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def save(
        self,
        classifier: FineTunedClassifier | None,
        info: RunInfo,
        history: dict,
        metrics: dict,
        predictions: list[dict],
    ) -> str:
        """Write a run (model as model.keras when given) and return its id. Raises RunStoreError."""
        raise NotImplementedError

    def list(self) -> list[RunInfo]:
        """All readable runs, newest first; temp folders and damaged runs are ignored."""
        raise NotImplementedError

    def load(self, run_id: str) -> Run:
        """Read a run ('latest' = newest complete). Raises RunNotFoundError."""
        raise NotImplementedError

    def load_model(self, run_id: str) -> FineTunedClassifier:
        """Load the run's model with Keras safe mode. Raises RunNotFoundError."""
        raise NotImplementedError

    def delete(self, run_id: str) -> None:
        """Remove a run folder. Raises RunNotFoundError."""
        raise NotImplementedError

    def export(self, run_id: str, fmt: str) -> Path:
        """Write the model as fmt under the run folder and return a single file to download
        (.keras, SavedModel as .zip, .tflite). Raises RunNotFoundError, ConfigError."""
        raise NotImplementedError
