"""The feature map as a clickable plotly scatter; the clicked photo is shown beside it."""

from __future__ import annotations

from typing import Any

import plotly.colors
import plotly.graph_objects as go
import streamlit as st

from engine.insight.projection import FeatureMap, MapPoint
from engine.settings import Settings
from ui import cache
from ui.errors import guard
from ui.image_grid import RIGHT, WRONG, mark
from ui.text import label, md

# Ten well-told-apart colours first (D3), more for datasets with more classes.
PALETTE = plotly.colors.qualitative.D3 + plotly.colors.qualitative.Dark24


def feature_map_figure(feature_map: FeatureMap) -> go.Figure:
    """One colour per true class; the trained model's mistakes ringed; hover shows both answers.

    Every marker carries its point's index as customdata, so a click names the photo.
    """
    figure = go.Figure()
    points = feature_map.points
    for number, name in enumerate(feature_map.class_names):
        members = [i for i, point in enumerate(points) if point.true == name]
        figure.add_trace(_trace(points, members, label(name), PALETTE[number % len(PALETTE)]))
    wrong = [i for i, point in enumerate(points) if not point.correct]
    if wrong:
        ring = _trace(points, wrong, "trained model wrong", "#111827")
        ring.marker.update(symbol="circle-open", size=15, line={"width": 2})
        figure.add_trace(ring)
    first, second = feature_map.explained
    figure.update_layout(
        xaxis={"title": f"main direction of difference ({first:.0%} of the spread)"},
        yaxis={"title": f"second direction ({second:.0%})"},
        height=480,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": -0.18},
        clickmode="event+select",
    )
    return figure


def _trace(points: tuple[MapPoint, ...], members: list[int], name: str, colour: str) -> go.Scatter:
    return go.Scatter(
        x=[points[i].x for i in members],
        y=[points[i].y for i in members],
        mode="markers",
        name=name,
        marker={"color": colour, "size": 9},
        customdata=members,
        text=[_hover(points[i]) for i in members],
        hovertemplate="%{text}<extra></extra>",
        unselected={"marker": {"opacity": 0.35}},  # a click keeps the others in view
    )


def _hover(point: MapPoint) -> str:
    """Both models' answers (plain text: class names and labels come from users and files)."""
    zero_shot = point.zero_shot_label or "no baseline"
    return (
        f"true: {label(point.true)}<br>trained model: {label(point.predicted)}"
        f"<br>zero-shot: {label(zero_shot)}"
    )


def selected_point(event: Any) -> int | None:
    """The index of the clicked point in a plotly_chart selection event, None when none is."""
    points = event["selection"]["points"] if event else []
    if not points or "customdata" not in points[0]:
        return None
    data = points[0]["customdata"]
    return int(data[0] if isinstance(data, list) else data)


def render_feature_map(feature_map: FeatureMap, settings: Settings, key: str) -> None:
    """The map and, beside it, the photo of the clicked point with both answers."""
    left, right = st.columns([3, 1])
    with left:
        event = st.plotly_chart(
            feature_map_figure(feature_map),
            key=key,
            on_select="rerun",
            selection_mode="points",
            width="stretch",
        )
    index = selected_point(event)
    with right:
        if index is None or index >= len(feature_map.points):
            st.caption("Click a dot to see its photo here.")
        else:
            _render_photo(feature_map.points[index], settings)
    st.markdown(md(feature_map.linear_head_sentence()))
    kept = sum(feature_map.explained)
    st.caption(
        f"These two directions keep {kept:.0%} of the differences the network sees between the "
        "photos, so classes that overlap here may still be apart in the full features."
    )


def _render_photo(point: MapPoint, settings: Settings) -> None:
    with guard(stop=False):
        border = RIGHT if point.correct else WRONG
        st.image(cache.thumbnail(point.path, settings, size=320, border=border), width="stretch")
    lines = [f"true: **{md(point.true)}**", "trained: " + mark(point.predicted, point.correct)]
    if point.zero_shot_label:
        lines.append(f"zero-shot: {md(point.zero_shot_label)}")
    st.markdown("  \n".join(lines))
