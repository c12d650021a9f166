"""Evaluation on a split: predictions, accuracy, per-class P/R/F1, confusion matrix, per-image table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.datasets import Subset
from engine.zero_shot import ZeroShotReport


class Classifier(Protocol):
    """What both ZeroShotClassifier and FineTunedClassifier offer."""

    class_names: tuple[str, ...]
    input_size: int

    def predict_proba(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Evaluation:
    """Metrics and the per-image table that the gallery shows."""

    class_names: tuple[str, ...]
    accuracy: float
    per_class: dict[str, dict[str, float]]  # class -> precision, recall, f1, support
    confusion: list[list[int]]  # rows = true class, columns = predicted class
    rows: list[dict]  # path, true, predicted, confidence, correct, zero_shot_label, zero_shot_class


def predict_subset(classifier: Classifier, subset: Subset, batch_size: int = 32) -> np.ndarray:
    """Probabilities [N, classes] for every image of subset, streamed in batches."""
    raise NotImplementedError


def compute_metrics(
    y_true: list[int], y_pred: list[int | None], class_names: tuple[str, ...]
) -> tuple[float, dict[str, dict[str, float]], list[list[int]]]:
    """(accuracy, per_class, confusion); a None prediction counts as wrong and in no column."""
    raise NotImplementedError


def evaluate(
    classifier: Classifier,
    subset: Subset,
    zero_shot: ZeroShotReport | None = None,
    batch_size: int = 32,
) -> Evaluation:
    """Evaluate the fine-tuned classifier on subset; zero_shot adds its label per row."""
    raise NotImplementedError
