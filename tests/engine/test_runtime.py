"""Tests for engine.runtime: conversions cached and checked, TensorFlow fallback, the setting,
thread safety, and parity with TensorFlow on the real models."""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

import keras
import numpy as np
import pytest

from engine import runtime as runtime_module
from engine.classifiers import FineTunedClassifier, load_run_classifier
from engine.data.scan import scan_dataset
from engine.data.split import read_split_file
from engine.evaluation import predict_subset
from engine.model import build_model, feature_extractor
from engine.runs import RunStore
from engine.runtime import Runtime, keras_forward
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier
from tests.support.paths import FLOWERS
from tests.support.tiny import TINY_SIZE

pytestmark = pytest.mark.usefixtures("tiny_backbone")
CLASSES = ("a", "b", "c")


@pytest.fixture
def litert(tmp_path: Path) -> Runtime:
    return Runtime("litert", tmp_path / "models")


def tiny_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return build_model("tiny", len(CLASSES), 0.2, None)[0]


def images(count: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (count, TINY_SIZE, TINY_SIZE, 3)).astype(np.float32)


def test_litert_matches_tensorflow_and_converts_each_weights_once(litert, monkeypatch):
    model = tiny_model()
    lite = FineTunedClassifier(model, CLASSES, TINY_SIZE, litert)
    reference = FineTunedClassifier(model, CLASSES, TINY_SIZE)  # TensorFlow

    np.testing.assert_allclose(
        lite.predict_proba(images(5)), reference.predict_proba(images(5)), atol=1e-5
    )
    assert len(list(litert.cache_dir.glob("features-*.tflite"))) == 1
    monkeypatch.setattr(runtime_module, "_checked", lambda *args: pytest.fail("converted again"))
    FineTunedClassifier(tiny_model(), CLASSES, TINY_SIZE, Runtime("litert", litert.cache_dir))
    assert len(list(litert.cache_dir.glob("*.tflite"))) == 1, "equal weights share one file"


def test_eight_threads_classifying_at_once_get_their_own_answers(litert):
    # Protection: _InterpreterPool gives each concurrent caller its own interpreter (they are
    # not thread-safe); sharing one would mix up inputs and outputs between sessions.
    classifier = FineTunedClassifier(tiny_model(), CLASSES, TINY_SIZE, litert)
    batches = [images(n, seed) for seed, n in enumerate((1, 3, 8, 1, 5, 2, 8, 4))]
    expected = [classifier.predict_proba(batch) for batch in batches]
    results: dict[int, list[np.ndarray]] = {i: [] for i in range(8)}
    start = threading.Barrier(8)

    def worker(index: int) -> None:
        start.wait()
        for _ in range(20):
            results[index].append(classifier.predict_proba(batches[index]))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for index, answers in results.items():
        assert len(answers) == 20
        for answer in answers:
            np.testing.assert_allclose(answer, expected[index], atol=1e-6)


def test_a_conversion_that_fails_falls_back_to_tensorflow_with_one_warning(
    litert, monkeypatch, caplog
):
    def broken(*args, **kwargs):
        raise RuntimeError("unsupported op: MagicOp\nmore lines")

    monkeypatch.setattr(runtime_module.tf.lite.TFLiteConverter, "from_keras_model", broken)
    caplog.set_level(logging.WARNING, logger="engine.runtime")
    model = tiny_model()

    forward = keras_forward(feature_extractor(model), TINY_SIZE, litert, "features")

    assert forward(images(2)).shape == (2, 16)
    [record] = caplog.records
    assert "on TensorFlow" in record.getMessage() and "MagicOp" in record.getMessage()
    assert not list(litert.cache_dir.glob("*.tflite"))


