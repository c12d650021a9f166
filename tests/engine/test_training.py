"""Tests for engine.training: config checks, model shape, both stage-1 paths, events, cancel."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from engine import training
from engine.backbones import BACKBONES, Backbone, Preprocess, register_backbone
from engine.datasets import Split, Subset, scan_dataset
from engine.errors import ConfigError, DatasetError, ImageError, TrainingCancelled
from engine.evaluation import predict_subset
from engine.experiment import make_split
from engine.settings import Settings
from engine.training import (
    FineTunedClassifier,
    ProgressEvent,
    TrainConfig,
    build_model,
    fit,
    unfreeze_top_layers,
)
from tests.conftest import CLASS_COLORS, FLOWERS, write_image

TINY_SIZE = 32


def tiny_base(input_shape: tuple[int, int, int], include_top: bool = False, weights=None):
    """A keras.applications-like constructor: three convs, two BatchNorms, no top."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv2")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = keras.layers.Conv2D(16, 1, activation="relu", name="conv3")(x)
    model = keras.Model(inputs, x, name="tiny_base")
    if weights is not None:
        model.load_weights(weights)
    return model


TINY = Backbone("tiny", TINY_SIZE, tiny_base, "tf", 16, weights=None)
# Learns the generated colour classes in a few epochs; patience 0 keeps epoch counts fixed.
QUICK = TrainConfig(
    backbone="tiny", epochs=6, batch_size=8, learning_rate=0.05, early_stopping_patience=0
)


def fake_make_pipeline(requested: list[Path] | None = None):
    """A make_pipeline with the real contract that decodes small PNGs in memory."""

    def make_pipeline(subset, image_size, batch_size, shuffle=False, seed=0, max_pixels=0):
        if requested is not None:
            requested.extend(subset.paths)
        images = np.zeros((len(subset), image_size, image_size, 3), np.float32)
        for row, path in enumerate(subset.paths):
            with Image.open(path) as image:
                images[row] = np.asarray(image.convert("RGB").resize((image_size,) * 2))
        labels = np.asarray(subset.labels, np.int32)
        data = tf.data.Dataset.from_tensor_slices((images, labels))
        if shuffle:
            data = data.shuffle(len(subset), seed=seed)
        return data.batch(batch_size)

    return make_pipeline


def split_folder(root: Path) -> Split:
    """Per class: 8 train, 2 validation, the rest test (sorted class folders)."""
    class_names = tuple(sorted(p.name for p in root.iterdir()))
    parts: dict[str, tuple[list, list]] = {name: ([], []) for name in ("train", "val", "test")}
    for label, name in enumerate(class_names):
        for index, path in enumerate(sorted((root / name).iterdir())):
            part = "train" if index < 8 else "val" if index < 10 else "test"
            parts[part][0].append(path)
            parts[part][1].append(label)
    subsets = [Subset(tuple(paths), tuple(labels)) for paths, labels in parts.values()]
    return Split(class_names, *subsets)


def images_of(*subsets: Subset) -> tuple[np.ndarray, np.ndarray]:
    """Decoded uint8 images and labels of subsets, in order."""
    paths = [p for subset in subsets for p in subset.paths]
    labels = [label for subset in subsets for label in subset.labels]
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths]), np.array(labels)


@pytest.fixture(autouse=True)
def tiny_backbone():
    register_backbone(TINY)
    yield TINY
    BACKBONES.pop(TINY.name, None)


@pytest.fixture
def fake_pipeline(monkeypatch) -> list[Path]:
    """Install fake_make_pipeline; returns every path it is asked for."""
    paths: list[Path] = []
    monkeypatch.setattr(training, "make_pipeline", fake_make_pipeline(paths))
    return paths


@pytest.fixture
def split(image_folder: Path) -> Split:
    return split_folder(image_folder)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(runs_dir=tmp_path / "runs")


def cancel_at(stage: str, batch: int) -> tuple[threading.Event, Callable, list[ProgressEvent]]:
    """A cancel flag, and an event callback that records events and sets the flag right after
    `batch` of `stage`."""
    cancel, events = threading.Event(), []

    def on_event(event: ProgressEvent) -> None:
        events.append(event)
        if event.kind == "batch" and event.stage == stage and event.batch == batch:
            cancel.set()

    return cancel, on_event, events


