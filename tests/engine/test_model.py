"""Tests for engine.model: the model's wiring, safe-mode round trips, unfreezing."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from engine.model import build_model, unfreeze_top_layers
from tests.support.paths import FLOWERS
from tests.support.tiny import (
    TINY_SIZE,
    tiny_base,
)

pytestmark = pytest.mark.usefixtures("tiny_backbone")


# --- model -----------------------------------------------------------------------------------


def test_build_model_wires_preprocess_frozen_base_and_head():
    model, base, head = build_model("tiny", num_classes=3, dropout=0.2, weights=None)

    assert model.input_shape == (None, TINY_SIZE, TINY_SIZE, 3)
    assert model.output_shape == (None, 3)
    assert head.input_shape == (None, 16)
    # Standard layers only, so the saved model loads without this project's code.
    assert type(model.get_layer("preprocess")) is keras.layers.Rescaling
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
    assert loaded.get_layer("preprocess").scale == pytest.approx(1 / 127.5)


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
