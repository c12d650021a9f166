"""Tests for engine.evaluation: streamed predictions, metrics, per-image rows, (de)serialising."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.datasets import Subset
from engine.evaluation import (
    Evaluation,
    compute_metrics,
    evaluate,
    predict_subset,
    zero_shot_metrics,
)
from engine.zero_shot import ZeroShotReport

CLASSES = ("a", "b", "c")


class ScriptedClassifier:
    """Fine-tuned stand-in: an image whose pixels hold k gets 0.7 for class k."""

    class_names = CLASSES
    input_size = 8

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        probabilities = np.full((len(images), len(CLASSES)), 0.15, np.float32)
        probabilities[np.arange(len(images)), images[:, 0, 0, 0].astype(int)] = 0.7
        return probabilities


# Predicted class in each file name: right, right, wrong (b for a), right, wrong (a for c).
SUBSET = Subset(
    paths=tuple(Path(f"/test/{i}/{guess}.png") for i, guess in enumerate([0, 0, 1, 1, 0])),
    labels=(0, 0, 0, 1, 2),
)


def test_compute_metrics_on_a_hand_computed_example():
    accuracy, per_class, confusion = compute_metrics(
        [0, 0, 0, 1, 1, 2], [0, 1, None, 1, 1, 0], CLASSES
    )
    assert accuracy == pytest.approx(3 / 6)
    assert confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]  # the None is in no column
    assert per_class["a"] == pytest.approx(
        {"precision": 1 / 2, "recall": 1 / 3, "f1": 0.4, "support": 3}
    )
    assert per_class["b"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2}
    )
    assert per_class["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}


def test_compute_metrics_with_no_images_is_all_zero():
    accuracy, per_class, confusion = compute_metrics([], [], ("a", "b"))
    assert accuracy == 0.0 and confusion == [[0, 0], [0, 0]]
    assert per_class["a"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [([0, 1], [0], "2 labels but y_pred has 1"), ([0, 3], [0, 1], "0..2"), ([0], [5], "0..2")],
)
def test_compute_metrics_rejects_inconsistent_input(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        compute_metrics(y_true, y_pred, CLASSES)


def test_predict_subset_streams_every_image_in_order(pipeline_calls):
    probabilities = predict_subset(ScriptedClassifier(), SUBSET, batch_size=2)
    assert pipeline_calls == [(8, 2)]
    assert probabilities.shape == (5, 3) and probabilities.dtype == np.float32
    assert probabilities.argmax(axis=1).tolist() == [0, 0, 1, 1, 0]


def test_predict_subset_of_nothing_skips_the_pipeline(pipeline_calls):
    assert predict_subset(ScriptedClassifier(), Subset((), ())).shape == (0, 3)
    assert pipeline_calls == []


def zero_shot_report() -> ZeroShotReport:
    return ZeroShotReport(
        accuracy=0.6,
        predicted=(0, None, 0, 1, None),
        top_labels=("daisy", "sock", "daisy", "tabby, tabby cat", "sock"),
        top_probs=(0.9, 0.5, 0.8, 0.7, 0.6),
        mapping={"a": [986], "b": [282], "c": []},
        unmapped_classes=("c",),
    )


def test_evaluate_fills_metrics_and_rows(pipeline_calls):
    result = evaluate(ScriptedClassifier(), SUBSET, batch_size=4)
    assert result.class_names == CLASSES
    assert result.accuracy == pytest.approx(3 / 5)
    assert result.confusion == [[2, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert result.rows[2] == {
        "path": str(SUBSET.paths[2]),
        "true": "a",
        "predicted": "b",
        "confidence": pytest.approx(0.7),
        "correct": False,
        "zero_shot_label": None,
        "zero_shot_class": None,
        "zero_shot_correct": None,
    }


def test_evaluate_adds_the_zero_shot_answer_per_row(pipeline_calls):
    rows = evaluate(ScriptedClassifier(), SUBSET, zero_shot=zero_shot_report()).rows
    answers = [(r["zero_shot_label"], r["zero_shot_class"], r["zero_shot_correct"]) for r in rows]
    assert answers == [
        ("daisy", "a", True),
        ("sock", None, False),
        ("daisy", "a", True),
        ("tabby, tabby cat", "b", True),
        ("sock", None, False),
    ]


def test_evaluate_refuses_a_zero_shot_report_of_another_subset(pipeline_calls):
    with pytest.raises(ValueError, match="covers 5 images but the subset has 2"):
        evaluate(ScriptedClassifier(), Subset(SUBSET.paths[:2], (0, 0)), zero_shot_report())


def test_evaluation_survives_a_json_round_trip(pipeline_calls):
    result = evaluate(ScriptedClassifier(), SUBSET, zero_shot=zero_shot_report())
    assert Evaluation.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_most_confused_lists_mistakes_most_frequent_first():
    result = Evaluation(CLASSES, 0.55, {}, [[5, 2, 0], [3, 4, 1], [0, 3, 2]], [])
    assert result.most_confused() == [("b", "a", 3), ("c", "b", 3), ("a", "b", 2), ("b", "c", 1)]
    assert result.most_confused(2) == [("b", "a", 3), ("c", "b", 3)]


def test_zero_shot_metrics_are_json_ready_for_the_run_store():
    metrics = zero_shot_metrics(zero_shot_report(), SUBSET, CLASSES)
    assert json.loads(json.dumps(metrics)) == metrics
    assert metrics["accuracy"] == pytest.approx(0.6)  # the report's own accuracy
    assert metrics["confusion"] == [[2, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert metrics["mapping"] == {"a": [986], "b": [282], "c": []}
    assert metrics["unmapped_classes"] == ["c"]
