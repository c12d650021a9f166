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
import hashlib
import logging
import math
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from engine.backbones import Backbone, Preprocess, build_base, get_backbone, weights_source
from engine.datasets import Split, Subset, make_pipeline, unwrap_pipeline_error
from engine.errors import ConfigError, DatasetError, ImageError, TrainingCancelled
from engine.settings import Settings
from engine.strategy import get_strategy

logger = logging.getLogger(__name__)

FEATURES_STAGE = "features"
HEAD_STAGE = "head"
FINE_TUNE_STAGE = "fine_tune"
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
POOL_LAYER = "pool"
FEATURE_CACHE_VERSION = "1"  # bump when the way features are computed changes


@dataclass(frozen=True)
class _Range:
    """An allowed interval for one TrainConfig field."""

    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def contains(self, value: object) -> bool:
        kinds = (int,) if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        if self.high == math.inf:
            return f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{kind} in {left}{self.low:g}, {self.high:g}{right}"


_RANGES = {
    "epochs": _Range(1, integer=True),
    "fine_tune_epochs": _Range(0, integer=True),
    "unfreeze_layers": _Range(0, integer=True),
    "batch_size": _Range(1, 1024, integer=True),
    "learning_rate": _Range(0, 1, low_open=True),
    "fine_tune_learning_rate": _Range(0, 1, low_open=True),
    "dropout": _Range(0, 1, high_open=True),
    "early_stopping_patience": _Range(0, integer=True),
    "validation_fraction": _Range(0, 1, high_open=True),
    "test_fraction": _Range(0, 1, low_open=True, high_open=True),
    "seed": _Range(0, 2**32 - 1, integer=True),  # numpy's seed range
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training needs besides data; defaults are the one-click recipe (fast, good)."""

    backbone: str = "mobilenet_v2"
    epochs: int = 30  # stage 1 (head on frozen base)
    fine_tune_epochs: int = 0  # stage 2; 0 = skip
    unfreeze_layers: int = 20  # top N base layers trainable in stage 2 (BatchNorm stays frozen)
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-5
    dropout: float = 0.2
    augment: bool = False  # True forces the slow path (no cached features)
    early_stopping_patience: int = 5  # 0 = off; monitors val_loss, restores best weights
    validation_fraction: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0

    def validate(self) -> TrainConfig:
        """Return self, or raise ConfigError naming the bad field and its allowed range."""
        try:
            get_backbone(self.backbone)
        except ConfigError as exc:
            raise ConfigError(f"backbone: {exc}") from None
        for name, allowed in _RANGES.items():
            value = getattr(self, name)
            if not allowed.contains(value):
                raise ConfigError(
                    f"{name}={value!r} is out of range: expected {allowed}. "
                    f"Change {name} in the training settings."
                )
        if not isinstance(self.augment, bool):
            raise ConfigError(f"augment={self.augment!r} must be True or False.")
        if self.validation_fraction + self.test_fraction >= 1:
            raise ConfigError(
                f"validation_fraction + test_fraction = "
                f"{self.validation_fraction + self.test_fraction:g} leaves no training images; "
                "make their sum smaller than 1 (e.g. 0.1 and 0.2)."
            )
        return self


@dataclass(frozen=True)
class ProgressEvent:
    """One training event for callbacks (progress bars, logs); display is never baked in."""

    kind: str  # 'stage_start' | 'batch' | 'epoch_end' | 'stage_end'
    stage: str  # 'features' | 'head' | 'fine_tune'
    stage_index: int  # 1-based
    num_stages: int
    epoch: int = 0  # 1-based; 0 for the features stage
    num_epochs: int = 0
    batch: int = 0  # 1-based
    num_batches: int = 0
    # loss, accuracy (running, on batches), val_loss, val_accuracy (on epoch_end)
    metrics: dict[str, float] = field(default_factory=dict)
    eta_seconds: float | None = None  # for the whole training, when known


EventCallback = Callable[[ProgressEvent], None]


class FineTunedClassifier:
    """A trained model behind the same interface as ZeroShotClassifier."""

    def __init__(self, model: keras.Model, class_names: tuple[str, ...], input_size: int) -> None:
        self.model = model
        self.class_names = class_names
        self.input_size = input_size
        # One tf.function with a fixed signature, shared by every caller: it traces once (under
        # TensorFlow's own lock), so concurrent Streamlit sessions never retrace or race on
        # Keras' stateful predict() machinery.
        spec = tf.TensorSpec([None, input_size, input_size, 3], tf.float32)
        self._forward = tf.function(
            lambda images: model(images, training=False), input_signature=[spec]
        )

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities for uint8/float images [N,H,W,3] in [0,255] (any H, W)."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ImageError(
                f"Expected a batch of RGB images shaped [N, height, width, 3]; got shape "
                f"{images.shape}. Stack decoded RGB images into one array."
            )
        if len(images) == 0:
            # Some graphs (BatchNormalization on a fixed shape) reject an empty batch.
            return np.zeros((0, len(self.class_names)), np.float32)
        batch = tf.cast(tf.convert_to_tensor(images), tf.float32)
        if images.shape[1:3] != (self.input_size, self.input_size):
            batch = tf.image.resize(batch, (self.input_size, self.input_size))
        return self._forward(batch).numpy()

    def top_k(self, images: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """Best k (class, probability) pairs per image, most probable first."""
        probabilities = self.predict_proba(images)
        best = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return [
            [(self.class_names[index], float(row[index])) for index in indices]
            for row, indices in zip(probabilities, best, strict=True)
        ]


@dataclass
class TrainResult:
    """What fit() learned: the full model (raw [0,255] images in, probabilities out) and history."""

    classifier: FineTunedClassifier
    history: dict[str, list[float]]  # loss, accuracy, val_loss, val_accuracy, per epoch, all stages
    stages: list[str]  # stage name per epoch in history
    seconds: float
    cached_features: bool  # stage 1 trained the head on precomputed features (augment off)
    features_from_cache: bool = False  # ... and those features came from the disk cache


def build_head(feature_dim: int, num_classes: int, dropout: float) -> keras.Model:
    """The trainable classifier: Input(feature_dim) -> Dropout -> Dense(num_classes, softmax)."""
    features = keras.Input((feature_dim,), name="features")
    x = keras.layers.Dropout(dropout, name="dropout")(features)
    probabilities = keras.layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(features, probabilities, name="head")


def build_model(
    backbone: str, num_classes: int, dropout: float, weights: str | None
) -> tuple[keras.Model, keras.Model, keras.Model]:
    """Return (model, base, head): Input -> Preprocess -> base(training=False) -> pool -> head.

    The model takes raw [0,255] float32 images of the backbone's input size and returns class
    probabilities; the base comes back frozen.

    Raises:
        ModelUnavailableError: the backbone weights cannot be loaded.
    """
    spec = get_backbone(backbone)
    base = build_base(backbone, weights)
    base.trainable = False
    images = keras.Input((spec.input_size, spec.input_size, 3), dtype="float32", name="image")
    x = Preprocess(spec.preprocessing, name="preprocess")(images)
    x = base(x, training=False)
    pooled = keras.layers.GlobalAveragePooling2D(name=POOL_LAYER)(x)
    head = build_head(spec.feature_dim, num_classes, dropout)
    model = keras.Model(images, head(pooled), name=f"{backbone}_classifier")
    return model, base, head


def fit(
    split: Split,
    config: TrainConfig,
    settings: Settings,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
    *,
    stream_images: bool = False,
) -> TrainResult:
    """Train on split.train with early stopping on split.validation (never split.test).

    Args:
        stream_images: train stage 1 on image batches even without augmentation (the slow
            path); used to check that both paths learn the same model.

    Raises:
        TrainingCancelled: cancel was set; checked between batches.
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
    training = _Training(split, config, settings, on_event, cancel, stream_images)
    try:
        return training.run(started)
    except tf.errors.OpError as error:
        # make_pipeline decodes inside TensorFlow, which wraps an unreadable file's ImageError.
        image_error = unwrap_pipeline_error(error)
        if image_error is None:
            raise
        raise image_error from error


def unfreeze_top_layers(base: keras.Model, num_layers: int) -> None:
    """Make the top num_layers non-BatchNormalization layers of base trainable, all others frozen.

    BatchNormalization stays frozen: the shipped weights fold it into the convolutions, and the
    base is always called with training=False.
    """
    base.trainable = True
    candidates = [
        layer for layer in base.layers if not isinstance(layer, keras.layers.BatchNormalization)
    ]
    top = candidates[len(candidates) - num_layers :] if num_layers else []
    for layer in base.layers:
        layer.trainable = any(layer is chosen for chosen in top)


@dataclass(frozen=True)
class _StagePlan:
    """What one stage will do, known before it starts (for counters and the ETA)."""

    name: str
    num_epochs: int  # 0 for the one-pass features stage
    num_batches: int  # per epoch
    cost: float  # seconds per batch relative to one forward pass of the base on a batch

    @property
    def total_batches(self) -> int:
        return max(self.num_epochs, 1) * self.num_batches


class _Reporter:
    """Turns stage progress into ProgressEvents with an ETA, and watches the cancel flag."""

    def __init__(
        self,
        plans: list[_StagePlan],
        on_event: EventCallback | None,
        cancel: threading.Event | None,
    ) -> None:
        self.plans = plans
        self.on_event = on_event
        self.cancel = cancel
        self.index = 0
        self.stage_started = time.perf_counter()
        self.first_batch: tuple[float, int] | None = None  # (time, batches done) after it
        self.unit_seconds: float | None = None  # measured seconds per unit of stage cost

    @property
    def plan(self) -> _StagePlan:
        return self.plans[self.index]

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise TrainingCancelled(
                "Training cancelled by the user; start it again when you want a model."
            )

    def start_stage(self, name: str) -> None:
        self.raise_if_cancelled()
        self.index = [plan.name for plan in self.plans].index(name)
        self.stage_started = time.perf_counter()
        self.first_batch = None
        self._emit("stage_start", done=0)

    def batch(self, epoch: int, batch: int, metrics: dict[str, float]) -> None:
        done = (max(epoch, 1) - 1) * self.plan.num_batches + batch
        self._emit("batch", done, epoch=epoch, batch=batch, metrics=metrics)

    def epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        done = epoch * self.plan.num_batches
        self._emit("epoch_end", done, epoch=epoch, batch=self.plan.num_batches, metrics=metrics)

    def end_stage(self) -> None:
        self.raise_if_cancelled()
        self._emit("stage_end", done=self.plan.total_batches)

    def _emit(self, kind: str, done: int, **fields) -> None:
        if self.on_event is None:
            return
        event = ProgressEvent(
            kind=kind,
            stage=self.plan.name,
            stage_index=self.index + 1,
            num_stages=len(self.plans),
            num_epochs=self.plan.num_epochs,
            num_batches=self.plan.num_batches,
            eta_seconds=self._eta(done, measured=kind == "batch"),
            **fields,
        )
        self.on_event(event)

    def _eta(self, done: int, measured: bool) -> float | None:
        """Seconds left over all stages: this stage at its measured pace, later stages at the
        pace measured on image batches scaled by their relative cost.

        Only batches that ran (measured) calibrate: a stage that ends at once because its
        features came from the disk cache says nothing about the base's pace.
        """
        plan = self.plan
        if done > 0:
            seconds_per_batch = self._pace(done)
            # Only image stages calibrate: the head-on-features pace says nothing about images.
            if plan.cost >= 1 and measured:
                self.unit_seconds = seconds_per_batch / plan.cost
        elif self.unit_seconds is not None:
            seconds_per_batch = plan.cost * self.unit_seconds
        else:
            return None
        later = sum(p.total_batches * p.cost for p in self.plans[self.index + 1 :])
        if later and self.unit_seconds is None:
            return None
        current = max(plan.total_batches - done, 0) * seconds_per_batch
        return current + later * (self.unit_seconds or 0.0)

    def _pace(self, done: int) -> float:
        """Seconds per batch in this stage, leaving out the first batch once possible: it also
        pays for tracing the tf.function, which would inflate the early estimates."""
        now = time.perf_counter()
        if self.first_batch is None:
            self.first_batch = (now, done)
        since, done_then = self.first_batch
        if done > done_then:
            return (now - since) / (done - done_then)
        return (now - self.stage_started) / done


class _ProgressCallback(keras.callbacks.Callback):
    """Reports Keras batches and epochs to the reporter; stops cooperatively on cancel."""

    def __init__(self, reporter: _Reporter) -> None:
        super().__init__()
        self.reporter = reporter
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.reporter.batch(self.epoch, batch + 1, _metrics(logs))
        if self.reporter.cancelled:
            self.model.stop_training = True

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        # Keras still validates after a stop; skip the rest of that pass too.
        if self.reporter.cancelled:
            self.model.stop_evaluating = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not self.reporter.cancelled:
            self.reporter.epoch_end(epoch + 1, _metrics(logs))


def _metrics(logs: dict | None) -> dict[str, float]:
    return {name: float(value) for name, value in (logs or {}).items() if name in METRICS}


def _plan(split: Split, config: TrainConfig, cached: bool) -> list[_StagePlan]:
    """The stages fit() will run. Costs are rough ratios to a forward pass (training the head on
    features is nearly free; backpropagating into the base costs about two forward passes)."""
    train_batches = math.ceil(len(split.train) / config.batch_size)
    if cached:
        # Train and validation images go through the base as one stream.
        feature_batches = math.ceil((len(split.train) + len(split.validation)) / config.batch_size)
        plans = [
            _StagePlan(FEATURES_STAGE, 0, feature_batches, 1.0),
            _StagePlan(HEAD_STAGE, config.epochs, train_batches, 0.01),
        ]
    else:
        plans = [_StagePlan(HEAD_STAGE, config.epochs, train_batches, 1.1)]
    if config.fine_tune_epochs:
        plans.append(_StagePlan(FINE_TUNE_STAGE, config.fine_tune_epochs, train_batches, 2.0))
    return plans


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
        self,
        split: Split,
        config: TrainConfig,
        settings: Settings,
        on_event: EventCallback | None,
        cancel: threading.Event | None,
        stream_images: bool,
    ) -> None:
        self.split = split
        self.config = config
        self.settings = settings
        self.spec = get_backbone(config.backbone)
        self.weights = weights_source(config.backbone, settings.backbone_weights)
        self.cached = not (config.augment or stream_images)
        self.reporter = _Reporter(_plan(split, config, self.cached), on_event, cancel)
        self.strategy = get_strategy(settings.distribute)
        self.history: dict[str, list[float]] = {}
        self.stages: list[str] = []

    def run(self, started: float) -> TrainResult:
        keras.utils.set_random_seed(self.config.seed)
        with self.strategy.scope():
            self.model, self.base, self.head = build_model(
                self.config.backbone, len(self.split.class_names), self.config.dropout, self.weights
            )
        from_cache = False
        if self.cached:
            train, validation, from_cache = self._features()
            self._train_head_on_features(train, validation)
        else:
            self._train_on_images(HEAD_STAGE, self.config.epochs, self.config.learning_rate)
        if self.config.fine_tune_epochs:
            unfreeze_top_layers(self.base, self.config.unfreeze_layers)
            self._train_on_images(
                FINE_TUNE_STAGE, self.config.fine_tune_epochs, self.config.fine_tune_learning_rate
            )
        classifier = FineTunedClassifier(self.model, self.split.class_names, self.spec.input_size)
        seconds = time.perf_counter() - started
        return TrainResult(classifier, self.history, self.stages, seconds, self.cached, from_cache)

    def _features(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """Pooled base features of train and validation, from the disk cache when possible."""
        self.reporter.start_stage(FEATURES_STAGE)
        train, validation = self.split.train, self.split.validation
        paths = train.paths + validation.paths
        cache_file = _feature_cache_file(self.settings, self.spec, self.weights, paths)
        features = _read_feature_cache(cache_file, paths, self.spec.feature_dim)
        from_cache = features is not None
        if features is None:
            features = self._extract(Subset(paths, train.labels + validation.labels))
            _write_feature_cache(cache_file, paths, features)
        self.reporter.end_stage()
        return features[: len(train)], features[len(train) :], from_cache

    def _extract(self, subset: Subset) -> np.ndarray:
        """Run Preprocess -> base -> pool over subset, batch by batch, cancellable in between."""
        size = self.spec.input_size
        extractor = keras.Model(self.model.input, self.model.get_layer(POOL_LAYER).output)
        extract = tf.function(
            lambda images: extractor(images, training=False),
            input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)],
        )
        chunks = [np.zeros((0, self.spec.feature_dim), np.float32)]
        for batch, (images, _) in enumerate(self._pipeline(subset), start=1):
            chunks.append(extract(images).numpy())
            self.reporter.batch(0, batch, {})
            self.reporter.raise_if_cancelled()
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
            HEAD_STAGE,
            self.head,
            stream,
            validation_data,
            self.config.epochs,
            self.config.learning_rate,
        )

    def _train_on_images(self, stage: str, num_epochs: int, learning_rate: float) -> None:
        """Fit the full model on image batches; epoch orders match the features path."""
        seed = (self.config.seed, 1 if stage == HEAD_STAGE else 2)
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
        """Compile (under the strategy) and fit one stage; record its history."""
        with self.strategy.scope():
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
        callbacks: list[keras.callbacks.Callback] = [_ProgressCallback(self.reporter)]
        patience = self.config.early_stopping_patience
        if patience and validation is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=patience, restore_best_weights=True
                )
            )
        self.reporter.start_stage(stage)
        logs = model.fit(
            stream,
            epochs=num_epochs,
            steps_per_epoch=self.reporter.plan.num_batches,
            validation_data=validation,
            callbacks=callbacks,
            shuffle=False,  # the stream is already in the seeded per-epoch order
            verbose=0,
        ).history
        self.reporter.end_stage()
        for name in METRICS:
            if name in logs:
                self.history.setdefault(name, []).extend(float(value) for value in logs[name])
        self.stages.extend([stage] * len(logs.get("loss", [])))

    def _pipeline(self, subset: Subset) -> tf.data.Dataset:
        return make_pipeline(
            subset,
            self.spec.input_size,
            self.config.batch_size,
            shuffle=False,
            seed=self.config.seed,
            max_pixels=self.settings.max_image_pixels,
        )


