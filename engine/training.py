"""Fine-tuning: base + head, stage 1 on frozen (cached) features, optional stage 2 unfreezing.

The recipe, as in the Keras transfer-learning guide:
1. Build Input -> Preprocess -> base(training=False) -> pool -> head, with the base frozen.
2. Stage 1 trains the head. Without augmentation the frozen base gives the same features every
   epoch, so they are computed once (and cached on disk) and the head trains on them alone.
3. Stage 2 (optional) unfreezes the top layers of the base, recompiles with a much lower learning
   rate and trains the whole model on images.
Why: recompiling is what makes a change of `trainable` take effect; BatchNormalization stays in
inference mode (the shipped MobileNetV2 weights have it folded into the convolutions); a low
learning rate keeps the pretrained features from being destroyed by large early updates.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from engine import feature_cache
from engine.backbones import get_backbone, weights_source
from engine.classifiers import FineTunedClassifier
from engine.config import TrainConfig
from engine.data.batches import decode_batches
from engine.data.pipeline import make_pipeline, unwrap_pipeline_error
from engine.data.split import Split, Subset
from engine.errors import DatasetError, TrainingCancelled
from engine.events import FEATURES, FINE_TUNE, HEAD, METRICS, History
from engine.health.balance import class_weights
from engine.model import build_model, feature_extractor, unfreeze_top_layers
from engine.progress import Progress, StagePlan
from engine.runtime import Runtime, keras_forward
from engine.settings import Settings
from engine.strategy import get_strategy


@dataclass
class TrainResult:
    """What fit() learned: the full model (raw [0,255] images in, probabilities out) and history."""

    classifier: FineTunedClassifier
    history: History  # loss, accuracy, val_loss, val_accuracy and stage, per epoch, all stages
    seconds: float
    cached_features: bool  # stage 1 trained the head on precomputed features (augment off)
    features_from_cache: bool = False  # ... and those features came from the disk cache


class FineTuneCancelled(TrainingCancelled):
    """Cancelled during fine-tuning: `result` is the finished stage-1 model (head on the
    frozen base), worth keeping."""

    kept_model = True

    def __init__(self, result: TrainResult) -> None:
        super().__init__(
            "Fine-tuning cancelled by the user; the model trained before it (a new head on the "
            "frozen base) was kept."
        )
        self.result = result


def stages(split: Split, config: TrainConfig, stream_images: bool = False) -> list[StagePlan]:
    """The stages fit() runs, in order. Costs are rough ratios to a forward pass (training the
    head on features is nearly free; backpropagating into the base costs about two passes).

    stream_images trains stage 1 on image batches even without augmentation (the slow path);
    tests use it to check that both paths learn the same model.
    """
    train_batches = math.ceil(len(split.train) / config.batch_size)
    if config.caches_features and not stream_images:
        # Train and validation images go through the base as one stream.
        feature_batches = math.ceil((len(split.train) + len(split.validation)) / config.batch_size)
        plans = [
            StagePlan(FEATURES, 0, feature_batches, 1.0),
            StagePlan(HEAD, config.epochs, train_batches, 0.01),
        ]
    else:
        plans = [StagePlan(HEAD, config.epochs, train_batches, 1.1)]
    if config.fine_tune_epochs:
        plans.append(StagePlan(FINE_TUNE, config.fine_tune_epochs, train_batches, 2.0))
    return plans


def fit(
    split: Split,
    config: TrainConfig,
    settings: Settings,
    progress: Progress | None = None,
    *,
    stream_images: bool = False,
) -> TrainResult:
    """Train on split.train with early stopping on split.validation (never split.test).

    Args:
        progress: reports events and carries the cancel flag; its plan must hold stages()'s
            stages (it may hold more, e.g. an experiment's zero-shot and evaluation). By default
            a silent one over stages(split, config, stream_images).

    Raises:
        TrainingCancelled: progress.cancel was set; checked between batches.
        ModelUnavailableError: backbone weights cannot be loaded.
        ConfigError: a config value is out of range.
        DatasetError: the training part is empty.
        ImageError: an image can no longer be read (changed since the dataset was scanned).
    """
    started = time.perf_counter()
    config.validate()
    if not len(split.train):
        raise DatasetError(
            "The training part of the split has no images; add images to every class folder "
            "or lower validation_fraction / test_fraction."
        )
    progress = progress or Progress(stages(split, config, stream_images))
    try:
        return _Training(split, config, settings, progress).run(started)
    except tf.errors.OpError as error:
        # make_pipeline decodes inside TensorFlow, which wraps an unreadable file's ImageError.
        image_error = unwrap_pipeline_error(error)
        if image_error is None:
            raise
        raise image_error from error


class _ProgressCallback(keras.callbacks.Callback):
    """Reports Keras batches and epochs to the progress; stops cooperatively on cancel."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.progress.batch(self.epoch, batch + 1, _metrics(logs))
        if self.progress.cancelled:
            self.model.stop_training = True

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # Keras still validates after a stop; skip the rest of that pass too.
        if self.progress.cancelled:
            self.model.stop_evaluating = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.progress.cancelled:
            self.progress.epoch_end(epoch + 1, _metrics(logs))


def _metrics(logs: dict | None) -> dict[str, float]:
    return {name: float(value) for name, value in (logs or {}).items() if name in METRICS}


def _epoch_orders(size: int, num_epochs: int, seed: Sequence[int]) -> list[np.ndarray]:
    """Seeded example order of every epoch, shared by the features and the image paths."""
    rng = np.random.default_rng(list(seed))
    return [rng.permutation(size) for _ in range(num_epochs)]


def _reorder(subset: Subset, order: np.ndarray) -> Subset:
    return Subset(tuple(subset.paths[i] for i in order), tuple(subset.labels[i] for i in order))


def _feature_stream(
    features: np.ndarray, labels: np.ndarray, orders: list[np.ndarray], batch_size: int
) -> tf.data.Dataset:
    """Feature batches over all epochs, each epoch in its given order (same batches as images)."""
    features, labels = tf.constant(features), tf.constant(labels)
    indices = tf.data.Dataset.from_tensor_slices(np.stack(orders)).flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
    )
    return indices.map(lambda index: (tf.gather(features, index), tf.gather(labels, index)))


