"""Exports: one zip per format with the model, labels.txt, input.json and a README; every
model file loads without Transfer Lab's code."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine.classifiers import FineTunedClassifier
from engine.errors import ConfigError, RunNotFoundError
from engine.export import export
from engine.model import build_model
from engine.runs import RunStore
from tests.engine.test_runs import CLASSES, SIZE, save, tiny_classifier
from tests.support.runs import make_run
from tests.support.tiny import TINY_SIZE

LOAD_IN_CLEAN_PYTHON = """
import sys, numpy as np, keras
model = keras.saving.load_model(sys.argv[1])  # safe mode, no custom objects registered
images = np.full((2, int(sys.argv[2]), int(sys.argv[2]), 3), 128.0, np.float32)
print(np.asarray(model.predict(images, verbose=0)).round(6).tolist())
"""


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return sorted(archive.namelist())


def test_every_format_is_one_zip_with_labels_and_the_input_it_expects(store):
    run_id = save(store, tiny_classifier())
    for fmt, model_file in (("keras", "model.keras"), ("tflite", "model.tflite")):
        path = export(store, run_id, fmt)
        top = f"{run_id}-{fmt}"
        assert path == store.root / run_id / "export" / f"{top}.zip"
        assert names(path) == sorted(
            f"{top}/{name}" for name in (model_file, "labels.txt", "input.json", "README.txt")
        )
        with zipfile.ZipFile(path) as archive:
            assert archive.read(f"{top}/labels.txt").decode().split() == list(CLASSES)
            spec = json.loads(archive.read(f"{top}/input.json"))
            assert "model.keras" in archive.read(f"{top}/README.txt").decode() or fmt != "keras"
        assert spec["input"]["range"] == [0, 255] and spec["input"]["channel_order"] == "RGB"
        assert spec["labels"] == list(CLASSES)
        assert export(store, run_id, fmt) == path, "the second request reuses the bundle"
    assert not [p for p in (store.root / run_id / "export").iterdir() if p.suffix != ".zip"]


def test_savedmodel_bundle_holds_a_loadable_saved_model(store):
    run_id = save(store, tiny_classifier())
    path = export(store, run_id, "savedmodel")
    assert f"{run_id}-savedmodel/savedmodel/saved_model.pb" in names(path)


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_tflite_export_gives_the_same_probabilities(store, tmp_path):
    import tensorflow as tf

    classifier = tiny_classifier()
    run_id = save(store, classifier)
    with zipfile.ZipFile(export(store, run_id, "tflite")) as archive:
        archive.extractall(tmp_path / "out")
    interpreter = tf.lite.Interpreter(
        model_path=str(tmp_path / "out" / f"{run_id}-tflite" / "model.tflite")
    )
    interpreter.allocate_tensors()
    image = np.random.default_rng(1).uniform(0, 255, (1, SIZE, SIZE, 3)).astype("float32")
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image)
    interpreter.invoke()
    probs = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(probs, classifier.model(image), atol=1e-5)


def test_export_refuses_unknown_formats_and_cancelled_runs(store):
    run_id = save(store, None, status="cancelled")
    with pytest.raises(ConfigError, match="keras, savedmodel, tflite"):
        export(store, run_id, "onnx")
    with pytest.raises(RunNotFoundError, match="has no model"):
        export(store, run_id, "tflite")


@pytest.mark.usefixtures("tiny_backbone")
def test_the_exported_keras_model_loads_in_a_python_without_this_project(store, tmp_path):
    # Protection: preprocessing is built from standard Keras layers; a custom layer would fail
    # here with "Could not locate class 'Preprocess'".
    model, _, _ = build_model("tiny", len(CLASSES), 0.2, None)
    run_id = store.save(make_run(CLASSES), FineTunedClassifier(model, CLASSES, TINY_SIZE))
    with zipfile.ZipFile(export(store, run_id, "keras")) as archive:
        archive.extractall(tmp_path / "out")
    model_file = tmp_path / "out" / f"{run_id}-keras" / "model.keras"
    elsewhere = tmp_path / "clean"
    elsewhere.mkdir()

    done = subprocess.run(
        [sys.executable, "-I", "-c", LOAD_IN_CLEAN_PYTHON, str(model_file), str(TINY_SIZE)],
        cwd=elsewhere,  # -I: no PYTHONPATH, no user site, no current folder on sys.path
        capture_output=True,
        text=True,
        timeout=300,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )

    assert done.returncode == 0, done.stderr[-2000:]
    expected = model.predict(np.full((2, TINY_SIZE, TINY_SIZE, 3), 128.0, np.float32), verbose=0)
    np.testing.assert_allclose(
        json.loads(done.stdout.strip().splitlines()[-1]), expected, atol=1e-5
    )
