"""The app's pages, listed once: app.py routes with them and the sidebar links to them.

Streamlit's own page menu is switched off (client.showSidebarNavigation): before app.py has
run once in a fresh server, a deep link such as /data would otherwise show the automatic menu
of the pages/ folder; these links look the same whichever way a page was opened.
"""

from __future__ import annotations

import streamlit as st

PAGES = (
    ("pages/home.py", "Demo", ":material/home:"),
    ("pages/data.py", "Data", ":material/folder_open:"),
    ("pages/review.py", "Review labels", ":material/fact_check:"),
    ("pages/zero_shot.py", "Zero-shot", ":material/visibility:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/evaluate.py", "Evaluate", ":material/analytics:"),
    ("pages/insight.py", "Insight", ":material/insights:"),
    ("pages/classify.py", "Classify", ":material/photo_camera:"),
    ("pages/batch.py", "Batch classify", ":material/photo_library:"),
    ("pages/runs.py", "Runs", ":material/history:"),
    ("pages/present.py", "Present", ":material/slideshow:"),
)
PAGE_CONFIG = {"page_title": "Transfer Lab", "page_icon": ":material/science:", "layout": "wide"}


def pages() -> list:
    """st.Page objects for st.navigation (the first is the default)."""
    return [
        st.Page(path, title=title, icon=icon, default=index == 0)
        for index, (path, title, icon) in enumerate(PAGES)
    ]


def render_links() -> None:
    """One link per page, in the sidebar."""
    for path, title, icon in PAGES:
        st.page_link(path, label=title, icon=icon)
