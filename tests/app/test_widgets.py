"""ui/ helpers that need no running app: error guard, filters, figures, tables."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from engine.events import History
from tests.support.runs import make_run, prediction
from ui.confusion import confusion_figure
from ui.curves import curve_figure
from ui.tables import per_class_table, percent
from ui.topk_bars import short_label, topk_figure

ROWS = [
    prediction("cat", path="a", confidence=0.9),
    prediction("cat", "dog", path="b", confidence=0.6),
    prediction("dog", path="c", confidence=0.7),
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


def test_gallery_selection_by_errors_classes_and_confidence():
    evaluation = make_run(("cat", "dog"), ROWS).evaluation
    assert [r.path for r in evaluation.select(only_errors=True)] == ["b"]
    assert [r.path for r in evaluation.select(true="cat", predicted="dog")] == ["b"]
    ordered = evaluation.select(most_confident_first=False)
    assert [r.path for r in ordered] == ["b", "c", "a"]


def test_confusion_figure_has_one_selectable_square_per_cell():
    figure = confusion_figure([[3, 1], [0, 4]], ("cat", "dog"))
    points = list(zip(figure.data[0].y, figure.data[0].x, figure.data[0].text, strict=True))
    assert ("cat", "dog", "1") in points and len(points) == 4
    assert figure.data[0].type == "scatter"  # heatmap cells cannot be selected in Streamlit


def test_curve_figure_draws_train_and_validation_and_marks_fine_tuning():
    history = History({"loss": [1, 0.5], "val_loss": [0.9, 0.6], "stage": ["head", "fine_tune"]})
    figure = curve_figure(history, "loss")
    assert [trace.name for trace in figure.data] == ["train", "validation"]
    assert len(figure.layout.shapes) == 1


def test_tables_and_percent():
    run = make_run(("cat", "dog"), [prediction("cat", zero_shot="cat"), prediction("dog")])
    table = per_class_table(run.evaluation.metrics.per_class, run.zero_shot)
    assert table.loc["cat", "recall"] == "100.0%"
    assert table.loc["cat", "zero-shot f1"] == "100.0%"
    assert table.loc["dog", "zero-shot f1"] == "n/a", "ImageNet cannot name dog here"
    assert percent(0.8734) == "87.3%" and percent(None) == "n/a"


def test_top_k_labels_are_first_synonyms_on_one_shared_axis():
    figure = topk_figure([("tabby, tabby cat", 0.7), ("Egyptian cat", 0.2)])
    assert list(figure.data[0].y) == ["Egyptian cat", "tabby"]
    assert list(figure.layout.xaxis.tickvals) == [0, 0.25, 0.5, 0.75, 1]
    assert short_label("a" * 40).endswith("…") and len(short_label("a" * 40)) == 24


def test_confusion_colour_ticks_are_whole_photos_and_shares_when_normalised():
    counts = confusion_figure([[2, 1], [0, 3]], ("cat", "dog"))
    assert counts.data[0].marker.colorbar.dtick == 1
    shares = confusion_figure([[2, 1], [0, 3]], ("cat", "dog"), normalised=True)
    assert list(shares.data[0].text) == ["67%", "33%", "0%", "100%"]
