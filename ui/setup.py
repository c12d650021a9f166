"""What every page does first (settings, session defaults) and the sidebar shown everywhere."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine.access import can_change
from engine.jobs import JobManager
from engine.settings import Settings
from ui import cache, session
from ui.errors import guard
from ui.navigation import PAGE_CONFIG, render_links
from ui.text import md


def page_setup(title: str) -> Settings:
    """Sidebar, page title and session defaults; returns the settings.

    A bad TLAB_* variable is shown as an error and the page stops there.
    """
    st.set_page_config(**PAGE_CONFIG)  # again: a deep link can run a page without app.py
    render_sidebar()
    st.title(title)
    with guard():
        settings = cache.get_settings()
    session.init(settings)
    return settings


def require_dataset() -> tuple[Path, Path | None]:
    """The dataset chosen on the Data page (default: the sample folder) and its split file.

    Stops the page with a hint when there is none.
    """
    folder, split_file = session.dataset()
    if folder is None:
        st.info(
            "No dataset yet. Choose one on the **Data** page, or set TLAB_DATA_DIR to a folder "
            "with one sub-folder of photos per class and restart the app."
        )
        st.page_link("pages/data.py", label="Choose a dataset", icon=":material/folder_open:")
        st.stop()
    return folder, split_file


def render_sidebar() -> None:
    """Where models and data come from, and the running job in one line."""
    with st.sidebar:
        render_links()
        with guard(stop=False):
            settings = cache.get_settings()
            _job_status(cache.get_job_manager(settings))
            if not can_change(settings):
                st.caption(
                    ":material/visibility: **Viewer mode**: look only. Training, uploads, "
                    "exports and deleting are off (TLAB_MODE=viewer)."
                )
            with st.expander("Where models load from"):
                for name, value in settings.describe().items():
                    st.caption(f"**{name}:** {md(value)}")


# Every rerun makes Streamlit clear the Keras session; a one-line status need not be fresher.
@st.fragment(run_every=5.0)
def _job_status(manager: JobManager) -> None:
    with guard(stop=False):
        snapshot = manager.snapshot()
        st.caption(snapshot.summary())
        if snapshot.state != "idle":
            st.page_link("pages/train.py", label="Training details", icon=":material/timeline:")
