"""Zero-shot baseline: TF Hub ImageNet MobileNetV2, top-k labels, mapping to dataset classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.datasets import Subset
from engine.errors import ModelUnavailableError  # noqa: F401
from engine.settings import Settings

INPUT_SIZE = 224


def load_labels(source: str) -> tuple[str, ...]:
    """Read the 1001 ImageNet labels (line 0 'background') from a local path or URL.

    Raises:
        ModelUnavailableError: cannot download / read, or not 1001 lines; names TLAB_IMAGENET_LABELS.
    """
    raise NotImplementedError


class ZeroShotClassifier:
    """ImageNet classifier loaded with tensorflow_hub.load; thread-safe predict_proba."""

    input_size = INPUT_SIZE

    def __init__(self, model: object, class_names: tuple[str, ...], source: str) -> None:
        self.model = model
        self.class_names = class_names  # 1001 ImageNet labels, index 0 = background
        self.source = source

    @classmethod
    def load(cls, settings: Settings) -> ZeroShotClassifier:
        """Load settings.zero_shot_model (Hub handle or local SavedModel dir) and its labels.

        Raises:
            ModelUnavailableError: offline / wrong path / corrupt; names TLAB_ZERO_SHOT_MODEL.
        """
        raise NotImplementedError

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Softmax over 1001 labels for uint8/float images [N,H,W,3] in [0,255] (any H, W)."""
        raise NotImplementedError

    def top_k(self, images: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """Best k (label, probability) pairs per image, background excluded."""
        raise NotImplementedError


def auto_mapping(class_names: tuple[str, ...], labels: tuple[str, ...]) -> dict[str, list[int]]:
    """Map each dataset class to ImageNet label indices (names, synonyms, plural/singular,
    superclass groups such as every dog breed -> 'dog'); a class with no match maps to []."""
    raise NotImplementedError


@dataclass(frozen=True)
class ZeroShotReport:
    """Zero-shot results on one subset, with the mapping that produced them."""

    accuracy: float
    predicted: tuple[int | None, ...]  # dataset class index of the top-1 label, None if unmapped
    top_labels: tuple[str, ...]  # top-1 ImageNet label per image
    top_probs: tuple[float, ...]
    mapping: dict[str, list[int]]
    unmapped_classes: tuple[str, ...]  # classes with no ImageNet counterpart


def evaluate_zero_shot(
    classifier: ZeroShotClassifier,
    subset: Subset,
    class_names: tuple[str, ...],
    mapping: dict[str, list[int]] | None = None,
    batch_size: int = 32,
) -> ZeroShotReport:
    """Zero-shot accuracy on subset; unmapped predictions count as wrong."""
    raise NotImplementedError
