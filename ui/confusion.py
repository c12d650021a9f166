"""Confusion matrix as clickable plotly squares; a click sets the gallery's class filters."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import streamlit as st

from engine.figures import confusion_figure, plain_label

__all__ = ["ANY", "confusion_figure", "render_confusion"]

ANY = "(any)"


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
            {plain_label(name): name for name in class_names},
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