def _feature_cache_file(
    settings: Settings, spec: Backbone, weights: str | None, paths: Sequence[Path]
) -> Path | None:
    """settings.runs_dir/.cache/features/<sha1>.npz for these images under these weights.

    None when caching is unsafe: random weights (they change with the seed) or an image that
    cannot be stat'ed.
    """
    if weights is None:
        return None
    digest = hashlib.sha1(f"{FEATURE_CACHE_VERSION}\n{spec.name}\n".encode())
    try:
        identity = weights
        if weights != "imagenet":
            stat = os.stat(weights)
            identity = f"{Path(weights).resolve()}\t{stat.st_size}\t{stat.st_mtime_ns}"
        digest.update(f"{identity}\n".encode())
        for path in sorted(str(p) for p in paths):
            stat = os.stat(path)
            digest.update(f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    except OSError:
        return None
    return settings.runs_dir / ".cache" / "features" / f"{digest.hexdigest()}.npz"


def _read_feature_cache(
    cache_file: Path | None, paths: Sequence[Path], feature_dim: int
) -> np.ndarray | None:
    """Cached features in the order of paths, or None when absent, unreadable or incomplete."""
    if cache_file is None or not cache_file.is_file():
        return None
    try:
        with np.load(cache_file, allow_pickle=False) as saved:
            cached_paths, features = saved["paths"].tolist(), saved["features"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("Ignoring unreadable feature cache %s: %s", cache_file, exc)
        return None
    if features.shape != (len(cached_paths), feature_dim):
        logger.warning("Ignoring feature cache %s: unexpected shape", cache_file)
        return None
    rows = {path: row for row, path in enumerate(cached_paths)}
    try:
        return features[[rows[str(path)] for path in paths]].astype(np.float32)
    except KeyError:
        return None


def _write_feature_cache(
    cache_file: Path | None, paths: Sequence[Path], features: np.ndarray
) -> None:
    """Atomically store features (temp file + os.replace); a failure only costs the speed-up."""
    if cache_file is None:
        return
    temp_name = None
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=cache_file.parent, suffix=".tmp", delete=False
        ) as handle:
            temp_name = handle.name
            np.savez(handle, paths=np.array([str(p) for p in paths]), features=features)
        os.replace(temp_name, cache_file)
    except OSError as exc:
        logger.warning("Could not write the feature cache %s: %s", cache_file, exc)
        if temp_name is not None:
            Path(temp_name).unlink(missing_ok=True)