def test_a_conversion_that_computes_something_else_is_not_kept(litert, monkeypatch, caplog):
    # Protection: runtime._checked compares a new flatbuffer with TensorFlow on a sample batch;
    # a converter that kept variables it cannot run gave NaN features silently.
    other = feature_extractor(tiny_model(seed=7))
    real = runtime_module.tf.lite.TFLiteConverter.from_keras_model
    monkeypatch.setattr(
        runtime_module.tf.lite.TFLiteConverter, "from_keras_model", lambda model: real(other)
    )
    caplog.set_level(logging.WARNING, logger="engine.runtime")
    model = feature_extractor(tiny_model())

    forward = keras_forward(model, TINY_SIZE, litert, "features")

    np.testing.assert_allclose(forward(images(2)), model(images(2)).numpy(), atol=1e-6)
    assert "differs from TensorFlow" in caplog.text


def test_the_setting_chooses_the_runtime(tmp_path, monkeypatch):
    assert Runtime.from_settings(Settings(runtime="tensorflow")).choice == "tensorflow"
    assert Runtime.from_settings(Settings(runtime="litert")).choice == "litert"
    assert Runtime.from_settings(Settings(runtime="auto")).choice == "litert"  # no GPU here
    monkeypatch.setattr(runtime_module.tf.config, "list_physical_devices", lambda kind: ["gpu"])
    assert Runtime.from_settings(Settings(runtime="auto")).choice == "tensorflow"
    assert Settings.from_env({"TLAB_MODEL_CACHE": str(tmp_path)}).model_cache == tmp_path
    with pytest.raises(Exception, match="TLAB_RUNTIME"):
        Settings.from_env({"TLAB_RUNTIME": "onnx"})


@pytest.mark.integration
@pytest.mark.slow
def test_real_models_on_litert_agree_with_tensorflow_on_the_flowers(offline_settings):
    # The frozen MobileNetV2 features within 1e-3 (max abs) on real photos; the zero-shot
    # classifier's top-1 identical on the 200 test photos of splits.csv.
    split = read_split_file(scan_dataset(FLOWERS), FLOWERS / "splits.csv")
    extractor = feature_extractor(
        build_model("mobilenet_v2", 5, 0.2, offline_settings.backbone_weights)[0]
    )
    lite_runtime = Runtime.from_settings(offline_settings)
    assert lite_runtime.choice == "litert"
    from engine.data.batches import decode_batches

    batch = next(decode_batches(split.test, 224, 32))
    lite = keras_forward(extractor, 224, lite_runtime, "features")(batch.astype(np.float32))
    reference = extractor(batch.astype(np.float32), training=False).numpy()
    print(f"features max abs difference: {np.abs(lite - reference).max():.2e}")
    assert np.abs(lite - reference).max() < 1e-3

    tensorflow = ZeroShotClassifier.load(
        offline_settings.__class__(**{**offline_settings.__dict__, "runtime": "tensorflow"})
    )
    fast = ZeroShotClassifier.load(offline_settings)
    top = [predict_subset(model, split.test).argmax(axis=1) for model in (fast, tensorflow)]
    assert (top[0] == top[1]).all()


@pytest.mark.integration
def test_a_trained_flowers_model_answers_the_same_on_both_runtimes(flowers_run):
    store = RunStore(flowers_run.settings.runs_dir)
    run = store.load(flowers_run.run_id)
    split = read_split_file(scan_dataset(FLOWERS), FLOWERS / "splits.csv")
    on = {
        choice: load_run_classifier(
            store,
            run.info.run_id,
            Runtime.from_settings(dataclasses.replace(flowers_run.settings, runtime=choice)),
        )
        for choice in ("litert", "tensorflow")
    }
    answers = {choice: predict_subset(model, split.test) for choice, model in on.items()}
    assert (answers["litert"].argmax(1) == answers["tensorflow"].argmax(1)).all()
    assert np.abs(answers["litert"] - answers["tensorflow"]).max() < 1e-3
    saved = [row.predicted for row in run.evaluation.predictions]
    assert saved == [run.info.class_names[i] for i in answers["tensorflow"].argmax(1)]
