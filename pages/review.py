"""Review labels: photos whose label the other photos disagree with; fix them on disk, undo,
retrain and compare."""

import streamlit as st

from ui import cache
from ui.errors import guard
from ui.retrain import render_retrain
from ui.review import find_suspects_ui, fix_permission_ui, render_fixes, render_suspects
from ui.setup import page_setup, require_dataset
from ui.text import md

settings = page_setup("Review labels")
data_dir, split_file = require_dataset()
st.caption(
    "Some photos may sit in the wrong class folder. A simple model is trained five times, each "
    "time without a fifth of the photos, and asked about the photos it did not see: the photos "
    f"it confidently puts in another class are listed first. Dataset: {md(data_dir)}"
)
with guard():
    dataset = cache.scan(data_dir, settings)
editable = fix_permission_ui(dataset, settings)
review = find_suspects_ui(dataset, split_file, settings)
if review is not None:
    render_suspects(review, dataset.root, editable, settings)
render_fixes(dataset.root, editable, settings)
render_retrain(dataset, editable, settings)
