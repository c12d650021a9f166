"""Where each model looks: the two Grad-CAM heatmaps over one photo, side by side."""

from __future__ import annotations

import streamlit as st

from engine.insight.heatmaps import Heatmap, HeatmapPair, overlay
from engine.settings import Settings
from ui.errors import guard
from ui.text import md

EXPLANATION = (
    "Warmer colours mark the parts of the photo that pushed each model towards its answer, "
    "so you can check that it looked at the subject and not at the background."
)


def render_heatmap_pair(settings: Settings, run_id: str, photo: str | bytes) -> None:
    """Both overlays with each model's answer, or why a side is missing; then what they mean.

    photo is a file path or the bytes of an upload.
    """
    # Imported here, not at the top: the Evaluate page opens without TensorFlow and loads it
    # only when someone asks where the models look.
    from ui import models

    with st.spinner("Finding where each model looks..."):
        pair = models.heatmap_pair(settings, run_id, photo)
    titles = pair.titles()
    sides = ((pair.zero_shot, pair.zero_shot_error), (pair.fine_tuned, pair.fine_tuned_error))
    for column, title, (side, error) in zip(st.columns(2), titles, sides, strict=True):
        with column:
            _render_side(pair, side, error, title)
    st.caption(EXPLANATION)


def _render_side(pair: HeatmapPair, side: Heatmap | None, error: str | None, title: str) -> None:
    st.markdown(f"**{md(title)}**")
    if side is None:
        st.info(md(error or "Not available."))
        st.image(pair.photo)
        return
    st.image(overlay(pair.photo, side.cam))


@st.dialog("Where each model looks", width="large")
def heatmap_dialog(settings: Settings, run_id: str, path: str) -> None:
    """The heatmap pair of one test photo, in a dialog over the page."""
    with guard(stop=False):
        render_heatmap_pair(settings, run_id, path)
