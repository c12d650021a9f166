"""A choice of the finished runs that have a model, newest first, kept across reruns."""

from __future__ import annotations

import streamlit as st

from engine.run_record import RunInfo
from engine.settings import Settings
from ui import cache


def pick_run(settings: Settings, key: str, label: str = "Trained run") -> RunInfo | None:
    """The chosen run, None when no run has a model yet (nothing is drawn then)."""
    runs = [info for info in cache.get_run_store(settings.runs_dir).list() if info.has_model]
    if not runs:
        return None
    titles = {info.run_id: info.title for info in runs}
    if st.session_state.get(key) not in titles:
        # Chosen before that run was deleted: start on the newest, not on an empty choice.
        st.session_state.pop(key, None)
    run_id = st.selectbox(label, list(titles), format_func=titles.get, key=key)
    return next(info for info in runs if info.run_id == run_id)
