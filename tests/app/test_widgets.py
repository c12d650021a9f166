"""ui/ helpers that need no running app: error guard, filters, figures, tables."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from ui.confusion import confusion_figure
from ui.curves import curve_figure
from ui.gallery import filter_rows
from ui.tables import per_class_table, percent
from ui.topk_bars import top_k_pairs

ROWS = [
    {"path": "a", "true": "cat", "predicted": "cat", "confidence": 0.9, "correct": True},
    {"path": "b", "true": "cat", "predicted": "dog", "confidence": 0.6, "correct": False},
    {"path": "c", "true": "dog", "predicted": "dog", "confidence": 0.7, "correct": True},
]


def _guarded_app(error: str) -> None:
    import streamlit as st

    from engine.errors import DatasetError
    from ui.errors import guard

    with guard():
        raise DatasetError("folder x has no class folders") if error == "engine" else KeyError("k")
    st.write("not reached")


def test_guard_shows_engine_errors_as_they_are_and_stops():
    at = AppTest.from_function(_guarded_app, args=("engine",)).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["folder x has no class folders"]
    assert not at.markdown


def test_guard_turns_other_errors_into_a_short_message():
    at = AppTest.from_function(_guarded_app, args=("other",)).run()
    assert not at.exception
    assert at.error[0].value.startswith("Something went wrong: 'k'")


def test_filter_rows_by_errors_classes_and_confidence():
    assert [r["path"] for r in filter_rows(ROWS, only_errors=True)] == ["b"]
    assert [r["path"] for r in filter_rows(ROWS, true="cat", predicted="dog")] == ["b"]
    ordered = filter_rows(ROWS, most_confident_first=False)
    assert [r["path"] for r in ordered] == ["b", "c", "a"]


def test_top_k_pairs_are_sorted_and_named():
    pairs = top_k_pairs(np.array([0.1, 0.7, 0.2]), ("a", "b", "c"), k=2)
    assert [name for name, _ in pairs] == ["b", "c"]
    assert pairs[0][1] == 0.7


def test_confusion_figure_has_one_selectable_square_per_cell():
    figure = confusion_figure([[3, 1], [0, 4]], ("cat", "dog"))
    points = list(zip(figure.data[0].y, figure.data[0].x, figure.data[0].text, strict=True))
    assert ("cat", "dog", "1") in points and len(points) == 4
    assert figure.data[0].type == "scatter"  # heatmap cells cannot be selected in Streamlit


def test_curve_figure_draws_train_and_validation_and_marks_fine_tuning():
    history = {"loss": [1, 0.5], "val_loss": [0.9, 0.6], "stage": ["head", "fine_tune"]}
    figure = curve_figure(history, "loss")
    assert [trace.name for trace in figure.data] == ["train", "validation"]
    assert len(figure.layout.shapes) == 1


def test_tables_and_percent():
    per_class = {"cat": {"precision": 1.0, "recall": 0.5, "f1": 0.67, "support": 2}}
    table = per_class_table(per_class, {"cat": {"f1": 0.2}})
    assert table.loc["cat", "zero-shot f1"] == 0.2
    assert percent(0.8734) == "87.3%" and percent(None) == "n/a"
