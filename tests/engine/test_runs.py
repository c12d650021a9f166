"""Run store: round trip, atomic saves (crash, disk full, SIGKILL), damaged runs, delete, export."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from engine import runs as runs_module
from engine.backbones import Preprocess
from engine.errors import ConfigError, ModelUnavailableError, RunNotFoundError, RunStoreError
from engine.runs import RunInfo, RunStore
from engine.training import FineTunedClassifier

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ("cat", "dog", "fox")
SIZE = 16


def tiny_classifier() -> FineTunedClassifier:
    """Raw [0,255] images in, probabilities out, through the custom Preprocess layer."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = Preprocess(mode="tf")(inputs)
    x = keras.layers.Conv2D(4, 3)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax")(x)
    return FineTunedClassifier(keras.Model(inputs, outputs), CLASSES, SIZE)


def make_info(**changes) -> RunInfo:
    fields = {
        "run_id": "",
        "created": "",
        "status": "complete",
        "dataset": "/data/pets",
        "class_names": CLASSES,
        "config": {"epochs": 3, "seed": 0},
        "test_accuracy": 0.9,
        "zero_shot_accuracy": 0.6,
        "train_seconds": 12.5,
    }
    return RunInfo(**{**fields, **changes})


HISTORY = {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8], "stage": ["head", "head"]}
METRICS = {
    "accuracy": np.float32(0.9),  # numpy scalars must serialise as plain numbers
    "confusion": np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]),
    "zero_shot": {"accuracy": 0.6},
}
PREDICTIONS = [{"path": Path("/data/pets/cat/1.png"), "true": "cat", "predicted": "cat"}]


@pytest.fixture(scope="module")
def classifier() -> FineTunedClassifier:
    return tiny_classifier()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def save(store: RunStore, classifier: FineTunedClassifier | None, **changes) -> str:
    return store.save(classifier, make_info(**changes), HISTORY, METRICS, PREDICTIONS)


def test_save_and_load_round_trip(store, classifier):
    run_id = save(store, classifier)

    run = store.load(run_id)
    assert run.info == make_info(run_id=run_id, created=run.info.created)
    assert run.info.created.endswith("+00:00")
    assert run.history == HISTORY
    assert run.metrics == {
        "accuracy": pytest.approx(0.9),
        "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        "zero_shot": {"accuracy": 0.6},
    }
    assert run.predictions == [{"path": "/data/pets/cat/1.png", "true": "cat", "predicted": "cat"}]
    assert sorted(p.name for p in (store.root / run_id).iterdir()) == [
        "config.json",
        "history.json",
        "metrics.json",
        "model.keras",
        "predictions.json",
        "run.json",
    ]
    assert json.loads((store.root / run_id / "config.json").read_text()) == {"epochs": 3, "seed": 0}


def test_model_round_trips_in_safe_mode_with_the_preprocess_layer(store, classifier):
    run_id = save(store, classifier)

    loaded = store.load_model(run_id)

    assert loaded.class_names == CLASSES
    assert loaded.input_size == SIZE
    assert any(isinstance(layer, Preprocess) for layer in loaded.model.layers)
    images = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    np.testing.assert_allclose(loaded.model(images), classifier.model(images), atol=1e-6)


def test_run_ids_are_sortable_timestamps_with_a_random_suffix(store):
    ids = {save(store, None) for _ in range(3)}
    assert len(ids) == 3
    for run_id in ids:
        assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", run_id)


def test_list_is_newest_first_and_latest_means_newest_complete(store, classifier):
    older = save(store, classifier)
    newer_cancelled = save(store, None, status="cancelled", test_accuracy=None)

    assert [info.run_id for info in store.list()] == [newer_cancelled, older]
    assert store.load("latest").info.run_id == older
    assert store.load_model("latest").class_names == CLASSES


def test_latest_without_complete_runs_is_not_found(store):
    save(store, None, status="cancelled")
    with pytest.raises(RunNotFoundError, match="no complete run"):
        store.load("latest")


def test_a_cancelled_run_has_no_model(store):
    run_id = save(store, None, status="cancelled")
    assert not (store.root / run_id / "model.keras").exists()
    with pytest.raises(RunNotFoundError, match="has no model"):
        store.load_model(run_id)


def test_list_of_a_missing_folder_is_empty(tmp_path):
    assert RunStore(tmp_path / "nowhere").list() == []


def test_temp_cache_and_damaged_folders_are_ignored(store, classifier):
    good = save(store, classifier)
    for name, text in {
        ".tmp-20260101-000000-dead": json.dumps({"run_id": "x"}),
        ".cache": "{}",
        "broken-json": "{not json",
        "not-an-object": "[1, 2]",
        "missing-fields": json.dumps({"run_id": "missing-fields"}),
        "bad-types": json.dumps({**vars(make_info()), "created": 5}),
    }.items():
        (store.root / name).mkdir()
        (store.root / name / "run.json").write_text(text)
    (store.root / "no-run-json").mkdir()
    (store.root / "stray-file.txt").write_text("hello")

    assert [info.run_id for info in store.list()] == [good]
    with pytest.raises(RunNotFoundError, match="damaged"):
        store.load("broken-json")
    with pytest.raises(RunNotFoundError):
        store.load("no-run-json")


def test_load_of_an_unknown_run_names_the_folder(store):
    with pytest.raises(RunNotFoundError, match="No run 'nope' in .*runs"):
        store.load("nope")


