"""Grad-CAM: the heatmap's peak lands on a planted discriminative patch; a missing zero-shot
model leaves the trained side standing; overlays and the side-by-side PNG."""

from __future__ import annotations

import io
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from engine import images
from engine.backbones import BACKBONES, register_backbone
from engine.errors import ModelUnavailableError
from engine.insight.gradcam import DISPLAY_SIZE, GradCam, explain_pair
from engine.insight.heatmaps import Heatmap, HeatmapPair, overlay, pair_png
from engine.model import build_model
from engine.settings import Settings
from tests.support.paths import FLOWERS
from tests.support.tiny import TINY, TINY_SIZE

PATCH = 9
CLASSES = ("blue patch", "red patch")
COLOURS = ((30, 40, 230), (230, 30, 30))


def patch_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images, labels, patch corners): grey noise with one coloured square at a random place;
    only the square's colour tells the classes apart."""
    rng = np.random.default_rng(seed)
    images = rng.normal(128, 25, (count, TINY_SIZE, TINY_SIZE, 3)).clip(0, 255)
    labels = rng.integers(0, 2, count)
    corners = rng.integers(3, TINY_SIZE - PATCH - 3, (count, 2))
    for image, label, (top, left) in zip(images, labels, corners, strict=True):
        image[top : top + PATCH, left : left + PATCH] = COLOURS[label]
    return images.astype(np.float32), labels, corners


@pytest.fixture(scope="module")
def patch_model() -> keras.Model:
    """engine.model's layout on the tiny backbone, trained end to end to tell the patches."""
    register_backbone(TINY)
    keras.utils.set_random_seed(0)
    model, base, _ = build_model("tiny", 2, 0.0, None)
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    images, labels, _ = patch_images(400, seed=0)
    model.fit(images, labels, epochs=8, batch_size=32, verbose=0)
    yield model
    BACKBONES.pop(TINY.name, None)


def test_the_heatmap_peaks_on_the_planted_patch(patch_model: keras.Model):
    explainer = GradCam.fine_tuned(patch_model, CLASSES)
    images, labels, corners = patch_images(40, seed=1)
    right, on_patch = 0, 0
    for image, label, (top, left) in zip(images, labels, corners, strict=True):
        heatmap = explainer.explain(image)
        right += heatmap.label == CLASSES[label]
        row, column = (fraction * TINY_SIZE for fraction in heatmap.peak())
        # Within the patch, give or take half a cell of the 7x7 grid (32 / 7 / 2 pixels).
        margin = TINY_SIZE / heatmap.cam.shape[0] / 2
        on_patch += (top - margin <= row <= top + PATCH + margin) and (
            left - margin <= column <= left + PATCH + margin
        )
        assert heatmap.cam.max() == pytest.approx(1.0) and heatmap.cam.min() >= 0.0
    assert right >= 38, "the tiny model did not learn the patches"
    assert on_patch >= 36, f"the peak fell on the patch for only {on_patch} of 40 photos"


def test_a_missing_zero_shot_model_leaves_the_trained_side(patch_model, tmp_path: Path):
    photo = tmp_path / "photo.png"
    Image.fromarray(patch_images(1, seed=2)[0][0].astype(np.uint8)).resize((64, 48)).save(photo)
    settings = Settings(zero_shot_keras_weights=str(tmp_path / "missing.weights.h5"))

    pair = explain_pair(
        photo,
        lambda: GradCam.zero_shot(settings),
        GradCam.fine_tuned(patch_model, CLASSES),
        settings.max_image_pixels,
    )

    assert pair.zero_shot is None and "TLAB_ZERO_SHOT_KERAS_WEIGHTS" in pair.zero_shot_error
    assert pair.fine_tuned is not None and pair.fine_tuned.label in CLASSES
    # The photo's own shape (64 x 48 shown 448 wide), not the model's square.
    assert pair.photo.shape == (DISPLAY_SIZE * 3 // 4, DISPLAY_SIZE, 3)
    assert pair.titles()[0] == "Zero-shot (ImageNet): not available"


def test_a_model_of_another_layout_is_refused_with_a_reason():
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten()])
    with pytest.raises(ModelUnavailableError, match="Grad-CAM cannot be computed"):
        GradCam.fine_tuned(model, CLASSES)


def test_overlay_colours_hot_parts_most_and_the_pair_png_shows_both_sides():
    photo = np.full((20, 30, 3), 128, np.uint8)
    cam = np.zeros((7, 7), np.float32)
    cam[0, 0] = 1.0
    shown = overlay(photo, cam)
    assert shown.shape == photo.shape and shown.dtype == np.uint8
    change = np.abs(shown.astype(int) - photo).sum(axis=2)
    assert change[0, 0] > change[-1, -1]  # the hot corner is coloured more than the cold one
    hot = Heatmap("daisy", 0.9, cam)
    png = pair_png(HeatmapPair(photo, hot, None, None, "no run"))
    with Image.open(io.BytesIO(png)) as image:
        assert image.width > 2 * 30 and image.height > 20
    assert hot.peak() == (0.5 / 7, 0.5 / 7)


@pytest.mark.integration
@pytest.mark.slow
def test_the_keras_twin_names_what_the_hub_zero_shot_model_names(offline_settings):
    # Its output i is the Hub's label i + 1: the heatmap explains the answer the app shows.
    from engine.zero_shot import ZeroShotClassifier

    hub = ZeroShotClassifier.load(offline_settings)
    twin = GradCam.zero_shot(offline_settings)
    for path in sorted(FLOWERS.glob("*/*.jpg"))[::100]:
        pixels = images.load_array(path, 224)
        label, probability = hub.top_k(pixels[None], 1)[0][0]
        heatmap = twin.explain(pixels)
        assert heatmap.label == label
        assert heatmap.probability == pytest.approx(probability, abs=1e-3)
