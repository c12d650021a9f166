"""Classify: one photo through the zero-shot and the trained model, side by side."""

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from engine import images
from engine.classifiers import Classifier
from engine.run_record import RunInfo
from engine.settings import Settings
from ui import models, session
from ui.calibration import render_trained_answer
from ui.errors import guard
from ui.heatmaps import render_heatmap_pair
from ui.run_picker import pick_run
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
    info = pick_run(settings, "classify_run", prefer=session.dataset()[0])
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
with left, guard(stop=False):
    render_answer(photo, models.load_zero_shot(settings), settings, "classify_zs")
with right, guard(stop=False):
    if run is None:
        st.info("No trained run yet, so only the zero-shot answer is shown. Train one first.")
    else:
        answer, rule = models.trained_answer(settings, run.run_id, photo, TOP_K)
        render_trained_answer(answer, rule, "classify_ft")
if run is not None and st.toggle("Show where each model looks", key="classify_heatmaps"):
    with guard(stop=False):
        render_heatmap_pair(settings, run.run_id, photo.getvalue())
