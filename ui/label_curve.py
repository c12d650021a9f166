"""The label-efficiency curve as a plotly chart: accuracy against photos per class."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from engine.insight.curve import CurvePoint, LabelCurve
from ui.text import md

ZERO = "0 (zero-shot)"
HEAD_COLOUR = "#2563eb"
ZERO_SHOT_COLOUR = "#6b7280"
RUN_COLOUR = "#16a34a"


def point_name(point: CurvePoint) -> str:
    """The x-axis label of a point: '5', or 'all (144)' for every training photo."""
    return f"all ({point.per_class})" if point.all_photos else str(point.per_class)


def label_curve_figure(curve: LabelCurve) -> go.Figure:
    """Mean test accuracy per size with bars from the lowest to the highest seed, zero-shot as
    the 0-photo point and the run's own accuracy as a star at 'all'.

    The x axis is categorical, so 1, 2, 5, ... 50 photos sit evenly spaced (as on a log axis)
    and the 0-photo point still has a place.
    """
    names = [point_name(point) for point in curve.points]
    means = [point.mean for point in curve.points]
    figure = go.Figure()
    if curve.zero_shot_accuracy is not None:
        figure.add_trace(
            go.Scatter(
                x=[ZERO, names[0]],
                y=[curve.zero_shot_accuracy, means[0]],
                mode="lines",
                line={"color": ZERO_SHOT_COLOUR, "dash": "dot"},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=[ZERO],
                y=[curve.zero_shot_accuracy],
                mode="markers",
                marker={"color": ZERO_SHOT_COLOUR, "size": 12, "symbol": "diamond"},
                name="zero-shot ImageNet model (no photos)",
                hovertemplate="zero-shot: %{y:.1%}<extra></extra>",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=names,
            y=means,
            mode="lines+markers",
            marker={"color": HEAD_COLOUR, "size": 9},
            line={"color": HEAD_COLOUR},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [point.high - point.mean for point in curve.points],
                "arrayminus": [point.mean - point.low for point in curve.points],
                "color": HEAD_COLOUR,
            },
            text=[_hover(point) for point in curve.points],
            hovertemplate="%{text}<extra></extra>",
            name=f"new head on that many photos (mean of {len(curve.seeds)} draws)",
        )
    )
    if curve.run_accuracy is not None:
        figure.add_trace(
            go.Scatter(
                x=[names[-1]],
                y=[curve.run_accuracy],
                mode="markers",
                marker={"color": RUN_COLOUR, "size": 16, "symbol": "star"},
                name="this run's trained model",
                hovertemplate="this run: %{y:.1%}<extra></extra>",
            )
        )
    figure.update_layout(
        xaxis={"title": "photos per class", "type": "category"},
        yaxis={"title": "test accuracy", "tickformat": ".0%", "range": [0, 1.04]},
        height=380,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def _hover(point: CurvePoint) -> str:
    photos = "every training photo" if point.all_photos else f"{point.per_class} photos per class"
    if len(point.accuracies) == 1:
        return f"{photos}: {point.mean:.1%}"
    return f"{photos}: {point.mean:.1%} (draws from {point.low:.1%} to {point.high:.1%})"


def render_label_curve(curve: LabelCurve, key: str) -> None:
    """The chart, what the next doubling of photos is likely to buy, and how it was made."""
    st.plotly_chart(label_curve_figure(curve), key=key, width="stretch")
    st.markdown(md(curve.next_doubling()))
    st.caption(
        f"Each size was drawn {len(curve.seeds)} times from the training photos (bars: lowest "
        f"to highest); every head was scored on the same {curve.num_test} test photos. "
        f"Heads: {md(curve.head)}; {curve.seconds:.1f} s for all of them."
    )
