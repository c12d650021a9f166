"""Tests for engine.backbones: registry, Preprocess, weights loading and its failures."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from engine import backbones
from engine.backbones import (
    BACKBONES,
    DEFAULT_BACKBONE,
    get_backbone,
    register_backbone,
    unavailable_reason,
    weights_source,
)
from engine.errors import ConfigError, ModelUnavailableError
from engine.model import Preprocess, build_base
from tests.support.paths import FLOWERS, MODELS
from tests.support.tiny import TINY, tiny_base

OFFLINE_MESSAGE = (
    "Could not download ImageNet weights for mobilenet_v2 (no network?). "
    "Set TLAB_BACKBONE_WEIGHTS to a local mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
)


@pytest.fixture
def tiny(tiny_backbone):
    return tiny_backbone


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "input_size", "preprocessing", "feature_dim"),
    [
        ("mobilenet_v2", 224, "tf", 1280),
        ("efficientnet_b0", 224, "none", 1280),
        ("resnet50", 224, "caffe", 2048),
        ("inception_v3", 299, "tf", 2048),
    ],
)
def test_registry_entries_build_with_the_documented_shape(
    name, input_size, preprocessing, feature_dim
):
    backbone = get_backbone(name)

    base = build_base(name, weights=None)

    assert (backbone.input_size, backbone.preprocessing) == (input_size, preprocessing)
    assert base.input_shape == (None, input_size, input_size, 3)
    assert base.output_shape[-1] == backbone.feature_dim == feature_dim


def test_unknown_backbone_lists_known_names():
    with pytest.raises(ConfigError, match="resnet50"):
        get_backbone("vgg99")


def test_register_backbone_refuses_unknown_preprocessing():
    with pytest.raises(ConfigError, match="caffe"):
        register_backbone(dataclasses.replace(TINY, preprocessing="torch"))
    assert TINY.name not in BACKBONES


def test_weights_setting_applies_to_the_default_backbone_only(tiny):
    assert weights_source(DEFAULT_BACKBONE, "/w/mobilenet.weights.h5") == "/w/mobilenet.weights.h5"
    assert weights_source("resnet50", "/w/mobilenet.weights.h5") == "imagenet"
    assert weights_source("tiny", "imagenet") is None


# --- Preprocess ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "reference"),
    [
        ("tf", keras.applications.mobilenet_v2.preprocess_input),
        ("caffe", keras.applications.resnet50.preprocess_input),
        ("none", lambda images: images),
    ],
)
def test_preprocess_matches_keras_applications(mode, reference):
    images = np.random.default_rng(0).uniform(0, 255, (2, 5, 5, 3)).astype(np.float32)

    result = keras.ops.convert_to_numpy(Preprocess(mode)(images))

    np.testing.assert_allclose(result, reference(images.copy()), atol=1e-4)


def test_preprocess_config_round_trips():
    layer = Preprocess("caffe", name="prep")

    restored = Preprocess.from_config(layer.get_config())

    assert (restored.mode, restored.name) == ("caffe", "prep")
    assert keras.saving.get_registered_object("transfer_lab>Preprocess") is Preprocess


def test_preprocess_refuses_unknown_mode():
    with pytest.raises(ConfigError, match="tf, caffe, none"):
        Preprocess("torch")


# --- weights ---------------------------------------------------------------------------------


def test_missing_weights_file_names_the_setting(tmp_path: Path):
    with pytest.raises(ModelUnavailableError, match="TLAB_BACKBONE_WEIGHTS") as error:
        build_base("mobilenet_v2", str(tmp_path / "nope.weights.h5"))
    assert "nope.weights.h5" in str(error.value)


def test_imagenet_download_failure_is_model_unavailable(monkeypatch):
    def offline(**kwargs):
        # What keras.utils.get_file raises when the host cannot be resolved.
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: None -- "
            "[Errno -3] Temporary failure in name resolution"
        )

    spec = dataclasses.replace(BACKBONES["mobilenet_v2"], constructor=offline)
    monkeypatch.setitem(BACKBONES, "mobilenet_v2", spec)

    with pytest.raises(ModelUnavailableError) as error:
        build_base("mobilenet_v2", "imagenet")
    assert str(error.value).startswith(OFFLINE_MESSAGE)


def test_corrupt_weights_file_is_model_unavailable(tiny, tmp_path: Path):
    broken = tmp_path / "broken.weights.h5"
    broken.write_bytes(b"this is not HDF5")

    with pytest.raises(ModelUnavailableError, match="TLAB_BACKBONE_WEIGHTS"):
        build_base("tiny", str(broken))


@pytest.mark.filterwarnings("ignore:Skipping nested container")  # Keras notes the mismatch too
def test_weights_of_another_architecture_are_model_unavailable(tiny, tmp_path: Path):
    inputs = keras.Input((32, 32, 3))
    other = keras.Model(inputs, keras.layers.Conv2D(4, 3, name="conv1")(inputs))  # 4 filters, not 8
    path = tmp_path / "other.weights.h5"
    other.save_weights(path)

    with pytest.raises(ModelUnavailableError, match="another architecture"):
        build_base("tiny", str(path))


def test_local_weights_file_is_loaded(tiny, tmp_path: Path):
    source = tiny_base((32, 32, 3))
    path = tmp_path / "tiny.weights.h5"
    source.save_weights(path)

    base = build_base("tiny", str(path))

    for loaded, saved in zip(base.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(loaded, saved)


@pytest.mark.integration
def test_real_mobilenet_features_match_the_hub_feature_vector(offline_settings):
    base = build_base("mobilenet_v2", offline_settings.backbone_weights)
    photo = next((FLOWERS / "daisy").glob("*.jpg"))
    with Image.open(photo) as image:
        pixels = np.asarray(image.convert("RGB").resize((224, 224)), np.float32)[None]
    hub_model = tf.saved_model.load(str(MODELS / "feature_vector"))

    features = keras.ops.convert_to_numpy(
        keras.layers.GlobalAveragePooling2D()(base(Preprocess("tf")(pixels), training=False))
    )[0]
    expected = hub_model(tf.constant(pixels / 255.0)).numpy()[0]

    assert features.shape == (1280,) and np.isfinite(features).all()
    assert features.min() >= 0 and features.max() <= 6  # pooled ReLU6 activations
    cosine = features @ expected / (np.linalg.norm(features) * np.linalg.norm(expected))
    assert cosine > 0.99


def test_unavailable_backbones_say_why(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(backbones, "_online", lambda: False)
    local = tmp_path / "mobilenet.weights.h5"
    assert "missing" in unavailable_reason("mobilenet_v2", str(local))
    local.write_bytes(b"x")
    assert unavailable_reason("mobilenet_v2", str(local)) is None
    assert "offline" in unavailable_reason("resnet50", str(local))
    cached = tmp_path / "keras" / "models" / get_backbone("resnet50").keras_file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert unavailable_reason("resnet50", str(local)) is None, "Keras' cached download counts"
    monkeypatch.setattr(backbones, "_online", lambda: True)
    assert unavailable_reason("inception_v3", str(local)) is None
