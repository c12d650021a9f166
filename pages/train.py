"""Train: a config form starts a background fine-tuning; live progress, curves and Cancel."""

import streamlit as st

from engine.access import can_change
from engine.errors import JobBusyError
from ui import cache, models, session
from ui.errors import guard
from ui.progress import render_job_progress
from ui.setup import page_setup, require_dataset
from ui.text import md
from ui.train_form import config_form_ui

settings = page_setup("Train")
data_dir, split_file = require_dataset()
mapping = session.mapping(data_dir)
split_text = md(split_file.name) if split_file else "random (seeded)"
st.caption(
    f"Dataset {md(data_dir)} · split: {split_text} · zero-shot mapping: "
    f"{'edited' if mapping else 'automatic'}"
)
manager = cache.get_job_manager(settings)
config = None
if can_change(settings):
    config = config_form_ui(settings)
else:
    st.info("Viewer mode: trainings can be watched here, not started (TLAB_MODE=viewer).")
if config is not None:
    with guard(stop=False):
        try:
            models.start_training(settings, data_dir, config, split_file, mapping)
        except JobBusyError:
            st.warning("A job is running: wait for it to finish, or cancel it below.")
render_job_progress(manager, key="train")
