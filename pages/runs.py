"""Runs: every training so far; compare, annotate, pin for the Demo, export, delete."""

import streamlit as st

from engine.run_record import RunInfo
from engine.runs import EXPORT_FORMATS, RunStore
from engine.settings import Settings
from ui import cache, models, session
from ui.curves import METRICS, compare_figure
from ui.errors import guard
from ui.exports import render_export_checks, render_input_spec
from ui.report import render_report_button
from ui.setup import page_setup
from ui.tables import compare_table, config_table, runs_table
from ui.text import md


def compare_ui(store: RunStore, runs: list[RunInfo]) -> None:
    """Validation curves of the chosen runs on shared charts, and their headline metrics."""
    titles = {info.run_id: info.title for info in runs}
    complete = [info.run_id for info in runs if info.complete]
    chosen = st.multiselect(
        "Compare runs",
        list(titles),
        default=complete[:2],
        format_func=titles.get,
        key="runs_compare",
    )
    loaded = [store.load(run_id) for run_id in chosen]
    histories = {run.info.title: run.history for run in loaded}
    for column, metric in zip(st.columns(2), METRICS, strict=True):
        column.plotly_chart(compare_figure(histories, metric), key=f"runs_compare_{metric}")
    st.dataframe(compare_table(loaded))


def notes_ui(store: RunStore, info: RunInfo) -> None:
    """The run's notes (what was tried, tags), saved with the run; and the Demo pin."""
    notes = st.text_area("Notes", info.notes, key=f"runs_notes_{info.run_id}", height=80)
    if st.button("Save notes", key="runs_save_notes") and notes != info.notes:
        store.set_notes(info.run_id, notes)
        st.toast("Notes saved with the run.", icon=":material/check:")
    pinned = store.demo_pin() == info.run_id
    if pinned:
        st.caption("The Demo page shows this run.")
        if st.button("Unpin from the Demo", key="runs_unpin"):
            store.pin_demo(None)
            st.rerun()
    elif info.has_model and st.button("Show this run in the Demo", key="runs_pin"):
        store.pin_demo(info.run_id)
        st.rerun()


def export_ui(settings: Settings, info: RunInfo) -> None:
    """Write the model in the chosen format (with labels and input spec), check the written
    file on the test photos, then offer it."""
    render_input_spec(info)
    fmt = st.radio("Format", EXPORT_FORMATS, horizontal=True, key="runs_export_format")
    if st.button("Prepare download", key="runs_export"):
        with st.spinner("Exporting the model, then checking it on the test photos..."):
            path, _ = models.export_checked(settings, info.run_id, fmt)
            session.remember_export(info.run_id, fmt, path)
    path = session.exported(info.run_id, fmt)
    if path is not None:
        st.download_button(
            f"Download {path.name}", path.read_bytes(), path.name, "application/zip",
            key="runs_download",
        )  # fmt: skip


def delete_ui(store: RunStore, run_id: str) -> None:
    """Delete after an explicit confirmation; the list refreshes afterwards."""
    if st.button("Delete this run", key="runs_delete", icon=":material/delete:"):
        session.ask_delete(run_id)
    if session.delete_asked(run_id):
        st.warning(f"Delete run {run_id} and its model for good?")
        if st.button("Yes, delete it", type="primary", key="runs_delete_confirm"):
            store.delete(run_id)
            session.ask_delete(None)
            st.rerun()


def damaged_ui(store: RunStore) -> None:
    """Runs that cannot be read, each with the reason and a way to delete it."""
    for damaged in store.damaged():
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.warning(f"Run {md(damaged.run_id)} is damaged and left out: {md(damaged.reason)}.")
        if store.read_only:
            continue
        if right.button("Delete it", key=f"runs_delete_damaged_{damaged.run_id}"):
            store.delete(damaged.run_id)
            st.rerun()


settings = page_setup("Runs")
store = cache.get_run_store(settings.runs_dir)
with guard():
    runs = store.list()
    damaged_ui(store)
if not runs:
    st.info("No runs yet: start one on the Train page (or the Demo).")
    st.stop()
named = {info.run_id: cache.run_named_accuracy(settings.runs_dir, info.run_id) for info in runs}
st.dataframe(
    runs_table(runs, named),
    hide_index=True,
    key="runs_table",
    column_config={
        "run": st.column_config.TextColumn(width="medium"),
        "notes": st.column_config.TextColumn(width="large"),
    },
)
with st.expander("Every setting of every run"):
    st.dataframe(config_table(runs), key="runs_settings")
with guard(stop=False):
    compare_ui(store, runs)

st.subheader("One run")
titles = {info.run_id: info.title for info in runs}
with_model = [info.run_id for info in runs if info.has_model]
first = list(titles).index(with_model[0]) if with_model else 0
run_id = st.selectbox("Run", list(titles), index=first, format_func=titles.get, key="runs_selected")
if run_id in with_model:  # viewers too: a report changes nothing
    render_report_button(settings, run_id, key="runs_report")
info = next(info for info in runs if info.run_id == run_id)
st.markdown(f"**{info.status}** · id {md(info.run_id)}")
if store.read_only:
    st.caption(f"Notes: {md(info.notes) or 'none'}")
    st.info("Viewer mode: runs can be looked at, not changed, exported or deleted.")
else:
    notes_column, export_column, delete_column = st.columns(3)
    with notes_column, guard(stop=False):
        notes_ui(store, info)
    with export_column, guard(stop=False):
        st.subheader("Export")
        if info.has_model:
            export_ui(settings, info)
        else:
            st.info("This run was cancelled before it had a model, so there is nothing to export.")
    with delete_column, guard(stop=False):
        st.subheader("Delete")
        delete_ui(store, run_id)
with guard(stop=False):
    render_export_checks(store, run_id)
