"""One complete experiment: scan, split, zero-shot baseline, fine-tune, evaluate, save the run."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from engine.datasets import Dataset, Split, read_split_file, scan_dataset, split_dataset
from engine.errors import ModelUnavailableError, RunStoreError, TrainingCancelled
from engine.evaluation import compute_metrics, evaluate
from engine.runs import RunInfo, RunStore, utc_now
from engine.settings import Settings
from engine.training import EventCallback, ProgressEvent, TrainConfig, fit
from engine.zero_shot import ZeroShotClassifier, ZeroShotReport, evaluate_zero_shot

ZERO_SHOT_STAGE = "zero_shot"
EVALUATE_STAGE = "evaluate"

logger = logging.getLogger(__name__)


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

    Events are numbered over the whole experiment: stage 1 is 'zero_shot', then the
    training stages, and the last one is 'evaluate'.
    """
    config = config.validate()
    dataset = scan_dataset(data_dir, settings.max_image_pixels)
    split = make_split(dataset, config, split_file)
    relay = _EventRelay(on_event, _expected_training_stages(config))
    loader = zero_shot or (lambda: ZeroShotClassifier.load(settings))
    report, zero_shot_metrics = _zero_shot_baseline(split, mapping, loader, relay)

    store = RunStore(settings.runs_dir)
    metrics = {**_data_facts(dataset, split, split_file), "zero_shot": zero_shot_metrics}
    info = RunInfo(
        run_id="",
        created="",
        status="complete",
        dataset=str(dataset.root),
        class_names=tuple(split.class_names),
        config=dataclasses.asdict(config),
        test_accuracy=None,
        zero_shot_accuracy=report.accuracy if report is not None else None,
        train_seconds=None,
    )

    started = time.monotonic()
    try:
        result = fit(split, config, settings, on_event=relay, cancel=cancel)
    except TrainingCancelled:
        cancelled = dataclasses.replace(
            info, status="cancelled", train_seconds=time.monotonic() - started
        )
        _save_cancelled(store, cancelled, relay.history, metrics)
        raise

    relay.extra_stage("stage_start", EVALUATE_STAGE)
    evaluation = evaluate(
        result.classifier, split.test, zero_shot=report, batch_size=config.batch_size
    )
    relay.extra_stage("stage_end", EVALUATE_STAGE)

    metrics.update(
        accuracy=evaluation.accuracy, per_class=evaluation.per_class, confusion=evaluation.confusion
    )
    info = dataclasses.replace(
        info, created=utc_now(), test_accuracy=evaluation.accuracy, train_seconds=result.seconds
    )
    history = {**result.history, "stage": list(result.stages)}
    run_id = store.save(result.classifier, info, history, metrics, evaluation.rows)
    return dataclasses.replace(info, run_id=run_id)


def make_split(
    dataset: Dataset, config: TrainConfig, split_file: str | Path | None = None
) -> Split:
    """An experiment's split recipe: the split file when given, else config's seeded split."""
    if split_file is not None:
        return read_split_file(dataset, split_file, config.validation_fraction, config.seed)
    return split_dataset(dataset, config.validation_fraction, config.test_fraction, config.seed)


def _data_facts(dataset: Dataset, split: Split, split_file: str | Path | None) -> dict:
    """What the run's metrics record about the data it was trained and tested on."""
    return {
        "class_names": list(split.class_names),
        "dataset": str(dataset.root),
        "split_file": str(split_file) if split_file is not None else None,
        "split": {
            "train": len(split.train),
            "validation": len(split.validation),
            "test": len(split.test),
        },
        "skipped": len(dataset.skipped),
        "skipped_files": [dataclasses.asdict(skipped) for skipped in dataset.skipped],
        "warnings": list(dataset.warnings),
    }


def _expected_training_stages(config: TrainConfig) -> int:
    """Best guess of training's stage count, used until training reports its own."""
    cached_features = not config.augment
    return int(cached_features) + 1 + int(config.fine_tune_epochs > 0)


def _zero_shot_baseline(
    split: Split,
    mapping: dict[str, list[int]] | None,
    loader: Callable[[], ZeroShotClassifier],
    relay: _EventRelay,
) -> tuple[ZeroShotReport | None, dict]:
    """The zero-shot report on split.test and its metrics, or (None, {'error': why})."""
    relay.extra_stage("stage_start", ZERO_SHOT_STAGE)
    try:
        report = evaluate_zero_shot(loader(), split.test, split.class_names, mapping)
    except ModelUnavailableError as exc:
        logger.warning("Continuing without the zero-shot baseline: %s", exc)
        return None, {"error": str(exc)}
    finally:
        relay.extra_stage("stage_end", ZERO_SHOT_STAGE)
    _, per_class, confusion = compute_metrics(
        list(split.test.labels), list(report.predicted), split.class_names
    )
    return report, {
        "accuracy": report.accuracy,
        "per_class": per_class,
        "confusion": confusion,
        "mapping": report.mapping,
        "unmapped_classes": list(report.unmapped_classes),
    }


def _save_cancelled(store: RunStore, info: RunInfo, history: dict, metrics: dict) -> None:
    """Keep what a cancelled training learned about itself; the cancel itself still wins."""
    try:
        store.save(None, dataclasses.replace(info, created=utc_now()), history, metrics, [])
    except RunStoreError as exc:
        logger.error("The cancelled run could not be saved: %s", exc)


class _EventRelay:
    """Renumbers training events over the experiment's stages and records epoch history."""

    def __init__(self, on_event: EventCallback | None, num_training_stages: int) -> None:
        self._on_event = on_event
        self._num_training_stages = num_training_stages
        self.history: dict[str, list] = {}  # same shape as a saved run's history

    def __call__(self, event: ProgressEvent) -> None:
        self._num_training_stages = event.num_stages
        if event.kind == "epoch_end":
            self._record(event)
        self._emit(
            dataclasses.replace(
                event, stage_index=event.stage_index + 1, num_stages=self._num_stages
            )
        )

    def extra_stage(self, kind: str, stage: str) -> None:
        """Announce the experiment's own first (zero-shot) or last (evaluate) stage."""
        index = 1 if stage == ZERO_SHOT_STAGE else self._num_stages
        self._emit(
            ProgressEvent(kind=kind, stage=stage, stage_index=index, num_stages=self._num_stages)
        )

    @property
    def _num_stages(self) -> int:
        return self._num_training_stages + 2

    def _record(self, event: ProgressEvent) -> None:
        for name, value in event.metrics.items():
            self.history.setdefault(name, []).append(value)
        self.history.setdefault("stage", []).append(event.stage)

    def _emit(self, event: ProgressEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)
