"""Cached models shared by every session (zero-shot, fine-tuned runs) and what runs them.

Importing this loads TensorFlow; pages that need no model import ui/cache.py only.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from engine import images
from engine.batch.classify import batch_models, classify_photos
from engine.batch.photos import Photos
from engine.batch.result import BatchResult
from engine.classifiers import FineTunedClassifier, load_run_classifier
from engine.config import TrainConfig
from engine.data.split import Subset
from engine.errors import ModelUnavailableError
from engine.export_check import prepare_export
from engine.export_record import ExportCheck
from engine.insight.analyses import curve_of_run, projection_of_run
from engine.insight.calibration import Calibration, NotSure, load_not_sure
from engine.insight.compute import calibrate_saved_run
from engine.insight.curve import LabelCurve
from engine.insight.features import ProgressCallback
from engine.insight.gradcam import GradCam, explain_pair
from engine.insight.heatmaps import HeatmapPair
from engine.insight.not_sure import Answer, answers
from engine.insight.projection import FeatureMap
from engine.runtime import Runtime
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier, ZeroShotReport, evaluate_zero_shot
from ui import cache


def _freeze_long_lived_objects() -> None:
    """Leave everything alive now (modules, loaded models) out of future garbage collections.

    Streamlit calls keras.backend.clear_session() after every script run, the progress
    fragments' reruns included, and that runs a full gc.collect(). With TensorFlow and the
    models in memory a full collection scans ~600,000 objects (about half a second, holding
    the GIL), which starves the training thread. Those objects live as long as the process.
    """
    gc.freeze()


@st.cache_resource(show_spinner="Loading the ImageNet classifier...")
def load_zero_shot(settings: Settings) -> ZeroShotClassifier:
    """The Hub MobileNetV2, loaded once per process. Raises ModelUnavailableError."""
    classifier = ZeroShotClassifier.load(settings)
    _freeze_long_lived_objects()
    return classifier


@st.cache_resource(show_spinner="Loading the trained model...", max_entries=4)
def load_run_model(settings: Settings, run_id: str) -> FineTunedClassifier:
    """A run's model, loaded once (safe mode) on the fastest runtime. Raises RunNotFoundError."""
    store = cache.get_run_store(settings.runs_dir)
    classifier = load_run_classifier(store, run_id, Runtime.from_settings(settings))
    _freeze_long_lived_objects()
    return classifier


def start_training(
    settings: Settings,
    data_dir: Path,
    config: TrainConfig,
    split_file: Path | None = None,
    mapping: dict[str, list[int]] | None = None,
) -> str:
    """Start the background job, lending it the pages' zero-shot model. Raises JobBusyError.

    Sharing saves the job a second load of the Hub model (seconds and memory); when the
    model cannot be loaded the job tries itself and records why the run has no baseline.
    """
    try:
        classifier: ZeroShotClassifier | None = load_zero_shot(settings)
    except ModelUnavailableError:
        classifier = None
    loader = None if classifier is None else (lambda: classifier)
    manager = cache.get_job_manager(settings)
    return manager.start(data_dir, config, split_file, mapping, zero_shot=loader)


def export_checked(settings: Settings, run_id: str, fmt: str) -> tuple[Path, ExportCheck | None]:
    """The run's model as one downloadable file (written once), reloaded and scored on the
    test photos beside the app's own model; the check is saved with the run.

    Raises:
        TransferLabError: viewer mode, or the export or its check failed (the message says why).
    """
    store = cache.get_run_store(settings.runs_dir)
    return prepare_export(settings, store, run_id, fmt, reference=load_run_model(settings, run_id))


@st.cache_data(show_spinner="Running the ImageNet classifier on the test photos...", max_entries=16)
def zero_shot_report(
    settings: Settings,
    subset: Subset,
    class_names: tuple[str, ...],
    mapping: dict[str, list[int]] | None,
) -> ZeroShotReport:
    """Zero-shot accuracy on subset with this mapping (None = automatic)."""
    return evaluate_zero_shot(load_zero_shot(settings), subset, class_names, mapping)


