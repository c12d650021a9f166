"""Top-k predictions as horizontal plotly bars, so two models can sit side by side."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import streamlit as st

from ui.text import md

LABEL_CHARS = 24
LABEL_MARGIN = 170  # pixels kept for the labels, the same in every chart: equal bar widths


def short_label(label: str) -> str:
    """An ImageNet label's first synonym ('tabby, tabby cat' -> 'tabby'), kept short."""
    first = label.split(",")[0].strip()
    return first if len(first) <= LABEL_CHARS else first[: LABEL_CHARS - 1] + "…"


def topk_figure(pairs: Sequence[tuple[str, float]]) -> go.Figure:
    """Bars with the best guess on top, on a 0-100% axis every chart shares."""
    labels = [short_label(label) for label, _ in reversed(pairs)]
    values = [prob for _, prob in reversed(pairs)]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            text=[f"{v:.0%}" for v in values],
            textposition="outside",  # every bar says its value, even a 0% one
            cliponaxis=False,
        )
    )
    figure.update_layout(
        xaxis={
            "range": [0, 1.12],
            "tickformat": ".0%",
            "tickvals": [0, 0.25, 0.5, 0.75, 1],
            "fixedrange": True,
        },
        yaxis={"automargin": False, "fixedrange": True},
        height=60 + 40 * len(pairs),
        margin={"l": LABEL_MARGIN, "r": 10, "t": 10, "b": 30},
    )
    return figure


def render_topk(pairs: Sequence[tuple[str, float]], key: str) -> None:
    """The top-1 guess in words, then the bars."""
    label, prob = pairs[0]
    st.markdown(f"Best guess: **{md(short_label(label))}** ({prob:.0%})")
    st.plotly_chart(topk_figure(pairs), key=key, width="stretch")
