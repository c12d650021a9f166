"""Plotly training curves drawn on a page: loss and accuracy per epoch, train vs validation.

The figures themselves are built in engine.figures (the shareable report embeds them too).
"""

from __future__ import annotations

import streamlit as st

from engine.events import History
from engine.figures import METRICS, compare_figure, curve_figure

__all__ = ["METRICS", "compare_figure", "curve_figure", "render_curves"]


def render_curves(history: History, key: str) -> None:
    """Loss and accuracy side by side; nothing before the first epoch ends."""
    if not history.get("loss"):
        return
    for column, metric in zip(st.columns(2), METRICS, strict=True):
        column.plotly_chart(curve_figure(history, metric), key=f"{key}_{metric}")
