"""An analysis saved with a run (curve, feature map): read it back, or compute it with progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import streamlit as st

from engine.access import can_change
from engine.runs import RunStore
from engine.schema import RecordError
from engine.settings import Settings
from ui import cache
from ui.errors import guard
from ui.text import md

if TYPE_CHECKING:  # the features module loads TensorFlow; this page part must not
    from engine.insight.features import ProgressCallback

T = TypeVar("T")


@dataclass(frozen=True)
class Analysis(Generic[T]):
    """What the page needs to show one kind of saved analysis."""

    what: str  # in words, e.g. 'curve'
    load: Callable[[RunStore, str], T | None]  # the engine's reader (None: not computed yet)
    compute: Callable[[Settings, str, ProgressCallback], T]  # computes and saves it


def saved_or_computed(settings: Settings, run_id: str, analysis: Analysis[T], key: str) -> T | None:
    """The run's saved analysis; editors also get a button that computes (or recomputes) it
    with a progress bar. A damaged saved one is named, never a crash."""
    saved = None
    with guard(stop=False):
        try:
            saved = analysis.load(cache.get_run_store(settings.runs_dir), run_id)
        except RecordError as exc:
            st.warning(f"The saved {analysis.what} of this run cannot be read ({md(exc)}).")
    if not can_change(settings):
        if saved is None:
            st.info(
                f"No {analysis.what} has been computed for this run yet, and this app is "
                "view-only: ask whoever runs it to compute one."
            )
        return saved
    label = f"Compute the {analysis.what} again" if saved else f"Compute the {analysis.what}"
    if st.button(label, key=key, icon=":material/play_arrow:"):
        bar = st.progress(0.0, text="Starting...")
        try:
            with guard(stop=False):
                saved = analysis.compute(settings, run_id, lambda f, text: bar.progress(f, text))
        finally:
            bar.empty()
    return saved
