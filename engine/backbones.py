"""Registry of fine-tunable backbones: Keras application, input size, preprocessing, weights."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError

DEFAULT_BACKBONE = "mobilenet_v2"
# The local file TLAB_BACKBONE_WEIGHTS points at when there is no network (for DEFAULT_BACKBONE).
DEFAULT_WEIGHTS_FILE = "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
PREPROCESSING_MODES = ("tf", "caffe", "none")
# ImageNet channel means in BGR order, as keras.applications' 'caffe' preprocessing subtracts them.
CAFFE_MEANS_BGR = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class Backbone:
    """One architecture used without its top."""

    name: str
    input_size: int
    constructor: Callable[..., Any]  # (input_shape=, include_top=False, weights=) -> keras.Model
    preprocessing: str  # 'tf' ([-1, 1]), 'caffe' (BGR minus ImageNet means) or 'none'
    feature_dim: int
    # Pretrained weights used when TLAB_BACKBONE_WEIGHTS does not apply (it names
    # DEFAULT_BACKBONE's file): 'imagenet', a local .weights.h5 path, or None for random.
    weights: str | None = "imagenet"


def keras_application(name: str) -> Callable[..., Any]:
    """A constructor that looks up keras.applications.<name> when it is first called.

    The registry is read by pages (the Train form, config validation) that must open without
    loading TensorFlow; Keras is imported only when a model is actually built.
    """

    def construct(**kwargs: Any) -> Any:
        import keras

        return getattr(keras.applications, name)(**kwargs)

    construct.__name__ = name
    return construct


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


register_backbone(Backbone("mobilenet_v2", 224, keras_application("MobileNetV2"), "tf", 1280))
# Keras EfficientNet rescales [0,255] inputs itself, hence no preprocessing here.
register_backbone(
    Backbone("efficientnet_b0", 224, keras_application("EfficientNetB0"), "none", 1280)
)
register_backbone(Backbone("resnet50", 224, keras_application("ResNet50"), "caffe", 2048))
register_backbone(Backbone("inception_v3", 299, keras_application("InceptionV3"), "tf", 2048))


def get_backbone(name: str) -> Backbone:
    """Look up a backbone by name. Raises ConfigError listing the known names."""
    try:
        return BACKBONES[name]
    except (KeyError, TypeError):
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
