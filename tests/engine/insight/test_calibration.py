"""Temperature scaling and the 'not sure' threshold: planted over- and under-confident models,
the zero-shot model scored through its mapping, the saved documents."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.errors import ConfigError, ReadOnlyError, RunNotFoundError
from engine.insight.calibration import (
    CALIBRATION,
    MIN_VALIDATION,
    THRESHOLD,
    Calibration,
    NotSure,
    calibrate,
    load_calibration,
    load_not_sure,
    load_threshold,
    save_calibration,
    save_threshold,
)
from engine.insight.temperature import (
    Scores,
    expected_calibration_error,
    fit_temperature,
    reliability,
    softmax_of,
)
from engine.runs import RunStore
from engine.settings import Settings
from tests.support.runs import make_run

NUM_CLASSES = 4


def planted(num_photos: int, sharpness: float, seed: int) -> Scores:
    """A classifier whose logits are a calibrated model's times sharpness: above 1 it is
    over-confident (right less often than it says), below 1 under-confident."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, num_photos)
    logits = rng.normal(0, 1, (num_photos, NUM_CLASSES))
    logits[np.arange(num_photos), labels] += 1.5
    return Scores.of_classifier(softmax_of(logits * sharpness), labels)


def ece(scores: Scores, temperature: float = 1.0) -> float:
    return expected_calibration_error(
        reliability(scores.confidences(temperature), scores.correct())
    )


def test_temperature_scaling_lowers_the_error_of_an_over_confident_model():
    validation, test = planted(400, 4.0, seed=1), planted(1000, 4.0, seed=2)

    result = calibrate((validation, test), None).fine_tuned

    assert result.temperature > 2
    assert result.ece_before == pytest.approx(ece(test))
    assert result.ece_after < result.ece_before / 2
    assert result.ece_after == pytest.approx(ece(test, result.temperature))
    # Scaling never changes an answer, so the accuracy at threshold 0 stays the same.
    assert result.coverage[0].accuracy == pytest.approx(test.correct().mean())


def test_an_under_confident_model_is_sharpened():
    assert fit_temperature(planted(400, 0.3, seed=3)) < 0.6


def test_the_temperature_is_fitted_on_the_validation_photos_only():
    validation = planted(300, 4.0, seed=4)
    # Planted so that fitting on it would give the opposite answer.
    under_confident_test = planted(300, 0.3, seed=5)

    result = calibrate((validation, under_confident_test), None).fine_tuned

    assert result.temperature == pytest.approx(fit_temperature(validation))
    assert result.temperature > 1 > fit_temperature(under_confident_test)
    assert (result.num_validation, result.num_test) == (300, 300)


def test_too_few_validation_photos_fit_no_temperature_and_say_so():
    result = calibrate((planted(MIN_VALIDATION - 1, 4.0, 6), planted(50, 4.0, 7)), None)
    model = result.fine_tuned

    assert model.temperature is None and model.ece_after is None
    assert "only 9 validation photos" in model.note
    assert model.reliability_after == () and model.reliability_before


def test_zero_shot_is_scored_through_the_mapping_as_the_run_scores_it():
    # Outputs: background, two 'cat' labels, one 'dog' label, one label of no class.
    probabilities = np.array(
        [
            [0.9, 0.02, 0.03, 0.01, 0.04],  # background is never an answer: 'other' (0.04)
            [0.0, 0.3, 0.3, 0.4, 0.0],  # top label 'dog', yet the cat labels sum to 0.6
            [0.0, 0.1, 0.1, 0.1, 0.7],  # a fox photo: zero-shot cannot name it, left out
        ]
    )
    mapping = {"cat": [1, 2], "dog": [3], "fox": []}

    scores = Scores.of_zero_shot(probabilities, np.array([0, 0, 2]), mapping, ("cat", "dog", "fox"))

    assert len(scores) == 2 and scores.num_outcomes == 4  # three classes and 'none of them'
    assert list(scores.predicted) == [3, 1]  # 'none of the classes', then dog
    assert scores.confidences() == pytest.approx([0.04 / 0.1, 0.4])
    assert scores.probabilities()[1] == pytest.approx([0.6, 0.4, 0, 0])
    assert not scores.correct().any()


