"""Downloads a first use needs, drawn with their size first and a progress bar: the sample
photos (Demo and Data pages) and the model files (before a model loads or a training starts)."""

from __future__ import annotations

import logging

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from engine import model_files, sample
from engine.access import can_change
from engine.data.split import find_split_file
from engine.downloads import Progress, host_of
from engine.errors import DownloadError
from engine.settings import Settings
from ui import session
from ui.errors import guard
from ui.text import md

logger = logging.getLogger("transfer_lab.ui")
_MB = 2**20


@st.cache_data(ttl=60, show_spinner=False)
def _announced_size(settings: Settings) -> tuple[int | None, str]:
    """(the archive's size or None, why it cannot be had or ''): asked once a minute."""
    try:
        return sample.sample_size(settings), ""
    except DownloadError as error:
        return None, str(error)


def _amount(num_bytes: int) -> str:
    return f"{num_bytes / _MB:.0f} MB" if num_bytes >= _MB else f"{num_bytes / 1024:.0f} kB"


def _shown_on(bar: DeltaGenerator, verb: str) -> Progress:
    """A progress callback drawing '<verb>: 45 MB of 218 MB' on bar, once per percent (or
    per MB without a total): each redraw is a message to the browser."""
    shown = [-1]

    def show(done: int, total: int | None) -> None:
        step = done * 100 // total if total else done // _MB
        if step == shown[0]:
            return
        shown[0] = step
        fraction = min(done / total, 1.0) if total else 0.0
        amount = f"{_amount(done)} of {_amount(total)}" if total else _amount(done)
        bar.progress(fraction, text=f"{verb}: {amount}")

    return show


def render_sample_download(settings: Settings, key: str) -> None:
    """**Download the sample photos** (with their size) and its progress; offline, one line
    saying so and which setting to use. Once downloaded, the photos become this session's
    dataset and the page reruns. key prefixes the widget keys ('home', 'data')."""
    if not can_change(settings):
        st.info(
            "This app is in viewer mode, so it cannot download the sample photos; ask whoever "
            "runs it to set TLAB_DATA_DIR."
        )
        return
    size, problem = _announced_size(settings)
    label = "Download the sample photos" + (f" ({_amount(size)})" if size else "")
    clicked = st.button(label, type="primary", key=f"{key}_download", icon=":material/download:")
    if not clicked:
        if problem:
            st.warning(md(problem))
        else:
            st.caption(
                f"Once, from {md(host_of(settings.sample_url))}, into the Keras "
                f"cache ({md(sample.keras_home() / 'datasets')}); later visits use that copy."
            )
        return
    folder = None
    bar = st.progress(0.0, text="Connecting...")
    with guard(stop=False):
        try:
            folder = sample.download_sample(
                settings,
                _shown_on(bar, "Downloading the sample photos"),
                _shown_on(bar, "Extracting the photos"),
            )
        finally:
            bar.empty()
    if folder is not None:
        session.choose_dataset(folder, find_split_file(folder))
        st.rerun()


def prefetch_model_files(settings: Settings) -> None:
    """Download the model files not here yet, each with its own progress bar (nothing when
    they are, or in viewer mode, where the libraries fetch them on first use themselves)."""
    if not can_change(settings):
        return
    for item in model_files.missing_model_files(settings):
        bar = st.progress(0.0, text=f"Downloading {item.title}...")
        try:
            model_files.fetch_model_file(
                settings, item, _shown_on(bar, f"Downloading {item.title}")
            )
        except DownloadError as error:  # the model's own loader then says which setting to set
            logger.warning("Could not fetch %s ahead: %s", item.title, error)
        finally:
            bar.empty()
