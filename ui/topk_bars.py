"""Top-k predictions as horizontal plotly bars, so two models can sit side by side."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import streamlit as st


def topk_figure(pairs: Sequence[tuple[str, float]]) -> go.Figure:
    """Bars with the best guess on top and probabilities as percentages."""
    labels = [label for label, _ in reversed(pairs)]
    values = [prob for _, prob in reversed(pairs)]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            text=[f"{v:.0%}" for v in values],
            textposition="auto",
        )
    )
    figure.update_layout(
        xaxis={"range": [0, 1], "tickformat": ".0%"},
        height=60 + 40 * len(pairs),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    return figure


def render_topk(pairs: Sequence[tuple[str, float]], key: str) -> None:
    """The top-1 guess in words, then the bars."""
    label, prob = pairs[0]
    st.markdown(f"Best guess: **{label}** ({prob:.0%})")
    st.plotly_chart(topk_figure(pairs), key=key)
