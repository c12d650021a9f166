"""Label-efficiency curve: stratified seeded subsamples of the training photos only, heads on
planted features, the saved document and the 'next doubling' sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.insight import curve
from engine.insight.curve import CurvePoint, LabelCurve, label_curve, load_curve, subsample
from engine.runs import RunStore
from engine.schema import RecordError
from tests.support.runs import make_run

LABELS = [0] * 30 + [1] * 12 + [2] * 60  # classes of unequal size


def planted(num_per_class: int, num_classes: int = 3, offset: float = 0.0, seed: int = 0):
    """Features of separable classes: each class a tight blob around its own direction."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(num_classes), num_per_class)
    centres = 3.0 * np.eye(num_classes, 16)
    features = centres[labels] + rng.normal(0, 0.3, (len(labels), 16)) + offset
    return features.astype(np.float32), labels


def test_subsample_is_stratified_seeded_and_nested():
    for per_class in (1, 5, 20):
        chosen = subsample(LABELS, per_class, seed=3)
        counts = np.bincount(np.asarray(LABELS)[chosen], minlength=3)
        # Every class gives per_class photos, a smaller class all it has.
        assert counts.tolist() == [min(per_class, n) for n in (30, 12, 60)]
    assert subsample(LABELS, 5, 3).tolist() == subsample(LABELS, 5, 3).tolist()
    assert subsample(LABELS, 5, 3).tolist() != subsample(LABELS, 5, 4).tolist()
    assert set(subsample(LABELS, 5, 3)) <= set(subsample(LABELS, 10, 3))


def test_sizes_stop_below_the_smallest_class():
    assert curve.curve_sizes(LABELS) == (1, 2, 5, 10)
    assert curve.curve_sizes([0, 1]) == ()


def test_heads_train_on_training_rows_only_and_score_every_test_photo(monkeypatch):
    train = planted(30)
    test = planted(10, offset=100.0, seed=1)  # far from every training row
    seen: list[np.ndarray] = []
    real_fit = curve.fit_softmax

    def recording_fit(features, labels, num_classes):
        seen.append(features)
        return real_fit(features, labels, num_classes)

    monkeypatch.setattr(curve, "fit_softmax", recording_fit)
    result = label_curve(train, test, 3, seeds=(0, 1))

    training_rows = {row.tobytes() for row in train[0]}
    test_rows = {row.tobytes() for row in test[0]}
    for features in seen:
        rows = {row.tobytes() for row in features}
        assert rows <= training_rows and not rows & test_rows
    sizes = [len(features) for features in seen]
    assert sizes == [3, 3, 6, 6, 15, 15, 30, 30, 60, 60, 90]  # 1..20 per class x 2 seeds, all
    assert result.num_test == 30


def test_planted_separable_features_give_a_rising_curve_to_full_accuracy():
    result = label_curve(
        planted(60), planted(20, seed=1), 3, zero_shot_accuracy=0.2, run_accuracy=0.97
    )
    assert [p.per_class for p in result.points] == [1, 2, 5, 10, 20, 50, 60]
    assert [len(p.accuracies) for p in result.points] == [3] * 6 + [1]
    assert result.points[-1].all_photos and result.points[-1].mean == 1.0
    assert result.points[0].low <= result.points[0].mean <= result.points[0].high
    assert (result.zero_shot_accuracy, result.run_accuracy) == (0.2, 0.97)


def test_progress_reports_every_head():
    calls: list[tuple[int, int]] = []
    label_curve(planted(6), planted(2, seed=1), 3, seeds=(0,), on_head=lambda *c: calls.append(c))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # sizes 1, 2, 5, then all


def curve_of(*means: tuple[int, float]) -> LabelCurve:
    points = tuple(CurvePoint(n, (mean,), n == means[-1][0]) for n, mean in means)
    return LabelCurve(points, 0.1, 0.9, 200, (0,), 1.5)


def test_next_doubling_extrapolates_the_last_two_points():
    rising = curve_of((20, 0.70), (40, 0.80)).next_doubling()
    assert "rose 10.0 points" in rising and "about 80 photos per class" in rising
    assert "at most 10.0 more points" in rising
    flat = curve_of((50, 0.900), (100, 0.902)).next_doubling()
    assert "levelled off" in flat and "+0.2 points" in flat and "200 photos" in flat
    # Never promises more than the accuracy left to gain.
    assert "at most 2.0 more points" in curve_of((10, 0.5), (20, 0.98)).next_doubling()
    assert "too few photos" in curve_of((3, 0.5)).next_doubling()


def test_the_saved_document_round_trips_and_damage_is_named(tmp_path: Path):
    result = label_curve(planted(12), planted(4, seed=1), 3, zero_shot_accuracy=None)
    assert LabelCurve.from_dict(result.to_dict()) == result
    store = RunStore(tmp_path)
    run_id = store.save(make_run(("a", "b")))
    assert load_curve(store, run_id) is None
    store.save_extra(run_id, curve.NAME, result.to_dict())
    assert load_curve(store, run_id) == result

    damaged = result.to_dict()
    damaged["points"][0]["accuracies"] = [1.5]
    with pytest.raises(RecordError, match=r"curve.json.points\[0\].accuracies\[0\] is 1.5"):
        LabelCurve.from_dict(damaged)
    with pytest.raises(RecordError, match="newer version"):
        LabelCurve.from_dict({**result.to_dict(), "format": 2})
    with pytest.raises(RecordError, match="lacks 'num_test'"):
        LabelCurve.from_dict({k: v for k, v in result.to_dict().items() if k != "num_test"})
