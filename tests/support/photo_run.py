"""A saved run whose photos exist on disk (its split recorded) and whose small Keras model was
really trained on them: what exports, their checks and reports need."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np

from engine.classifiers import FineTunedClassifier
from engine.config import TrainConfig
from engine.data.record import record_split
from engine.evaluation import evaluate
from engine.runs import RunStore
from tests.conftest import CLASS_COLORS, write_image
from tests.support.runs import make_run
from tests.support.tiny import images_of, split_folder

SIZE = 16  # model input: the 32-pixel photos are resized, as in the app
PHOTOS_PER_CLASS = 12  # split_folder: 8 train, 2 validation, 2 test


def write_photos(root: Path) -> Path:
    """root/<colour>/<colour>_NN.png, 12 noisy 32-pixel photos per colour class."""
    for name, color in CLASS_COLORS.items():
        for i in range(PHOTOS_PER_CLASS):
            write_image(root / name / f"{name}_{i:02d}.png", color, seed=i)
    return root


def trained_classifier(root: Path) -> FineTunedClassifier:
    """Standard Keras layers (so every export format loads it) fitted on the train photos."""
    split = split_folder(root)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(len(split.class_names), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    images, labels = images_of(split.train)
    small = keras.ops.image.resize(images.astype(np.float32), (SIZE, SIZE))
    model.fit(small, labels, epochs=30, batch_size=8, verbose=0)
    return FineTunedClassifier(model, split.class_names, SIZE)


def save_photo_run(store: RunStore, root: Path, classifier: FineTunedClassifier | None) -> str:
    """Save a complete run of the photos under root (written by write_photos) evaluated with
    classifier on its test photos; its split.json lists them. Returns the run id."""
    split = split_folder(root)
    classifier = classifier or trained_classifier(root)
    predictions = list(evaluate(classifier, split.test).predictions)
    run = make_run(
        split.class_names,
        predictions,
        dataset=str(root),
        config=TrainConfig(batch_size=8),
    )
    return store.save(dataclasses.replace(run, split=record_split(split, root)), classifier)
