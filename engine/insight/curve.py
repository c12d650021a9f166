"""Label-efficiency curve: test accuracy of heads trained on k photos per class (cached features).

Each head is a softmax regression (the default recipe's head: one dense softmax layer) fitted
full-batch in numpy: a fixed number of Adam steps with a small L2 penalty in place of dropout
and early stopping. Why not Keras: 21 heads through model.fit cost seconds each in compile
and per-epoch overhead; on at most a few thousand feature rows numpy fits one in tens of
milliseconds, needs no validation split to stop, and the fit is convex, so a point depends
only on which photos its seed picks. Hyperparameters were chosen on the flowers' validation
split (never the test split).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.runs import RunStore
from engine.schema import Fields, RecordError, number, versioned

FORMAT = 1
NAME = "curve"  # the run's extra document
SIZES = (1, 2, 5, 10, 20, 50)  # photos per class, before 'all'
SEEDS = (0, 1, 2)
STEPS = 200
LEARNING_RATE = 0.01
L2 = 1e-3
HEAD = f"softmax regression, full batch, {STEPS} Adam steps, learning rate {LEARNING_RATE}, L2 {L2}"
FLAT_GAIN = 0.005  # under half a point per doubling: the curve has levelled off


@dataclass(frozen=True)
class CurvePoint:
    """Test accuracy of the heads trained on per_class photos of every class, one per seed."""

    per_class: int  # for the 'all' point: the mean number of training photos per class
    accuracies: tuple[float, ...]
    all_photos: bool = False  # every training photo (one head: every seed picks the same)

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def low(self) -> float:
        return min(self.accuracies)

    @property
    def high(self) -> float:
        return max(self.accuracies)

    def to_dict(self) -> dict:
        return {
            "per_class": self.per_class,
            "accuracies": list(self.accuracies),
            "all_photos": self.all_photos,
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> CurvePoint:
        fields = Fields(data, where)
        accuracies = tuple(fields.items("accuracies", _fraction))
        if not accuracies:
            raise RecordError(f"{where}: 'accuracies' is empty")
        per_class = fields.count("per_class")
        if per_class < 1:
            raise RecordError(f"{where}: 'per_class' must be at least 1")
        return cls(per_class, accuracies, fields.flag("all_photos"))


@dataclass(frozen=True)
class LabelCurve:
    """How test accuracy grows with photos per class, beside zero-shot (0 photos) and the run."""

    points: tuple[CurvePoint, ...]
    zero_shot_accuracy: float | None  # the 0-photo point; None without a zero-shot baseline
    run_accuracy: float | None  # the full run's test accuracy, when computed for a run
    num_test: int
    seeds: tuple[int, ...]
    seconds: float  # fitting and scoring every head (features already at hand)
    head: str = HEAD

    def next_doubling(self) -> str:
        """One sentence on what doubling the photos per class is likely to buy, from the
        slope of the last two points (gains shrink as photos grow, so it is an upper guess)."""
        if len(self.points) < 2:
            return (
                "There are too few photos per class to draw a curve; add photos to every class "
                "to see how accuracy grows with them."
            )
        before, last = self.points[-2], self.points[-1]
        change = last.mean - before.mean
        per_doubling = change / math.log2(last.per_class / before.per_class)
        target = 2 * last.per_class
        if per_doubling < FLAT_GAIN:
            return (
                f"Accuracy has levelled off (from {before.per_class} to {last.per_class} photos "
                f"per class it changed by {100 * change:+.1f} points), so doubling to about "
                f"{target} photos per class will likely add under a point; clearer or more "
                "varied photos of the classes it confuses should help more."
            )
        likely = min(per_doubling, 1.0 - last.mean)
        return (
            f"From {before.per_class} to {last.per_class} photos per class accuracy rose "
            f"{100 * change:.1f} points (about {100 * per_doubling:.1f} per doubling), so "
            f"doubling to about {target} photos per class would likely add at most "
            f"{100 * likely:.1f} more points, as gains shrink with every doubling."
        )

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "points": [point.to_dict() for point in self.points],
            "zero_shot_accuracy": self.zero_shot_accuracy,
            "run_accuracy": self.run_accuracy,
            "num_test": self.num_test,
            "seeds": list(self.seeds),
            "seconds": self.seconds,
            "head": self.head,
        }

    @classmethod
    def from_dict(cls, data: object, where: str = f"{NAME}.json") -> LabelCurve:
        """Raises RecordError naming the field that is missing, mistyped, or too new."""
        fields = versioned(data, where, FORMAT, "update Transfer Lab or compute the curve again")
        points = tuple(fields.items("points", CurvePoint.from_dict))
        if not points:
            raise RecordError(f"{where}: 'points' is empty")
        return cls(
            points=points,
            zero_shot_accuracy=_optional_fraction(fields, "zero_shot_accuracy"),
            run_accuracy=_optional_fraction(fields, "run_accuracy"),
            num_test=fields.count("num_test"),
            seeds=tuple(fields.items("seeds", _seed)),
            seconds=fields.number("seconds"),
            head=fields.text("head"),
        )


def _fraction(data: object, where: str) -> float:
    value = number(data, where)
    if not 0.0 <= value <= 1.0:
        raise RecordError(f"{where} is {value}, not an accuracy between 0 and 1")
    return float(value)


def _optional_fraction(fields: Fields, key: str) -> float | None:
    value = fields.number(key, optional=True)
    return None if value is None else _fraction(value, f"{fields.where}.{key}")


def _seed(data: object, where: str) -> int:
    if isinstance(data, bool) or not isinstance(data, int) or data < 0:
        raise RecordError(f"{where} is not a seed (a whole number >= 0)")
    return data


def load_curve(store: RunStore, run_id: str) -> LabelCurve | None:
    """The curve saved with a run, None when it has none.

    Raises:
        RunNotFoundError: no such run, or the file is not a regular JSON file.
        RecordError: the saved curve is damaged or from a newer version.
    """
    saved = store.load_extra(run_id, NAME)
    return None if saved is None else LabelCurve.from_dict(saved)


def subsample(labels: Sequence[int], per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of per_class items of every class (all of a smaller class), stratified
    and seeded. Nested: a seed's k photos are among its 2k photos, as when a user adds photos.
    """
    rng = np.random.default_rng([seed, 1])
    label_array = np.asarray(labels)
    chosen = [
        rng.permutation(np.flatnonzero(label_array == label))[:per_class]
        for label in np.unique(label_array)
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], int)


