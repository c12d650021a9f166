"""Classification metrics: accuracy, per-class precision/recall/F1/support, confusion matrix."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.schema import Fields, RecordError

# Below these, an accuracy says little: pages and the CLI show the caveat beside it.
SMALL_TEST_SET = 30
SMALL_CLASS = 5


@dataclass(frozen=True)
class ClassMetrics:
    """How one class fares: precision, recall and F1 in [0, 1], and its number of photos."""

    precision: float
    recall: float
    f1: float
    support: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: object, where: str) -> ClassMetrics:
        fields = Fields(data, where)
        return cls(
            precision=fields.number("precision"),
            recall=fields.number("recall"),
            f1=fields.number("f1"),
            support=fields.count("support"),
        )


@dataclass(frozen=True)
class Metrics:
    """One model on one set of photos; a photo it could not answer counts as wrong."""

    class_names: tuple[str, ...]
    accuracy: float
    per_class: dict[str, ClassMetrics]
    confusion: tuple[tuple[int, ...], ...]  # rows = true class, columns = predicted class

    @property
    def num_images(self) -> int:
        return sum(metrics.support for metrics in self.per_class.values())

    @property
    def num_correct(self) -> int:
        return sum(row[i] for i, row in enumerate(self.confusion))

    @property
    def accuracy_interval(self) -> tuple[float, float]:
        """95% Wilson score interval of the accuracy (honest on small test sets)."""
        return wilson_interval(self.num_correct, self.num_images)

    def caveat(self) -> str | None:
        """Why this accuracy may mislead (a small test set or class), or None."""
        if self.num_images < SMALL_TEST_SET:
            return (
                f"only {self.num_images} test photos: the accuracy can move a lot by chance "
                f"({SMALL_TEST_SET} or more recommended)"
            )
        small = [name for name, values in self.per_class.items() if values.support < SMALL_CLASS]
        if small:
            return (
                f"fewer than {SMALL_CLASS} test photos in {', '.join(small)}: per-class figures "
                "there are rough"
            )
        return None

    def to_dict(self) -> dict:
        """JSON-ready: accuracy, per_class, confusion (the class names are stored beside)."""
        return {
            "accuracy": self.accuracy,
            "per_class": {name: values.to_dict() for name, values in self.per_class.items()},
            "confusion": [list(row) for row in self.confusion],
        }

    @classmethod
    def from_dict(cls, data: object, class_names: tuple[str, ...], where: str) -> Metrics:
        """Read to_dict() output back, checking that every class has its row and column.

        Raises:
            RecordError: a field is missing, of the wrong type or of the wrong size.
        """
        fields = Fields(data, where)
        per_class_fields = fields.fields("per_class")
        if sorted(per_class_fields.data) != sorted(class_names):
            raise RecordError(f"{where}.per_class does not list exactly the run's classes")
        per_class = {
            name: ClassMetrics.from_dict(per_class_fields.data[name], f"{where}.per_class.{name}")
            for name in class_names
        }
        confusion = fields.items("confusion", _confusion_row)
        size = len(class_names)
        if len(confusion) != size or any(len(row) != size for row in confusion):
            raise RecordError(f"{where}.confusion is not {size}x{size} (one row per class)")
        return cls(class_names, fields.number("accuracy"), per_class, tuple(confusion))


def _confusion_row(data: object, where: str) -> tuple[int, ...]:
    if not isinstance(data, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in data
    ):
        raise RecordError(f"{where} is not a list of counts")
    return tuple(data)


def compute_metrics(
    y_true: Sequence[int], y_pred: Sequence[int | None], class_names: tuple[str, ...]
) -> Metrics:
    """Metrics of predictions; a None prediction counts as wrong and in no column.

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
        name: ClassMetrics(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, name in enumerate(class_names)
    }
    accuracy = float(hits.sum() / len(true)) if len(true) else 0.0
    return Metrics(
        tuple(class_names), accuracy, per_class, tuple(tuple(row) for row in confusion.tolist())
    )


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of hits/n (z=1.96: 95%); (0, 1) for no trials."""
    if n <= 0:
        return 0.0, 1.0
    rate = hits / n
    spread = z * z / n
    centre = (rate + spread / 2) / (1 + spread)
    half = z * np.sqrt(rate * (1 - rate) / n + spread / (4 * n)) / (1 + spread)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ratio with 0.0 where the denominator is 0 (sklearn's zero_division=0)."""
    result = np.zeros(numerator.shape, dtype=np.float64)
    return np.divide(numerator, denominator, out=result, where=denominator > 0)
