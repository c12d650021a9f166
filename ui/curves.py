"""Plotly training curves: loss and accuracy per epoch, train vs validation, runs compared."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import plotly.colors
import plotly.graph_objects as go
import streamlit as st

from engine.events import History
from ui.text import label as plain

METRICS = {"loss": "Loss", "accuracy": "Accuracy"}
PALETTE = plotly.colors.qualitative.Dark24  # 24 colours a reader tells apart
# Runs of one seed share their first epochs: dashes keep a line visible under another.
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def _epochs(values: Sequence[float]) -> list[int]:
    return list(range(1, len(values) + 1))


def _layout(figure: go.Figure, title: str) -> go.Figure:
    epochs = max((len(trace.x or ()) for trace in figure.data), default=0)
    # Whole epochs only: one tick each for short runs, plotly's choice (integers) beyond.
    ticks = {"dtick": 1} if epochs <= 12 else {"tickformat": "d"}
    figure.update_layout(
        title=title,
        xaxis={"title": "epoch", "range": [0.5, max(epochs, 1) + 0.5], **ticks},
        height=300,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def _mark_stage_changes(figure: go.Figure, stages: Sequence[str]) -> None:
    """A dotted line where fine-tuning starts: the curves usually jump there."""
    for epoch in range(1, len(stages)):
        if stages[epoch] != stages[epoch - 1]:
            figure.add_vline(x=epoch + 0.5, line_dash="dot", annotation_text=stages[epoch])


def curve_figure(history: History, metric: str) -> go.Figure:
    """Train and validation values of one metric ('loss' or 'accuracy') per epoch."""
    figure = go.Figure()
    for name, label in ((metric, "train"), (f"val_{metric}", "validation")):
        values = history.get(name)
        figure.add_trace(go.Scatter(x=_epochs(values), y=values, mode="lines+markers", name=label))
    _mark_stage_changes(figure, history.get("stage"))
    return _layout(figure, METRICS[metric])


def render_curves(history: History, key: str) -> None:
    """Loss and accuracy side by side; nothing before the first epoch ends."""
    if not history.get("loss"):
        return
    for column, metric in zip(st.columns(2), METRICS, strict=True):
        column.plotly_chart(curve_figure(history, metric), key=f"{key}_{metric}")


def compare_figure(histories: Mapping[str, History], metric: str) -> go.Figure:
    """Validation curves of several runs (label -> history) on one chart, one distinct colour
    each, named in the legend."""
    figure = go.Figure()
    styles = zip(itertools.cycle(PALETTE), itertools.cycle(DASHES), strict=False)
    for (name, history), (colour, dash) in zip(histories.items(), styles, strict=False):
        values = history.get(f"val_{metric}")
        figure.add_trace(
            go.Scatter(
                x=_epochs(values),
                y=values,
                mode="lines+markers",
                name=plain(name),
                line={"color": colour, "dash": dash, "width": 3 if dash == "solid" else 2},
            )
        )
    figure.update_layout(showlegend=True)
    return _layout(figure, f"Validation {METRICS[metric].lower()}")
