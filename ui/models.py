"""Cached models shared by every session (zero-shot, fine-tuned runs) and what runs them.

Importing this loads TensorFlow; pages that need no model import ui/cache.py only.
"""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import streamlit as st

from engine import images
from engine.classifiers import FineTunedClassifier, load_run_classifier
from engine.config import TrainConfig
from engine.data.split import Subset
from engine.errors import ModelUnavailableError
from engine.export import export
from engine.runtime import Runtime
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier, ZeroShotReport, evaluate_zero_shot
from ui import cache
from ui.downloads import prefetch_model_files


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
    prefetch_model_files(settings)  # first use online: the downloads show their progress
    try:
        classifier: ZeroShotClassifier | None = load_zero_shot(settings)
    except ModelUnavailableError:
        classifier = None
    loader = None if classifier is None else (lambda: classifier)
    manager = cache.get_job_manager(settings)
    return manager.start(data_dir, config, split_file, mapping, zero_shot=loader)


def export_run(runs_dir: Path, run_id: str, fmt: str) -> Path:
    """The run's model as one downloadable file (written once). Raises RunStoreError."""
    return export(cache.get_run_store(runs_dir), run_id, fmt)


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
