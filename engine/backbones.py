"""Registry of fine-tunable backbones: Keras application, input size, preprocessing, weights."""

from __future__ import annotations

import functools
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ConfigError

DEFAULT_BACKBONE = "mobilenet_v2"
# The local file TLAB_BACKBONE_WEIGHTS points at when there is no network (for DEFAULT_BACKBONE).
DEFAULT_WEIGHTS_FILE = "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
PREPROCESSING_MODES = ("tf", "caffe", "none")
# ImageNet channel means in BGR order, as keras.applications' 'caffe' preprocessing subtracts them.
CAFFE_MEANS_BGR = (103.939, 116.779, 123.68)
WEIGHTS_HOST = "https://storage.googleapis.com/"  # where keras.applications downloads from


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
    # The file keras.applications downloads for weights='imagenet' (in ~/.keras/models).
    keras_file: str = ""


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


for _name, _size, _application, _mode, _dim, _file in (
    ("mobilenet_v2", 224, "MobileNetV2", "tf", 1280,
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
    # Keras EfficientNet rescales [0,255] inputs itself, hence no preprocessing here.
    ("efficientnet_b0", 224, "EfficientNetB0", "none", 1280, "efficientnetb0_notop.h5"),
    ("resnet50", 224, "ResNet50", "caffe", 2048,
     "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("inception_v3", 299, "InceptionV3", "tf", 2048,
     "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"),
):  # fmt: skip
    register_backbone(
        Backbone(_name, _size, keras_application(_application), _mode, _dim, keras_file=_file)
    )


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


def unavailable_reason(name: str, backbone_weights_setting: str) -> str | None:
    """Why backbone `name` cannot get its weights here, or None when it can.

    Local files must exist; 'imagenet' needs Keras' cached download or a network connection
    (probed once per process, with a short timeout).
    """
    weights = weights_source(name, backbone_weights_setting)
    if weights is None:
        return None
    if weights != "imagenet":
        return (
            None if Path(weights).expanduser().is_file() else f"weights file {weights} is missing"
        )
    backbone = get_backbone(name)
    cached = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    if backbone.keras_file and (cached / backbone.keras_file).is_file():
        return None
    if _online():
        return None
    hint = " (set TLAB_BACKBONE_WEIGHTS to a local copy)" if name == DEFAULT_BACKBONE else ""
    return f"offline, and no downloaded copy of its ImageNet weights{hint}"


@functools.cache
def _online() -> bool:
    """Whether Keras' weight downloads are reachable (asked once, 3 s at most)."""
    try:
        with urllib.request.urlopen(WEIGHTS_HOST, timeout=3):
            return True
    except urllib.error.HTTPError:
        return True  # any answer proves the network works
    except (OSError, ValueError):
        return False
