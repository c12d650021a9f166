"""Data: choose a dataset (sample, folder, .zip); class balance, samples, skipped files."""

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from engine import datasets
from engine.datasets import Skipped, ZipImport
from engine.errors import ArchiveError
from engine.settings import Settings
from ui import state
from ui.errors import guard
from ui.image_grid import Card, render_grid
from ui.setup import page_setup

SOURCES = ("Sample folder", "Folder path", "Upload a .zip")
SAMPLES_PER_CLASS = 6


def import_upload(upload: UploadedFile, settings: Settings) -> ZipImport:
    """Extract an uploaded zip once per upload; reruns reuse the extracted folder."""
    limit_mb = settings.max_upload_mb
    if upload.size > limit_mb * 2**20:
        raise ArchiveError(
            f"The .zip is {upload.size / 2**20:.0f} MB, over the {limit_mb} MB limit "
            "(TLAB_MAX_UPLOAD_MB). Upload a smaller archive or raise the limit."
        )
    imported = st.session_state.setdefault("data_imports", {})
    if upload.file_id not in imported:
        with tempfile.TemporaryDirectory() as folder:
            # Keep the uploaded name: the engine's messages and the new folder are named after it.
            archive = Path(folder) / Path(upload.name).name
            with archive.open("wb") as copy:
                shutil.copyfileobj(upload, copy)
            imported[upload.file_id] = datasets.import_zip_report(archive, settings)
    return imported[upload.file_id]


def choose_folder_ui(settings: Settings) -> tuple[Path | None, tuple[Skipped, ...]]:
    """Source radio and its input; returns (folder or None, archive entries left out)."""
    source = st.radio("Photos from", SOURCES, horizontal=True, key="data_source")
    if source == "Sample folder":
        if settings.data_dir is None:
            st.info("No sample folder: set TLAB_DATA_DIR and restart, or use another source.")
        return settings.data_dir, ()
    if source == "Folder path":
        text = st.text_input("Folder with one sub-folder of photos per class", key="data_path")
        st.caption("Allowed under: " + ", ".join(f"`{root}`" for root in settings.data_roots))
        return (datasets.resolve_user_path(text, settings) if text.strip() else None), ()
    upload = st.file_uploader("Dataset .zip, one folder per class", type=["zip"], key="data_zip")
    if upload is None:
        return None, ()
    imported = import_upload(upload, settings)
    return imported.folder, imported.skipped


settings = page_setup("Data")
with guard():
    folder, archive_skipped = choose_folder_ui(settings)
if folder is None:
    st.stop()
with guard():
    dataset = state.scan(folder, settings)

split_file = state.default_split_file(folder)
st.session_state["dataset_dir"] = str(folder)
st.session_state["split_file"] = str(split_file or "")
st.success(
    f"Using `{folder}`: {len(dataset.paths)} photos in {len(dataset.class_names)} classes"
    + (f", split as in `{split_file.name}`." if split_file else ", split at random (seeded).")
)
for warning in dataset.warnings:
    st.warning(warning)

counts = dataset.counts()
figure = go.Figure(go.Bar(x=list(counts), y=list(counts.values()), text=list(counts.values())))
figure.update_layout(title="Photos per class", height=320, margin={"t": 40, "b": 10})
st.plotly_chart(figure, key="data_counts")

st.subheader("Samples")
for index, name in enumerate(dataset.class_names):
    paths = [p for p, label in zip(dataset.paths, dataset.labels, strict=True) if label == index]
    st.markdown(f"**{name}** · {counts[name]} photos")
    render_grid([Card(str(p)) for p in paths[:SAMPLES_PER_CLASS]], settings, SAMPLES_PER_CLASS)

skipped = [*archive_skipped, *dataset.skipped]
if skipped:
    st.subheader(f"Skipped files ({len(skipped)})")
    st.dataframe(pd.DataFrame([asdict(entry) for entry in skipped]), hide_index=True)