@pytest.mark.parametrize("bad_id", ["../x", "..", "a/b", "/etc", ".tmp-x", "", "x/../y", "a\\b"])
def test_run_ids_from_users_cannot_leave_the_store(store, bad_id):
    (store.root).mkdir()
    for call in (store.load, store.load_model, store.delete):
        with pytest.raises(RunNotFoundError, match="not a run id"):
            call(bad_id)
    with pytest.raises(RunNotFoundError, match="not a run id"):
        store.export(bad_id, "keras")


def assert_only_runs(store: RunStore, run_ids: list[str]) -> None:
    assert [info.run_id for info in store.list()] == run_ids
    assert [p.name for p in store.root.iterdir()] == run_ids, "no temp folder left behind"


def test_crash_before_the_rename_leaves_no_run_and_keeps_older_ones(store, classifier, monkeypatch):
    kept = save(store, classifier)

    def crash(src, dst):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(runs_module.os, "rename", crash)
    with pytest.raises(RunStoreError, match="Could not save the run in .*Input/output error"):
        save(store, classifier)
    monkeypatch.undo()

    assert_only_runs(store, [kept])
    assert store.load(kept).history == HISTORY


def test_disk_full_is_a_run_store_error_with_a_fix(store, classifier, monkeypatch):
    kept = save(store, None)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runs_module.os, "fsync", disk_full)
    with pytest.raises(RunStoreError) as caught:
        save(store, classifier)
    monkeypatch.undo()

    assert "No space left on device" in str(caught.value)
    assert "TLAB_RUNS_DIR" in str(caught.value)
    assert_only_runs(store, [kept])


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions"
)
def test_read_only_runs_folder_is_a_run_store_error(store, classifier):
    store.root.mkdir()
    store.root.chmod(0o500)
    try:
        with pytest.raises(RunStoreError, match="writable folder"):
            save(store, classifier)
        assert store.list() == []
    finally:
        store.root.chmod(0o700)


def test_stale_temp_folders_are_cleaned_on_list(store):
    store.root.mkdir()
    stale, fresh = store.root / ".tmp-stale", store.root / ".tmp-fresh"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "history.json").write_text("{}")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))

    assert store.list() == []
    assert not stale.exists()
    assert fresh.exists(), "a save in progress must not be disturbed"


def test_delete_removes_the_run(store, classifier):
    gone, kept = save(store, classifier), save(store, None)

    store.delete(gone)

    assert_only_runs(store, [kept])
    with pytest.raises(RunNotFoundError):
        store.delete(gone)


def test_export_keras_returns_the_saved_model(store, classifier):
    run_id = save(store, classifier)
    assert store.export(run_id, "keras") == store.root / run_id / "model.keras"


def test_export_savedmodel_zips_a_loadable_saved_model(store, classifier):
    run_id = save(store, classifier)

    path = store.export(run_id, "savedmodel")

    assert path == store.root / run_id / "export" / "savedmodel.zip"
    with zipfile.ZipFile(path) as archive:
        assert "savedmodel/saved_model.pb" in archive.namelist()
    assert [p.name for p in path.parent.iterdir()] == ["savedmodel.zip"], "temp files removed"
    assert store.export(run_id, "savedmodel") == path  # the second request reuses the file


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_export_tflite_gives_the_same_probabilities(store, classifier):
    import tensorflow as tf

    run_id = save(store, classifier)

    path = store.export(run_id, "tflite")

    assert path == store.root / run_id / "export" / "model.tflite"
    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    image = np.random.default_rng(1).uniform(0, 255, (1, SIZE, SIZE, 3)).astype("float32")
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
    interpreter.invoke()
    probs = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(probs, classifier.model(image), atol=1e-5)
    assert [p.name for p in path.parent.iterdir()] == ["model.tflite"]


def test_export_refuses_unknown_formats_and_cancelled_runs(store):
    run_id = save(store, None, status="cancelled")
    with pytest.raises(ConfigError, match="keras, savedmodel, tflite"):
        store.export(run_id, "onnx")
    with pytest.raises(RunNotFoundError, match="has no model"):
        store.export(run_id, "tflite")


def test_a_corrupt_model_file_is_reported_not_raised_raw(store, classifier):
    run_id = save(store, classifier)
    (store.root / run_id / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelUnavailableError, match="cannot be loaded"):
        store.load_model(run_id)


SAVE_FOREVER = textwrap.dedent(
    """
    import sys
    from tests.engine.test_runs import HISTORY, METRICS, PREDICTIONS, make_info, tiny_classifier
    from engine.runs import RunStore

    store, classifier = RunStore(sys.argv[1]), tiny_classifier()
    while True:
        store.save(classifier, make_info(), HISTORY, METRICS, PREDICTIONS)
    """
)


def test_sigkill_mid_save_never_leaves_a_visible_partial_run(tmp_path, classifier):
    store = RunStore(tmp_path / "runs")
    log = (tmp_path / "saver.log").open("w")
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVE_FOREVER, str(store.root)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while len(store.list()) < 3:
            assert saver.poll() is None, (tmp_path / "saver.log").read_text()
            assert time.monotonic() < deadline, "the saver never saved three runs"
            time.sleep(0.05)
        # Aim at the middle of a save: kill as soon as a temp folder is seen.
        while not any(store.root.glob(".tmp-*")) and time.monotonic() < deadline:
            pass
    finally:
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        log.close()

    listed = store.list()
    assert len(listed) >= 3
    assert all(not info.run_id.startswith(".") for info in listed)
    for info in listed:
        assert store.load(info.run_id).history == HISTORY
        assert store.load_model(info.run_id).class_names == CLASSES
    new = save(store, classifier)
    assert store.list()[0].run_id == new
