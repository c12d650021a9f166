"""The 'Download report' button: a run as one HTML file people can forward, built on click."""

from __future__ import annotations

from functools import partial

import streamlit as st

from engine.report import run_report
from engine.settings import Settings
from ui import cache


def render_report_button(settings: Settings, run_id: str, key: str) -> None:
    """The button (viewers too: nothing is written) and what the file holds.

    The report is built only when the button is pressed, in memory, never on a rerun.
    """
    store = cache.get_run_store(settings.runs_dir)
    st.download_button(
        "Download report",
        data=partial(run_report, store, run_id, settings.max_image_pixels),
        file_name=f"{run_id}-report.html",
        mime="text/html",
        key=key,
        icon=":material/description:",
    )
    st.caption(
        "One web page with these results, the charts and example photos; it opens without "
        "internet, so it can be e-mailed."
    )
