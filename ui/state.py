"""Cached access to the engine: shared resources (models, run store, job) and cached tables."""

from __future__ import annotations

import gc
import io
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import ImageOps

from engine import datasets, images
from engine.datasets import Dataset, Split, Subset
from engine.errors import ModelUnavailableError
from engine.experiment import make_split
from engine.jobs import JobManager
from engine.runs import RunInfo, RunStore
from engine.settings import Settings
from engine.training import FineTunedClassifier, TrainConfig
from engine.zero_shot import ZeroShotClassifier, ZeroShotReport, evaluate_zero_shot

SPLIT_FILE_NAME = "splits.csv"


def _freeze_long_lived_objects() -> None:
    """Leave everything alive now (modules, loaded models) out of future garbage collections.

    Streamlit calls keras.backend.clear_session() after every script run, the progress
    fragments' reruns included, and that runs a full gc.collect(). With TensorFlow and the
    models in memory a full collection scans ~600,000 objects (about half a second, holding
    the GIL), which starves the training thread. Those objects live as long as the process.
    """
    gc.freeze()


_freeze_long_lived_objects()


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    """The process-wide settings, read once from the TLAB_* environment variables."""
    return Settings.from_env()


@st.cache_resource(show_spinner="Loading the ImageNet classifier...")
def load_zero_shot(settings: Settings) -> ZeroShotClassifier:
    """The Hub MobileNetV2, loaded once per process. Raises ModelUnavailableError."""
    classifier = ZeroShotClassifier.load(settings)
    _freeze_long_lived_objects()
    return classifier


@st.cache_resource(show_spinner=False)
def get_run_store(runs_dir: Path) -> RunStore:
    """The run store every page and session reads."""
    return RunStore(runs_dir)


@st.cache_resource(show_spinner=False)
def get_job_manager(settings: Settings) -> JobManager:
    """One job manager per process, so training survives reruns, page switches and tabs."""
    return JobManager(settings)


@st.cache_resource(show_spinner="Loading the fine-tuned model...", max_entries=4)
def load_run_model(runs_dir: Path, run_id: str) -> FineTunedClassifier:
    """A run's model, loaded once (safe mode). Raises RunNotFoundError."""
    classifier = get_run_store(runs_dir).load_model(run_id)
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
    manager = get_job_manager(settings)
    return manager.start(data_dir, config, split_file, mapping, zero_shot=loader)


def complete_runs(store: RunStore) -> list[RunInfo]:
    """Runs that finished (newest first); cancelled runs have no model or metrics to show."""
    return [info for info in store.list() if info.status == "complete"]


def same_dataset(recorded: str, folder: Path) -> bool:
    """Whether a run's dataset field names this folder (as typed or resolved)."""
    return recorded == str(folder) or Path(recorded).resolve() == folder.resolve()


def _folder_stamp(root: Path) -> tuple[tuple[str, int], ...]:
    """Modification times of the folder and its class folders: a new photo changes one."""
    if not root.is_dir():
        return ()
    folders = [root, *(p for p in root.iterdir() if p.is_dir())]
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folders))


@st.cache_data(show_spinner="Scanning the photos...", max_entries=8)
def _scan(root: str, stamp: tuple[tuple[str, int], ...], max_pixels: int) -> Dataset:
    return datasets.scan_dataset(root, max_pixels=max_pixels)


def scan(root: Path, settings: Settings) -> Dataset:
    """Scan a dataset folder; cached until a file in it changes. Raises DatasetError."""
    return _scan(str(root), _folder_stamp(root), settings.max_image_pixels)


def default_split_file(root: Path) -> Path | None:
    """The folder's splits.csv when it has one (then training and pages use that split)."""
    candidate = root / SPLIT_FILE_NAME
    return candidate if candidate.is_file() else None


def dataset_split(dataset: Dataset, split_file: Path | None) -> Split:
    """The split a training with TrainConfig defaults makes, so pages show its test photos."""
    return make_split(dataset, TrainConfig(), split_file)


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


@st.cache_data(show_spinner=False, max_entries=2_000)
def _thumbnail(path: str, mtime_ns: int, size: int, border: str | None, max_pixels: int) -> bytes:
    picture = images.thumbnail(path, size, max_pixels, square=True)
    if border is not None:
        picture = ImageOps.expand(picture, border=max(3, size // 40), fill=border)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def thumbnail(
    path: str | Path, settings: Settings, size: int = 192, border: str | None = None
) -> bytes:
    """JPEG bytes of a square, centre-cropped small copy of the photo, optionally framed.

    Raises:
        ImageError: the file is gone or unreadable.
    """
    path = Path(path)
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    return _thumbnail(str(path), mtime, size, border, settings.max_image_pixels)


def user_mapping(dataset_dir: Path) -> dict[str, list[int]] | None:
    """The ImageNet->class mapping edited on the Zero-shot page for this dataset, if any."""
    return st.session_state.setdefault("zero_shot_mapping", {}).get(str(dataset_dir))


def save_user_mapping(dataset_dir: Path, mapping: dict[str, list[int]] | None) -> None:
    """Remember the edited mapping (None = automatic); the next training on it uses it."""
    saved = st.session_state.setdefault("zero_shot_mapping", {})
    if mapping is None:
        saved.pop(str(dataset_dir), None)
    else:
        saved[str(dataset_dir)] = mapping
