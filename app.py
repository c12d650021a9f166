"""Transfer Lab entry point: page config and navigation over pages/ (pages draw the sidebar)."""

import importlib
import os
import sys
import threading

# TensorFlow reads this once, at import: unless the user chose a level, only fatal native logs
# (a machine without a GPU is not an error, yet it would print 'failed call to cuInit').
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Only light modules on this thread: the first page must not wait for TensorFlow (seconds).
import streamlit as st  # noqa: E402

from ui.navigation import PAGE_CONFIG, pages  # noqa: E402

st.set_page_config(**PAGE_CONFIG)
# TensorFlow takes seconds to import: load it while the person reads the first page, so the first
# click that needs a model (Run the demo, a photo to classify) does not wait for it.
if "ui.models" not in sys.modules:
    threading.Thread(
        target=importlib.import_module, args=("ui.models",), name="import-models", daemon=True
    ).start()
# The menu itself is drawn by every page's sidebar (ui/navigation.render_links).
st.navigation(pages(), position="hidden").run()
