"""A tiny backbone and helpers for training tests: learns generated colour classes in seconds."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from engine.backbones import Backbone
from engine.config import TrainConfig
from engine.data.split import Split, Subset

TINY_SIZE = 32


def tiny_base(input_shape: tuple[int, int, int], include_top: bool = False, weights=None):
    """A keras.applications-like constructor: three convs, two BatchNorms, no top."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", name="conv2")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = keras.layers.Conv2D(16, 1, activation="relu", name="conv3")(x)
    model = keras.Model(inputs, x, name="tiny_base")
    if weights is not None:
        model.load_weights(weights)
    return model


TINY = Backbone("tiny", TINY_SIZE, tiny_base, "tf", 16, weights=None)
# Learns the generated colour classes in a few epochs; patience 0 keeps epoch counts fixed.
QUICK = TrainConfig(
    backbone="tiny", epochs=6, batch_size=8, learning_rate=0.05, early_stopping_patience=0
)


def _small_images(subset, image_size: int, requested: list[Path] | None) -> np.ndarray:
    """uint8 [N,S,S,3] of subset's small PNGs, decoded in memory; records the paths asked for."""
    if requested is not None:
        requested.extend(subset.paths)
    images = np.zeros((len(subset), image_size, image_size, 3), np.uint8)
    for row, path in enumerate(subset.paths):
        with Image.open(path) as image:
            images[row] = np.asarray(image.convert("RGB").resize((image_size,) * 2))
    return images


def fake_decode_batches(requested: list[Path] | None = None):
    """A decode_batches with the real contract over small PNGs."""

    def decode_batches(subset, image_size, batch_size, max_pixels=0):
        images = _small_images(subset, image_size, requested)
        for start in range(0, len(images), batch_size):
            yield images[start : start + batch_size]

    return decode_batches


def fake_make_pipeline(requested: list[Path] | None = None):
    """A make_pipeline with the real contract that decodes small PNGs in memory."""

    def make_pipeline(subset, image_size, batch_size, shuffle=False, seed=0, max_pixels=0):
        images = _small_images(subset, image_size, requested).astype(np.float32)
        labels = np.asarray(subset.labels, np.int32)
        data = tf.data.Dataset.from_tensor_slices((images, labels))
        if shuffle:
            data = data.shuffle(len(subset), seed=seed)
        return data.batch(batch_size)

    return make_pipeline


def split_folder(root: Path) -> Split:
    """Per class: 8 train, 2 validation, the rest test (sorted class folders)."""
    class_names = tuple(sorted(p.name for p in root.iterdir()))
    parts: dict[str, tuple[list, list]] = {name: ([], []) for name in ("train", "val", "test")}
    for label, name in enumerate(class_names):
        for index, path in enumerate(sorted((root / name).iterdir())):
            part = "train" if index < 8 else "val" if index < 10 else "test"
            parts[part][0].append(path)
            parts[part][1].append(label)
    subsets = [Subset(tuple(paths), tuple(labels)) for paths, labels in parts.values()]
    return Split(class_names, *subsets)


def images_of(*subsets: Subset) -> tuple[np.ndarray, np.ndarray]:
    """Decoded uint8 images and labels of subsets, in order."""
    paths = [p for subset in subsets for p in subset.paths]
    labels = [label for subset in subsets for label in subset.labels]
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths]), np.array(labels)
