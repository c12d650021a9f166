"""The health check of one dataset under one split: balance, copies (and which cross the
split), odd photos; near copies confirmed with the model's features when they are given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from engine.data.scan import Dataset, relative_path
from engine.data.split import Split
from engine.health.balance import balance_of
from engine.health.duplicates import copy_groups, near_copy_groups
from engine.health.fingerprints import Fingerprint, fingerprints
from engine.health.oddities import oddity_reasons
from engine.health.report import DuplicateGroup, HealthReport, Oddity, PhotoRef
from engine.settings import Settings


def build_report(
    dataset: Dataset,
    split: Split,
    prints: Sequence[Fingerprint | None],
    split_source: str,
    features: np.ndarray | None = None,
) -> HealthReport:
    """The report of dataset under split from the photos' fingerprints (in dataset order).

    With features (one row per photo) near copies are confirmed by the model; without, only
    copies the hashes alone can tell (equal content, or nearly equal perceptual hash).
    """
    photos = _photo_refs(dataset, split)
    found = copy_groups(prints) if features is None else near_copy_groups(prints, features)
    groups = []
    for members in found:
        exact = len({prints[i].sha1 for i in members}) == 1
        groups.append(
            DuplicateGroup("exact" if exact else "near", tuple(photos[i] for i in members))
        )
    # Groups that leak first, the most test photos first: what changes the accuracy most.
    groups.sort(key=lambda group: (-group.test_photos_leaked, not group.crosses_split))
    oddities = [
        Oddity(photo, reasons)
        for photo, reasons in zip(photos, oddity_reasons(prints), strict=True)
        if reasons
    ]
    return HealthReport(
        root=str(dataset.root),
        split_source=split_source,
        num_photos=len(dataset.paths),
        balance=balance_of(dataset.labels, dataset.class_names),
        groups=tuple(groups),
        oddities=tuple(oddities),
        features_checked=features is not None,
        notes=split.notes,
    )


def health_check(
    dataset: Dataset,
    split: Split,
    settings: Settings,
    split_file: str | Path | None = None,
    with_features: bool = True,
    on_photos: Callable[[int, int], None] | None = None,
) -> HealthReport:
    """Fingerprint every photo, compute (or reuse) its features, and report.

    Raises:
        ModelUnavailableError: with_features, and the backbone weights cannot be loaded.
        ImageError: a photo cannot be read any more.
    """
    prints = fingerprints(dataset.paths, settings.max_image_pixels)
    features = None
    if with_features:
        from engine.health.features import photo_features  # loads TensorFlow

        sha1s = [
            f.sha1 if f is not None else str(path)
            for f, path in zip(prints, dataset.paths, strict=True)
        ]
        features = photo_features(dataset.paths, sha1s, settings, on_photos)
    return build_report(dataset, split, prints, describe_split(split_file), features)


def describe_split(split_file: str | Path | None) -> str:
    """How the split was made, in words for the report."""
    return Path(split_file).name if split_file is not None else "the engine's seeded split"


def _photo_refs(dataset: Dataset, split: Split) -> list[PhotoRef]:
    """Every photo of dataset with its label and part (the split file's label when it has one)."""
    placed: dict[Path, tuple[str, str]] = {}
    for part in ("train", "validation", "test"):
        subset = getattr(split, part)
        for path, label in zip(subset.paths, subset.labels, strict=True):
            placed[path] = (split.class_names[label], part)
    return [
        PhotoRef(
            relative_path(path, dataset.root),
            *placed.get(path, (dataset.class_names[label], "")),
        )
        for path, label in zip(dataset.paths, dataset.labels, strict=True)
    ]
