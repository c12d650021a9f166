"""Transfer Lab entry point: page config and navigation over pages/ (pages draw the sidebar)."""

import os

# TensorFlow reads this once, at import: unless the user chose a level, only fatal native logs
# (a machine without a GPU is not an error, yet it would print 'failed call to cuInit').
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Only streamlit here: st.navigation must run before anything imports TensorFlow (seconds),
# or a first visitor meanwhile gets Streamlit's automatic menu of the pages/ folder.
import streamlit as st  # noqa: E402

st.set_page_config(page_title="Transfer Lab", page_icon=":material/science:", layout="wide")

page = st.navigation(
    [
        st.Page("pages/home.py", title="Demo", icon=":material/home:", default=True),
        st.Page("pages/data.py", title="Data", icon=":material/folder_open:"),
        st.Page("pages/zero_shot.py", title="Zero-shot", icon=":material/visibility:"),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
        st.Page("pages/classify.py", title="Classify", icon=":material/photo_camera:"),
        st.Page("pages/runs.py", title="Runs", icon=":material/history:"),
    ]
)
page.run()
