"""Retrain after label fixes with one click (the job manager, as the Train page) and the
accuracy before and after, on the same test photos."""

from __future__ import annotations

import streamlit as st

from engine.data.scan import Dataset
from engine.errors import JobBusyError, RunNotFoundError
from engine.health import fixes
from engine.health.retrain import (
    LabelFixes,
    comparable_runs,
    fix_counts,
    fixed_split_file,
    label_fixes_of,
    save_comparison,
)
from engine.run_record import RunInfo
from engine.runs import RunStore
from engine.settings import Settings
from ui import cache, session
from ui.errors import guard
from ui.progress import render_job_progress
from ui.tables import percent
from ui.text import md


def render_retrain(dataset: Dataset, editable: bool, settings: Settings) -> None:
    """Retrain button (once fixes exist), the running job, and before/after accuracy."""
    store = cache.get_run_store(settings.runs_dir)
    with guard(stop=False):
        runs = comparable_runs(store, dataset.root, dataset.class_names)
        _save_finished_retrain(store, settings)
        compared = _newest_comparison(store, runs)
        if not editable and compared is None:
            return
        st.subheader("Retrain with the fixes")
        if compared is not None:
            _render_comparison(store, *compared)
        if editable:
            _retrain_ui(store, dataset, runs, settings)
    render_job_progress(cache.get_job_manager(settings), key="review")


def _retrain_ui(store: RunStore, dataset: Dataset, runs: list[RunInfo], settings: Settings) -> None:
    applied = fixes.applied_fixes(dataset.root)
    if not runs:
        st.caption("Train once on this dataset (Train page) to compare before and after.")
        return
    before = runs[0]
    st.caption(
        f"Trains again with the recipe of {md(before.title)} on its own split, with the fixes "
        "applied, and tests on exactly its test photos: the only change is the labels."
    )
    if not st.button("Retrain with the fixes", key="review_retrain", disabled=not applied):
        return
    record = store.load(before.run_id).split
    if record is None:
        st.error("That run was saved before runs recorded their split; train it again first.")
        return
    split_file, excluded = fixed_split_file(record, applied, settings)
    from ui import models  # loads TensorFlow, only once a retraining starts

    try:
        job_id = models.start_training(
            settings, dataset.root, before.config, split_file, session.mapping(dataset.root)
        )
    except JobBusyError:
        st.warning("A training is running: wait for it to finish, then retrain.")
        return
    session.watch_review_job(job_id, before.run_id, dataset.root, fix_counts(applied))
    if excluded:
        st.caption(f"{excluded} excluded photos are left out of the retraining.")


def _save_finished_retrain(store: RunStore, settings: Settings) -> None:
    """When this session's retrain has finished, save the comparison with its run (once)."""
    watched = session.review_job()
    snapshot = cache.get_job_manager(settings).snapshot()
    if watched is None or snapshot.job_id != watched[0] or snapshot.state != "done":
        return
    save_comparison(store, settings, watched[1], snapshot.run_id, watched[3])


def _newest_comparison(store: RunStore, runs: list[RunInfo]) -> tuple[RunInfo, LabelFixes] | None:
    """The newest run retrained after fixes, and how it came about."""
    for info in runs:
        compared = label_fixes_of(store, info.run_id)
        if compared is not None:
            return info, compared
    return None


def _render_comparison(store: RunStore, info: RunInfo, compared: LabelFixes) -> None:
    """The retrained run's accuracy beside the run before its fixes."""
    before, after = st.columns(2)
    before.metric("Before the fixes", percent(compared.before_accuracy))
    change = None
    if compared.before_accuracy is not None and info.test_accuracy is not None:
        change = (info.test_accuracy - compared.before_accuracy) * 100
    after.metric(
        "After the fixes",
        percent(info.test_accuracy),
        None if change is None else f"{change:+.1f} points",
        delta_color="normal" if change else "off",
        delta_arrow="auto" if change else "off",  # no green arrow for no change
    )
    fixed = ", ".join(
        _count(number, noun)
        for number, noun in (
            (compared.moved, "photo moved"),
            (compared.excluded, "photo excluded"),
            (compared.kept, "photo kept"),
        )
        if number
    )
    same = "the same test photos" if compared.same_test_photos else "different test photos"
    try:
        earlier = store.info(compared.before_run).title
    except RunNotFoundError:
        earlier = f"run {compared.before_run} (deleted since)"
    st.caption(
        f"{md(info.title)} ({fixed or 'no fixes'}) against {md(earlier)}; both accuracies on "
        f"{same}."
    )


def _count(number: int, noun: str) -> str:
    """'1 photo moved', '3 photos moved'."""
    head, _, tail = noun.partition(" ")
    return f"{number} {head}{'' if number == 1 else 's'} {tail}"
