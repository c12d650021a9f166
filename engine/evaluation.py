"""Evaluation on a split: predictions, accuracy, per-class P/R/F1, confusion, per-image table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine import datasets
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
    # path, true, predicted, confidence, correct, zero_shot_label / _class / _correct (None
    # without a zero-shot report)
    rows: list[dict]

    def to_dict(self) -> dict:
        """JSON-ready copy (plain lists, str, int, float, bool, None) for the run store."""
        return {
            "class_names": list(self.class_names),
            "accuracy": self.accuracy,
            "per_class": {name: dict(values) for name, values in self.per_class.items()},
            "confusion": [list(row) for row in self.confusion],
            "rows": [dict(row) for row in self.rows],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Evaluation:
        """Rebuild an Evaluation from to_dict() output (e.g. read back from JSON).

        Raises:
            KeyError: a field is missing.
        """
        return cls(
            class_names=tuple(data["class_names"]),
            accuracy=float(data["accuracy"]),
            per_class={name: dict(values) for name, values in data["per_class"].items()},
            confusion=[list(row) for row in data["confusion"]],
            rows=[dict(row) for row in data["rows"]],
        )

    def most_confused(self, n: int = 5) -> list[tuple[str, str, int]]:
        """Up to n (true, predicted, count) mistakes, most frequent first (as fastai's
        ClassificationInterpretation); ties keep confusion-matrix order."""
        mistakes = [
            (self.class_names[true], self.class_names[predicted], count)
            for true, row in enumerate(self.confusion)
            for predicted, count in enumerate(row)
            if true != predicted and count > 0
        ]
        mistakes.sort(key=lambda mistake: -mistake[2])  # stable, so ties stay in matrix order
        return mistakes[:n]


def predict_subset(classifier: Classifier, subset: Subset, batch_size: int = 32) -> np.ndarray:
    """Probabilities [N, classes] for every image of subset, streamed in batches.

    Raises:
        ImageError: an image cannot be read any more.
    """
    if not len(subset):
        return np.zeros((0, len(classifier.class_names)), np.float32)
    batches = [
        classifier.predict_proba(images)
        for images in datasets.decode_batches(subset, classifier.input_size, batch_size)
    ]
    return np.concatenate(batches).astype(np.float32, copy=False)


def compute_metrics(
    y_true: list[int], y_pred: list[int | None], class_names: tuple[str, ...]
) -> tuple[float, dict[str, dict[str, float]], list[list[int]]]:
    """(accuracy, per_class, confusion); a None prediction counts as wrong and in no column.

    Precision, recall or F1 with a zero denominator are 0.0; accuracy of no images is 0.0.

    Raises:
        ValueError: y_true and y_pred differ in length, or hold an index outside class_names.
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}.")
    num_classes = len(class_names)
    true = np.asarray(y_true, dtype=np.int64)
    answered = np.array([guess is not None for guess in y_pred], dtype=bool)
    guessed = np.array([-1 if guess is None else guess for guess in y_pred], dtype=np.int64)
    if np.any((true < 0) | (true >= num_classes)) or np.any(
        answered & ((guessed < 0) | (guessed >= num_classes))
    ):
        raise ValueError(f"Class indices must lie in 0..{num_classes - 1} ({num_classes} classes).")

    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (true[answered], guessed[answered]), 1)
    support = np.bincount(true, minlength=num_classes)  # counts unanswered images too
    hits = np.diag(confusion)
    precision = _divide(hits, confusion.sum(axis=0))
    recall = _divide(hits, support)
    f1 = _divide(2 * precision * recall, precision + recall)
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    accuracy = float(hits.sum() / len(true)) if len(true) else 0.0
    return accuracy, per_class, confusion.tolist()


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ratio with 0.0 where the denominator is 0 (sklearn's zero_division=0)."""
    result = np.zeros(numerator.shape, dtype=np.float64)
    return np.divide(numerator, denominator, out=result, where=denominator > 0)


def evaluate(
    classifier: Classifier,
    subset: Subset,
    zero_shot: ZeroShotReport | None = None,
    batch_size: int = 32,
) -> Evaluation:
    """Evaluate the fine-tuned classifier on subset; zero_shot adds its label per row.

    zero_shot must come from evaluate_zero_shot on the same subset with the same class names.

    Raises:
        ValueError: zero_shot covers a different number of images than subset.
    """
    if zero_shot is not None and len(zero_shot.predicted) != len(subset):
        raise ValueError(
            f"The zero-shot report covers {len(zero_shot.predicted)} images but the subset has "
            f"{len(subset)}; run evaluate_zero_shot on the same subset."
        )
    class_names = tuple(classifier.class_names)
    probabilities = predict_subset(classifier, subset, batch_size)
    predicted = [int(index) for index in probabilities.argmax(axis=1)]
    accuracy, per_class, confusion = compute_metrics(list(subset.labels), predicted, class_names)
    rows = []
    for i, path in enumerate(subset.paths):
        truth, guess = subset.labels[i], predicted[i]
        row = {
            "path": str(path),
            "true": class_names[truth],
            "predicted": class_names[guess],
            "confidence": float(probabilities[i, guess]),
            "correct": guess == truth,
            "zero_shot_label": None,
            "zero_shot_class": None,
            "zero_shot_correct": None,
        }
        if zero_shot is not None:
            zero_shot_guess = zero_shot.predicted[i]
            row["zero_shot_label"] = zero_shot.top_labels[i]
            if zero_shot_guess is not None:
                row["zero_shot_class"] = class_names[zero_shot_guess]
            row["zero_shot_correct"] = zero_shot_guess == truth
        rows.append(row)
    return Evaluation(class_names, accuracy, per_class, confusion, rows)


def zero_shot_metrics(report: ZeroShotReport, subset: Subset, class_names: tuple[str, ...]) -> dict:
    """JSON-ready zero-shot figures for the run store: accuracy, per_class, confusion, mapping,
    unmapped_classes (report must come from evaluate_zero_shot on subset with class_names)."""
    accuracy, per_class, confusion = compute_metrics(
        list(subset.labels), list(report.predicted), class_names
    )
    return {
        "accuracy": accuracy,
        "per_class": per_class,
        "confusion": confusion,
        "mapping": {name: [int(i) for i in indices] for name, indices in report.mapping.items()},
        "unmapped_classes": list(report.unmapped_classes),
    }
