"""Evaluation: both models on the test photos, as one object pages interpret (errors, wins...)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from engine.data import batches
from engine.data.split import Subset
from engine.metrics import Metrics, compute_metrics
from engine.schema import Fields, RecordError, describe

if TYPE_CHECKING:
    from engine.zero_shot import ZeroShotReport

BatchCallback = Callable[[int], None]  # called with the 1-based number of each batch done


class Predicts(Protocol):
    """What evaluation needs of a model (both classifiers have it)."""

    class_names: tuple[str, ...]
    input_size: int

    def predict_proba(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Prediction:
    """One test photo: the fine-tuned model's answer and, when known, the zero-shot one."""

    path: str
    true: str
    predicted: str
    confidence: float
    zero_shot_label: str | None = None  # top-1 ImageNet label; None without a baseline
    zero_shot_class: str | None = None  # the class that label maps to; None if unmapped

    @property
    def correct(self) -> bool:
        return self.predicted == self.true

    @property
    def zero_shot_correct(self) -> bool | None:
        """None when the run has no zero-shot baseline."""
        return None if self.zero_shot_label is None else self.zero_shot_class == self.true

    def to_dict(self) -> dict:
        """A predictions.json row (the derived 'correct' fields too, for readers of the file)."""
        return {
            "path": self.path,
            "true": self.true,
            "predicted": self.predicted,
            "confidence": self.confidence,
            "correct": self.correct,
            "zero_shot_label": self.zero_shot_label,
            "zero_shot_class": self.zero_shot_class,
            "zero_shot_correct": self.zero_shot_correct,
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> Prediction:
        fields = Fields(data, where)
        return cls(
            path=fields.text("path"),
            true=fields.text("true"),
            predicted=fields.text("predicted"),
            confidence=fields.number("confidence"),
            zero_shot_label=fields.text("zero_shot_label", optional=True),
            zero_shot_class=fields.text("zero_shot_class", optional=True),
        )


@dataclass(frozen=True)
class ZeroShotResult:
    """The zero-shot baseline on the test photos, with the ImageNet->class mapping it used."""

    metrics: Metrics
    mapping: dict[str, list[int]]  # class -> ImageNet label indices (1001-label file)
    unmapped_classes: tuple[str, ...]  # classes with no ImageNet counterpart

    @property
    def named_classes(self) -> tuple[str, ...]:
        """The classes ImageNet has a label for (the only ones zero-shot can ever get right)."""
        return tuple(name for name in self.metrics.class_names if self.mapping.get(name))

    @property
    def named_accuracy(self) -> float | None:
        """Zero-shot accuracy on the photos of named classes only (None when there are none),
        so 'cannot name the class' and 'names it wrongly' stay apart."""
        per_class = [self.metrics.per_class[name] for name in self.named_classes]
        photos = sum(values.support for values in per_class)
        if not photos:
            return None
        return sum(values.recall * values.support for values in per_class) / photos

    def to_dict(self) -> dict:
        return {
            **self.metrics.to_dict(),
            "mapping": {name: [int(i) for i in indices] for name, indices in self.mapping.items()},
            "unmapped_classes": list(self.unmapped_classes),
        }

    @classmethod
    def from_dict(cls, data: object, class_names: tuple[str, ...], where: str) -> ZeroShotResult:
        fields = Fields(data, where)
        mapping_fields = fields.fields("mapping")
        mapping = {
            name: list(mapping_fields.items(name, _label_index, optional=True) or [])
            for name in class_names
        }
        return cls(
            metrics=Metrics.from_dict(data, class_names, where),
            mapping=mapping,
            unmapped_classes=fields.texts("unmapped_classes"),
        )


def _label_index(data: object, where: str) -> int:
    if isinstance(data, bool) or not isinstance(data, int) or data < 0:
        raise RecordError(f"{where} is {describe(data)}, not an ImageNet label index")
    return data


@dataclass(frozen=True)
class Evaluation:
    """The fine-tuned model's metrics and per-photo answers, beside the zero-shot baseline's.

    The object the Evaluate and Demo pages receive (as fastai's ClassificationInterpretation):
    questions about the results are its methods.
    """

    metrics: Metrics
    predictions: tuple[Prediction, ...]
    zero_shot: ZeroShotResult | None = None

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.metrics.class_names

    @property
    def accuracy(self) -> float:
        return self.metrics.accuracy

    def errors(self) -> list[Prediction]:
        """Photos the fine-tuned model gets wrong, in test order."""
        return [row for row in self.predictions if not row.correct]

    def wins(self) -> list[Prediction]:
        """Photos the zero-shot model gets wrong and the fine-tuned model gets right."""
        return [row for row in self.predictions if row.correct and row.zero_shot_correct is False]

    def most_confused(self, n: int = 5) -> list[tuple[str, str, int]]:
        """Up to n (true, predicted, count) mistakes, most frequent first (as fastai's
        ClassificationInterpretation); ties keep confusion-matrix order."""
        mistakes = [
            (self.class_names[true], self.class_names[predicted], count)
            for true, row in enumerate(self.metrics.confusion)
            for predicted, count in enumerate(row)
            if true != predicted and count > 0
        ]
        mistakes.sort(key=lambda mistake: -mistake[2])  # stable, so ties stay in matrix order
        return mistakes[:n]

    def predictions_csv(self) -> str:
        """Every test photo's answers as CSV (for a spreadsheet)."""
        buffer = io.StringIO()
        columns = list(Prediction.__dataclass_fields__) + ["correct", "zero_shot_correct"]
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(row.to_dict() for row in self.predictions)
        return buffer.getvalue()

    def select(
        self,
        true: str | None = None,
        predicted: str | None = None,
        only_errors: bool = False,
        most_confident_first: bool | None = None,
    ) -> list[Prediction]:
        """Predictions kept by the filters (None = any), optionally sorted by confidence."""
        kept = [
            row
            for row in self.predictions
            if not (only_errors and row.correct)
            and true in (None, row.true)
            and predicted in (None, row.predicted)
        ]
        if most_confident_first is not None:
            kept.sort(key=lambda row: row.confidence, reverse=most_confident_first)
        return kept


def round_robin(rows: list[Prediction], limit: int) -> list[Prediction]:
    """Up to limit rows taking each class in turn (a strip of photos that shows every class,
    not the first few in file order)."""
    by_class: dict[str, list[Prediction]] = {}
    for row in rows:
        by_class.setdefault(row.true, []).append(row)
    queues = list(by_class.values())
    picked: list[Prediction] = []
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return picked


def predict_subset(
    classifier: Predicts,
    subset: Subset,
    batch_size: int = 32,
    on_batch: BatchCallback | None = None,
) -> np.ndarray:
    """Probabilities [N, classes] for every image of subset, streamed in batches.

    Raises:
        ImageError: an image cannot be read any more.
    """
    chunks = [np.zeros((0, len(classifier.class_names)), np.float32)]
    if not len(subset):
        return chunks[0]
    decoded = batches.decode_batches(subset, classifier.input_size, batch_size)
    for number, images in enumerate(decoded, start=1):
        chunks.append(classifier.predict_proba(images))
        if on_batch is not None:
            on_batch(number)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def evaluate(
    classifier: Predicts,
    subset: Subset,
    zero_shot: ZeroShotReport | None = None,
    batch_size: int = 32,
    on_batch: BatchCallback | None = None,
) -> Evaluation:
    """Evaluate the fine-tuned classifier on subset; zero_shot adds its answer per photo.

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
    probabilities = predict_subset(classifier, subset, batch_size, on_batch)
    predicted = [int(index) for index in probabilities.argmax(axis=1)]
    rows = []
    for i, path in enumerate(subset.paths):
        guess = predicted[i]
        label, mapped = None, None
        if zero_shot is not None:
            label = zero_shot.top_labels[i]
            if zero_shot.predicted[i] is not None:
                mapped = class_names[zero_shot.predicted[i]]
        rows.append(
            Prediction(
                path=str(path),
                true=class_names[subset.labels[i]],
                predicted=class_names[guess],
                confidence=float(probabilities[i, guess]),
                zero_shot_label=label,
                zero_shot_class=mapped,
            )
        )
    return Evaluation(
        metrics=compute_metrics(list(subset.labels), predicted, class_names),
        predictions=tuple(rows),
        zero_shot=None if zero_shot is None else zero_shot.result,
    )
