"""Suspected label errors: out-of-fold probabilities from a head trained k times on the frozen
features, ranked the confident-learning way (each photo's given-class probability against
that class's own typical confidence)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.data.scan import relative_path
from engine.data.split import Split, Subset
from engine.health.fingerprints import fingerprints
from engine.schema import Fields, RecordError
from engine.settings import Settings

FORMAT = 1
DEFAULT_FOLDS = 5
# The head's fit per fold: on the flowers (800 photos x 1280 features) 100 full-batch steps
# rank planted label errors as 300 do; L2 keeps the held-out probabilities from being
# overconfident (fewer false suspects at the same recall than 1e-3).
STEPS = 100
LEARNING_RATE = 0.03
L2 = 0.03


@dataclass(frozen=True)
class Suspect:
    """A photo whose label the other photos disagree with."""

    path: str  # under the dataset folder
    given: str
    suggested: str
    given_probability: float  # out of fold: from a head that never saw this photo
    suggested_probability: float
    score: float  # given_probability / the given class's threshold; lower is more suspect

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: object, where: str) -> Suspect:
        fields = Fields(data, where)
        return cls(
            path=fields.text("path"),
            given=fields.text("given"),
            suggested=fields.text("suggested"),
            given_probability=fields.number("given_probability"),
            suggested_probability=fields.number("suggested_probability"),
            score=fields.number("score"),
        )


@dataclass(frozen=True)
class LabelReview:
    """The suspects of one dataset's training and validation photos, most suspect first."""

    root: str
    class_names: tuple[str, ...]
    num_photos: int  # photos reviewed (train + validation)
    folds: int
    thresholds: dict[str, float]  # per class: mean probability its own photos get
    suspects: tuple[Suspect, ...]

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "root": self.root,
            "class_names": list(self.class_names),
            "num_photos": self.num_photos,
            "folds": self.folds,
            "thresholds": dict(self.thresholds),
            "suspects": [suspect.to_dict() for suspect in self.suspects],
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "label review") -> LabelReview:
        fields = Fields(data, where)
        if fields.count("format") > FORMAT:
            raise RecordError(f"{where} was written by a newer Transfer Lab; update to read it")
        thresholds = fields.fields("thresholds")
        return cls(
            root=fields.text("root"),
            class_names=fields.texts("class_names"),
            num_photos=fields.count("num_photos"),
            folds=fields.count("folds"),
            thresholds={name: thresholds.number(name) for name in thresholds.data},
            suspects=tuple(fields.items("suspects", Suspect.from_dict)),
        )


def review_labels(
    root: Path,
    split: Split,
    settings: Settings,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    on_photos: Callable[[int, int], None] | None = None,
) -> LabelReview:
    """Suspects among split's training and validation photos (the test photos are never
    looked at, so nothing chosen here flatters the test accuracy).

    Raises:
        ModelUnavailableError: the backbone weights cannot be loaded.
        ImageError: a photo cannot be read any more.
    """
    from engine.health.features import photo_features  # loads TensorFlow

    photos = Subset(
        split.train.paths + split.validation.paths, split.train.labels + split.validation.labels
    )
    prints = fingerprints(photos.paths, settings.max_image_pixels)
    sha1s = [f.sha1 if f else str(p) for f, p in zip(prints, photos.paths, strict=True)]
    features = photo_features(photos.paths, sha1s, settings, on_photos)
    labels = np.asarray(photos.labels, np.int64)
    names = split.class_names
    probabilities = out_of_fold_probabilities(features, labels, len(names), folds, seed)
    thresholds = class_thresholds(probabilities, labels)
    suspects = [
        Suspect(
            path=relative_path(photos.paths[i], root),
            given=names[labels[i]],
            suggested=names[suggested],
            given_probability=float(probabilities[i, labels[i]]),
            suggested_probability=float(probabilities[i, suggested]),
            score=score,
        )
        for i, suggested, score in rank_label_issues(probabilities, labels)
    ]
    return LabelReview(
        root=str(root),
        class_names=names,
        num_photos=len(photos),
        folds=folds,
        thresholds={name: float(t) for name, t in zip(names, thresholds, strict=True)},
        suspects=tuple(suspects),
    )


