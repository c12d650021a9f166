"""Cached access to the light engine: settings, run store, job manager, scans, thumbnails.

Nothing here loads TensorFlow (ui/models.py does), so pages using only this open fast.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine import images
from engine.access import can_change
from engine.data.scan import Dataset, scan_dataset
from engine.errors import RunNotFoundError
from engine.housekeeping import clean_leftovers
from engine.jobs import JobManager
from engine.mapping_record import named_accuracy
from engine.runs import RunStore
from engine.settings import Settings


@st.cache_resource(show_spinner=False)
def get_settings() -> Settings:
    """The process-wide settings, read once from the TLAB_* environment variables; the app's
    folders are cleared of what a killed earlier process left there."""
    settings = Settings.from_env()
    clean_leftovers(settings)
    return settings


@st.cache_resource(show_spinner=False)
def get_run_store(runs_dir: Path) -> RunStore:
    """The run store every page and session reads (read-only in viewer mode)."""
    return RunStore(runs_dir, read_only=not can_change(get_settings()))


@st.cache_resource(show_spinner=False)
def get_job_manager(settings: Settings) -> JobManager:
    """One job manager per process, so training survives reruns, page switches and tabs."""
    return JobManager(settings)


def _folder_stamp(root: Path) -> tuple[tuple[str, int], ...]:
    """Modification times of the folder and its class folders: a new photo changes one."""
    if not root.is_dir():
        return ()
    folders = [root, *(p for p in root.iterdir() if p.is_dir())]
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folders))


@st.cache_data(show_spinner="Scanning the photos...", max_entries=8)
def _scan(root: str, stamp: tuple[tuple[str, int], ...], max_pixels: int) -> Dataset:
    return scan_dataset(root, max_pixels=max_pixels)


def scan(root: Path, settings: Settings) -> Dataset:
    """Scan a dataset folder; cached until a file in it changes. Raises DatasetError."""
    return _scan(str(root), _folder_stamp(root), settings.max_image_pixels)


@st.cache_data(show_spinner=False, max_entries=2_000)
def _thumbnail(path: str, mtime_ns: int, size: int, border: str | None, max_pixels: int) -> bytes:
    return images.thumbnail_jpeg(path, size, max_pixels, border)


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


@st.cache_data(show_spinner=False, max_entries=1_000)
def run_named_accuracy(runs_dir: Path, run_id: str) -> float | None:
    """Zero-shot accuracy on the classes ImageNet can name (a run's figures never change);
    None when the run has no baseline or its files cannot be read."""
    try:
        return named_accuracy(get_run_store(runs_dir), run_id)
    except RunNotFoundError:
        return None


def folder_stamp(root: Path) -> tuple[tuple[str, int], ...]:
    """What changes when a photo of the folder is added, removed or moved (for cache keys)."""
    return _folder_stamp(root)