# --- config ----------------------------------------------------------------------------------


def test_defaults_are_valid():
    assert TrainConfig().validate() == TrainConfig()


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"fine_tune_epochs": -1}, "fine_tune_epochs"),
        ({"unfreeze_layers": -1}, "unfreeze_layers"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 1025}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": 1.5}, "learning_rate"),
        ({"fine_tune_learning_rate": float("nan")}, "fine_tune_learning_rate"),
        ({"dropout": 1.0}, "dropout"),
        ({"early_stopping_patience": -1}, "early_stopping_patience"),
        ({"validation_fraction": -0.1}, "validation_fraction"),
        ({"test_fraction": 0.0}, "test_fraction"),
        ({"validation_fraction": 0.5, "test_fraction": 0.5}, "validation_fraction"),
        ({"seed": -1}, "seed"),
        ({"augment": "yes"}, "augment"),
        ({"backbone": "vgg99"}, "backbone"),
    ],
)
def test_validate_names_the_bad_field(changes, field_name):
    with pytest.raises(ConfigError, match=field_name):
        TrainConfig(**changes).validate()


def test_unknown_backbone_message_lists_known_names():
    with pytest.raises(ConfigError, match="mobilenet_v2"):
        TrainConfig(backbone="vgg99").validate()


# --- model -----------------------------------------------------------------------------------


def test_build_model_wires_preprocess_frozen_base_and_head():
    model, base, head = build_model("tiny", num_classes=3, dropout=0.2, weights=None)

    assert model.input_shape == (None, TINY_SIZE, TINY_SIZE, 3)
    assert model.output_shape == (None, 3)
    assert head.input_shape == (None, 16)
    assert isinstance(model.get_layer("preprocess"), Preprocess)
    assert not base.trainable and base.name in [layer.name for layer in model.layers]
    assert [type(layer) for layer in head.layers[1:]] == [keras.layers.Dropout, keras.layers.Dense]
    probabilities = model.predict_on_batch(np.full((2, TINY_SIZE, TINY_SIZE, 3), 128.0))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_model_round_trips_through_safe_mode_loading(tmp_path: Path):
    model, _, _ = build_model("tiny", num_classes=3, dropout=0.2, weights=None)
    images = np.random.default_rng(0).uniform(0, 255, (4, TINY_SIZE, TINY_SIZE, 3))
    path = tmp_path / "model.keras"

    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)

    np.testing.assert_allclose(
        loaded.predict_on_batch(images), model.predict_on_batch(images), atol=1e-6
    )
    assert loaded.get_layer("preprocess").mode == "tf"


@pytest.mark.integration
def test_real_mobilenet_model_round_trips_through_safe_mode(offline_settings, tmp_path: Path):
    model, base, _ = build_model("mobilenet_v2", 5, 0.2, offline_settings.backbone_weights)
    photo = next((FLOWERS / "roses").glob("*.jpg"))
    with Image.open(photo) as image:
        pixels = np.asarray(image.convert("RGB").resize((224, 224)), np.float32)[None]

    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)

    assert len(base.layers) > 150 and not base.trainable
    np.testing.assert_allclose(loaded(pixels), model(pixels), atol=1e-5)


def test_predict_proba_resizes_any_size_and_accepts_uint8():
    model, _, _ = build_model("tiny", num_classes=3, dropout=0.0, weights=None)
    classifier = FineTunedClassifier(model, ("a", "b", "c"), TINY_SIZE)
    images = np.random.default_rng(0).integers(0, 256, (2, 50, 70, 3), dtype=np.uint8)

    probabilities = classifier.predict_proba(images)
    expected = model.predict_on_batch(tf.image.resize(images.astype(np.float32), (32, 32)))

    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)
    assert classifier.predict_proba(np.zeros((0, 32, 32, 3))).shape == (0, 3)
    with pytest.raises(ImageError, match="N, height, width, 3"):
        classifier.predict_proba(np.zeros((32, 32, 3)))