def curve_sizes(labels: Sequence[int]) -> tuple[int, ...]:
    """The SIZES every class can fill with photos to spare (a size equal to a class's count
    would repeat the 'all' point for it)."""
    smallest = min(np.bincount(np.asarray(labels)), default=0) if len(labels) else 0
    return tuple(size for size in SIZES if size < smallest)


def fit_softmax(
    features: np.ndarray, labels: np.ndarray, num_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """(kernel [F, C], bias [C]) of a softmax regression fitted full-batch (see module doc)."""
    features = features.astype(np.float32, copy=False)
    targets = np.eye(num_classes, dtype=np.float32)[labels]
    params = [
        np.zeros((features.shape[1], num_classes), np.float32),
        np.zeros(num_classes, np.float32),
    ]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    for step in range(1, STEPS + 1):
        error = (_softmax(features @ params[0] + params[1]) - targets) / len(features)
        grads = (features.T @ error + L2 * params[0], error.sum(axis=0))
        for param, grad, moment, square in zip(params, grads, moments, squares, strict=True):
            moment += 0.1 * (grad - moment)
            square += 0.001 * (grad * grad - square)
            corrected = moment / (1 - 0.9**step)
            param -= LEARNING_RATE * corrected / (np.sqrt(square / (1 - 0.999**step)) + 1e-7)
    return params[0], params[1]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def label_curve(
    train: tuple[np.ndarray, Sequence[int]],
    test: tuple[np.ndarray, Sequence[int]],
    num_classes: int,
    *,
    seeds: Sequence[int] = SEEDS,
    zero_shot_accuracy: float | None = None,
    run_accuracy: float | None = None,
    on_head: Callable[[int, int], None] | None = None,
) -> LabelCurve:
    """Fit a head per (size, seed) on train (features, labels) subsamples and score each on
    every test photo; the test photos are never trained on nor used for any choice.

    on_head(done, total) is called after every head.
    """
    started = time.perf_counter()
    train_features, train_labels = train[0], np.asarray(train[1])
    test_features, test_labels = test[0], np.asarray(test[1])
    plan = [(size, seed) for size in curve_sizes(train_labels) for seed in seeds]
    total = len(plan) + 1
    accuracies: dict[int, list[float]] = {}
    for done, (size, seed) in enumerate(plan, start=1):
        rows = subsample(train_labels, size, seed)
        head = fit_softmax(train_features[rows], train_labels[rows], num_classes)
        accuracies.setdefault(size, []).append(_accuracy(head, test_features, test_labels))
        if on_head is not None:
            on_head(done, total)
    head = fit_softmax(train_features, train_labels, num_classes)
    mean_per_class = round(len(train_labels) / max(1, len(np.unique(train_labels))))
    points = [CurvePoint(size, tuple(values)) for size, values in accuracies.items()]
    points.append(
        CurvePoint(max(1, mean_per_class), (_accuracy(head, test_features, test_labels),), True)
    )
    if on_head is not None:
        on_head(total, total)
    return LabelCurve(
        points=tuple(points),
        zero_shot_accuracy=zero_shot_accuracy,
        run_accuracy=run_accuracy,
        num_test=len(test_labels),
        seeds=tuple(seeds),
        seconds=time.perf_counter() - started,
    )


def _accuracy(
    head: tuple[np.ndarray, np.ndarray], features: np.ndarray, labels: np.ndarray
) -> float:
    if not len(labels):
        return 0.0
    kernel, bias = head
    return float(np.mean((features @ kernel + bias).argmax(axis=1) == labels))
