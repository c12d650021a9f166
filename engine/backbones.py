"""Registry of fine-tunable Keras backbones: constructor, input size, preprocessing, weights."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras

DEFAULT_BACKBONE = "mobilenet_v2"


@dataclass(frozen=True)
class Backbone:
    """One keras.applications architecture used without its top."""

    name: str
    input_size: int
    constructor: Callable[..., keras.Model]
    preprocessing: str  # mode understood by engine.backbones.Preprocess ('tf', 'caffe', 'none')
    feature_dim: int


BACKBONES: dict[str, Backbone] = {}  # mobilenet_v2, efficientnet_b0, resnet50, inception_v3


@keras.saving.register_keras_serializable(package="transfer_lab")
class Preprocess(keras.layers.Layer):
    """Maps raw [0,255] RGB to the backbone's expected range; serializable for safe-mode loading."""


def get_backbone(name: str) -> Backbone:
    """Look up a backbone by name. Raises ConfigError listing the known names."""
    raise NotImplementedError


def build_base(name: str, weights: str | None) -> keras.Model:
    """Backbone without top; weights 'imagenet', a local .weights.h5 path, or None (random).

    Raises:
        ModelUnavailableError: download impossible or file missing/corrupt; names TLAB_BACKBONE_WEIGHTS.
    """
    raise NotImplementedError
