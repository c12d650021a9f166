"""Insight: how many photos a run needs (label-efficiency curve) and its photos' feature map."""

import streamlit as st

from engine.insight.curve import load_curve
from engine.insight.projection import load_projection
from ui import models
from ui.analysis import Analysis, saved_or_computed
from ui.feature_map import render_feature_map
from ui.label_curve import render_label_curve
from ui.run_picker import pick_run_or_stop
from ui.setup import page_setup

CURVE = Analysis("curve", load_curve, models.compute_curve)
FEATURE_MAP = Analysis("feature map", load_projection, models.compute_projection)

settings = page_setup("Insight")
run_id = pick_run_or_stop(settings, "insight_run").run_id

st.subheader("How many photos do we need?")
st.caption(
    "Each dot is a new model trained on only that many photos of each class and tested on the "
    "same held-out photos, so the line shows how accuracy grows as you add photos."
)
curve = saved_or_computed(settings, run_id, CURVE, key="insight_curve_compute")
if curve is not None:
    render_label_curve(curve, key=f"insight_curve_{run_id}")

st.subheader("Feature map")
st.caption(
    "Each dot is one test photo, placed by how the pretrained network sees it: photos it finds "
    "alike sit close together. Colours are the true classes; rings mark the trained model's "
    "mistakes."
)
feature_map = saved_or_computed(settings, run_id, FEATURE_MAP, key="insight_map_compute")
if feature_map is not None:
    render_feature_map(feature_map, settings, key=f"insight_map_{run_id}")
