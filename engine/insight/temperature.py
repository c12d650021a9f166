"""Temperature scaling, and how well a model's confidence matches its accuracy: reliability
bins, expected calibration error (ECE) and the coverage-vs-accuracy curve."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.schema import Fields

NUM_BINS = 10  # equal-width confidence bins; a few hundred test photos still fill most of them
TEMPERATURE_RANGE = (0.05, 20.0)  # searched on a log scale; 1.0 leaves a model as it is
THRESHOLDS = tuple(step / 100 for step in range(100))  # the coverage curve's points, 0%-99%
_FLOOR = 1e-30  # a probability that underflowed to 0 still gets a finite log
_GRID = 41
_GOLDEN_STEPS = 30


def softmax_of(log_probs: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """softmax(log_probs / temperature) per row.

    Log-probabilities are the logits minus a per-row constant, which softmax ignores: any
    model's probabilities can be rescaled without access to its logits.
    """
    scaled = log_probs / temperature
    weights = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def log_of(probabilities: np.ndarray) -> np.ndarray:
    """Natural log of probabilities, finite even where they underflowed to 0."""
    return np.log(np.maximum(np.asarray(probabilities, np.float64), _FLOOR))


@dataclass(frozen=True)
class Scores:
    """One model's answers on some photos, as calibration sees them.

    log_probs [N, M] are log-probabilities over the model's M outputs; groups [M] says which
    outcome each output counts as (the fine-tuned model: its classes; the zero-shot model: the
    class an ImageNet label is mapped to, or 'none of the classes'); labels [N] are the true
    outcomes. An answer is the outcome of the top output, as the models are scored.
    """

    log_probs: np.ndarray
    groups: np.ndarray
    labels: np.ndarray
    num_outcomes: int

    @classmethod
    def of_classifier(cls, probabilities: np.ndarray, labels: np.ndarray) -> Scores:
        """A classifier over the run's classes (outputs are the outcomes)."""
        width = np.shape(probabilities)[1]
        return cls(log_of(probabilities), np.arange(width), np.asarray(labels, int), width)

    @classmethod
    def of_zero_shot(
        cls,
        probabilities: np.ndarray,
        labels: np.ndarray,
        mapping: dict[str, list[int]],
        class_names: tuple[str, ...],
    ) -> Scores:
        """The ImageNet model scored on the run's classes through the mapping: output 0
        (background) is never an answer, labels mapped to no class are one outcome ('none
        of the classes'), and only photos of classes the mapping names are kept (zero-shot
        can never be right on the others)."""
        labels = np.asarray(labels, int)
        other = len(class_names)
        groups = np.full(np.shape(probabilities)[1], other)
        for index, name in enumerate(class_names):
            groups[list(mapping.get(name, ()))] = index
        named = np.array([bool(mapping.get(class_names[label])) for label in labels], bool)
        kept = np.asarray(probabilities)[named]
        return cls(log_of(kept[:, 1:]), groups[1:], labels[named], other + 1)

    def __len__(self) -> int:
        return len(self.labels)

    def probabilities(self, temperature: float = 1.0) -> np.ndarray:
        """[N, outcomes] after dividing the logits by temperature."""
        outputs = softmax_of(self.log_probs, temperature)
        return outputs @ np.eye(self.num_outcomes)[self.groups]

    @property
    def predicted(self) -> np.ndarray:
        """Each photo's answer; a temperature never changes it, only the confidence."""
        return self.groups[self.log_probs.argmax(axis=1)]

    def correct(self) -> np.ndarray:
        return self.predicted == self.labels

    def confidences(self, temperature: float = 1.0) -> np.ndarray:
        """The probability each photo's answer gets at this temperature."""
        return self.probabilities(temperature)[np.arange(len(self)), self.predicted]

    def nll(self, temperature: float) -> float:
        """Mean negative log-likelihood of the true outcomes (what temperature scaling fits)."""
        truth = self.probabilities(temperature)[np.arange(len(self)), self.labels]
        return float(-np.log(np.maximum(truth, _FLOOR)).mean())