@st.cache_data(show_spinner=False, max_entries=64)
def zero_shot_top_k(
    settings: Settings, paths: tuple[str, ...], k: int = 3
) -> list[list[tuple[str, float]]]:
    """ImageNet top-k (label, probability) for a few photos (one grid page)."""
    classifier = load_zero_shot(settings)
    size = classifier.input_size
    batch = np.stack([images.load_array(p, size, settings.max_image_pixels) for p in paths])
    return classifier.top_k(batch, k)


def classify_batch(
    settings: Settings,
    photos: Photos,
    run_id: str | None,
    on_batch: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Every photo through the zero-shot model and run_id's (zero-shot only when None).

    The work runs at background priority, so other sessions' requests get the cores first;
    on_batch(done, total) is called in this (the page's) thread.

    Raises:
        ModelUnavailableError: no model can be loaded.
    """
    fine_tuned = None if run_id is None else load_run_model(settings, run_id)
    store = cache.get_run_store(settings.runs_dir)
    chosen = batch_models(lambda: load_zero_shot(settings), fine_tuned, store, run_id)
    return classify_photos(
        photos, chosen, settings.max_image_pixels, on_batch=on_batch, background=True
    )


def trained_answer(
    settings: Settings, run_id: str, photo: images.ImageSource, k: int
) -> tuple[Answer, NotSure | None]:
    """The run's model on one photo: top-k, 'not sure' below the run's saved threshold (and
    that threshold). Raises ImageError, RunNotFoundError (also for a damaged threshold.json)."""
    model = load_run_model(settings, run_id)
    rule = load_not_sure(cache.get_run_store(settings.runs_dir), run_id)
    array = images.load_array(photo, model.input_size, settings.max_image_pixels)
    return answers(model, array[None], rule, k)[0], rule


def calibrate_run(settings: Settings, run_id: str) -> Calibration:
    """Calibrate a run saved without a calibration, with the cached models, and save it.

    Raises:
        ReadOnlyError, RunNotFoundError, DatasetError, ImageError: see calibrate_saved_run.
    """
    try:
        zero_shot, why = load_zero_shot(settings), None
    except ModelUnavailableError as error:
        zero_shot, why = None, str(error)
    store = cache.get_run_store(settings.runs_dir)
    fine_tuned = load_run_model(settings, run_id)
    return calibrate_saved_run(store, settings, run_id, fine_tuned, zero_shot, why)


@st.cache_resource(show_spinner="Loading the ImageNet model's Keras copy for heatmaps...")
def load_zero_shot_gradcam(settings: Settings) -> GradCam:
    """Grad-CAM of the zero-shot model (its Keras twin). Raises ModelUnavailableError."""
    return GradCam.zero_shot(settings)


@st.cache_resource(show_spinner=False, max_entries=4)
def load_run_gradcam(settings: Settings, run_id: str) -> GradCam:
    """Grad-CAM of a run's model. Raises RunNotFoundError, ModelUnavailableError."""
    classifier = load_run_model(settings, run_id)
    return GradCam.fine_tuned(classifier.model, classifier.class_names)


@st.cache_data(show_spinner=False, max_entries=64)
def _heatmap_pair(settings: Settings, run_id: str, photo: str | bytes, stamp: int) -> HeatmapPair:
    return explain_pair(
        photo,
        lambda: load_zero_shot_gradcam(settings),
        lambda: load_run_gradcam(settings, run_id),
        settings.max_image_pixels,
    )


def heatmap_pair(settings: Settings, run_id: str, photo: str | bytes) -> HeatmapPair:
    """Where the zero-shot and the run's model look in a photo (a path or upload bytes);
    cached until the file changes. Raises ImageError, RunNotFoundError."""
    path = Path(photo) if isinstance(photo, str) else None
    stamp = path.stat().st_mtime_ns if path is not None and path.exists() else 0
    return _heatmap_pair(settings, run_id, photo, stamp)


def compute_curve(
    settings: Settings, run_id: str, on_progress: ProgressCallback | None = None
) -> LabelCurve:
    """The run's label-efficiency curve, computed and saved with it. Raises ReadOnlyError."""
    return curve_of_run(cache.get_run_store(settings.runs_dir), run_id, settings, None, on_progress)


def compute_projection(
    settings: Settings, run_id: str, on_progress: ProgressCallback | None = None
) -> FeatureMap:
    """The run's feature map, computed and saved with it. Raises ReadOnlyError."""
    return projection_of_run(cache.get_run_store(settings.runs_dir), run_id, settings, on_progress)