def test_top_k_sorts_and_caps_k():
    model, _, _ = build_model("tiny", num_classes=3, dropout=0.0, weights=None)
    classifier = FineTunedClassifier(model, ("a", "b", "c"), TINY_SIZE)
    images = np.random.default_rng(1).uniform(0, 255, (2, TINY_SIZE, TINY_SIZE, 3))

    top = classifier.top_k(images, k=5)
    probabilities = classifier.predict_proba(images)

    assert [len(row) for row in top] == [3, 3]
    for row, expected in zip(top, probabilities, strict=True):
        assert [p for _, p in row] == sorted(expected.tolist(), reverse=True)
        assert {name for name, _ in row} == {"a", "b", "c"}


def test_predict_proba_is_thread_safe():
    model, _, _ = build_model("tiny", num_classes=3, dropout=0.2, weights=None)
    classifier = FineTunedClassifier(model, ("a", "b", "c"), TINY_SIZE)
    rng = np.random.default_rng(2)
    batches = [rng.uniform(0, 255, (n, size, size, 3)) for n, size in [(1, 32), (3, 40), (5, 32)]]
    expected = [classifier.predict_proba(batch) for batch in batches]
    results: dict[tuple[int, int], np.ndarray] = {}

    def worker(thread: int) -> None:
        for repeat in range(5):
            index = (thread + repeat) % len(batches)
            results[thread, repeat] = (index, classifier.predict_proba(batches[index]))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 30
    for index, probabilities in results.values():
        np.testing.assert_allclose(probabilities, expected[index], atol=1e-6)


# --- stage 2 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("num_layers", [0, 2, 100])
def test_unfreeze_top_layers_skips_batch_norm(num_layers):
    base = tiny_base((TINY_SIZE, TINY_SIZE, 3))
    base.trainable = False

    unfreeze_top_layers(base, num_layers)

    trainable = [layer.name for layer in base.layers if layer.trainable]
    non_bn = [
        layer.name
        for layer in base.layers
        if not isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert trainable == (non_bn[-num_layers:] if num_layers else [])
    assert not any(
        layer.trainable
        for layer in base.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    )


def test_fine_tune_trains_only_the_top_layers(split, settings, fake_pipeline):
    config = dataclasses.replace(QUICK, epochs=2, fine_tune_epochs=2, unfreeze_layers=2)
    keras.utils.set_random_seed(config.seed)
    initial, _, _ = build_model("tiny", 3, config.dropout, None)  # same seed: same init as fit

    result = fit(split, config, settings)

    base = result.classifier.model.get_layer("tiny_base")
    before = initial.get_layer("tiny_base")
    assert [layer.name for layer in base.layers if layer.trainable] == ["conv2", "conv3"]
    changed = {
        layer.name
        for layer, old in zip(base.layers, before.layers, strict=True)
        if any(
            not np.allclose(a, b)
            for a, b in zip(layer.get_weights(), old.get_weights(), strict=True)
        )
    }
    assert changed == {"conv2", "conv3"}  # conv1 and both BatchNorms untouched
    assert result.stages == ["head", "head", "fine_tune", "fine_tune"]
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 4 for values in result.history.values())


# --- stage 1: both paths -----------------------------------------------------------------------


def test_feature_path_and_image_path_learn_the_same_model(split, settings, fake_pipeline):
    config = dataclasses.replace(QUICK, epochs=8)
    images, labels = images_of(split.train, split.validation, split.test)

    fast = fit(split, config, settings)
    slow = fit(split, config, settings, stream_images=True)
    augmented = fit(split, dataclasses.replace(config, augment=True), settings)

    assert fast.cached_features and not slow.cached_features and not augmented.cached_features
    np.testing.assert_allclose(fast.history["loss"], slow.history["loss"], atol=1e-4)
    fast_p, slow_p = fast.classifier.predict_proba(images), slow.classifier.predict_proba(images)
    np.testing.assert_allclose(fast_p, slow_p, atol=1e-4)
    fast_accuracy = np.mean(fast_p.argmax(axis=1) == labels)
    augmented_accuracy = np.mean(
        augmented.classifier.predict_proba(images).argmax(axis=1) == labels
    )
    assert fast_accuracy >= 0.9
    assert abs(fast_accuracy - augmented_accuracy) <= 0.02


