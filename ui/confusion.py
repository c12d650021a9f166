"""Confusion matrix as clickable plotly squares; a click sets the gallery's class filters."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import plotly.graph_objects as go
import streamlit as st

ANY = "(any)"


def confusion_figure(confusion: Sequence[Sequence[int]], class_names: Sequence[str]) -> go.Figure:
    """Rows = true class, columns = predicted class, one square per cell.

    Squares of a scatter trace, not a go.Heatmap: Streamlit's on_select reports nothing
    for heatmap cells (streamlit/streamlit#8760), but it does report scatter points.
    """
    cells = [
        (true, predicted, confusion[i][j])
        for i, true in enumerate(class_names)
        for j, predicted in enumerate(class_names)
    ]
    size = max(18, min(70, 420 // max(1, len(class_names))))
    darkest = max((count for _, _, count in cells), default=0)
    # White on the dark squares, dark on the light ones, so every count stays readable.
    text_colors = ["#ffffff" if count > darkest / 2 else "#1f2937" for _, _, count in cells]
    figure = go.Figure(
        go.Scatter(
            x=[predicted for _, predicted, _ in cells],
            y=[true for true, _, _ in cells],
            mode="markers+text",
            text=[str(count) for _, _, count in cells],
            textfont={"color": text_colors},
            marker={
                "symbol": "square",
                "size": size,
                "color": [count for _, _, count in cells],
                "colorscale": "Blues",
                "showscale": True,
                "line": {"width": 1, "color": "#cbd5e1"},
            },
            # Plotly fades the squares that are not clicked; keep them legible.
            unselected={"marker": {"opacity": 0.5}},
            hovertemplate="true %{y}<br>predicted %{x}<br>%{text} photos<extra></extra>",
        )
    )
    figure.update_layout(
        xaxis={"title": "predicted", "type": "category", "categoryarray": list(class_names)},
        yaxis={
            "title": "true",
            "type": "category",
            "categoryarray": list(class_names),
            "autorange": "reversed",
        },
        height=140 + size * len(class_names),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        clickmode="event+select",
    )
    return figure


def _copy_selection_to_filters(chart_key: str, true_key: str, predicted_key: str) -> None:
    points = st.session_state[chart_key].selection.points
    if points:
        st.session_state[true_key] = points[0]["y"]
        st.session_state[predicted_key] = points[0]["x"]


def render_confusion(
    confusion: Sequence[Sequence[int]], class_names: Sequence[str], key: str
) -> tuple[str | None, str | None]:
    """Draw the matrix and the true/predicted selectboxes it drives; return the chosen classes.

    Clicking a square fills both selectboxes (keys f'{key}_true', f'{key}_predicted'), which
    also work on their own when clicking is not possible.
    """
    true_key, predicted_key, chart_key = f"{key}_true", f"{key}_predicted", f"{key}_matrix"
    st.plotly_chart(
        confusion_figure(confusion, class_names),
        key=chart_key,
        on_select=partial(_copy_selection_to_filters, chart_key, true_key, predicted_key),
        selection_mode="points",
    )
    options = [ANY, *class_names]
    left, right = st.columns(2)
    true = left.selectbox("True class", options, key=true_key)
    predicted = right.selectbox("Predicted class", options, key=predicted_key)
    return (None if true == ANY else true), (None if predicted == ANY else predicted)
