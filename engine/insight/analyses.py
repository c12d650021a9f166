"""The label-efficiency curve and the feature map of a run (or a dataset), saved with the run."""

from __future__ import annotations

import logging
from pathlib import Path

from engine.access import require_editor
from engine.data.record import PARTS
from engine.data.split import Split, Subset
from engine.errors import DatasetError, ModelUnavailableError, RunNotFoundError
from engine.evaluation import Prediction
from engine.insight import curve, projection
from engine.insight.curve import LabelCurve, label_curve
from engine.insight.features import FrozenFeatures, ProgressCallback, scaled
from engine.insight.projection import FeatureMap, feature_map
from engine.run_record import Run
from engine.runs import RunStore
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier, evaluate_zero_shot

FEATURES_SHARE = 0.9  # of a curve's progress bar: features take seconds, heads well under one

logger = logging.getLogger(__name__)


def run_split(run: Run, data_dir: Path | None = None) -> Split:
    """The run's own train / validation / test photos (split.json), under data_dir (default:
    the folder it trained on).

    Raises:
        DatasetError: the run predates recorded splits, or its photos are gone.
    """
    if run.split is None:
        raise DatasetError(
            f"Run {run.info.run_id} was saved before runs recorded their split, so its training "
            "photos are unknown; train it again, or draw the curve for its folder with "
            "`python -m engine curve --data DIR --split-file CSV`."
        )
    classes = run.info.class_names
    parts = (run.split.subset(part, classes, data_dir) for part in PARTS)
    return Split(classes, *parts)


def curve_of_split(
    split: Split,
    backbone: str,
    settings: Settings,
    *,
    zero_shot_accuracy: float | None = None,
    run_accuracy: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> LabelCurve:
    """The label-efficiency curve of split's photos (train for the heads, test for scoring).

    Raises:
        ModelUnavailableError: backbone weights missing (only when features are not cached).
        ImageError: a photo cannot be read any more.
    """
    features = FrozenFeatures(backbone, settings)
    train, test = features.of_split(split, scaled(on_progress, 0.0, FEATURES_SHARE))
    heads = scaled(on_progress, FEATURES_SHARE, 1.0)
    return label_curve(
        (train, split.train.labels),
        (test, split.test.labels),
        len(split.class_names),
        zero_shot_accuracy=zero_shot_accuracy,
        run_accuracy=run_accuracy,
        on_head=lambda done, total: heads(
            done / total, f"Training {total} small models on a few photos each"
        ),
    )


def zero_shot_accuracy(split: Split, settings: Settings) -> tuple[float | None, str | None]:
    """(zero-shot accuracy on split.test with the automatic mapping, None) or (None, why not)."""
    try:
        classifier = ZeroShotClassifier.load(settings)
    except ModelUnavailableError as exc:
        logger.warning("The curve has no zero-shot point: %s", exc)
        return None, str(exc)
    return evaluate_zero_shot(classifier, split.test, split.class_names).accuracy, None


def curve_of_run(
    store: RunStore,
    run_id: str,
    settings: Settings,
    data_dir: Path | None = None,
    on_progress: ProgressCallback | None = None,
) -> LabelCurve:
    """Compute the curve on the run's own photos, its zero-shot and test accuracy marked, and
    save it with the run (extra document 'curve').

    Raises:
        ReadOnlyError: viewer mode. RunNotFoundError: no such run. DatasetError: its split is
        unknown or its photos are gone. RunStoreError: the run folder cannot be written.
    """
    require_editor(settings, "save a label-efficiency curve with a run")
    run = store.load(run_id)
    result = curve_of_split(
        run_split(run, data_dir),
        run.info.config.backbone,
        settings,
        zero_shot_accuracy=run.info.zero_shot_accuracy,
        run_accuracy=run.info.test_accuracy,
        on_progress=on_progress,
    )
    store.save_extra(run.info.run_id, curve.NAME, result.to_dict())
    return result


def projection_of_run(
    store: RunStore,
    run_id: str,
    settings: Settings,
    on_progress: ProgressCallback | None = None,
) -> FeatureMap:
    """Map the run's test photos (its predictions.json rows still on disk) and save the map
    with the run (extra document 'projection').

    Raises:
        ReadOnlyError: viewer mode. RunNotFoundError: no such run, or it has no model.
        DatasetError: none of its test photos is on disk any more. RunStoreError: the run
        folder cannot be written.
    """
    require_editor(settings, "save a feature map with a run")
    run = store.load(run_id)
    if run.evaluation is None:
        raise RunNotFoundError(
            f"Run '{run.info.run_id}' has no model and no test predictions (its status is "
            f"'{run.info.status}'); choose a complete run."
        )
    rows = [row for row in run.evaluation.predictions if Path(row.path).is_file()]
    if not rows:
        raise DatasetError(
            f"None of the {len(run.evaluation.predictions)} test photos of run "
            f"{run.info.run_id} is in {run.info.dataset} any more; restore the folder."
        )
    features = FrozenFeatures(run.info.config.backbone, settings)
    report = scaled(on_progress, 0.0, 1.0)
    subset = _subset(rows, run.info.class_names)
    test = features.of_subset(
        subset, lambda done: report(done / len(subset), "Features of the test photos")
    )
    result = feature_map(test, rows, run.info.class_names)
    store.save_extra(run.info.run_id, projection.NAME, result.to_dict())
    return result


def _subset(rows: list[Prediction], class_names: tuple[str, ...]) -> Subset:
    index = {name: i for i, name in enumerate(class_names)}
    return Subset(tuple(Path(row.path) for row in rows), tuple(index[row.true] for row in rows))
