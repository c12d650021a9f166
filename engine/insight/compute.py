"""The model passes behind the flip board and the calibration: test probabilities recorded
while a run is evaluated, both models on the validation photos (the fine-tuned one from its
cached features when the base stayed frozen), and a saved run calibrated later."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from engine import feature_cache
from engine.access import require_editor
from engine.backbones import get_backbone, weights_source
from engine.classifiers import FineTunedClassifier
from engine.config import TrainConfig
from engine.data.split import Split, Subset
from engine.errors import DatasetError, RunNotFoundError
from engine.evaluation import BatchCallback, Predicts, predict_subset
from engine.events import CALIBRATE
from engine.insight.calibration import CALIBRATION, Calibration, calibrate, save_calibration
from engine.insight.flips import LOSSES, RecordedLosses
from engine.insight.temperature import Scores
from engine.progress import Progress, StagePlan
from engine.run_record import Run
from engine.runs import RunStore
from engine.runtime import Runtime
from engine.schema import RecordError
from engine.settings import Settings

NO_BASELINE = "the run has no zero-shot baseline"


class Recording:
    """A model that keeps every probability it returns. Evaluation keeps only each photo's
    answer; the losses and the calibration need the whole rows, and a second pass over the
    test photos would cost as much as the first."""

    def __init__(self, model: Predicts) -> None:
        self.model = model
        self._chunks: list[np.ndarray] = []

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.model.class_names

    @property
    def input_size(self) -> int:
        return self.model.input_size

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        probabilities = self.model.predict_proba(images)
        self._chunks.append(probabilities)
        return probabilities

    def probabilities(self, num_photos: int) -> np.ndarray | None:
        """Every row returned so far; None unless that is num_photos rows (a stand-in model
        that never ran, or a pass cut short)."""
        if not self._chunks:
            return None
        rows = np.concatenate(self._chunks)
        return rows if len(rows) == num_photos else None


def calibration_stages(split: Split, config: TrainConfig) -> list[StagePlan]:
    """The experiment's calibration stage (none without validation photos): the zero-shot
    model on them, and the fine-tuned one too unless its cached features serve."""
    batches = math.ceil(len(split.validation) / config.batch_size)
    passes = 1 if _head_on_cached_features(config) else 2
    return [StagePlan(CALIBRATE, 0, passes * batches, 1.0)] if batches else []


def run_documents(
    split: Split,
    config: TrainConfig,
    settings: Settings,
    fine_tuned: Recording,
    zero_shot: Recording | None,
    mapping: dict[str, list[int]] | None,
    progress: Progress,
) -> dict[str, dict]:
    """The 'flips' and 'calibration' documents of a run just evaluated on split.test.

    fine_tuned and zero_shot recorded that evaluation (zero_shot and mapping are None
    without a baseline). Nothing is computed when the recordings do not cover the test
    photos, and the calibration is skipped after a cancel (the user asked to stop).
    """
    test = fine_tuned.probabilities(len(split.test))
    if test is None:
        return {}
    documents = {LOSSES: RecordedLosses.of(split.test, test).to_dict()}
    if progress.cancelled:
        return documents
    staged = progress.has_stage(CALIBRATE)  # planned when there are validation photos
    if staged:
        progress.start_stage(CALIBRATE)
    done = 0

    def on_batch(_: int) -> None:
        nonlocal done
        done += 1
        if staged:
            progress.batch(0, done)

    validation = fine_tuned_validation(fine_tuned.model, split, config, settings, on_batch)
    zero_shot_test = zero_shot.probabilities(len(split.test)) if zero_shot else None
    pair, note = None, NO_BASELINE
    if zero_shot is not None and zero_shot_test is not None and mapping is not None:
        pair, note = _zero_shot_scores(
            zero_shot.model, mapping, split, zero_shot_test, config.batch_size, on_batch
        )
    if staged:
        progress.end_stage()
    documents[CALIBRATION] = _calibration(split, validation, test, pair, note).to_dict()
    return documents


def _calibration(
    split: Split,
    validation: np.ndarray,
    test: np.ndarray,
    zero_shot: tuple[Scores, Scores] | None,
    zero_shot_note: str | None,
) -> Calibration:
    """Both models' calibration from the fine-tuned probabilities on split's validation and
    test photos and the zero-shot scores (or why there are none)."""
    fine_tuned = (
        Scores.of_classifier(validation, np.asarray(split.validation.labels)),
        Scores.of_classifier(test, np.asarray(split.test.labels)),
    )
    return calibrate(fine_tuned, zero_shot, zero_shot_note)


def _head_on_cached_features(config: TrainConfig) -> bool:
    """Whether the run's final model is a head over features the training cached."""
    return config.caches_features and not config.fine_tune_epochs


