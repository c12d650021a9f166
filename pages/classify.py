"""Classify: one photo through the zero-shot and the fine-tuned model, side by side."""

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from engine import images
from engine.settings import Settings
from ui import state
from ui.errors import guard
from ui.setup import page_setup
from ui.tables import percent
from ui.topk_bars import render_topk, top_k_pairs

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


def render_zero_shot(photo: UploadedFile, settings: Settings) -> None:
    """ImageNet top-5 of the Hub MobileNetV2."""
    classifier = state.load_zero_shot(settings)
    array = images.load_array(photo, classifier.input_size, settings.max_image_pixels)
    render_topk(classifier.top_k(array[None], TOP_K)[0], "classify_zs")


def run_ui(settings: Settings) -> str | None:
    """The fine-tuned run to compare with (newest complete first), None when there is none."""
    runs = state.complete_runs(state.get_run_store(settings.runs_dir))
    labels = {info.run_id: f"{info.run_id} · {percent(info.test_accuracy)}" for info in runs}
    return st.selectbox("Fine-tuned run", list(labels), format_func=labels.get, key="classify_run")


def render_fine_tuned(photo: UploadedFile, settings: Settings, run_id: str | None) -> None:
    """Top-k of the chosen run's model, or a note that there is no run yet."""
    if run_id is None:
        st.info("No fine-tuned run yet, so only the zero-shot answer is shown. Train one first.")
        return
    model = state.load_run_model(settings.runs_dir, run_id)
    array = images.load_array(photo, model.input_size, settings.max_image_pixels)
    pairs = top_k_pairs(model.predict_proba(array[None])[0], model.class_names, TOP_K)
    render_topk(pairs, "classify_ft")


settings = page_setup("Classify a photo")
with guard():
    run_id = run_ui(settings)
photo = photo_ui()
if photo is None:
    st.info("Upload a photo (or switch on the camera) to see what both models say.")
    st.stop()
with guard():
    st.image(images.thumbnail(photo, 320, settings.max_image_pixels))
left, right = st.columns(2)
left.subheader("Zero-shot (ImageNet labels)")
right.subheader("Fine-tuned on your classes")
with left, guard(stop=False):
    render_zero_shot(photo, settings)
with right, guard(stop=False):
    render_fine_tuned(photo, settings, run_id)
