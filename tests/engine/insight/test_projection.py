"""Feature map: PCA of planted separable features, the separation measure and its sentence, the
saved document."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.insight import projection
from engine.insight.projection import (
    FeatureMap,
    centroid_agreement,
    feature_map,
    load_projection,
    pca_2d,
)
from engine.runs import RunStore
from engine.schema import RecordError
from tests.support.runs import make_run, prediction

CLASSES = ("cat", "dog", "fox")


def blobs(spread: float, per_class: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """64-D features of three classes around orthogonal centres, with noise of this spread."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), per_class)
    features = 5.0 * np.eye(3, 64)[labels] + rng.normal(0, spread, (len(labels), 64))
    return features, labels


def test_pca_keeps_planted_separable_classes_apart_in_two_dimensions():
    features, labels = blobs(0.3)
    coords, explained = pca_2d(features)
    assert coords.shape == (60, 2)
    assert explained[0] >= explained[1] > 0 and sum(explained) <= 1.0
    # The three classes fall in three clusters: every point is nearest its own class's mean.
    assert centroid_agreement(coords, labels) == 1.0
    # The same photos always give the same picture (SVD signs are fixed).
    np.testing.assert_allclose(pca_2d(features[::-1])[0], coords[::-1], atol=1e-9)


def test_centroid_agreement_tells_separate_from_overlapping_classes():
    assert centroid_agreement(*blobs(0.3)) == 1.0
    features, _ = blobs(0.3)
    shuffled = np.random.default_rng(1).permutation(np.repeat(np.arange(3), 20))
    assert centroid_agreement(features, shuffled) < 0.6


def test_a_photo_is_not_counted_near_its_own_centre_because_it_made_it():
    # Two points per class far apart: without leaving each point out it would be nearest
    # its own (two-point) centre; left out, it is nearest the other class's.
    features = np.array([[0.0], [10.0], [4.0], [6.0]])
    assert centroid_agreement(features, [0, 0, 1, 1]) == 0.0


def make_map(spread: float) -> FeatureMap:
    features, labels = blobs(spread, per_class=4)
    rows = [prediction(CLASSES[label], zero_shot="") for label in labels]
    return feature_map(features, rows, CLASSES)


def test_the_sentence_follows_the_separation():
    assert "training only a new head is enough" in make_map(0.3).linear_head_sentence()
    overlapping = FeatureMap(CLASSES, (), (0.5, 0.2), 0.5).linear_head_sentence()
    assert "overlap a lot" in overlapping and "fine-tuning" in overlapping
    assert "overlap at the edges" in FeatureMap(CLASSES, (), (0.5, 0.2), 0.8).linear_head_sentence()


def test_points_carry_both_answers_and_the_document_round_trips(tmp_path: Path):
    result = make_map(0.3)
    first = result.points[0]
    assert (first.true, first.predicted, first.zero_shot_label) == ("cat", "cat", "tabby cat")
    assert FeatureMap.from_dict(result.to_dict()) == result
    store = RunStore(tmp_path)
    run_id = store.save(make_run(("a", "b")))
    assert load_projection(store, run_id) is None
    store.save_extra(run_id, projection.NAME, result.to_dict())
    assert load_projection(store, run_id) == result

    damaged = result.to_dict()
    damaged["points"][0]["predicted"] = "wolf"
    with pytest.raises(RecordError, match="names a class"):
        FeatureMap.from_dict(damaged)
    with pytest.raises(RecordError, match="newer version"):
        FeatureMap.from_dict({**result.to_dict(), "format": 9})
