"""Evaluate: a finished run's test metrics next to zero-shot, confusion matrix, photo gallery."""

from pathlib import Path

import streamlit as st

from ui import cache
from ui.confusion import render_confusion
from ui.errors import guard
from ui.gallery import render_gallery
from ui.setup import page_setup
from ui.tables import per_class_table, percent

settings = page_setup("Evaluate")
store = cache.get_run_store(settings.runs_dir)
with guard():
    runs = store.list(status="complete")
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
evaluation, zero_shot = run.evaluation, run.zero_shot
metrics = evaluation.metrics

left, right = st.columns(2)
zero_shot_accuracy = zero_shot.metrics.accuracy if zero_shot else None
delta = None if zero_shot_accuracy is None else evaluation.accuracy - zero_shot_accuracy
left.metric(
    "Fine-tuned accuracy",
    percent(evaluation.accuracy),
    delta=None if delta is None else f"{delta * 100:+.1f} points vs zero-shot",
    border=True,
)
right.metric("Zero-shot ImageNet accuracy", percent(zero_shot_accuracy), border=True)
st.caption(f"Both on the same {len(evaluation.predictions)} held-out test photos.")
if run.zero_shot_error:
    st.caption(f"No zero-shot baseline for this run: {run.zero_shot_error}")
if zero_shot and zero_shot.unmapped_classes:
    st.caption("No ImageNet label for: " + ", ".join(zero_shot.unmapped_classes))

st.subheader("Per class")
st.dataframe(
    per_class_table(
        evaluation.metrics.per_class, zero_shot.metrics.per_class if zero_shot else None
    )
)

st.subheader("Confusion matrix")
st.caption("Click a square to show its photos below, or pick the classes in the boxes.")
mistakes = evaluation.most_confused(3)
if mistakes:
    st.caption("Most confused: " + ", ".join(f"{t} → {p} ({n})" for t, p, n in mistakes))
true, predicted = render_confusion(
    evaluation.metrics.confusion, run.info.class_names, key="gallery"
)

st.subheader("Test photos")
render_gallery(evaluation, settings, true, predicted)
