"""The fine-tunable model: Input -> preprocessing -> frozen base -> pool -> head; unfreezing."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from engine.backbones import (
    CAFFE_MEANS_BGR,
    DEFAULT_BACKBONE,
    DEFAULT_WEIGHTS_FILE,
    PREPROCESSING_MODES,
    get_backbone,
)
from engine.errors import ConfigError, ModelUnavailableError, first_line

POOL_LAYER = "pool"


def preprocessing_layer(mode: str, name: str = "preprocess") -> keras.layers.Layer:
    """Standard Keras layers mapping raw [0,255] RGB to what the backbone expects, so a saved
    model loads in any Python with Keras and no Transfer Lab code.

    Modes: 'tf' scales to [-1,1]; 'caffe' turns RGB into BGR and subtracts the ImageNet means
    (a fixed 1x1 convolution; set_caffe_weights fills it once built); 'none' passes through.

    Raises:
        ConfigError: unknown mode.
    """
    if mode == "tf":
        return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name=name)
    if mode == "caffe":
        return keras.layers.Conv2D(3, 1, name=name, trainable=False)
    if mode == "none":
        return keras.layers.Identity(name=name)
    raise ConfigError(
        f"Unknown preprocessing mode {mode!r}; expected one of {', '.join(PREPROCESSING_MODES)}."
    )


def _set_caffe_weights(layer: keras.layers.Layer) -> None:
    """RGB -> BGR as a permutation kernel, minus the ImageNet means as the bias."""
    kernel = np.zeros((1, 1, 3, 3), np.float32)
    for source, target in ((0, 2), (1, 1), (2, 0)):
        kernel[0, 0, source, target] = 1.0
    layer.set_weights([kernel, -np.asarray(CAFFE_MEANS_BGR, np.float32)])


@keras.saving.register_keras_serializable(package="transfer_lab")
class Preprocess(keras.layers.Layer):
    """The custom preprocessing layer of runs saved before preprocessing_layer; kept registered
    so their model.keras files still load (in safe mode). New models never use it."""

    def __init__(self, mode: str = "tf", **kwargs) -> None:
        super().__init__(**kwargs)
        if mode not in PREPROCESSING_MODES:
            raise ConfigError(
                f"Unknown preprocessing mode {mode!r}; expected one of "
                f"{', '.join(PREPROCESSING_MODES)}."
            )
        self.mode = mode

    def call(self, inputs):
        images = keras.ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return images / 127.5 - 1.0
        if self.mode == "caffe":
            means = keras.ops.convert_to_tensor(CAFFE_MEANS_BGR, dtype=self.compute_dtype)
            return keras.ops.flip(images, axis=-1) - means
        return images

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


def build_base(name: str, weights: str | None) -> keras.Model:
    """Backbone without top; weights 'imagenet', a local .weights.h5 path, or None (random).

    Raises:
        ModelUnavailableError: download impossible or file missing/corrupt; the message names
            TLAB_BACKBONE_WEIGHTS.
    """
    backbone = get_backbone(name)
    size = backbone.input_size
    if weights not in (None, "imagenet") and not Path(weights).is_file():
        raise ModelUnavailableError(
            f"Backbone weights file {weights} does not exist. Set TLAB_BACKBONE_WEIGHTS to a "
            f"local {DEFAULT_WEIGHTS_FILE} (or to 'imagenet' to download with network access)."
        )
    try:
        return backbone.constructor(input_shape=(size, size, 3), include_top=False, weights=weights)
    except Exception as exc:  # Keras raises bare Exception/ValueError/OSError for these cases.
        if weights is None:
            raise
        raise ModelUnavailableError(_weights_failure(name, weights, exc)) from exc


def _weights_failure(name: str, weights: str, exc: Exception) -> str:
    """A user-facing message for weights that could not be downloaded or loaded."""
    offline = f"Could not download ImageNet weights for {name} (no network?)."
    if weights == "imagenet" and name == DEFAULT_BACKBONE:
        return f"{offline} Set TLAB_BACKBONE_WEIGHTS to a local {DEFAULT_WEIGHTS_FILE}."
    if weights == "imagenet":
        return (
            f"{offline} Connect once so Keras caches them, or choose {DEFAULT_BACKBONE} and set "
            f"TLAB_BACKBONE_WEIGHTS to a local {DEFAULT_WEIGHTS_FILE}."
        )
    return (
        f"Backbone weights file {weights} cannot be loaded into {name} ({first_line(exc)}); it "
        f"is corrupt or made for another architecture. Set TLAB_BACKBONE_WEIGHTS to a {name} "
        "no-top Keras 3 .weights.h5 file."
    )


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
    preprocess = preprocessing_layer(spec.preprocessing)
    x = preprocess(images)
    if spec.preprocessing == "caffe":
        _set_caffe_weights(preprocess)
    x = base(x, training=False)
    pooled = keras.layers.GlobalAveragePooling2D(name=POOL_LAYER)(x)
    head = build_head(spec.feature_dim, num_classes, dropout)
    model = keras.Model(images, head(pooled), name=f"{backbone}_classifier")
    return model, base, head


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


def feature_extractor(model: keras.Model) -> keras.Model:
    """The part of a build_model model that maps raw images to pooled base features."""
    return keras.Model(model.input, model.get_layer(POOL_LAYER).output)
