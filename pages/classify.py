"""Classify: one photo through the zero-shot and the trained model, side by side."""

from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from engine import images
from engine.classifiers import Classifier
from engine.run_record import RunInfo
from engine.settings import Settings
from ui import cache, models, session
from ui.downloads import prefetch_model_files
from ui.errors import guard
from ui.setup import page_setup
from ui.text import md
from ui.topk_bars import render_topk

TOP_K = 5


def photo_ui() -> UploadedFile | None:
    """The uploaded (or camera) photo, None until there is one.

    The engine reads the upload as a named stream, so its messages name the file.
    """
    if st.toggle("Use the camera", key="classify_camera"):
        photo = st.camera_input("Take a photo", key="classify_camera_photo")
    else:
        photo = st.file_uploader(
            "Photo to classify",
            type=[ext.lstrip(".") for ext in images.IMAGE_EXTENSIONS],
            key="classify_upload",
        )
    return photo


def run_ui(settings: Settings) -> RunInfo | None:
    """The trained run to compare with, None when there is none: newest first, those on the
    dataset this session uses before the others."""
    runs = [info for info in cache.get_run_store(settings.runs_dir).list() if info.has_model]
    folder, _ = session.dataset()
    runs.sort(key=lambda info: folder is None or Path(info.dataset) != folder)  # stable
    titles = {info.run_id: info.title for info in runs}
    if st.session_state.get("classify_run") not in titles:
        # Opened before this run existed (or after it was deleted): start on the newest
        # instead of an empty choice that reads as "no trained run".
        st.session_state.pop("classify_run", None)
    run_id = st.selectbox("Trained run", list(titles), format_func=titles.get, key="classify_run")
    info = next((info for info in runs if info.run_id == run_id), None)
    if info is not None:
        st.caption("Its classes: " + ", ".join(md(name) for name in info.class_names))
    return info


def render_answer(photo: UploadedFile, model: Classifier, settings: Settings, key: str) -> None:
    """The model's top-k for the photo, as words and bars."""
    array = images.load_array(photo, model.input_size, settings.max_image_pixels)
    render_topk(model.top_k(array[None], TOP_K)[0], key)


settings = page_setup("Classify a photo")
with guard():
    run = run_ui(settings)
photo = photo_ui()
if photo is None:
    st.info("Upload a photo (or switch on the camera) to see what both models say.")
    st.stop()
with guard():
    st.image(images.thumbnail(photo, 320, settings.max_image_pixels))
left, right = st.columns(2)
left.subheader("Zero-shot (ImageNet labels)")
right.subheader("Trained on your classes")
prefetch_model_files(settings)  # first use online: the download shows its progress
with left, guard(stop=False):
    render_answer(photo, models.load_zero_shot(settings), settings, "classify_zs")
with right, guard(stop=False):
    if run is None:
        st.info("No trained run yet, so only the zero-shot answer is shown. Train one first.")
    else:
        trained = models.load_run_model(settings, run.run_id)
        render_answer(photo, trained, settings, "classify_ft")
