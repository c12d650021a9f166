"""Batch classify widgets: an uploaded zip's photos, the progress bar, the answers and the CSV."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.uploaded_file_manager import UploadedFile

from engine.batch.photos import Photos, open_zip
from engine.batch.result import Answer, BatchResult
from engine.data.archive import check_upload_size
from engine.settings import Settings
from ui import session
from ui.tables import skipped_table
from ui.uploads import upload_copy


def extract_upload(upload: UploadedFile, settings: Settings) -> Photos:
    """The photos of an uploaded .zip, extracted once (the same content again reuses it).

    Raises:
        ArchiveError: too big, not a zip, unsafe, or no photos inside.
        ReadOnlyError: viewer mode.
    """
    check_upload_size(upload.name, upload.size, settings)
    photos = session.batch_import(upload.file_id)
    if photos is None:
        with upload_copy(upload) as copy_path:
            photos = open_zip(copy_path, settings)
        session.remember_batch_import(upload.file_id, photos)
    return photos


def count(number: int, noun: str) -> str:
    """'1 photo', '3 photos' (nouns that take an s)."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def progress_bar(total: int) -> tuple[DeltaGenerator, Callable[[int, int], None]]:
    """A progress bar and the on_batch(done, total) callback that moves it."""
    bar = st.progress(0.0, text=f"Classifying {total} photos...")

    def update(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Classified {done} of {total} photos")

    return bar, update


def answers_table(result: BatchResult) -> tuple[pd.DataFrame, dict]:
    """One row per photo: each model's top-1 and how sure it is (0-100%), 'not sure' marks."""
    rows = []
    for row in result.rows:
        values = {"file": row.file}
        if result.zero_shot:
            values["zero-shot (ImageNet)"] = row.zero_shot.label if row.zero_shot else None
            values["zero-shot sure"] = _percent(row.zero_shot)
        if result.run_id is not None:
            values["trained model"] = row.fine_tuned.label if row.fine_tuned else None
            values["trained sure"] = _percent(row.fine_tuned)
        if result.threshold is not None:
            values["not sure"] = bool(row.not_sure)
        rows.append(values)
    sure = {"format": "%.0f%%", "min_value": 0, "max_value": 100}
    column_config = {
        "file": st.column_config.TextColumn("file", width="medium"),
        "zero-shot sure": st.column_config.ProgressColumn("zero-shot sure", **sure),
        "trained sure": st.column_config.ProgressColumn("trained sure", **sure),
    }
    return pd.DataFrame(rows), column_config


def _csv_name(name: str) -> str:
    """<name>-answers.csv; name comes from a folder or upload: only characters safe anywhere."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:60]
    return f"{safe or 'photos'}-answers.csv"


def _percent(answer: Answer | None) -> float | None:
    return None if answer is None else 100 * answer.probability


def render_result(result: BatchResult, name: str) -> None:
    """Notes, the answers table, the files left out and the CSV download (<name>-answers.csv)."""
    for note in result.notes:
        st.warning(note)
    st.subheader(f"Answers ({count(len(result.rows), 'photo')})")
    st.caption(
        "Each row is one photo: the label the off-the-shelf ImageNet model gives it without "
        "any training on your photos (zero-shot), the class your trained model gives it, and "
        "how sure each one is."
    )
    if result.threshold is not None:
        st.caption(
            f"*Not sure*: the trained model is less than {result.threshold:.0%} sure, the "
            f"threshold chosen for this run ({count(result.num_not_sure(), 'photo')})."
        )
    table, column_config = answers_table(result)
    st.dataframe(table, hide_index=True, column_config=column_config, key="batch_table")
    st.download_button(
        "Download every photo's answers (CSV)",
        result.to_csv(),
        file_name=_csv_name(name),
        mime="text/csv",
        key="batch_csv",
        icon=":material/download:",
    )
    if result.skipped:
        st.subheader(f"Left out ({len(result.skipped)})")
        st.caption("Files that are not photos or could not be read, and why.")
        left_out, column_config = skipped_table(result.skipped)
        st.dataframe(left_out, hide_index=True, column_config=column_config, key="batch_skipped")
