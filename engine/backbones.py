"""Registry of fine-tunable Keras backbones: constructor, input size, preprocessing, weights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras

from engine.errors import ConfigError, ModelUnavailableError

DEFAULT_BACKBONE = "mobilenet_v2"
# The local file TLAB_BACKBONE_WEIGHTS points at when there is no network (for DEFAULT_BACKBONE).
DEFAULT_WEIGHTS_FILE = "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
PREPROCESSING_MODES = ("tf", "caffe", "none")
# ImageNet channel means in BGR order, as keras.applications' 'caffe' preprocessing subtracts them.
CAFFE_MEANS_BGR = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class Backbone:
    """One keras.applications architecture used without its top."""

    name: str
    input_size: int
    constructor: Callable[..., keras.Model]
    preprocessing: str  # mode understood by engine.backbones.Preprocess ('tf', 'caffe', 'none')
    feature_dim: int
    # Pretrained weights used when TLAB_BACKBONE_WEIGHTS does not apply (it names
    # DEFAULT_BACKBONE's file): 'imagenet', a local .weights.h5 path, or None for random.
    weights: str | None = "imagenet"


BACKBONES: dict[str, Backbone] = {}


def register_backbone(backbone: Backbone) -> Backbone:
    """Add (or replace) a registry entry and return it; tests use it for tiny backbones."""
    if backbone.preprocessing not in PREPROCESSING_MODES:
        raise ConfigError(
            f"Backbone {backbone.name!r} has preprocessing {backbone.preprocessing!r}; "
            f"expected one of {', '.join(PREPROCESSING_MODES)}."
        )
    BACKBONES[backbone.name] = backbone
    return backbone


register_backbone(Backbone("mobilenet_v2", 224, keras.applications.MobileNetV2, "tf", 1280))
# Keras EfficientNet rescales [0,255] inputs itself, hence no preprocessing here.
register_backbone(Backbone("efficientnet_b0", 224, keras.applications.EfficientNetB0, "none", 1280))
register_backbone(Backbone("resnet50", 224, keras.applications.ResNet50, "caffe", 2048))
register_backbone(Backbone("inception_v3", 299, keras.applications.InceptionV3, "tf", 2048))


@keras.saving.register_keras_serializable(package="transfer_lab")
class Preprocess(keras.layers.Layer):
    """Maps raw [0,255] RGB to the backbone's expected range; serializable for safe-mode loading.

    Modes: 'tf' scales to [-1,1]; 'caffe' turns RGB into BGR and subtracts the ImageNet means;
    'none' passes images through (the backbone normalises them itself).
    """

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


def get_backbone(name: str) -> Backbone:
    """Look up a backbone by name. Raises ConfigError listing the known names."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise ConfigError(
            f"Unknown backbone {name!r}; choose one of {', '.join(sorted(BACKBONES))}."
        ) from None


def weights_source(name: str, backbone_weights_setting: str) -> str | None:
    """The weights to build backbone `name` with ('imagenet', a local path or None).

    TLAB_BACKBONE_WEIGHTS (settings.backbone_weights) names DEFAULT_BACKBONE's weights; the other
    backbones use their registry entry's source.
    """
    if name == DEFAULT_BACKBONE:
        return backbone_weights_setting
    return get_backbone(name).weights


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
    # Keras' own message can run to pages (it may print whole tensors); its first line says why.
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return (
        f"Backbone weights file {weights} cannot be loaded into {name} ({reason}); it is corrupt "
        f"or made for another architecture. Set TLAB_BACKBONE_WEIGHTS to a {name} no-top "
        "Keras 3 .weights.h5 file."
    )
