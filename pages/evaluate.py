"""Evaluate: a finished run's test metrics next to zero-shot, confusion matrix, photo gallery."""

import streamlit as st

from engine.insight.flips import load_flip_board
from ui import cache
from ui.calibration import render_calibration
from ui.confusion import render_confusion
from ui.errors import guard
from ui.flips import render_flip_board
from ui.gallery import ERRORS_KEY, render_gallery
from ui.headline import render_headline
from ui.health import render_run_health
from ui.mapping import render_run_mapping
from ui.report import render_report_button
from ui.run_picker import pick_run_or_stop
from ui.setup import page_setup
from ui.tables import per_class_table
from ui.text import md

settings = page_setup("Evaluate")
store = cache.get_run_store(settings.runs_dir)
run_id = pick_run_or_stop(settings, "evaluate_run").run_id
with guard():
    run = store.load(run_id)
evaluation = run.evaluation
if run.info.status == "partial":
    st.info("Fine-tuning of this run was cancelled: these are its stage-1 model's results.")
render_headline(run)
render_run_health(store, run_id)

st.subheader("What training fixed, and what it broke")
render_flip_board(load_flip_board(store, run), settings, "evaluate")

st.subheader("Per class")
st.dataframe(per_class_table(evaluation.metrics.per_class, run.zero_shot))
with st.expander("Which ImageNet labels zero-shot counted as each class, and why"):
    render_run_mapping(store, run)

st.subheader("Confusion matrix")
st.caption("Click a square to show its photos below (click it again to clear), or pick classes.")
mistakes = evaluation.most_confused(3)
if mistakes:
    st.caption("Most confused: " + ", ".join(f"{md(t)} → {md(p)} ({n})" for t, p, n in mistakes))
true, predicted = render_confusion(
    evaluation.metrics.confusion, run.info.class_names, "gallery", reset_also=(ERRORS_KEY,)
)

st.subheader("Test photos")
render_gallery(evaluation, settings, true, predicted, run.info.run_id)
st.download_button(
    "Download every test photo's predictions (CSV)",
    evaluation.predictions_csv(),
    file_name=f"{run.info.run_id}-predictions.csv",
    mime="text/csv",
    key="evaluate_csv",
    icon=":material/download:",
)
render_report_button(settings, run.info.run_id, key="evaluate_report")

st.subheader("How far to trust its confidence")
render_calibration(store, settings, run_id, "evaluate")