def fit_temperature(scores: Scores) -> float:
    """The temperature minimising the negative log-likelihood on scores (Guo et al. 2017).

    A coarse log-spaced grid over TEMPERATURE_RANGE finds the basin, golden-section search
    refines it; one temperature has one minimum for a classifier, and the grid keeps the
    zero-shot model's grouped likelihood from a poor local one.

    Raises:
        ValueError: scores holds no photo.
    """
    if not len(scores):
        raise ValueError("Fitting a temperature needs at least one photo.")
    grid = np.geomspace(*TEMPERATURE_RANGE, _GRID)
    best = int(np.argmin([scores.nll(t) for t in grid]))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, _GRID - 1)]
    return math.exp(_golden_minimum(lambda x: scores.nll(math.exp(x)), *np.log([low, high])))


def _golden_minimum(loss: Callable[[float], float], low: float, high: float) -> float:
    """Where loss is lowest on [low, high], for a loss with one minimum there."""
    ratio = (math.sqrt(5) - 1) / 2
    left, right = high - ratio * (high - low), low + ratio * (high - low)
    left_loss, right_loss = loss(left), loss(right)
    for _ in range(_GOLDEN_STEPS):
        if left_loss < right_loss:
            high, right, right_loss = right, left, left_loss
            left = high - ratio * (high - low)
            left_loss = loss(left)
        else:
            low, left, left_loss = left, right, right_loss
            right = low + ratio * (high - low)
            right_loss = loss(right)
    return (low + high) / 2


@dataclass(frozen=True)
class Bin:
    """Test photos whose confidence fell in [low, high): how sure, how often right."""

    low: float
    high: float
    count: int
    confidence: float  # mean confidence in the bin
    accuracy: float  # share of its photos answered right

    def to_dict(self) -> dict:
        return {
            "low": self.low,
            "high": self.high,
            "count": self.count,
            "confidence": self.confidence,
            "accuracy": self.accuracy,
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> Bin:
        fields = Fields(data, where)
        return cls(
            low=fields.number("low"),
            high=fields.number("high"),
            count=fields.count("count"),
            confidence=fields.number("confidence"),
            accuracy=fields.number("accuracy"),
        )


def reliability(
    confidences: np.ndarray, correct: np.ndarray, num_bins: int = NUM_BINS
) -> tuple[Bin, ...]:
    """The non-empty equal-width confidence bins (a reliability diagram's points)."""
    confidences, correct = np.asarray(confidences, float), np.asarray(correct, bool)
    index = np.minimum((confidences * num_bins).astype(int), num_bins - 1)
    bins = []
    for number in range(num_bins):
        members = index == number
        if members.any():
            bins.append(
                Bin(
                    low=number / num_bins,
                    high=(number + 1) / num_bins,
                    count=int(members.sum()),
                    confidence=float(confidences[members].mean()),
                    accuracy=float(correct[members].mean()),
                )
            )
    return tuple(bins)


def expected_calibration_error(bins: tuple[Bin, ...]) -> float:
    """The photo-weighted mean gap between confidence and accuracy over the bins (0 when
    every '80% sure' answer is right 80% of the time); 0.0 without photos."""
    total = sum(b.count for b in bins)
    return sum(b.count * abs(b.accuracy - b.confidence) for b in bins) / total if total else 0.0


@dataclass(frozen=True)
class CoveragePoint:
    """Answering only at or above threshold: the share of photos answered, and how many of
    those answers are right (None when none is answered)."""

    threshold: float
    coverage: float
    accuracy: float | None

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "coverage": self.coverage, "accuracy": self.accuracy}

    @classmethod
    def from_dict(cls, data: object, where: str) -> CoveragePoint:
        fields = Fields(data, where)
        return cls(
            threshold=fields.number("threshold"),
            coverage=fields.number("coverage"),
            accuracy=fields.number("accuracy", optional=True),
        )


def coverage_curve(confidences: np.ndarray, correct: np.ndarray) -> tuple[CoveragePoint, ...]:
    """One point per threshold of THRESHOLDS."""
    confidences, correct = np.asarray(confidences, float), np.asarray(correct, bool)
    points = []
    for threshold in THRESHOLDS:
        answered = confidences >= threshold
        points.append(
            CoveragePoint(
                threshold=threshold,
                coverage=float(answered.mean()) if len(answered) else 0.0,
                accuracy=float(correct[answered].mean()) if answered.any() else None,
            )
        )
    return tuple(points)
