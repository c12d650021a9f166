"""Confusion matrix as clickable plotly squares; a click sets the gallery's class filters."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import plotly.graph_objects as go
import streamlit as st

from ui.text import label

ANY = "(any)"


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
    shown = [label(name) for name in class_names]  # plotly renders tags in labels
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
        xaxis={"title": "predicted", "type": "category", "categoryarray": shown},
        yaxis={
            "title": "true",
            "type": "category",
            "categoryarray": shown,
            "autorange": "reversed",
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


def _copy_selection_to_filters(
    chart_key: str, true_key: str, predicted_key: str, names: dict[str, str]
) -> None:
    """A click fills both filters; clicking the selected square again clears them."""
    points = st.session_state[chart_key].selection.points
    st.session_state[true_key] = names[points[0]["y"]] if points else ANY
    st.session_state[predicted_key] = names[points[0]["x"]] if points else ANY


def _forget_selection(version_key: str) -> None:
    """Filters changed by hand: draw the matrix afresh, without a stale highlighted square."""
    st.session_state[version_key] = st.session_state.get(version_key, 0) + 1


def _reset(true_key: str, predicted_key: str, version_key: str, *others: str) -> None:
    """Every filter back to 'all photos' (the class boxes and any toggles named in others)."""
    st.session_state[true_key] = st.session_state[predicted_key] = ANY
    for key in others:
        st.session_state[key] = False
    _forget_selection(version_key)


def render_confusion(
    confusion: Sequence[Sequence[int]],
    class_names: Sequence[str],
    key: str,
    reset_also: tuple[str, ...] = (),
) -> tuple[str | None, str | None]:
    """Draw the matrix and the true/predicted selectboxes it drives; return the chosen classes.

    Clicking a square fills both selectboxes (keys f'{key}_true', f'{key}_predicted'), which
    also work on their own when clicking is not possible; the two always agree.
    """
    true_key, predicted_key, version_key = f"{key}_true", f"{key}_predicted", f"{key}_version"
    chart_key = f"{key}_matrix_{st.session_state.get(version_key, 0)}"
    normalised = st.toggle("Show shares of each true class", key=f"{key}_normalised")
    st.plotly_chart(
        confusion_figure(confusion, class_names, normalised),
        width="content",
        key=chart_key,
        on_select=partial(
            _copy_selection_to_filters,
            chart_key,
            true_key,
            predicted_key,
            {label(name): name for name in class_names},
        ),
        selection_mode="points",
    )
    options = [ANY, *class_names]
    forget = partial(_forget_selection, version_key)
    left, middle, right = st.columns([3, 3, 1], vertical_alignment="bottom")
    true = left.selectbox("True class", options, key=true_key, on_change=forget)
    predicted = middle.selectbox("Predicted class", options, key=predicted_key, on_change=forget)
    right.button(
        "Reset",
        key=f"{key}_reset",
        on_click=_reset,
        args=(true_key, predicted_key, version_key, *reset_also),
    )
    return (None if true == ANY else true), (None if predicted == ANY else predicted)
