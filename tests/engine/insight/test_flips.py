"""The flip board: groups on a planted case, the cannot-name group apart, worst loss first."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from engine.data.split import Subset
from engine.insight.flips import (
    LOSSES,
    RecordedLosses,
    flip_board,
    load_flip_board,
)
from engine.runs import RunStore
from engine.schema import RecordError
from tests.support.runs import make_run, prediction

CLASSES = ("cat", "dog", "fox")  # ImageNet can name cat and dog, not fox


def planted() -> list:
    """Two photos per group on cat and dog, and two fox photos zero-shot cannot name."""
    return [
        prediction("cat", zero_shot="dog", confidence=0.9),  # fixed
        prediction("dog", zero_shot="", confidence=0.6),  # fixed (an unmapped ImageNet label)
        prediction("cat", "dog", zero_shot="cat", confidence=0.7),  # broken
        prediction("dog", "fox", zero_shot="dog", confidence=0.95),  # broken
        prediction("cat", zero_shot="cat", confidence=0.99),  # both right
        prediction("dog", zero_shot="dog", confidence=0.8),  # both right
        prediction("cat", "fox", zero_shot="dog", confidence=0.5),  # both wrong
        prediction("dog", "cat", zero_shot="", confidence=0.85),  # both wrong
        prediction("fox", zero_shot="", confidence=0.75),  # cannot name (right)
        prediction("fox", "cat", zero_shot="cat", confidence=0.9),  # cannot name (wrong)
    ]


def named_run(rows: list):
    run = make_run(CLASSES, rows)
    mapping = {"cat": [1], "dog": [2], "fox": []}
    zero_shot = dataclasses.replace(run.zero_shot, mapping=mapping, unmapped_classes=("fox",))
    evaluation = dataclasses.replace(run.evaluation, zero_shot=zero_shot)
    return dataclasses.replace(run, zero_shot=zero_shot, evaluation=evaluation)


def paths(board, group: str) -> list[str]:
    return [photo.prediction.path for photo in board.photos(group)]


def test_every_photo_lands_in_one_group_and_unnamed_classes_stay_apart():
    rows = planted()
    board = flip_board(named_run(rows).evaluation)

    assert board.counts() == {
        "fixed": 2,
        "broken": 2,
        "both_right": 2,
        "both_wrong": 2,
        "cannot_name": 2,
    }
    assert set(paths(board, "fixed")) == {rows[0].path, rows[1].path}
    assert set(paths(board, "broken")) == {rows[2].path, rows[3].path}
    # A fox photo is never 'fixed' or 'both wrong': zero-shot could never name it.
    assert set(paths(board, "cannot_name")) == {rows[8].path, rows[9].path}


def test_each_group_is_ordered_by_the_recorded_loss_worst_first():
    rows = planted()
    # The true class's probability: the 'fixed' dog photo is the less sure right answer.
    recorded = RecordedLosses({rows[0].path: 0.9, rows[1].path: 0.2, rows[2].path: 0.01})
    board = flip_board(named_run(rows).evaluation, recorded)

    assert paths(board, "fixed") == [rows[1].path, rows[0].path]
    fixed = board.photos("fixed")
    assert [photo.loss for photo in fixed] == pytest.approx([-math.log(0.2), -math.log(0.9)])
    assert all(photo.exact for photo in fixed)
    assert board.photos("broken")[0].prediction.path == rows[2].path  # loss 4.6 beats 3.0
    assert board.note is not None, "the other wrong answers were not recorded"


def test_without_recorded_losses_the_order_comes_from_the_confidence():
    # Runs saved before flips.json: right answers are exact (their confidence is the true
    # class's probability), wrong ones a lower bound, the most confident mistake first.
    rows = planted()
    board = flip_board(named_run(rows).evaluation)

    assert paths(board, "broken") == [rows[3].path, rows[2].path]  # 95% sure beats 70%
    assert [p.exact for p in board.photos("broken")] == [False, False]
    assert board.photos("broken")[0].loss == pytest.approx(-math.log(0.05))
    assert paths(board, "both_right") == [rows[5].path, rows[4].path]  # 80% less sure than 99%
    assert "confidence" in board.note


def test_a_run_without_a_zero_shot_baseline_has_no_board():
    run = make_run(CLASSES, planted(), zero_shot_error="No zero-shot model.")
    assert flip_board(run.evaluation) is None


def test_recorded_losses_come_from_the_true_class_of_each_photo():
    subset = Subset(("a.png", "b.png"), (1, 0))
    probabilities = np.array([[0.2, 0.8], [0.3, 0.7]], np.float32)

    recorded = RecordedLosses.of(subset, probabilities)

    assert recorded.true_probabilities == pytest.approx({"a.png": 0.8, "b.png": 0.3})
    assert RecordedLosses.from_dict(recorded.to_dict()) == recorded


@pytest.mark.parametrize(
    "document, match",
    [
        ({"format": 2, "photos": []}, "newer version"),
        ({"format": 1, "photos": [{"path": "a.png", "true_probability": 1.5}]}, "probability"),
        ({"format": 1, "photos": [{"path": "a.png"}]}, "true_probability"),
        ([], "not an object"),
    ],
)
def test_a_damaged_losses_document_is_named(document, match):
    with pytest.raises(RecordError, match=match):
        RecordedLosses.from_dict(document)


def test_the_saved_board_reads_its_losses_and_survives_a_damaged_file(tmp_path):
    rows = planted()
    store = RunStore(tmp_path / "runs")
    recorded = RecordedLosses({row.path: 0.5 for row in rows})
    run_id = store.save(dataclasses.replace(named_run(rows), extras={LOSSES: recorded.to_dict()}))

    board = load_flip_board(store, store.load(run_id))
    assert board.note is None and all(p.exact for g in board.groups.values() for p in g)

    (tmp_path / "runs" / run_id / "flips.json").write_text("{not json")
    damaged = load_flip_board(store, store.load(run_id))
    assert damaged.counts() == board.counts()
    assert "damaged" in damaged.note


def test_a_run_saved_before_the_flip_board_still_opens(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.save(named_run(planted()))

    board = load_flip_board(store, store.load(run_id))

    assert sum(board.counts().values()) == 10
    assert "saved before losses were recorded" in board.note