def fine_tuned_validation(
    classifier: Predicts,
    split: Split,
    config: TrainConfig,
    settings: Settings,
    on_batch: BatchCallback | None = None,
) -> np.ndarray:
    """The fine-tuned probabilities on split.validation: its head over the features training
    cached when the base stayed frozen (no forward pass at all), else a pass over the photos."""
    if _head_on_cached_features(config) and isinstance(classifier, FineTunedClassifier):
        spec = get_backbone(config.backbone)
        paths = split.train.paths + split.validation.paths
        cache_file = feature_cache.cache_file(
            settings,
            spec,
            weights_source(config.backbone, settings.backbone_weights),
            paths,
            Runtime.from_settings(settings).name,
        )
        features = feature_cache.read(cache_file, paths, spec.feature_dim)
        if features is not None:
            head = classifier.model.get_layer("head")
            return np.asarray(head(features[len(split.train) :], training=False), np.float32)
    return predict_subset(classifier, split.validation, config.batch_size, on_batch)


def _named(subset: Subset, mapping: dict[str, list[int]], names: tuple[str, ...]) -> Subset:
    """The photos of subset whose class the mapping names (zero-shot can only be right there)."""
    kept = [i for i, label in enumerate(subset.labels) if mapping.get(names[label])]
    return Subset(tuple(subset.paths[i] for i in kept), tuple(subset.labels[i] for i in kept))


def _zero_shot_scores(
    model: Predicts,
    mapping: dict[str, list[int]],
    split: Split,
    test: np.ndarray | None,
    batch_size: int,
    on_batch: BatchCallback | None = None,
) -> tuple[tuple[Scores, Scores] | None, str | None]:
    """(validation, test) scores of the zero-shot model, or (None, why not). test holds its
    probabilities on every test photo when they are known already."""
    names = split.class_names
    if not any(mapping.get(name) for name in names):
        return None, "ImageNet has no label for any class of the run"
    validation = _named(split.validation, mapping, names)
    validation_probabilities = predict_subset(model, validation, batch_size, on_batch)
    test_photos = split.test
    if test is None:
        test_photos = _named(split.test, mapping, names)
        test = predict_subset(model, test_photos, batch_size, on_batch)
    return (
        Scores.of_zero_shot(validation_probabilities, validation.labels, mapping, names),
        Scores.of_zero_shot(test, test_photos.labels, mapping, names),
    ), None


def recorded_split(run: Run, folder: Path | None = None) -> Split:
    """The validation and test photos a saved run recorded (under folder, default where it
    was trained); no training photos.

    Raises:
        DatasetError: the run did not record its split, or its photos are gone.
    """
    if run.split is None:
        raise DatasetError(
            f"Run '{run.info.run_id}' was saved before runs recorded their split, so its "
            "validation photos are unknown; train it again to calibrate it."
        )
    names = run.info.class_names
    return Split(
        names,
        train=Subset((), ()),
        validation=run.split.subset("validation", names, folder),
        test=run.split.subset("test", names, folder),
    )


def calibrate_saved_run(
    store: RunStore,
    settings: Settings,
    run_id: str,
    fine_tuned: Predicts,
    zero_shot: Predicts | None,
    zero_shot_error: str | None = None,
    folder: Path | None = None,
) -> Calibration:
    """Calibrate a run saved without it, on its recorded validation and test photos (under
    folder, default where it was trained), and save it; also record the test losses for the
    flip board when the run lacks them. zero_shot is None when it cannot be loaded (then
    zero_shot_error says why).

    Raises:
        ReadOnlyError: viewer mode.
        RunNotFoundError: no such run, or it is damaged.
        DatasetError: the run did not record its split, or its photos are gone.
        ImageError: a photo cannot be read any more.
    """
    require_editor(settings, "compute a calibration")
    run = store.load(run_id)
    info = run.info
    split = recorded_split(run, folder)
    batch_size = info.config.batch_size
    validation = predict_subset(fine_tuned, split.validation, batch_size)
    test = predict_subset(fine_tuned, split.test, batch_size)
    pair, note = None, zero_shot_error or NO_BASELINE
    if run.zero_shot is not None and zero_shot is not None:
        pair, note = _zero_shot_scores(zero_shot, run.zero_shot.mapping, split, None, batch_size)
    calibration = _calibration(split, validation, test, pair, note)
    save_calibration(store, settings, info.run_id, calibration)
    if not _has_losses(store, info.run_id):
        store.save_extra(info.run_id, LOSSES, RecordedLosses.of(split.test, test).to_dict())
    return calibration


def _has_losses(store: RunStore, run_id: str) -> bool:
    try:
        data = store.load_extra(run_id, LOSSES)
        return data is not None and bool(RecordedLosses.from_dict(data).true_probabilities)
    except (RunNotFoundError, RecordError):
        return False  # damaged: replace it
