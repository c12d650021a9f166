"""Suspected label errors: out-of-fold probabilities ranked the confident-learning way."""

from __future__ import annotations

import numpy as np

from engine.health.label_issues import (
    class_thresholds,
    out_of_fold_probabilities,
    rank_label_issues,
)


def _features(seed: int, classes: int = 5, per_class: int = 60, dims: int = 64):
    """Generated features: one cluster per class (non-negative, like pooled ReLU features)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (classes, dims))
    features = np.concatenate([c + rng.normal(0, 1, (per_class, dims)) for c in centres])
    return np.maximum(features, 0).astype(np.float32), np.repeat(np.arange(classes), per_class)


def test_planted_mislabels_rank_at_the_top():
    for seed in range(3):
        features, truth = _features(seed)
        rng = np.random.default_rng(100 + seed)
        planted = rng.choice(len(truth), 10, replace=False)
        given = truth.copy()
        given[planted] = (truth[planted] + rng.integers(1, 5, 10)) % 5

        probabilities = out_of_fold_probabilities(features, given, 5, folds=5, seed=0)
        ranked = rank_label_issues(probabilities, given)

        top = {photo for photo, _, _ in ranked[:20]}
        assert len(top & set(planted.tolist())) >= 8, seed
        suggestions = {photo: suggested for photo, suggested, _ in ranked}
        right = sum(suggestions.get(int(p)) == truth[p] for p in planted)
        assert right >= 8, "the suggested class is the true one"


def test_each_probability_comes_from_a_head_that_never_saw_the_photo():
    features, labels = _features(0, classes=2, per_class=20, dims=8)
    # A photo with a unique, extreme feature: a head trained on it would fit it perfectly.
    features[0] = 50.0
    labels = labels.copy()
    labels[0] = 1
    probabilities = out_of_fold_probabilities(features, labels, 2)
    assert probabilities[0, 1] < 0.9
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(probabilities, out_of_fold_probabilities(features, labels, 2))


def test_a_photo_is_suspect_against_each_class_threshold():
    probabilities = np.array(
        [
            [0.9, 0.1],  # given 0
            [0.8, 0.2],  # given 0
            [0.4, 0.6],  # given 0; 1 reaches its threshold: suspect
            [0.65, 0.35],  # given 0, under 0's threshold, yet 0 is the most probable: fine
            [0.2, 0.8],  # given 1
            [0.1, 0.9],  # given 1
            [0.55, 0.45],  # given 1, under its threshold and 0 the most probable: suspect
            [0.75, 0.25],  # given 1; 0 reaches its threshold: suspect
        ]
    )
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    thresholds = class_thresholds(probabilities, labels)
    np.testing.assert_allclose(thresholds, [0.6875, 0.6])
    ranked = rank_label_issues(probabilities, labels)
    assert [(photo, suggested) for photo, suggested, _ in ranked] == [(7, 0), (2, 1), (6, 0)]
    np.testing.assert_allclose([s for _, _, s in ranked], [0.25 / 0.6, 0.4 / 0.6875, 0.45 / 0.6])
