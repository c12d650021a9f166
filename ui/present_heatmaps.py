"""Where the models look, for presenter mode: Grad-CAM pairs from engine.insight.gradcam (the
Insight work); without that module the presenter leaves the step out."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import streamlit as st

from engine.settings import Settings

if TYPE_CHECKING:  # present only once the Insight work has landed
    from engine.insight.gradcam import GradCam

GRADCAM_MODULE = "engine.insight.gradcam"


def available() -> bool:
    """Whether this installation has the Grad-CAM module."""
    try:
        return importlib.util.find_spec(GRADCAM_MODULE) is not None
    except (ModuleNotFoundError, ValueError):  # no engine.insight package at all
        return False


@st.cache_resource(show_spinner="Preparing the ImageNet model's gradients...")
def _zero_shot_explainer(settings: Settings) -> GradCam:
    from engine.insight.gradcam import GradCam

    return GradCam.zero_shot(settings)


@st.cache_resource(show_spinner="Preparing the trained model's gradients...", max_entries=4)
def _fine_tuned_explainer(settings: Settings, run_id: str) -> GradCam:
    from engine.insight.gradcam import GradCam

    from ui import models

    classifier = models.load_run_model(settings, run_id)
    return GradCam.fine_tuned(classifier.model, classifier.class_names)


@st.cache_data(show_spinner="Working out where each model looks...", max_entries=32)
def pair_png(settings: Settings, run_id: str, path: str) -> bytes:
    """PNG of both models' heatmaps over one photo, side by side, each under its answer.

    Raises:
        ImageError: the photo cannot be read.
        ModelUnavailableError: the run's model has no layout Grad-CAM can use.
    """
    from engine.insight.gradcam import explain_pair
    from engine.insight.heatmaps import pair_png as draw_pair

    pair = explain_pair(
        path,
        lambda: _zero_shot_explainer(settings),
        lambda: _fine_tuned_explainer(settings, run_id),
        settings.max_image_pixels,
    )
    return draw_pair(pair)
