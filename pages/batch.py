"""Batch classify: every photo of a folder or .zip through both models, as a table and a CSV."""

from pathlib import Path

import streamlit as st

from engine.access import can_change
from engine.batch.photos import Photos, list_photos
from engine.data.paths import resolve_user_path
from engine.settings import Settings
from ui import models, session
from ui.batch import count, extract_upload, progress_bar, render_result
from ui.errors import guard
from ui.run_picker import pick_run
from ui.setup import page_setup
from ui.text import md

SOURCES = ("Folder path", "Upload a .zip")


def photos_ui(settings: Settings) -> tuple[Photos | None, str]:
    """The photos to classify (a typed folder under the allowed roots, or an uploaded .zip,
    which viewer mode does not offer) and how to name them; (None, '') until chosen."""
    sources = SOURCES if can_change(settings) else SOURCES[:1]
    source = st.radio("Photos from", sources, horizontal=True, key="batch_source")
    if source == "Folder path":
        text = st.text_input(
            "Folder of photos (sub-folders are searched too)",
            str(settings.data_dir or ""),
            key="batch_path",
        )
        roots = ", ".join(md(root) for root in settings.typed_roots) or "nowhere yet"
        st.caption(f"Allowed under: {roots}. More folders can be allowed with TLAB_DATA_ROOTS.")
        if not text.strip():
            return None, ""
        folder = resolve_user_path(text, settings)
        return list_photos(folder, settings), folder.name
    upload = st.file_uploader("A .zip of photos", type=["zip"], key="batch_zip")
    if upload is None:
        return None, ""
    return extract_upload(upload, settings), Path(upload.name).stem


settings = page_setup("Batch classify")
st.caption(
    "Label every photo of a folder at once with both models, compare their answers, and "
    "download them as a spreadsheet."
)
with guard():
    photos, name = photos_ui(settings)
if photos is None:
    st.info("Type a folder of photos, or upload a .zip of photos.")
    st.stop()
with guard():
    run = pick_run(settings, "batch_run")
if run is None:
    st.info("No trained run yet, so only the zero-shot answers are given. Train one first.")
left_out = f" ({count(len(photos.skipped), 'other file')} left out)" if photos.skipped else ""
st.caption(f"{count(len(photos.files), 'photo')} found in {md(name)}{left_out}.")

key = (str(photos.root), None if run is None else run.run_id)
if st.button(f"Classify {len(photos.files)} photos", key="batch_start", type="primary"):
    bar, update = progress_bar(len(photos.files))
    with guard():
        try:
            result = models.classify_batch(settings, photos, key[1], update)
        finally:
            bar.empty()
        session.remember_batch_result(key, result)
result = session.batch_result(key)
if result is not None:
    render_result(result, name)
