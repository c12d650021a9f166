"""Calibrated confidence: the Evaluate page's section (errors before and after, reliability
diagrams, coverage vs accuracy, the 'not sure' threshold) and Classify's 'not sure' answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from engine.access import can_change
from engine.errors import TransferLabError
from engine.insight.calibration import (
    Calibration,
    ModelCalibration,
    NotSure,
    load_calibration,
    load_not_sure,
    save_threshold,
)
from engine.insight.temperature import Bin, CoveragePoint
from engine.runs import RunStore
from engine.settings import Settings
from ui.errors import guard
from ui.tables import percent
from ui.text import md
from ui.topk_bars import render_topk, short_label, topk_figure

if TYPE_CHECKING:  # engine.insight.not_sure loads TensorFlow; Evaluate need not wait for it
    from engine.insight.not_sure import Answer

BEFORE, AFTER = "#94a3b8", "#2563eb"
DEFAULT_THRESHOLD = 50  # percent, until the user saves one
ZERO_SHOT_SCOPE = (
    " of classes ImageNet can name. Its answer is the class its top ImageNet label is mapped "
    "to, or 'none of your classes', which is always wrong."
)
ERROR_HELP = (
    "Expected calibration error: the average gap between how sure the model says it is and how "
    "often it is right, over the test photos (0% is perfect)."
)


def render_calibration(store: RunStore, settings: Settings, run_id: str, key: str) -> None:
    """Compute it (for runs saved without one), then both models' errors and diagrams, then
    the threshold chooser; a damaged document is a warning, never a crash."""
    try:
        calibration = load_calibration(store, run_id)
    except TransferLabError as error:
        st.warning(md(error))
        calibration = None
    if calibration is None:
        _offer_to_compute(settings, run_id, key)
        return
    st.caption(
        "A model's confidence can be trusted when it is right on 80% of the photos it is 80% "
        "sure about. Each dot groups test photos by how sure the model was; on the dashed line "
        "confidence matches accuracy. Calibration rescales each model's confidence with one "
        "number (a temperature) fitted on the validation photos, never on the test photos."
    )
    models = (
        ("Trained model", calibration.fine_tuned, None),
        ("Zero-shot model", calibration.zero_shot, calibration.zero_shot_note),
    )
    for column, (title, model, note) in zip(st.columns(2), models, strict=True):
        with column:
            _render_model(title, model, note, f"{key}_reliability_{title.split()[0].lower()}")
    _render_threshold(store, settings, run_id, calibration, key)


def _offer_to_compute(settings: Settings, run_id: str, key: str) -> None:
    st.info(
        "This run has no calibration: it was saved before training computed one. Computing it "
        "runs both models once more on the run's validation and test photos."
    )
    if not can_change(settings):
        st.caption("This app is in viewer mode, so it cannot compute it here.")
        return
    if st.button("Compute the calibration", key=f"{key}_calibrate", icon=":material/tune:"):
        from ui import models  # loads TensorFlow: only once someone asks

        with st.spinner("Running both models on the validation and test photos..."):
            with guard(stop=False):
                models.calibrate_run(settings, run_id)
                st.rerun()


def _render_model(title: str, model: ModelCalibration | None, note: str | None, key: str) -> None:
    if model is None:
        st.markdown(f"**{title}**")
        st.info(f"No calibration: {md(note or 'not computed')}.")
        return
    after = model.ece_after
    change = None if after is None else round((after - model.ece_before) * 100, 1)
    st.metric(
        f"{title}: calibration error",
        percent(model.ece_before if after is None else after),
        delta=None if change is None else f"{change:+.1f} points" if change else "no change",
        delta_color="inverse" if change else "off",
        delta_arrow="auto" if change else "off",  # no arrow beside "no change"
        help=ERROR_HELP,
        border=True,
    )
    if model.temperature is None:
        st.caption(f"As the model gives it: {md(model.note)}.")
    else:
        st.caption(
            f"Before calibration {percent(model.ece_before)}. Temperature "
            f"{model.temperature:.2f} fitted on {model.num_validation} validation photos; "
            f"measured on {model.num_test} test photos"
            + (ZERO_SHOT_SCOPE if title.startswith("Zero") else ".")
        )
    st.plotly_chart(reliability_figure(model), key=key, width="stretch")


def reliability_figure(model: ModelCalibration) -> go.Figure:
    """Accuracy against confidence per bin, as given and calibrated, beside the diagonal."""
    figure = go.Figure(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dash", "color": "#64748b"},
            name="confidence = accuracy",
            hoverinfo="skip",
        )
    )
    for name, bins, colour in (
        ("as given", model.reliability_before, BEFORE),
        ("calibrated", model.reliability_after, AFTER),
    ):
        if bins:
            figure.add_trace(_bins_trace(bins, name, colour))
    figure.update_layout(
        xaxis={"title": "how sure the model was", "range": [0, 1.02], "tickformat": ".0%"},
        yaxis={"title": "how often it was right", "range": [0, 1.02], "tickformat": ".0%"},
        height=340,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def _bins_trace(bins: Sequence[Bin], name: str, colour: str) -> go.Scatter:
    largest = max(b.count for b in bins)
    return go.Scatter(
        x=[b.confidence for b in bins],
        y=[b.accuracy for b in bins],
        mode="lines+markers",
        name=name,
        line={"color": colour},
        marker={"size": [8 + 16 * b.count / largest for b in bins], "color": colour},
        customdata=[b.count for b in bins],
        hovertemplate="%{customdata} photos: %{x:.0%} sure, %{y:.0%} right<extra></extra>",
    )


def _render_threshold(
    store: RunStore, settings: Settings, run_id: str, calibration: Calibration, key: str
) -> None:
    """The coverage curve and the slider on it; saving the choice is for editors."""
    st.markdown("**When should the trained model say 'not sure'?**")
    st.caption(
        "Answering only when it is sure enough answers fewer photos, but gets more of them "
        "right. Below the confidence you choose, Classify and `predict` answer 'not sure' "
        "(and still show their best guesses)."
    )
    saved = _saved_threshold(store, run_id)
    default = round(saved.threshold * 100) if saved else DEFAULT_THRESHOLD
    chosen = st.slider(
        "Answer only when at least this sure",
        0,
        99,
        default,
        format="%d%%",
        key=f"{key}_threshold_{run_id}",
    )
    model = calibration.fine_tuned
    point = model.at(chosen / 100)
    st.markdown(coverage_sentence(point, model.num_test))
    st.plotly_chart(coverage_figure(model.coverage, point), key=f"{key}_coverage", width="stretch")
    if can_change(settings) and st.button(
        f"Use {chosen}% on Classify and predict", key=f"{key}_save_threshold"
    ):
        with guard(stop=False):
            saved = save_threshold(store, settings, run_id, chosen / 100, calibration)
            st.toast(f"Saved: below {chosen}% the run answers 'not sure'.", icon=":material/check:")
    if saved is not None:
        st.caption(
            f"Saved with the run: 'not sure' below {saved.threshold:.0%} "
            f"(it answered {saved.coverage:.0%} of the test photos, {percent(saved.accuracy)} "
            "of them right)."
        )


def _saved_threshold(store: RunStore, run_id: str) -> NotSure | None:
    try:
        return load_not_sure(store, run_id)
    except TransferLabError as error:
        st.warning(md(error))
        return None


def coverage_sentence(point: CoveragePoint, num_test: int) -> str:
    """'At 62%: answers 85% of the 200 test photos, 97% of them right; ...'."""
    if point.accuracy is None:
        return f"At {point.threshold:.0%} it would answer none of the {num_test} test photos."
    return (
        f"At {point.threshold:.0%}: it answers **{point.coverage:.0%}** of the {num_test} test "
        f"photos, **{point.accuracy:.0%}** of them right, and says 'not sure' for the other "
        f"{1 - point.coverage:.0%}."
    )


def coverage_figure(points: Sequence[CoveragePoint], chosen: CoveragePoint) -> go.Figure:
    """Accuracy on the answered photos against the share answered, the choice marked."""
    answered = [point for point in points if point.accuracy is not None]
    figure = go.Figure(
        go.Scatter(
            x=[point.coverage for point in answered],
            y=[point.accuracy for point in answered],
            customdata=[point.threshold for point in answered],
            mode="lines",
            line={"color": AFTER, "shape": "hv"},
            name="answering only at or above each confidence",
            hovertemplate="at %{customdata:.0%}: answers %{x:.0%}, %{y:.0%} right<extra></extra>",
        )
    )
    if chosen.accuracy is not None:
        figure.add_trace(
            go.Scatter(
                x=[chosen.coverage],
                y=[chosen.accuracy],
                mode="markers",
                marker={"size": 14, "color": "#dc2626"},
                name=f"your choice ({chosen.threshold:.0%})",
                hoverinfo="skip",
            )
        )
    figure.update_layout(
        xaxis={"title": "share of test photos answered", "range": [0, 1.02], "tickformat": ".0%"},
        yaxis={"title": "share of answers right", "tickformat": ".0%"},
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": -0.3},
    )
    return figure


def render_trained_answer(answer: Answer, rule: NotSure | None, key: str) -> None:
    """The trained model's best guesses: 'not sure' first when the best is below the run's
    threshold."""
    if not answer.not_sure:
        render_topk(answer.top, key)
    else:
        label, probability = answer.top[0]
        st.markdown(
            f"**Not sure**: the best guess, **{md(short_label(label))}** ({probability:.0%}), is "
            f"below the {rule.threshold:.0%} this run answers at."
        )
        st.plotly_chart(topk_figure(answer.top), key=key, width="stretch")
    if rule is not None:
        note = f"Below {rule.threshold:.0%} it says 'not sure' (chosen on the Evaluate page)."
        if rule.temperature is not None:
            note = "Probabilities calibrated on the run's validation photos. " + note
        st.caption(note)
