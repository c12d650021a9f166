"""Tests for engine.metrics: the accuracy's interval and the small-sample caveats."""

from __future__ import annotations

import pytest

from engine.metrics import compute_metrics, wilson_interval


def test_wilson_interval_matches_the_textbook_values():
    low, high = wilson_interval(168, 200)
    assert (low, high) == pytest.approx((0.7829, 0.8843), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(4, 4)[1] == 1.0 and wilson_interval(4, 4)[0] < 0.6


def test_a_small_test_set_or_class_comes_with_a_caveat():
    tiny = compute_metrics([0, 1, 1, 0], [0, 1, 1, 0], ("a", "b"))
    assert "only 4 test photos" in tiny.caveat()
    assert tiny.accuracy == 1.0 and tiny.accuracy_interval[0] < 0.6
    lopsided = compute_metrics([0] * 40 + [1] * 3, [0] * 43, ("a", "b"))
    assert "fewer than 5 test photos in b" in lopsided.caveat()
    fair = compute_metrics([0] * 20 + [1] * 20, [0] * 20 + [1] * 20, ("a", "b"))
    assert fair.caveat() is None and fair.num_correct == 40