def test_training_never_reads_the_test_part(split, settings, fake_pipeline):
    fit(split, dataclasses.replace(QUICK, epochs=1, fine_tune_epochs=1), settings)

    assert fake_pipeline and not set(fake_pipeline) & set(split.test.paths)


def test_early_stopping_restores_the_best_weights(split, settings, fake_pipeline):
    # A huge learning rate makes validation loss jump around, so the last epoch is not the best.
    config = dataclasses.replace(QUICK, epochs=40, learning_rate=1.0, early_stopping_patience=2)

    result = fit(split, config, settings)

    val_loss = result.history["val_loss"]
    assert len(val_loss) < config.epochs
    assert val_loss[-1] > min(val_loss)
    images, labels = images_of(split.validation)
    probabilities = result.classifier.predict_proba(images)
    restored_loss = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
    assert float(np.mean(restored_loss)) == pytest.approx(min(val_loss), rel=1e-3)


def test_without_validation_images_there_is_no_early_stopping(split, settings, fake_pipeline):
    no_validation = dataclasses.replace(split, validation=Subset((), ()))
    config = dataclasses.replace(QUICK, epochs=3, early_stopping_patience=1)

    result = fit(no_validation, config, settings)

    assert set(result.history) == {"loss", "accuracy"}
    assert result.stages == ["head"] * 3


def test_empty_training_part_is_a_dataset_error(split, settings, fake_pipeline):
    with pytest.raises(DatasetError, match="training part"):
        fit(dataclasses.replace(split, train=Subset((), ())), QUICK, settings)


def test_unreadable_image_surfaces_as_image_error(split, settings, monkeypatch):
    def broken_pipeline(subset, image_size, batch_size, **kwargs):
        def decode(_):
            raise ImageError("red_00.png is not an image; remove it and scan again")

        def load(index):
            image = tf.numpy_function(decode, [index], tf.float32)
            return tf.reshape(image, (image_size, image_size, 3)), 0

        return tf.data.Dataset.range(len(subset)).map(load).batch(batch_size)

    monkeypatch.setattr(training, "make_pipeline", broken_pipeline)

    with pytest.raises(ImageError, match="red_00.png is not an image; remove it"):
        fit(split, QUICK, settings)


# --- events and cancel ------------------------------------------------------------------------


