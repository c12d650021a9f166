"""Evaluate: a finished run's test metrics next to zero-shot, confusion matrix, photo gallery."""

from pathlib import Path

import streamlit as st

from ui import state
from ui.confusion import render_confusion
from ui.errors import guard
from ui.gallery import render_gallery
from ui.setup import page_setup
from ui.tables import per_class_table, percent

settings = page_setup("Evaluate")
store = state.get_run_store(settings.runs_dir)
with guard():
    runs = state.complete_runs(store)
if not runs:
    st.info("No finished training run yet: train one first, then come back here.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()

labels = {
    info.run_id: f"{info.created[:16]} · {Path(info.dataset).name} · {percent(info.test_accuracy)}"
    for info in runs
}
run_id = st.selectbox("Run", list(labels), format_func=labels.get, key="evaluate_run")
with guard():
    run = store.load(run_id)
metrics, zero_shot = run.metrics, run.metrics.get("zero_shot") or {}

left, right = st.columns(2)
zero_shot_accuracy = zero_shot.get("accuracy")
delta = None if zero_shot_accuracy is None else metrics["accuracy"] - zero_shot_accuracy
left.metric(
    "Fine-tuned accuracy",
    percent(metrics["accuracy"]),
    delta=None if delta is None else f"{delta * 100:+.1f} points vs zero-shot",
    border=True,
)
right.metric("Zero-shot ImageNet accuracy", percent(zero_shot_accuracy), border=True)
st.caption(f"Both on the same {len(run.predictions)} held-out test photos.")
if zero_shot.get("error"):
    st.caption(f"No zero-shot baseline for this run: {zero_shot['error']}")
if zero_shot.get("unmapped_classes"):
    st.caption("No ImageNet label for: " + ", ".join(zero_shot["unmapped_classes"]))

st.subheader("Per class")
st.dataframe(per_class_table(metrics["per_class"], zero_shot.get("per_class")))

st.subheader("Confusion matrix")
st.caption("Click a square to show its photos below, or pick the classes in the boxes.")
true, predicted = render_confusion(metrics["confusion"], run.info.class_names, key="gallery")

st.subheader("Test photos")
render_gallery(run.predictions, settings, true, predicted)