def out_of_fold_probabilities(
    features: np.ndarray, labels: np.ndarray, num_classes: int, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """[N, classes] probabilities, each row from a head trained on the other folds only.

    Folds are stratified (each class dealt round-robin after a seeded shuffle).
    """
    fold_of = np.zeros(len(labels), np.int64)
    rng = np.random.default_rng(seed)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        fold_of[members] = np.arange(len(members)) % folds
    probabilities = np.zeros((len(labels), num_classes), np.float32)
    for fold in range(folds):
        held_out = fold_of == fold
        if held_out.all() or not held_out.any():
            continue
        predict = fit_head(features[~held_out], labels[~held_out], num_classes)
        probabilities[held_out] = predict(features[held_out])
    return probabilities


def fit_head(
    features: np.ndarray, labels: np.ndarray, num_classes: int
) -> Callable[[np.ndarray], np.ndarray]:
    """The head (one softmax layer, as a training's) fitted on standardised features with
    full-batch Adam and L2; returns features -> probabilities. Deterministic: it starts at 0."""
    mean, scale = features.mean(axis=0), features.std(axis=0) + 1e-6
    x = (features - mean) / scale
    onehot = np.eye(num_classes, dtype=np.float32)[labels]
    weights = np.zeros((x.shape[1] + 1, num_classes), np.float32)
    x = np.hstack([x, np.ones((len(x), 1), np.float32)]).astype(np.float32)
    moment, second = np.zeros_like(weights), np.zeros_like(weights)
    for step in range(1, STEPS + 1):
        gradient = x.T @ (_softmax(x @ weights) - onehot) / len(x) + L2 * weights
        moment = 0.9 * moment + 0.1 * gradient
        second = 0.999 * second + 0.001 * gradient**2
        corrected = moment / (1 - 0.9**step)
        weights -= LEARNING_RATE * corrected / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)

    def predict(rows: np.ndarray) -> np.ndarray:
        standard = (rows - mean) / scale
        return _softmax(np.hstack([standard, np.ones((len(rows), 1))]) @ weights)

    return predict


def class_thresholds(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per class, the mean probability its own photos get (1 for a class with no photos)."""
    return np.array(
        [
            probabilities[labels == c, c].mean() if np.any(labels == c) else 1.0
            for c in range(probabilities.shape[1])
        ]
    )


def rank_label_issues(
    probabilities: np.ndarray, labels: np.ndarray
) -> list[tuple[int, int, float]]:
    """(photo, suggested class, score) of every suspect, most suspect first.

    A photo is suspect when another class gets it confidently (at or above that class's
    threshold), or when another class is the most probable and its given class gets less
    than the given class's threshold. The suggestion is the most probable confident class,
    else the most probable one. The score is the given class's probability over its
    threshold.
    """
    rows = np.arange(len(labels))
    thresholds = class_thresholds(probabilities, labels)
    others = probabilities.copy()
    others[rows, labels] = -1.0  # the suggestion is never the given class
    confident = np.where(others >= thresholds, others, -1.0)
    has_confident = confident.max(axis=1) >= 0
    suggested = np.where(has_confident, confident.argmax(axis=1), others.argmax(axis=1))
    given = probabilities[rows, labels]
    scores = given / np.maximum(thresholds[labels], 1e-12)
    outvoted = (probabilities.argmax(axis=1) != labels) & (scores < 1)
    suspect = has_confident | outvoted
    return sorted(
        ((int(i), int(suggested[i]), float(scores[i])) for i in np.flatnonzero(suspect)),
        key=lambda item: item[2],
    )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)
