"""Both models behind one interface (predict_proba, top_k, class_names); loading a run's model."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Protocol

import keras
import numpy as np
import tensorflow as tf

# Imported for its side effect too: it registers the custom layers (Preprocess) that
# safe-mode loading must resolve.
from engine import model as _registers_layers  # noqa: F401
from engine.backbones import get_backbone
from engine.errors import ImageError, ModelUnavailableError, first_line
from engine.model import POOL_LAYER, feature_extractor
from engine.runs import RunStore
from engine.runtime import Runtime, keras_forward

MAX_CONFIG_BYTES = 16 * 2**20  # a model's config.json is kilobytes; Keras parses it whole
MAX_MODEL_BYTES = 4 * 2**30  # weights of the largest backbone are ~100 MB


class Classifier(Protocol):
    """What the zero-shot and the fine-tuned model offer, so pages show them side by side."""

    class_names: tuple[str, ...]
    input_size: int

    def predict_proba(self, images: np.ndarray) -> np.ndarray: ...

    def top_k(self, images: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]: ...


def top_k(
    probabilities: np.ndarray, class_names: tuple[str, ...], k: int = 5
) -> list[list[tuple[str, float]]]:
    """Best k (class name, probability) pairs per row of probabilities, most probable first.

    Raises:
        ValueError: k is below 1.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}.")
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return [
        [(class_names[index], float(row[index])) for index in indices]
        for row, indices in zip(probabilities, best, strict=True)
    ]


class BaseClassifier:
    """Batch checks, resizing and top_k shared by both models; subclasses give the forward pass.

    `first_answer` is the first index that is a real answer (the Hub model's index 0 is
    'background', which is never shown).
    """

    class_names: tuple[str, ...]
    input_size: int
    first_answer = 0

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Probabilities [N, classes] for uint8/float images [N,H,W,3] in [0,255] (any H, W).

        Raises:
            ImageError: images is not shaped [N, H, W, 3].
        """
        array = np.asarray(images)
        if array.ndim != 4 or array.shape[-1] != 3:
            raise ImageError(
                f"Expected a batch of RGB images shaped [N, height, width, 3]; got shape "
                f"{array.shape}. Stack decoded RGB images into one array."
            )
        if len(array) == 0:
            # Some graphs (BatchNormalization on a fixed shape) reject an empty batch.
            return np.zeros((0, len(self.class_names)), np.float32)
        batch = array.astype(np.float32, copy=False)
        if array.shape[1:3] != (self.input_size, self.input_size):
            batch = tf.image.resize(batch, (self.input_size, self.input_size)).numpy()
        return self._forward(batch)

    def top_k(self, images: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """Best k (class name, probability) pairs per image, most probable first."""
        probabilities = self.predict_proba(images)[:, self.first_answer :]
        return top_k(probabilities, self.class_names[self.first_answer :], k)

    def _forward(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class FineTunedClassifier(BaseClassifier):
    """A trained model: raw [0,255] images in, probabilities over the dataset's classes out.

    On LiteRT the model runs as its frozen feature extractor (converted once per distinct
    base weights: every run that kept the base frozen shares one) and its head, a softmax
    layer, in numpy.
    """

    def __init__(
        self,
        model: keras.Model,
        class_names: tuple[str, ...],
        input_size: int,
        runtime: Runtime | None = None,
    ) -> None:
        self.model = model
        self.class_names = tuple(class_names)
        self.input_size = input_size
        runtime = runtime or Runtime()
        head = _softmax_head(model) if runtime.choice == "litert" else None
        if head is None:
            self._forward = keras_forward(model, input_size, runtime, "model")
            return
        features = keras_forward(feature_extractor(model), input_size, runtime, "features")
        kernel, bias = head
        self._forward = lambda batch: _softmax(features(batch) @ kernel + bias)


def _softmax_head(model: keras.Model) -> tuple[np.ndarray, np.ndarray] | None:
    """(kernel, bias) of build_model's head when model has that shape, else None."""
    try:
        dense = model.get_layer("head").get_layer("probabilities")
        model.get_layer(POOL_LAYER)
    except ValueError:  # a model of another shape: it runs whole
        return None
    kernel, bias = dense.get_weights()
    return kernel.astype(np.float32), bias.astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


def load_run_classifier(
    store: RunStore, run_id: str, runtime: Runtime | None = None
) -> FineTunedClassifier:
    """Load a run's model with Keras safe mode (no Python code in model files is ever run).

    Raises:
        RunNotFoundError: no such run, or it has no model (cancelled).
        ModelUnavailableError: model.keras exists but cannot be loaded.
    """
    info = store.info(run_id)
    path = store.model_path(info.run_id)
    fix = "Delete the run and train again."
    try:
        _check_archive(path)
        model = keras.saving.load_model(path, safe_mode=True)
    except ModelUnavailableError as exc:
        raise ModelUnavailableError(f"The model of run '{info.run_id}' {exc} {fix}") from exc
    except Exception as exc:  # Keras raises ValueError, OSError, zip errors... for bad files
        raise ModelUnavailableError(
            f"The model of run '{info.run_id}' ({path}) cannot be loaded: {first_line(exc)}. {fix}"
        ) from exc
    shape, outputs = tuple(model.input_shape), model.output_shape[-1]
    if len(shape) != 4 or shape[-1] != 3 or shape[1] != shape[2]:
        raise ModelUnavailableError(
            f"The model of run '{info.run_id}' takes inputs shaped {shape}, not square RGB "
            f"photos [N, size, size, 3]. {fix}"
        )
    if outputs != len(info.class_names):
        raise ModelUnavailableError(
            f"The model of run '{info.run_id}' has {outputs} outputs but the run names "
            f"{len(info.class_names)} classes; its files do not belong together. {fix}"
        )
    input_size = shape[1] or get_backbone(info.config.backbone).input_size
    return FineTunedClassifier(model, info.class_names, int(input_size), runtime)


def _check_archive(path: Path) -> None:
    """Refuse a .keras whose parts would blow up in memory before Keras reads them (a 4.5 MB
    file can inflate a config.json of gigabytes)."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
    too_big = [
        m.filename
        for m in members
        if m.filename.endswith(".json") and m.file_size > MAX_CONFIG_BYTES
    ]
    if too_big or sum(m.file_size for m in members) > MAX_MODEL_BYTES:
        raise ModelUnavailableError(
            f"({path.name}) holds parts too large for a model of this product "
            f"({', '.join(too_big) or 'over ' + str(MAX_MODEL_BYTES // 2**30) + ' GB in all'})."
        )
