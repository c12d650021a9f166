"""Plotly figures of a run, with no Streamlit: training curves (one run, several compared) and
the confusion matrix. Pages draw them; the shareable report embeds them."""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping, Sequence

import plotly.colors
import plotly.graph_objects as go

from engine.events import History

METRICS = {"loss": "Loss", "accuracy": "Accuracy"}
PALETTE = plotly.colors.qualitative.Dark24  # 24 colours a reader tells apart
# Runs of one seed share their first epochs: dashes keep a line visible under another.
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def plain_label(text: object) -> str:
    """text for a plotly label or hover, where tags like <a href> would be rendered (class
    and run names come from users)."""
    return html.escape(str(text), quote=False)


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
                name=plain_label(name),
                line={"color": colour, "dash": dash, "width": 3 if dash == "solid" else 2},
            )
        )
    figure.update_layout(showlegend=True)
    return _layout(figure, f"Validation {METRICS[metric].lower()}")


def confusion_figure(
    confusion: Sequence[Sequence[int]], class_names: Sequence[str], normalised: bool = False
) -> go.Figure:
    """Rows = true class, columns = predicted class, one square per cell.

    normalised colours and labels each cell by its share of the true class's photos (rows sum
    to 100%), so a small class's mistakes show as clearly as a large one's.

    Squares of a scatter trace, not a go.Heatmap: Streamlit's on_select reports nothing
    for heatmap cells (streamlit/streamlit#8760), but it does report scatter points.
    """
    cells = []
    shown = [plain_label(name) for name in class_names]  # plotly renders tags in labels
    for i, true in enumerate(shown):
        total = sum(confusion[i]) or 1
        for j, predicted in enumerate(shown):
            count = confusion[i][j]
            cells.append((true, predicted, count, count / total))
    values = [share if normalised else count for _, _, count, share in cells]
    texts = [f"{share:.0%}" if normalised else str(count) for _, _, count, share in cells]
    size = max(18, min(70, 420 // max(1, len(class_names))))
    darkest = max(values, default=0)
    # White on the dark squares, dark on the light ones, so every count stays readable.
    text_colors = ["#ffffff" if value > darkest / 2 else "#1f2937" for value in values]
    figure = go.Figure(
        go.Scatter(
            x=[predicted for _, predicted, _, _ in cells],
            y=[true for true, _, _, _ in cells],
            mode="markers+text",
            text=texts,
            textfont={"color": text_colors},
            customdata=[count for _, _, count, _ in cells],
            marker={
                "symbol": "square",
                "size": size,
                "color": values,
                "colorscale": "Blues",
                "cmin": 0,
                "showscale": True,
                "colorbar": _colorbar(darkest, normalised),
                "line": {"width": 1, "color": "#cbd5e1"},
            },
            # Plotly fades the squares that are not clicked; keep them and their counts legible.
            unselected={"marker": {"opacity": 0.75}, "textfont": {"color": "#1f2937"}},
            selected={"marker": {"opacity": 1.0}},
            hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata} photos<extra></extra>",
        )
    )
    figure.update_layout(
        # automargin: the class names get the room they need outside Streamlit too (the report).
        xaxis={
            "title": "predicted",
            "type": "category",
            "categoryarray": shown,
            "automargin": True,
        },
        yaxis={
            "title": "true",
            "type": "category",
            "categoryarray": shown,
            "autorange": "reversed",
            "automargin": True,
        },
        # Square cells: as wide as tall, whatever the page width.
        height=140 + size * len(class_names),
        width=240 + int(size * 1.15) * len(class_names),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        clickmode="event+select",
    )
    return figure


def _colorbar(darkest: float, normalised: bool) -> dict:
    """Whole-number ticks for counts (a 2-class matrix of 3 photos must not show 0.5)."""
    if normalised:
        return {"tickformat": ".0%", "title": "share"}
    return {"dtick": max(1, math.ceil(darkest / 5)), "tickformat": "d", "title": "photos"}
