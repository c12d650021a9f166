"""Feature map: the test photos' frozen features in 2-D (PCA) and how well the classes separate.

PCA (numpy SVD) rather than UMAP or t-SNE: it needs no extra package, is the same for every
run of the same photos, and keeps straight lines straight, so classes that a straight line
parts here are linearly separable in the full features too (the question a linear head asks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.evaluation import Prediction
from engine.runs import RunStore
from engine.schema import Fields, RecordError, number, versioned

FORMAT = 1
NAME = "projection"  # the run's extra document
SEPARATE = 0.9  # share of photos nearest their own class centre: the classes form clusters
OVERLAP = 0.7  # below this the classes overlap a lot


@dataclass(frozen=True)
class MapPoint:
    """One test photo on the map, with both models' answers for the hover."""

    path: str
    true: str
    predicted: str  # by the trained model
    zero_shot_label: str | None  # the ImageNet model's top label; None without a baseline
    x: float
    y: float

    @property
    def correct(self) -> bool:
        return self.predicted == self.true

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "true": self.true,
            "predicted": self.predicted,
            "zero_shot_label": self.zero_shot_label,
            "x": self.x,
            "y": self.y,
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> MapPoint:
        fields = Fields(data, where)
        return cls(
            path=fields.text("path"),
            true=fields.text("true"),
            predicted=fields.text("predicted"),
            zero_shot_label=fields.text("zero_shot_label", optional=True),
            x=fields.number("x"),
            y=fields.number("y"),
        )


@dataclass(frozen=True)
class FeatureMap:
    """The test photos in 2-D and the share of them nearest their own class's centre."""

    class_names: tuple[str, ...]
    points: tuple[MapPoint, ...]
    explained: tuple[float, float]  # share of the features' variance each axis keeps
    centroid_agreement: float  # share of photos nearest their own class centre (full features)

    def linear_head_sentence(self) -> str:
        """Why a linear head on the frozen features suffices for these classes, or not."""
        share = self.centroid_agreement
        if share >= SEPARATE:
            return (
                f"In the pretrained features the photos of each class gather around their own "
                f"centre ({share:.0%} of test photos are nearest their own class's centre), so "
                "one straight-line boundary per class separates them: training only a new head "
                "is enough for this dataset."
            )
        if share >= OVERLAP:
            return (
                f"Most photos gather around their own class's centre ({share:.0%}) but classes "
                "overlap at the edges, where the ringed mistakes sit: a new head gets most right, "
                "and more photos or fine-tuning the base's top layers could part them further."
            )
        return (
            f"The classes overlap a lot in the pretrained features (only {share:.0%} of test "
            "photos are nearest their own class's centre), so a new head alone is limited here: "
            "try fine-tuning the base's top layers (Train page, fine-tune epochs)."
        )

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "class_names": list(self.class_names),
            "points": [point.to_dict() for point in self.points],
            "explained": list(self.explained),
            "centroid_agreement": self.centroid_agreement,
        }

    @classmethod
    def from_dict(cls, data: object, where: str = f"{NAME}.json") -> FeatureMap:
        """Raises RecordError naming the field that is missing, mistyped, or too new."""
        fields = versioned(data, where, FORMAT, "update Transfer Lab or compute the map again")
        class_names = fields.texts("class_names")
        points = tuple(fields.items("points", MapPoint.from_dict))
        known = set(class_names)
        if any(point.true not in known or point.predicted not in known for point in points):
            raise RecordError(f"{where}: a point names a class the map does not have")
        explained = tuple(fields.items("explained", number))
        if len(explained) != 2:
            raise RecordError(f"{where}: 'explained' must hold two numbers")
        agreement = fields.number("centroid_agreement")
        if not 0.0 <= agreement <= 1.0:
            raise RecordError(f"{where}: 'centroid_agreement' is not a share between 0 and 1")
        return cls(class_names, points, (explained[0], explained[1]), agreement)


def load_projection(store: RunStore, run_id: str) -> FeatureMap | None:
    """The feature map saved with a run, None when it has none.

    Raises:
        RunNotFoundError: no such run, or the file is not a regular JSON file.
        RecordError: the saved map is damaged or from a newer version.
    """
    saved = store.load_extra(run_id, NAME)
    return None if saved is None else FeatureMap.from_dict(saved)


def pca_2d(features: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """(coordinates [N, 2], share of variance per axis) of the two principal components.

    Signs are fixed (each axis's largest coordinate is positive), so the same photos always
    give the same picture.
    """
    centred = features.astype(np.float64) - features.mean(axis=0)
    if len(features) < 2:
        return np.zeros((len(features), 2)), (0.0, 0.0)
    left, singular, _ = np.linalg.svd(centred, full_matrices=False)
    coords = left[:, :2] * singular[:2]
    if coords.shape[1] < 2:  # one photo per feature dimension or fewer: pad the missing axis
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    signs = np.sign(coords[np.abs(coords).argmax(axis=0), range(2)])
    coords *= np.where(signs == 0, 1.0, signs)
    variance = np.square(singular)
    total = variance.sum() or 1.0
    shares = np.pad(variance[:2] / total, (0, max(0, 2 - len(variance))))
    return coords, (float(shares[0]), float(shares[1]))


def centroid_agreement(features: np.ndarray, labels: Sequence[int]) -> float:
    """Share of photos whose nearest class centre (leave-one-out: their own class's centre
    without them) is their own class's: nearest-centre is a linear classifier, so a high
    share means a linear head suffices. Photos alone in their class are left out."""
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2:
        return 1.0
    data = features.astype(np.float64)
    centres = np.stack([data[labels == label].mean(axis=0) for label in classes])
    # |x - c|^2 expanded: no [photos, classes, features] array, whatever the dataset's size.
    distances = (
        np.square(data).sum(axis=1)[:, None]
        - 2 * data @ centres.T
        + np.square(centres).sum(axis=1)[None, :]
    )
    own = np.searchsorted(classes, labels)
    size = counts[own]
    usable = size > 1
    # Moving a point out of its class's mean scales its distance by (n / (n - 1))^2.
    rows = np.flatnonzero(usable)
    distances[rows, own[rows]] *= np.square(size[rows] / (size[rows] - 1))
    if not len(rows):
        return 1.0
    return float(np.mean(distances[rows].argmin(axis=1) == own[rows]))


def feature_map(
    features: np.ndarray, predictions: Sequence[Prediction], class_names: Sequence[str]
) -> FeatureMap:
    """The map of test photos whose features are given in the order of predictions."""
    index = {name: i for i, name in enumerate(class_names)}
    coords, explained = pca_2d(features)
    points = tuple(
        MapPoint(row.path, row.true, row.predicted, row.zero_shot_label, float(x), float(y))
        for row, (x, y) in zip(predictions, coords, strict=True)
    )
    agreement = centroid_agreement(features, [index[row.true] for row in predictions])
    return FeatureMap(tuple(class_names), points, explained, agreement)
