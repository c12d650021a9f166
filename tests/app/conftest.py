"""AppTest fixtures: TLAB_* settings on tmp folders, fake models and job manager, a saved run."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from engine import model_files
from engine.classifiers import top_k
from engine.config import TrainConfig
from engine.errors import JobBusyError
from engine.jobs import JobSnapshot
from engine.runs import RunStore
from tests.conftest import CLASS_COLORS
from tests.support.paths import ROOT
from tests.support.runs import make_run, prediction
from tests.support.server import free_port
from ui import cache, models

CLASSES = tuple(sorted(CLASS_COLORS))  # ('blue', 'green', 'red'), as scan_dataset sorts them
# A tiny 'ImageNet': background plus one label per colour except blue, so blue is unmapped.
LABELS = ("background", "green", "red", "tabby cat")
REAL_LOAD_ZERO_SHOT = models.load_zero_shot


def _colour_scores(images: np.ndarray) -> np.ndarray:
    """Mean red, green, blue per image, normalised: a classifier that sees colour only."""
    means = np.asarray(images, dtype=np.float32).mean(axis=(1, 2)) + 1.0
    return means / means.sum(axis=1, keepdims=True)


class FakeZeroShot:
    """Stands in for ZeroShotClassifier: 'green'/'red' by the dominant colour, never 'blue'."""

    input_size = 32
    class_names = LABELS

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        red, green, _ = _colour_scores(images).T
        return np.stack([np.full_like(red, 0.01), green, red, np.full_like(red, 0.01)], axis=1)

    def top_k(self, images: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        return top_k(self.predict_proba(images)[:, 1:], LABELS[1:], k)


class FakeFineTuned:
    """Stands in for FineTunedClassifier on the colour classes."""

    input_size = 32
    class_names = CLASSES

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        red, green, blue = _colour_scores(images).T
        return np.stack([blue, green, red], axis=1)

    def top_k(self, images: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        return top_k(self.predict_proba(images), CLASSES, k)


class FakeJobManager:
    """Records start/cancel calls; 'busy' makes start raise JobBusyError like a running job."""

    def __init__(self, snapshot: JobSnapshot | None = None) -> None:
        self.started: list[dict] = []
        self.cancelled = 0
        self.busy = False
        self.current = snapshot or JobSnapshot(state="idle")

    def start(self, data_dir, config, split_file=None, mapping=None, *, zero_shot=None) -> str:
        if self.busy:
            raise JobBusyError("A training is already running; wait for it or cancel it.")
        self.started.append(
            {
                "data_dir": data_dir,
                "config": config,
                "split_file": split_file,
                "mapping": mapping,
                "zero_shot": zero_shot() if zero_shot else None,
            }
        )
        return "job1"

    def snapshot(self) -> JobSnapshot:
        return self.current

    def cancel(self) -> None:
        self.cancelled += 1


@dataclasses.dataclass
class AppEnv:
    """What a test needs to drive the app and look behind it."""

    data_dir: Path
    runs_dir: Path
    uploads_dir: Path
    zero_shot: FakeZeroShot
    jobs: FakeJobManager
    monkeypatch: pytest.MonkeyPatch

    def use_real_zero_shot_loader(self) -> None:
        """Load the zero-shot model for real; TLAB_ZERO_SHOT_MODEL names a missing folder."""
        self.monkeypatch.setattr(models, "load_zero_shot", REAL_LOAD_ZERO_SHOT)

    def app(self) -> AppTest:
        """A fresh app session, run once (the default page)."""
        return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()

    def page(self, name: str) -> AppTest:
        """A fresh app session switched to pages/<name>.py and run."""
        return self.app().switch_page(f"pages/{name}.py").run()


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, image_folder: Path) -> AppEnv:
    """Settings on tmp folders (colour dataset as sample data), fake zero-shot and jobs."""
    env = AppEnv(
        data_dir=image_folder,
        runs_dir=tmp_path / "runs",
        uploads_dir=tmp_path / "uploads",
        zero_shot=FakeZeroShot(),
        jobs=FakeJobManager(),
        monkeypatch=monkeypatch,
    )
    monkeypatch.setenv("TLAB_DATA_DIR", str(env.data_dir))
    monkeypatch.setenv("TLAB_RUNS_DIR", str(env.runs_dir))
    monkeypatch.setenv("TLAB_UPLOADS_DIR", str(env.uploads_dir))
    monkeypatch.setenv("TLAB_ZERO_SHOT_MODEL", str(tmp_path / "no-model-here"))
    # The Train form offers a backbone only when its weights can be had: a stand-in file,
    # whatever the shell sets (the jobs are fake, so nothing loads it).
    weights = tmp_path / "backbone.weights.h5"
    weights.write_bytes(b"")
    monkeypatch.setenv("TLAB_BACKBONE_WEIGHTS", str(weights))
    # No download reaches the network or the user's caches: empty Keras and Hub caches, and a
    # sample URL where nothing answers (the tests that download serve one on 127.0.0.1).
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    monkeypatch.setenv("TLAB_SAMPLE_URL", f"http://127.0.0.1:{free_port()}/flower_photos.tgz")
    # Whatever the shell's model settings, no model file is fetched ahead (tests/engine do that).
    monkeypatch.setattr(model_files, "missing_model_files", lambda settings: [])
    # A well-formed labels file, so a real load fails on the missing model (the case tested).
    labels_file = tmp_path / "ImageNetLabels.txt"
    labels_file.write_text("\n".join(["background", *(f"label {i}" for i in range(1, 1001))]))
    monkeypatch.setenv("TLAB_IMAGENET_LABELS", str(labels_file))
    monkeypatch.setattr(models, "load_zero_shot", lambda settings: env.zero_shot)
    monkeypatch.setattr(cache, "get_job_manager", lambda settings: env.jobs)
    monkeypatch.setattr(models, "load_run_model", lambda settings, run_id: FakeFineTuned())
    st.cache_data.clear()
    st.cache_resource.clear()
    return env


def save_fake_run(
    runs_dir: Path,
    data_dir: Path,
    zero_shot: bool = True,
    status: str = "complete",
    config: TrainConfig | None = None,
) -> str:
    """Save a run (no model, complete, default recipe unless told) of the dataset's photos.

    Every photo is predicted right except the first blue one (called green); zero-shot is
    right on red only (12 of 36: 33.3%), the others get an unmapped label.
    """
    paths = sorted(data_dir.glob("*/*.png"))
    rows = [
        prediction(
            path.parent.name,
            "green" if index == 0 else None,
            zero_shot="red" if path.parent.name == "red" else "",
            path=str(path),
            confidence=0.5 + index / (2 * len(paths)),
        )
        for index, path in enumerate(paths)
    ]
    run = make_run(
        CLASSES,
        rows,
        status=status,
        zero_shot_error=None if zero_shot else "No zero-shot model (TLAB_ZERO_SHOT_MODEL).",
        dataset=str(data_dir),
        config=config or TrainConfig(),
    )
    return RunStore(runs_dir).save(run)


def png_bytes(color: tuple[int, int, int], size: int = 32) -> bytes:
    """A small solid-colour PNG, as an upload would carry it."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_colors_zip(app_env: AppEnv) -> AppTest:
    """The Data page after uploading the colour dataset as c.zip (wrapped in a colors/ folder)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in app_env.data_dir.glob("*/*.png"):
            archive.write(path, f"colors/{path.parent.name}/{path.name}")
    at = app_env.page("data")
    at.radio(key="data_source").set_value("Upload a .zip").run()
    at.file_uploader(key="data_zip_0").set_value(("c.zip", buffer.getvalue(), "application/zip"))
    return at.run()
