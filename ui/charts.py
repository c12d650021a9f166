"""Small plotly charts used once per page (kept here so pages stay a story of calls)."""

from __future__ import annotations

import plotly.graph_objects as go

from ui.text import label


def class_counts_figure(counts: dict[str, int]) -> go.Figure:
    """Bars of photos per class, the count on each bar."""
    names = [label(name) for name in counts]  # class names come from users; plotly renders tags
    figure = go.Figure(go.Bar(x=names, y=list(counts.values()), text=list(counts.values())))
    figure.update_layout(title="Photos per class", height=320, margin={"t": 40, "b": 10})
    return figure
