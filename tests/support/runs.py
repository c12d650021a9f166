"""Typed runs for tests: consistent metrics computed from per-photo predictions."""

from __future__ import annotations

import dataclasses
import itertools

from engine.config import TrainConfig
from engine.evaluation import Evaluation, Prediction, ZeroShotResult
from engine.events import History
from engine.metrics import compute_metrics
from engine.run_record import DataFacts, Run, RunInfo

_NUMBERS = itertools.count(1)
HISTORY = {
    "loss": [1.0, 0.6, 0.3],
    "accuracy": [0.5, 0.8, 0.95],
    "val_loss": [0.9, 0.5, 0.35],
    "val_accuracy": [0.6, 0.85, 0.9],
    "stage": ["head", "head", "fine_tune"],
}


def prediction(
    true: str, predicted: str | None = None, zero_shot: str | None = None, **changes
) -> Prediction:
    """A test photo of class `true`, predicted right unless `predicted` says otherwise.

    zero_shot is the class the zero-shot answer maps to ('' = an unmapped ImageNet label).
    """
    fields = {
        "path": f"/data/pets/{true}/{next(_NUMBERS)}.png",
        "true": true,
        "predicted": predicted or true,
        "confidence": 0.9,
        "zero_shot_label": None if zero_shot is None else (zero_shot or "tabby cat"),
        "zero_shot_class": zero_shot or None,
    }
    return Prediction(**{**fields, **changes})


def make_run(
    class_names: tuple[str, ...],
    predictions: list[Prediction] | None = None,
    *,
    status: str = "complete",
    zero_shot_error: str | None = None,
    history: dict | None = None,
    dataset: str = "/data/pets",
    config: TrainConfig | None = None,
    **info_changes,
) -> Run:
    """A run whose every figure follows from its predictions (one right photo per class by
    default); the zero-shot baseline exists unless zero_shot_error is given."""
    if predictions is None:
        predictions = [prediction(name, zero_shot=name) for name in class_names]
    index = {name: i for i, name in enumerate(class_names)}
    truth = [index[row.true] for row in predictions]
    metrics = compute_metrics(truth, [index[row.predicted] for row in predictions], class_names)
    zero_shot = None
    if zero_shot_error is None:
        zero_shot_metrics = compute_metrics(
            truth, [index.get(row.zero_shot_class) for row in predictions], class_names
        )
        mapped = {row.zero_shot_class for row in predictions if row.zero_shot_class}
        zero_shot = ZeroShotResult(
            metrics=zero_shot_metrics,
            mapping={name: [i + 1] if name in mapped else [] for i, name in enumerate(class_names)},
            unmapped_classes=tuple(name for name in class_names if name not in mapped),
        )
    complete = status == "complete"
    info = RunInfo(
        run_id="",
        created="",
        status=status,
        dataset=dataset,
        class_names=class_names,
        config=config or TrainConfig(epochs=2, fine_tune_epochs=1),
        test_accuracy=metrics.accuracy if complete else None,
        zero_shot_accuracy=zero_shot.metrics.accuracy if zero_shot else None,
        train_seconds=12.5,
    )
    return Run(
        info=dataclasses.replace(info, **info_changes),
        history=History(HISTORY if history is None else history),
        data=DataFacts(dataset, None, 8, 1, len(predictions), (), ()),
        zero_shot=zero_shot,
        zero_shot_error=zero_shot_error,
        evaluation=Evaluation(metrics, tuple(predictions), zero_shot) if complete else None,
    )
