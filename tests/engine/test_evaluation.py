"""Tests for engine.evaluation and engine.metrics: streamed predictions, metrics, per-image
rows, the interpretation methods, (de)serialising."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.data.split import Subset
from engine.evaluation import (
    Evaluation,
    Prediction,
    ZeroShotResult,
    evaluate,
    predict_subset,
    round_robin,
)
from engine.insight.flips import wins_text
from engine.metrics import ClassMetrics, Metrics, compute_metrics
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
    metrics = compute_metrics([0, 0, 0, 1, 1, 2], [0, 1, None, 1, 1, 0], CLASSES)
    assert metrics.accuracy == pytest.approx(3 / 6)
    assert metrics.confusion == ((1, 1, 0), (0, 2, 0), (1, 0, 0))  # the None is in no column
    assert metrics.per_class["a"].to_dict() == pytest.approx(
        {"precision": 1 / 2, "recall": 1 / 3, "f1": 0.4, "support": 3}
    )
    assert metrics.per_class["b"].to_dict() == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2}
    )
    assert metrics.per_class["c"] == ClassMetrics(0.0, 0.0, 0.0, 1)
    assert metrics.num_images == 6


def test_compute_metrics_with_no_images_is_all_zero():
    metrics = compute_metrics([], [], ("a", "b"))
    assert metrics.accuracy == 0.0 and metrics.confusion == ((0, 0), (0, 0))
    assert metrics.per_class["a"] == ClassMetrics(0.0, 0.0, 0.0, 0)


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
    predicted = (0, None, 0, 1, None)
    result = ZeroShotResult(
        metrics=compute_metrics(SUBSET.labels, predicted, CLASSES),
        mapping={"a": [986], "b": [282], "c": []},
        unmapped_classes=("c",),
    )
    return ZeroShotReport(
        result=result,
        predicted=predicted,
        top_labels=("daisy", "sock", "daisy", "tabby, tabby cat", "sock"),
        top_probs=(0.9, 0.5, 0.8, 0.7, 0.6),
    )


def test_evaluate_fills_metrics_and_rows(pipeline_calls):
    result = evaluate(ScriptedClassifier(), SUBSET, batch_size=4)
    assert result.class_names == CLASSES
    assert result.accuracy == pytest.approx(3 / 5)
    assert result.metrics.confusion == ((2, 1, 0), (0, 1, 0), (1, 0, 0))
    assert result.predictions[2] == Prediction(
        path=str(SUBSET.paths[2]), true="a", predicted="b", confidence=pytest.approx(0.7)
    )
    assert (result.predictions[2].correct, result.predictions[2].zero_shot_correct) == (False, None)
    assert result.zero_shot is None


def test_evaluate_adds_the_zero_shot_answer_per_row(pipeline_calls):
    rows = evaluate(ScriptedClassifier(), SUBSET, zero_shot=zero_shot_report()).predictions
    answers = [(r.zero_shot_label, r.zero_shot_class, r.zero_shot_correct) for r in rows]
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
    metrics = json.loads(json.dumps(result.metrics.to_dict()))
    rows = json.loads(json.dumps([row.to_dict() for row in result.predictions]))
    zero_shot = json.loads(json.dumps(result.zero_shot.to_dict()))
    assert Metrics.from_dict(metrics, CLASSES, "metrics") == result.metrics
    assert tuple(Prediction.from_dict(row, "row") for row in rows) == result.predictions
    assert ZeroShotResult.from_dict(zero_shot, CLASSES, "zero_shot") == result.zero_shot


def test_interpretation_errors_and_wins(pipeline_calls):
    result = evaluate(ScriptedClassifier(), SUBSET, zero_shot=zero_shot_report())
    assert [row.path for row in result.errors()] == [str(SUBSET.paths[i]) for i in (2, 4)]
    # Photo 1: zero-shot answered 'sock' (unmapped), fine-tuned right.
    assert [row.path for row in result.wins()] == [str(SUBSET.paths[1])]
    assert [row.path for row in result.select(true="a", only_errors=True)] == [str(SUBSET.paths[2])]
    wrong = sum(row.zero_shot_correct is False for row in result.predictions)
    assert wins_text(result) == (
        f"The ImageNet model got {wrong} of the {len(SUBSET.paths)} test photos wrong; the "
        "trained model gets 1 of those right."
    )


def test_most_confused_lists_mistakes_most_frequent_first():
    metrics = Metrics(CLASSES, 0.55, {}, ((5, 2, 0), (3, 4, 1), (0, 3, 2)))
    result = Evaluation(metrics, ())
    assert result.most_confused() == [("b", "a", 3), ("c", "b", 3), ("a", "b", 2), ("b", "c", 1)]
    assert result.most_confused(2) == [("b", "a", 3), ("c", "b", 3)]


def test_zero_shot_result_is_json_ready_for_the_run_store():
    result = zero_shot_report().result.to_dict()
    assert json.loads(json.dumps(result)) == result
    assert result["accuracy"] == pytest.approx(0.6)
    assert result["confusion"] == [[2, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert result["mapping"] == {"a": [986], "b": [282], "c": []}
    assert result["unmapped_classes"] == ["c"]


def test_round_robin_takes_each_class_in_turn():
    rows = [Prediction(f"/{c}{i}", c, c, 0.9) for c in ("a", "b", "c") for i in range(3)]
    assert [row.path for row in round_robin(rows, 5)] == ["/a0", "/b0", "/c0", "/a1", "/b1"]
    assert round_robin(rows[:2], 5) == rows[:2]


def test_zero_shot_named_accuracy_leaves_out_classes_imagenet_cannot_name():
    result = zero_shot_report().result  # 'c' is unmapped; a: 2 of 3 right, b: 1 of 1
    assert result.named_classes == ("a", "b")
    assert result.named_accuracy == pytest.approx(3 / 4)
    assert result.metrics.accuracy == pytest.approx(3 / 5)


def test_predictions_csv_has_a_row_per_photo():
    result = Evaluation(compute_metrics([0], [0], CLASSES), (Prediction("/x.png", "a", "a", 0.5),))
    lines = result.predictions_csv().splitlines()
    assert lines[0].startswith("path,true,predicted,confidence")
    assert lines[1].startswith("/x.png,a,a,0.5")
