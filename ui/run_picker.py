"""A choice of the finished runs that have a model, newest first, kept across reruns."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine.run_record import RunInfo
from engine.settings import Settings
from ui import cache
from ui.errors import guard


def pick_run(
    settings: Settings, key: str, label: str = "Trained run", prefer: Path | None = None
) -> RunInfo | None:
    """The chosen run, None when no run has a model yet (nothing is drawn then); newest
    first, runs on the dataset prefer before the others."""
    runs = [info for info in cache.get_run_store(settings.runs_dir).list() if info.has_model]
    if not runs:
        return None
    runs.sort(key=lambda info: prefer is None or Path(info.dataset) != prefer)  # stable
    titles = {info.run_id: info.title for info in runs}
    if st.session_state.get(key) not in titles:
        # Opened before this run existed (or after it was deleted): show the first, not an
        # empty choice that reads as "no trained run" (popping the key is not enough: the
        # browser would keep showing "Choose an option").
        st.session_state[key] = runs[0].run_id
    run_id = st.selectbox(label, list(titles), format_func=titles.get, key=key)
    return next(info for info in runs if info.run_id == run_id)


def pick_run_or_stop(settings: Settings, key: str) -> RunInfo:
    """pick_run; when no run has a model yet, a pointer to the Train page, and the page stops."""
    with guard():
        info = pick_run(settings, key, label="Run")
    if info is None:
        st.info("No finished training run yet: train one first, then come back here.")
        st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
        st.stop()
    return info