def test_scores_of_an_empty_subset_are_empty():
    scores = Scores.of_zero_shot(np.zeros((0, 5)), np.zeros(0, int), {"cat": [1]}, ("cat",))
    assert len(scores) == 0


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


@pytest.fixture
def run_id(store) -> str:
    return store.save(make_run(("cat", "dog")))


def example() -> Calibration:
    fine_tuned = (planted(100, 3.0, 8), planted(200, 3.0, 9))
    zero_shot = (planted(20, 0.5, 10), planted(40, 0.5, 11))
    return calibrate(fine_tuned, zero_shot)


def test_the_calibration_round_trips_through_the_run_store(store, run_id):
    calibration = example()
    save_calibration(store, Settings(), run_id, calibration)

    assert load_calibration(RunStore(store.root), run_id) == calibration


def test_a_run_saved_before_calibration_has_none(store, run_id):
    assert load_calibration(store, run_id) is None
    assert load_not_sure(store, run_id) is None and load_threshold(store, run_id) is None


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d.update(format=2), "newer version"),
        (lambda d: d.pop("fine_tuned"), "lacks 'fine_tuned'"),
        (lambda d: d["fine_tuned"].update(temperature=-1), "not above 0"),
        (lambda d: d["fine_tuned"]["coverage"].pop(), "one point per threshold"),
        (lambda d: d["zero_shot"].update(ece_before="low"), "ece_before"),
    ],
)
def test_a_damaged_calibration_is_a_message_naming_the_fix(store, run_id, change, match):
    document = example().to_dict()
    change(document)
    store.save_extra(run_id, CALIBRATION, document)

    with pytest.raises(RunNotFoundError, match=match) as error:
        load_calibration(store, run_id)
    assert "compute it again" in str(error.value)


def test_the_chosen_threshold_survives_a_reload_with_its_temperature(store, run_id):
    calibration = example()

    saved = save_threshold(store, Settings(), run_id, 0.85, calibration)

    reloaded = load_not_sure(RunStore(store.root), run_id)
    assert reloaded == saved
    assert load_threshold(store, run_id) == 0.85
    assert reloaded.temperature == calibration.fine_tuned.temperature
    point = calibration.fine_tuned.at(0.85)
    assert (reloaded.coverage, reloaded.accuracy) == (point.coverage, point.accuracy)


def test_viewer_mode_saves_neither_threshold_nor_calibration(store, run_id):
    viewer = dataclasses.replace(Settings(), mode="viewer")
    with pytest.raises(ReadOnlyError, match="viewer mode"):
        save_threshold(store, viewer, run_id, 0.5, example())
    with pytest.raises(ReadOnlyError, match="viewer mode"):
        save_calibration(store, viewer, run_id, example())
    assert load_calibration(store, run_id) is None and load_not_sure(store, run_id) is None


def test_a_threshold_out_of_range_is_refused(store, run_id):
    with pytest.raises(ConfigError, match="between 0% and 99%"):
        save_threshold(store, Settings(), run_id, 1.0, example())


def test_a_damaged_threshold_names_where_to_choose_it_again(store, run_id):
    store.save_extra(run_id, THRESHOLD, {"format": 1, "threshold": 7, "coverage": 1.0})
    with pytest.raises(RunNotFoundError, match="Evaluate page"):
        load_not_sure(store, run_id)


def test_not_sure_compares_the_calibrated_probability():
    rule = NotSure(threshold=0.6, temperature=2.0, coverage=0.8, accuracy=0.95)
    raw = np.array([[0.7, 0.2, 0.1]], np.float32)

    calibrated = rule.calibrated(raw)

    assert calibrated[0] == pytest.approx(np.sqrt(raw[0]) / np.sqrt(raw[0]).sum(), rel=1e-5)
    assert rule.is_sure(raw[0, 0]) and not rule.is_sure(calibrated[0, 0])
    assert NotSure(0.6, None, 0.8, 0.95).calibrated(raw) == pytest.approx(raw)
