"""One complete experiment: scan, split, zero-shot baseline, fine-tune, evaluate, save the run."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

from engine import training
from engine.config import TrainConfig
from engine.data.record import record_split
from engine.data.scan import Dataset, scan_dataset
from engine.data.split import Split, Subset, make_split
from engine.errors import ModelUnavailableError, RunStoreError, TrainingCancelled
from engine.evaluation import evaluate
from engine.events import EVALUATE, ZERO_SHOT, EventCallback
from engine.health.check import health_check
from engine.insight.compute import Recording, calibration_stages, run_documents
from engine.mapping_record import DOCUMENT as MAPPING_DOCUMENT
from engine.mapping_record import mapping_record
from engine.progress import Progress, StagePlan
from engine.run_record import DataFacts, Run, RunInfo
from engine.runs import RunStore, utc_now
from engine.settings import Settings
from engine.training import FineTuneCancelled
from engine.zero_shot import ZeroShotClassifier, ZeroShotReport, evaluate_zero_shot

logger = logging.getLogger(__name__)


def stages(split: Split, config: TrainConfig) -> list[StagePlan]:
    """The whole plan: the zero-shot baseline, training's stages, the evaluation, the
    calibration on the validation photos (when there are some).

    Both test-photo passes cost about one forward pass of MobileNetV2 per batch.
    """
    test_batches = math.ceil(len(split.test) / config.batch_size)
    return [
        StagePlan(ZERO_SHOT, 0, test_batches, 1.0),
        *training.stages(split, config),
        StagePlan(EVALUATE, 0, test_batches, 1.0),
        *calibration_stages(split, config),
    ]


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
    TrainingCancelled is re-raised; a cancel during fine-tuning saves a 'partial' run with the
    stage-1 model, evaluated. The run records its split (split.json) and whether the mapping
    was the automatic one, and the documents of the insight views (engine/insight): the
    test losses for the flip board and both models' calibration.
    """
    config = config.validate()
    dataset = scan_dataset(data_dir, settings.max_image_pixels)
    split = make_split(dataset, config, split_file)
    split_record = record_split(split, dataset.root)
    progress = Progress(stages(split, config), on_event, cancel)
    loader = zero_shot or (lambda: ZeroShotClassifier.load(settings))
    report, zero_shot_error, zero_shot_model = _zero_shot_baseline(
        split, config, mapping, loader, progress
    )

    def insight(fine_tuned: Recording) -> dict[str, dict]:
        used = report.mapping if report is not None else None
        return run_documents(split, config, settings, fine_tuned, zero_shot_model, used, progress)

    store = RunStore.for_settings(settings)
    info = RunInfo(
        run_id="",
        created="",
        status="complete",
        dataset=str(dataset.root),
        class_names=tuple(split.class_names),
        config=config,
        test_accuracy=None,
        zero_shot_accuracy=report.accuracy if report is not None else None,
        train_seconds=None,
        mapping_source="automatic" if mapping is None else "edited",
    )
    run = Run(
        info=info,
        history=progress.history,
        data=_data_facts(dataset, split, split_file),
        zero_shot=report.result if report is not None else None,
        zero_shot_error=zero_shot_error,
        evaluation=None,
        split=split_record,
        extras={
            **_mapping_extras(report, edited=mapping is not None),
            # Copies across the split, balance and odd photos, by hashes: health.json.
            "health": health_check(dataset, split, settings, split_file, False).to_dict(),
        },
    )

    started = time.monotonic()
    try:
        result = training.fit(split, config, settings, progress)
    except FineTuneCancelled as cancelled:
        _finish(
            store, run, cancelled.result, split.test, report, progress, "partial", insight=insight
        )
        raise
    except TrainingCancelled:
        cancelled = dataclasses.replace(
            info, status="cancelled", train_seconds=time.monotonic() - started
        )
        _save_cancelled(store, dataclasses.replace(run, info=cancelled))
        raise
    return _finish(store, run, result, split.test, report, progress, "complete", insight=insight)


def _finish(
    store: RunStore,
    run: Run,
    result: training.TrainResult,
    test: Subset,
    report: ZeroShotReport | None,
    progress: Progress,
    status: str,
    insight: Callable[[Recording], dict[str, dict]],
) -> RunInfo:
    """Evaluate the trained model on the test photos and save the run with it, and with the
    insight documents computed from that evaluation."""
    progress.start_stage(EVALUATE)
    fine_tuned = Recording(result.classifier)
    evaluation = evaluate(
        fine_tuned,
        test,
        zero_shot=report,
        batch_size=run.info.config.batch_size,
        on_batch=lambda number: progress.batch(0, number),
    )
    progress.end_stage()
    extras = {**run.extras, **insight(fine_tuned)}
    info = dataclasses.replace(
        run.info,
        created=utc_now(),
        status=status,
        test_accuracy=evaluation.accuracy,
        train_seconds=result.seconds,
    )
    run = dataclasses.replace(
        run, info=info, history=result.history, evaluation=evaluation, extras=extras
    )
    run_id = store.save(run, result.classifier)
    return dataclasses.replace(info, run_id=run_id)


def _data_facts(dataset: Dataset, split: Split, split_file: str | Path | None) -> DataFacts:
    """What the run records about the data it was trained and tested on."""
    return DataFacts(
        dataset=str(dataset.root),
        split_file=str(split_file) if split_file is not None else None,
        num_train=len(split.train),
        num_validation=len(split.validation),
        num_test=len(split.test),
        skipped_files=dataset.skipped,
        warnings=dataset.warnings,
    )


def _zero_shot_baseline(
    split: Split,
    config: TrainConfig,
    mapping: dict[str, list[int]] | None,
    loader: Callable[[], ZeroShotClassifier],
    progress: Progress,
) -> tuple[ZeroShotReport | None, str | None, Recording | None]:
    """The zero-shot report on split.test and the model, recorded; or (None, why it could not
    be computed, None)."""
    progress.start_stage(ZERO_SHOT)
    try:
        model = Recording(loader())
        report = evaluate_zero_shot(
            model,
            split.test,
            split.class_names,
            mapping,
            batch_size=config.batch_size,
            on_batch=lambda number: progress.batch(0, number),
        )
    except ModelUnavailableError as exc:
        logger.warning("Continuing without the zero-shot baseline: %s", exc)
        return None, str(exc), None
    finally:
        progress.end_stage()
    return report, None, model


def _mapping_extras(report: ZeroShotReport | None, edited: bool) -> dict[str, dict]:
    """The mapping the baseline used, with each class's reason (zero_shot_mapping.json)."""
    if report is None or not report.labels:
        return {}
    return {MAPPING_DOCUMENT: mapping_record(report.result, report.labels, edited).to_dict()}


def _save_cancelled(store: RunStore, run: Run) -> None:
    """Keep what a cancelled training learned about itself; the cancel itself still wins."""
    try:
        store.save(dataclasses.replace(run, info=dataclasses.replace(run.info, created=utc_now())))
    except RunStoreError as exc:
        logger.error("The cancelled run could not be saved: %s", exc)
