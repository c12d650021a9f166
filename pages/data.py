"""Data: choose a dataset (sample, folder, .zip); class balance, the split, samples, skips."""

from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from engine.access import can_change
from engine.config import TrainConfig
from engine.data import archive, uploads
from engine.data.archive import ZipImport
from engine.data.paths import resolve_user_path
from engine.data.scan import Skipped
from engine.data.split import find_split_file, make_split
from engine.metrics import SMALL_CLASS, SMALL_TEST_SET
from engine.sample import sample_folder
from engine.settings import Settings
from ui import cache, session
from ui.charts import class_counts_figure
from ui.downloads import render_sample_download
from ui.errors import guard
from ui.health import render_health_check
from ui.image_grid import Card, render_grid
from ui.setup import page_setup
from ui.tables import skipped_table, split_table
from ui.text import md
from ui.uploads import upload_copy

SOURCES = ("Sample folder", "Folder path", "Upload a .zip")
SAMPLES_PER_CLASS = 6


def import_upload(upload: UploadedFile, settings: Settings) -> ZipImport:
    """Extract an uploaded zip once (the same content again reuses its first extraction)."""
    archive.check_upload_size(upload.name, upload.size, settings)
    if session.imported(upload.file_id) is None:
        with upload_copy(upload) as copy_path:
            result = archive.import_zip_report(copy_path, settings)
        session.remember_import(upload.file_id, upload.name, result)
    return session.imported(upload.file_id)


def choose_folder_ui(settings: Settings) -> tuple[Path | None, tuple[Skipped, ...], str]:
    """Source radio and its input; returns (folder or None, archive entries left out, how to
    name the dataset to the user)."""
    # The defaults follow the dataset already chosen: visiting this page never switches it.
    chosen = session.dataset_source(settings, SOURCES)
    sources = SOURCES if can_change(settings) else SOURCES[:2]  # viewers upload nothing
    source = st.radio(
        "Photos from",
        sources,
        index=sources.index(chosen) if chosen in sources else 0,
        horizontal=True,
        key="data_source",
    )
    if source == "Sample folder":
        sample = sample_folder(settings)
        if sample is None:
            st.info(
                "No sample photos yet: download them, set TLAB_DATA_DIR, or use another source."
            )
            render_sample_download(settings, key="data")
        return sample, (), f"the sample photos in {sample}"
    if source == "Folder path":
        typed = str(session.dataset()[0]) if chosen == "Folder path" else ""
        text = st.text_input(
            "Folder with one sub-folder of photos per class", typed, key="data_path"
        )
        roots = ", ".join(md(root) for root in settings.typed_roots) or "nowhere yet"
        st.caption(f"Allowed under: {roots}. More folders can be allowed with TLAB_DATA_ROOTS.")
        folder = resolve_user_path(text, settings) if text.strip() else None
        return folder, (), str(folder)
    upload = st.file_uploader(
        "Dataset .zip, one folder per class", type=["zip"], key=session.uploader_key()
    )
    if upload is not None:
        imported, name = import_upload(upload, settings), upload.name
    elif session.last_import() is not None:
        name, imported = session.last_import()
        st.caption(
            f"Using the photos of **{md(name)}** uploaded before; upload another to replace it."
        )
    else:
        return None, (), ""
    delete_upload_ui(imported.folder, settings)
    return imported.folder, imported.skipped, f"the uploaded {name}"


def delete_upload_ui(folder: Path, settings: Settings) -> None:
    """Delete this session's uploaded dataset (its extracted photos) for good."""
    if st.button("Delete this uploaded dataset", key="data_delete_upload"):
        uploads.delete_upload(folder, settings)
        session.forget_imports(settings)
        st.rerun()


settings = page_setup("Data")
with guard():
    folder, archive_skipped, shown = choose_folder_ui(settings)
if folder is None:
    st.stop()
with guard():
    dataset = cache.scan(folder, settings)
    split_file = find_split_file(folder)
    # The split a training with the default settings makes (what the Train page would use).
    split = make_split(dataset, TrainConfig(), split_file)

session.choose_dataset(folder, split_file)
st.success(
    f"Using {md(shown)}: {len(dataset.paths)} photos in {len(dataset.class_names)} classes"
    + (f", split as in {md(split_file.name)}." if split_file else ", split at random (seeded).")
)
tests = {name: parts["test"] for name, parts in split.counts().items()}
if sum(tests.values()) < SMALL_TEST_SET or min(tests.values()) < SMALL_CLASS:
    st.warning(
        f"The test part will hold only {sum(tests.values())} photos (at least {SMALL_CLASS} per "
        f"class and {SMALL_TEST_SET} in all are needed for a fair accuracy): add photos, or the "
        "accuracy will move a lot by chance."
    )
for warning in dataset.warnings:
    st.warning(md(warning))

counts = dataset.counts()
left, right = st.columns(2)
left.plotly_chart(class_counts_figure(counts), key="data_counts")
with right:
    st.markdown("**Photos per class in each part of the split**")
    st.dataframe(split_table(split.counts()), key="data_split")
    st.caption(
        "Training learns from *train*, picks when to stop on *validation*, and is scored on "
        "*test* only, photos it never saw. " + md(" ".join(split.notes))
    )

render_health_check(dataset, split_file, settings)

st.subheader("Samples")
for index, name in enumerate(dataset.class_names):
    paths = [p for p, label in zip(dataset.paths, dataset.labels, strict=True) if label == index]
    st.markdown(f"**{md(name)}** · {counts[name]} photos")
    render_grid([Card(str(p)) for p in paths[:SAMPLES_PER_CLASS]], settings, SAMPLES_PER_CLASS)

skipped = [*(Skipped(f"(zip) {e.path}", e.reason) for e in archive_skipped), *dataset.skipped]
if skipped:
    st.subheader(f"Skipped files ({len(skipped)})")
    st.caption(f"Paths are relative to {md(folder)}; (zip) marks entries left in the archive.")
    table, column_config = skipped_table(skipped)
    st.dataframe(table, hide_index=True, column_config=column_config, key="data_skipped")