def _augmenter(
    seed: Sequence[int],
) -> Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
    """A tf.data map function applying seeded random flip, rotation, zoom and contrast."""
    flip, rotation, zoom, contrast = (
        int(s) for s in np.random.default_rng(list(seed)).integers(2**31, size=4)
    )
    layers = [
        keras.layers.RandomFlip("horizontal", seed=flip),
        keras.layers.RandomRotation(0.05, seed=rotation),
        keras.layers.RandomZoom(0.1, seed=zoom),
        keras.layers.RandomContrast(0.1, seed=contrast),
    ]

    def augment(images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        for layer in layers:
            images = layer(images, training=True)
        return tf.clip_by_value(images, 0.0, 255.0), labels

    return augment


class _Training:
    """One fit() call: the model, its stages, and the bookkeeping shared between them."""

    def __init__(
        self, split: Split, config: TrainConfig, settings: Settings, progress: Progress
    ) -> None:
        self.split = split
        self.config = config
        self.settings = settings
        self.progress = progress
        self.spec = get_backbone(config.backbone)
        self.weights = weights_source(config.backbone, settings.backbone_weights)
        self.strategy = get_strategy(settings.distribute)
        self.runtime = Runtime.from_settings(settings)
        # Every stage and both stage-1 paths weigh the loss alike (None: unweighted).
        self.class_weight = class_weights(
            split.train.labels, len(split.class_names), config.class_weight
        )

    def run(self, started: float) -> TrainResult:
        """The recipe: build, train the head (on features when planned), maybe fine-tune."""
        keras.utils.set_random_seed(self.config.seed)
        with self.strategy.scope():
            self.model, self.base, self.head = build_model(
                self.config.backbone, len(self.split.class_names), self.config.dropout, self.weights
            )
        cached = self.progress.has_stage(FEATURES)
        from_cache = False
        if cached:
            train, validation, from_cache = self._features()
            self._train_head_on_features(train, validation)
        else:
            self._train_on_images(HEAD, self.config.epochs, self.config.learning_rate)
        if self.config.fine_tune_epochs:
            self._fine_tune(lambda: self._result(started, cached, from_cache))
        return self._result(started, cached, from_cache)

    def _fine_tune(self, stage_one: Callable[[], TrainResult]) -> None:
        """Stage 2; a cancel keeps the stage-1 model (FineTuneCancelled carries it)."""
        head_only = self.model.get_weights()
        unfreeze_top_layers(self.base, self.config.unfreeze_layers)
        try:
            self._train_on_images(
                FINE_TUNE, self.config.fine_tune_epochs, self.config.fine_tune_learning_rate
            )
        except TrainingCancelled as cancelled:
            self.model.set_weights(head_only)
            self.base.trainable = False
            raise FineTuneCancelled(stage_one()) from cancelled

    def _result(self, started: float, cached: bool, from_cache: bool) -> TrainResult:
        classifier = FineTunedClassifier(
            self.model, self.split.class_names, self.spec.input_size, self.runtime
        )
        history = self.progress.history.copy()
        seconds = time.perf_counter() - started
        return TrainResult(classifier, history, seconds, cached, from_cache)

    def _features(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """Pooled base features of train and validation, from the disk cache when possible."""
        self._start(FEATURES)
        train, validation = self.split.train, self.split.validation
        paths = train.paths + validation.paths
        cache_file = feature_cache.cache_file(
            self.settings, self.spec, self.weights, paths, self.runtime.name
        )
        features = feature_cache.read(cache_file, paths, self.spec.feature_dim)
        from_cache = features is not None
        if features is None:
            features = self._extract(Subset(paths, train.labels + validation.labels))
            feature_cache.write(cache_file, paths, features, self.settings.max_cache_mb)
        self._end()
        return features[: len(train)], features[len(train) :], from_cache

    def _extract(self, subset: Subset) -> np.ndarray:
        """Run preprocessing -> base -> pool over subset, batch by batch (on the runtime, e.g.
        LiteRT: the base is frozen), cancellable in between."""
        extract = keras_forward(
            feature_extractor(self.model), self.spec.input_size, self.runtime, "features"
        )
        chunks = [np.zeros((0, self.spec.feature_dim), np.float32)]
        # decode_batches, not tf.data: no gradients here, so no TensorFlow executor either;
        # its decode thread runs ahead of the model without the GIL hand-offs tf.data needs.
        images = decode_batches(
            subset, self.spec.input_size, self.config.batch_size, self.settings.max_image_pixels
        )
        for batch, pixels in enumerate(images, start=1):
            chunks.append(extract(pixels.astype(np.float32)))
            self.progress.batch(0, batch)
            self.progress.raise_if_cancelled()
        return np.concatenate(chunks)

    def _train_head_on_features(self, train: np.ndarray, validation: np.ndarray) -> None:
        """Fit the head alone; its weights are the full model's, which needs no assembling."""
        batch_size = self.config.batch_size
        orders = _epoch_orders(len(train), self.config.epochs, (self.config.seed, 1))
        labels = np.asarray(self.split.train.labels, np.int32)
        stream = _feature_stream(train, labels, orders, batch_size)
        validation_data = None
        if len(validation):
            validation_labels = np.asarray(self.split.validation.labels, np.int32)
            validation_data = tf.data.Dataset.from_tensor_slices(
                (validation, validation_labels)
            ).batch(batch_size)
        self._keras_fit(
            HEAD, self.head, stream, validation_data, self.config.epochs, self.config.learning_rate
        )

    def _train_on_images(self, stage: str, num_epochs: int, learning_rate: float) -> None:
        """Fit the full model on image batches; epoch orders match the features path."""
        seed = (self.config.seed, 1 if stage == HEAD else 2)
        orders = _epoch_orders(len(self.split.train), num_epochs, seed)
        # One pipeline per epoch, concatenated: Keras keeps iterating the same stream across
        # epochs because steps_per_epoch is given.
        parts = [self._pipeline(_reorder(self.split.train, order)) for order in orders]
        stream = functools.reduce(tf.data.Dataset.concatenate, parts)
        if self.config.augment:
            stream = stream.map(_augmenter(seed), num_parallel_calls=tf.data.AUTOTUNE)
        validation = self._pipeline(self.split.validation) if len(self.split.validation) else None
        self._keras_fit(stage, self.model, stream, validation, num_epochs, learning_rate)

    def _keras_fit(
        self,
        stage: str,
        model: keras.Model,
        stream: tf.data.Dataset,
        validation: tf.data.Dataset | None,
        num_epochs: int,
        learning_rate: float,
    ) -> None:
        """Compile (under the strategy) and fit one stage; its epochs reach the history."""
        with self.strategy.scope():
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
        callbacks: list[keras.callbacks.Callback] = [_ProgressCallback(self.progress)]
        patience = self.config.early_stopping_patience
        if patience and validation is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=patience, restore_best_weights=True
                )
            )
        self._start(stage)
        model.fit(
            stream,
            epochs=num_epochs,
            steps_per_epoch=self.progress.plan.num_batches,
            validation_data=validation,
            callbacks=callbacks,
            class_weight=self.class_weight,
            shuffle=False,  # the stream is already in the seeded per-epoch order
            verbose=0,
        )
        self._end()

    def _start(self, stage: str) -> None:
        self.progress.raise_if_cancelled()
        self.progress.start_stage(stage)

    def _end(self) -> None:
        self.progress.raise_if_cancelled()
        self.progress.end_stage()

    def _pipeline(self, subset: Subset) -> tf.data.Dataset:
        return make_pipeline(
            subset,
            self.spec.input_size,
            self.config.batch_size,
            shuffle=False,
            seed=self.config.seed,
            max_pixels=self.settings.max_image_pixels,
        )
