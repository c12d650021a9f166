"""Tests for engine.training: both stage-1 paths, stage 2, events, cancel, the feature cache."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine import training
from engine.backbones import Backbone, register_backbone
from engine.config import TrainConfig
from engine.data.scan import scan_dataset
from engine.data.split import Split, Subset, make_split
from engine.errors import DatasetError, ImageError, TrainingCancelled
from engine.evaluation import predict_subset
from engine.events import ProgressEvent
from engine.model import build_model
from engine.progress import Progress
from engine.settings import Settings
from engine.training import fit
from tests.conftest import CLASS_COLORS, write_image
from tests.support.paths import FLOWERS
from tests.support.tiny import (
    QUICK,
    TINY,
    TINY_SIZE,
    fake_decode_batches,
    fake_make_pipeline,
    images_of,
    split_folder,
    tiny_base,
)

pytestmark = pytest.mark.usefixtures("tiny_backbone")


@pytest.fixture
def fake_pipeline(monkeypatch) -> list[Path]:
    """Install fake_make_pipeline and fake_decode_batches; returns every path they are asked for."""
    paths: list[Path] = []
    monkeypatch.setattr(training, "make_pipeline", fake_make_pipeline(paths))
    monkeypatch.setattr(training, "decode_batches", fake_decode_batches(paths))
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
    assert result.history.get("stage") == ["head", "head", "fine_tune", "fine_tune"]
    assert set(result.history.values) == {"loss", "accuracy", "val_loss", "val_accuracy", "stage"}
    assert all(len(values) == 4 for values in result.history.values.values())


# --- stage 1: both paths -----------------------------------------------------------------------


def test_feature_path_and_image_path_learn_the_same_model(split, settings, fake_pipeline):
    config = dataclasses.replace(QUICK, epochs=8)
    images, labels = images_of(split.train, split.validation, split.test)

    fast = fit(split, config, settings)
    slow = fit(split, config, settings, stream_images=True)
    augmented = fit(split, dataclasses.replace(config, augment=True), settings)

    assert fast.cached_features and not slow.cached_features and not augmented.cached_features
    np.testing.assert_allclose(fast.history.get("loss"), slow.history.get("loss"), atol=1e-4)
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

    val_loss = result.history.get("val_loss")
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

    assert set(result.history.values) == {"loss", "accuracy", "stage"}
    assert result.history.get("stage") == ["head"] * 3


def test_empty_training_part_is_a_dataset_error(split, settings, fake_pipeline):
    with pytest.raises(DatasetError, match="training part"):
        fit(dataclasses.replace(split, train=Subset((), ())), QUICK, settings)


def test_an_image_unreadable_since_the_scan_is_named_when_features_are_extracted(split, settings):
    split.train.paths[0].write_bytes(b"<html>not a photo</html>")

    with pytest.raises(ImageError, match=f"{split.train.paths[0].name}.*scan the folder again"):
        fit(split, QUICK, settings)


def test_unreadable_image_in_the_image_pipeline_surfaces_as_image_error(
    split, settings, monkeypatch
):
    def broken_pipeline(subset, image_size, batch_size, **kwargs):
        def decode(_):
            raise ImageError("red_00.png is not an image; remove it and scan again")

        def load(index):
            image = tf.numpy_function(decode, [index], tf.float32)
            return tf.reshape(image, (image_size, image_size, 3)), 0

        return tf.data.Dataset.range(len(subset)).map(load).batch(batch_size)

    monkeypatch.setattr(training, "make_pipeline", broken_pipeline)

    with pytest.raises(ImageError, match="red_00.png is not an image; remove it"):
        fit(split, dataclasses.replace(QUICK, augment=True), settings)


# --- events and cancel ------------------------------------------------------------------------


def test_events_follow_stages_with_counters_and_eta(split, settings, fake_pipeline):
    events: list[ProgressEvent] = []
    config = dataclasses.replace(QUICK, epochs=2, fine_tune_epochs=1)

    result = fit(split, config, settings, Progress(training.stages(split, config), events.append))

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
    assert result.history.get("val_loss") == [e.metrics["val_loss"] for e in epoch_ends]


@pytest.mark.parametrize(
    ("stage", "stream_images"),
    [("features", False), ("head", False), ("head", True), ("fine_tune", False)],
)
def test_cancel_stops_at_the_next_batch(split, settings, fake_pipeline, stage, stream_images):
    cancel, on_event, events = cancel_at(stage, batch=2)
    config = dataclasses.replace(QUICK, epochs=3, fine_tune_epochs=2)

    with pytest.raises(TrainingCancelled, match="cancelled by the user"):
        plan = training.stages(split, config, stream_images)
        fit(split, config, settings, Progress(plan, on_event, cancel))

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
    np.testing.assert_allclose(second.history.get("loss"), first.history.get("loss"), atol=1e-5)


def test_eta_waits_for_image_batches_when_features_come_from_the_cache(
    split, settings, fake_pipeline, tiny_with_weights
):
    # Reading cached features is no measure of the base's pace, so it must not make
    # the fine-tune stage look instant ('about 0 s left').
    config = dataclasses.replace(QUICK, epochs=2, fine_tune_epochs=2)
    fit(split, config, settings)
    events: list[ProgressEvent] = []

    fit(split, config, settings, Progress(training.stages(split, config), events.append))

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
    # epoch, must score within 2 points on the 200 held-out photos of splits.csv. Every
    # second training photo is enough to tell, at half the time of the slow path.
    dataset = scan_dataset(FLOWERS)
    config = TrainConfig(epochs=5, early_stopping_patience=0)
    split = make_split(dataset, config, FLOWERS / "splits.csv")
    half = Subset(split.train.paths[::2], split.train.labels[::2])
    split = dataclasses.replace(split, train=half)

    fast = fit(split, config, offline_settings)
    slow = fit(split, config, offline_settings, stream_images=True)

    assert fast.cached_features and not slow.cached_features
    accuracies = [
        float(np.mean(predict_subset(r.classifier, split.test).argmax(axis=1) == split.test.labels))
        for r in (fast, slow)
    ]
    print(f"test accuracy: cached features {accuracies[0]:.3f}, slow path {accuracies[1]:.3f}")
    assert accuracies[0] >= 0.75  # 0.79 here with half the training photos
    assert abs(accuracies[0] - accuracies[1]) <= 0.02
