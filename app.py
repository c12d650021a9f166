"""Transfer Lab entry point: page config and navigation over pages/ (pages draw the sidebar)."""

import os

# TensorFlow reads this once, at import: unless the user chose a level, only fatal native logs
# (a machine without a GPU is not an error, yet it would print 'failed call to cuInit').
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Only light modules here: st.navigation must run before anything imports TensorFlow (seconds).
import streamlit as st  # noqa: E402

from ui.navigation import PAGE_CONFIG, pages  # noqa: E402

st.set_page_config(**PAGE_CONFIG)
# The menu itself is drawn by every page's sidebar (ui/navigation.render_links).
st.navigation(pages(), position="hidden").run()