def test_events_follow_stages_with_counters_and_eta(split, settings, fake_pipeline):
    events: list[ProgressEvent] = []
    config = dataclasses.replace(QUICK, epochs=2, fine_tune_epochs=1)

    result = fit(split, config, settings, on_event=events.append)

    stages = ["features", "head", "fine_tune"]
    starts = [e for e in events if e.kind == "stage_start"]
    ends = [e for e in events if e.kind == "stage_end"]
    assert [e.stage for e in starts] == [e.stage for e in ends] == stages
    assert [e.stage_index for e in starts] == [1, 2, 3]
    assert {e.num_stages for e in events} == {3}
    features = [e for e in events if e.stage == "features" and e.kind == "batch"]
    assert [e.batch for e in features] == [1, 2, 3, 4]  # 30 train + validation images, batch 8
    assert {(e.epoch, e.num_batches) for e in features} == {(0, 4)}
    head_batches = [(e.epoch, e.batch) for e in events if e.stage == "head" and e.kind == "batch"]
    assert head_batches == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    epoch_ends = [e for e in events if e.kind == "epoch_end"]
    assert [(e.stage, e.epoch, e.num_epochs) for e in epoch_ends] == [
        ("head", 1, 2),
        ("head", 2, 2),
        ("fine_tune", 1, 1),
    ]
    assert all(
        set(e.metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"} for e in epoch_ends
    )
    assert all(e.eta_seconds is None or e.eta_seconds >= 0 for e in events)
    assert all(e.eta_seconds is not None for e in events if e.kind == "batch")
    assert epoch_ends[-1].eta_seconds == 0
    assert result.history["val_loss"] == [e.metrics["val_loss"] for e in epoch_ends]


@pytest.mark.parametrize(
    ("stage", "stream_images"),
    [("features", False), ("head", False), ("head", True), ("fine_tune", False)],
)
def test_cancel_stops_at_the_next_batch(split, settings, fake_pipeline, stage, stream_images):
    cancel, on_event, events = cancel_at(stage, batch=2)
    config = dataclasses.replace(QUICK, epochs=3, fine_tune_epochs=2)

    with pytest.raises(TrainingCancelled, match="cancelled by the user"):
        fit(split, config, settings, on_event, cancel, stream_images=stream_images)

    last = events[-1]
    assert (last.kind, last.stage, last.epoch <= 1, last.batch) == ("batch", stage, True, 2)


# --- feature cache ----------------------------------------------------------------------------


@pytest.fixture
def tiny_with_weights(tmp_path: Path) -> Backbone:
    """The tiny backbone with a weights file, so its features are worth caching."""
    keras.utils.set_random_seed(7)
    weights = tmp_path / "tiny.weights.h5"
    tiny_base((TINY_SIZE, TINY_SIZE, 3)).save_weights(weights)
    return register_backbone(dataclasses.replace(TINY, weights=str(weights)))


def test_second_training_reuses_cached_features(split, settings, fake_pipeline, tiny_with_weights):
    config = dataclasses.replace(QUICK, epochs=2)

    first = fit(split, config, settings)
    fake_pipeline.clear()
    second = fit(split, config, settings)

    assert (first.features_from_cache, second.features_from_cache) == (False, True)
    assert len(list((settings.runs_dir / ".cache" / "features").glob("*.npz"))) == 1
    # Nothing was decoded: the head trained on cached features alone.
    assert fake_pipeline == []
    np.testing.assert_allclose(second.history["loss"], first.history["loss"], atol=1e-5)


def test_eta_waits_for_image_batches_when_features_come_from_the_cache(
    split, settings, fake_pipeline, tiny_with_weights
):
    # Reading cached features is no measure of the base's pace, so it must not make
    # the fine-tune stage look instant ('about 0 s left').
    config = dataclasses.replace(QUICK, epochs=2, fine_tune_epochs=2)
    fit(split, config, settings)
    events: list[ProgressEvent] = []

    fit(split, config, settings, on_event=events.append)

    fine_tune = [e for e in events if e.stage == "fine_tune"]
    assert fine_tune[0].kind == "stage_start" and fine_tune[0].eta_seconds is None
    assert [e.eta_seconds for e in events if e.stage == "head"] == [None] * len(
        [e for e in events if e.stage == "head"]
    )
    later = [e.eta_seconds for e in fine_tune if e.kind == "batch"][1:]
    assert later and all(eta is not None and eta > 0 for eta in later[:-1])


def test_changed_image_invalidates_the_cache(split, settings, fake_pipeline, tiny_with_weights):
    config = dataclasses.replace(QUICK, epochs=1)
    fit(split, config, settings)
    write_image(split.train.paths[0], CLASS_COLORS["red"], seed=99)

    assert not fit(split, config, settings).features_from_cache


def test_corrupt_cache_file_is_ignored_and_rewritten(
    split, settings, fake_pipeline, tiny_with_weights
):
    config = dataclasses.replace(QUICK, epochs=1)
    fit(split, config, settings)
    (cache_file,) = (settings.runs_dir / ".cache" / "features").glob("*.npz")
    cache_file.write_bytes(b"not a zip")

    assert not fit(split, config, settings).features_from_cache
    assert fit(split, config, settings).features_from_cache


@pytest.mark.integration
@pytest.mark.slow
def test_cached_features_and_the_slow_path_agree_on_real_flowers(offline_settings):
    # The same seed and recipe, trained on cached features and through the frozen base every
    # epoch, must score within 2 points on the 200 held-out photos of splits.csv.
    dataset = scan_dataset(FLOWERS)
    config = TrainConfig(epochs=5, early_stopping_patience=0)
    split = make_split(dataset, config, FLOWERS / "splits.csv")

    fast = fit(split, config, offline_settings)
    slow = fit(split, config, offline_settings, stream_images=True)

    assert fast.cached_features and not slow.cached_features
    accuracies = [
        float(np.mean(predict_subset(r.classifier, split.test).argmax(axis=1) == split.test.labels))
        for r in (fast, slow)
    ]
    print(f"test accuracy: cached features {accuracies[0]:.3f}, slow path {accuracies[1]:.3f}")
    assert accuracies[0] >= 0.8
    assert abs(accuracies[0] - accuracies[1]) <= 0.02
