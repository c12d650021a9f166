"""Tests for engine.classifiers: resizing, top_k, one error for bad input, thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tensorflow as tf

from engine.classifiers import FineTunedClassifier, top_k
from engine.errors import ImageError
from engine.model import build_model
from tests.support.tiny import (
    TINY_SIZE,
)

pytestmark = pytest.mark.usefixtures("tiny_backbone")


def test_predict_proba_resizes_any_size_and_accepts_uint8():
    model, _, _ = build_model("tiny", num_classes=3, dropout=0.0, weights=None)
    classifier = FineTunedClassifier(model, ("a", "b", "c"), TINY_SIZE)
    images = np.random.default_rng(0).integers(0, 256, (2, 50, 70, 3), dtype=np.uint8)

    probabilities = classifier.predict_proba(images)
    expected = model.predict_on_batch(tf.image.resize(images.astype(np.float32), (32, 32)))

    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)
    assert classifier.predict_proba(np.zeros((0, 32, 32, 3))).shape == (0, 3)
    with pytest.raises(ImageError, match="N, height, width, 3"):
        classifier.predict_proba(np.zeros((32, 32, 3)))


def test_top_k_sorts_and_caps_k():
    model, _, _ = build_model("tiny", num_classes=3, dropout=0.0, weights=None)
    classifier = FineTunedClassifier(model, ("a", "b", "c"), TINY_SIZE)
    images = np.random.default_rng(1).uniform(0, 255, (2, TINY_SIZE, TINY_SIZE, 3))

    top = classifier.top_k(images, k=5)
    probabilities = classifier.predict_proba(images)

    assert [len(row) for row in top] == [3, 3]
    for row, expected in zip(top, probabilities, strict=True):
        assert [p for _, p in row] == sorted(expected.tolist(), reverse=True)
        assert {name for name, _ in row} == {"a", "b", "c"}


def test_predict_proba_is_thread_safe():
    model, _, _ = build_model("tiny", num_classes=3, dropout=0.2, weights=None)
    classifier = FineTunedClassifier(model, ("a", "b", "c"), TINY_SIZE)
    rng = np.random.default_rng(2)
    batches = [rng.uniform(0, 255, (n, size, size, 3)) for n, size in [(1, 32), (3, 40), (5, 32)]]
    expected = [classifier.predict_proba(batch) for batch in batches]
    results: dict[tuple[int, int], np.ndarray] = {}

    def worker(thread: int) -> None:
        for repeat in range(5):
            index = (thread + repeat) % len(batches)
            results[thread, repeat] = (index, classifier.predict_proba(batches[index]))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 30
    for index, probabilities in results.values():
        np.testing.assert_allclose(probabilities, expected[index], atol=1e-6)


def test_one_top_k_for_both_models_sorts_and_names():
    pairs = top_k(np.array([[0.1, 0.7, 0.2]]), ("a", "b", "c"), k=2)[0]
    assert [name for name, _ in pairs] == ["b", "c"]
    assert pairs[0][1] == pytest.approx(0.7)
    with pytest.raises(ValueError, match="at least 1"):
        top_k(np.array([[1.0]]), ("a",), k=0)
