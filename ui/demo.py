"""The Demo's one-click training with the defaults, shared by the Demo and presenter mode."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine.config import TrainConfig
from engine.data.split import find_split_file
from engine.errors import JobBusyError
from engine.runs import RunStore
from engine.settings import Settings
from ui import session


def start_fresh_run(settings: Settings, store: RunStore, data_dir: Path) -> None:
    """Train with the defaults on the sample photos; the Demo then shows that run."""
    from ui import models  # loads TensorFlow: only once a training starts

    try:
        split_file = find_split_file(data_dir)
        job_id = models.start_training(settings, data_dir, TrainConfig(), split_file)
    except JobBusyError:
        st.warning("A training job is running; the demo can start when it has finished.")
        return
    store.pin_demo(None)  # the fresh run, not an earlier pinned one, is what to show
    session.watch_demo_job(job_id)
