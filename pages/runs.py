"""Runs: every training so far; compare curves and metrics, delete, export the model."""

import streamlit as st

from engine.runs import EXPORT_FORMATS, RunStore
from ui import cache, models, session
from ui.curves import METRICS, compare_figure
from ui.errors import guard
from ui.setup import page_setup
from ui.tables import compare_table, runs_table

MIME = {
    "keras": "application/octet-stream",
    "savedmodel": "application/zip",
    "tflite": "application/octet-stream",
}


def compare_ui(store: RunStore, run_ids: list[str]) -> None:
    """Validation curves of the chosen runs on shared charts, and their headline metrics."""
    chosen = st.multiselect("Compare runs", run_ids, default=run_ids[:2], key="runs_compare")
    loaded = [store.load(run_id) for run_id in chosen]
    histories = {run.info.run_id: run.history for run in loaded}
    for column, metric in zip(st.columns(2), METRICS, strict=True):
        column.plotly_chart(compare_figure(histories, metric), key=f"runs_compare_{metric}")
    st.dataframe(compare_table(loaded))


def export_ui(store: RunStore, run_id: str) -> None:
    """Write the model in the chosen format, then offer it as a download."""
    fmt = st.radio("Format", EXPORT_FORMATS, horizontal=True, key="runs_export_format")
    if st.button("Prepare download", key="runs_export"):
        with st.spinner("Exporting the model..."):
            session.remember_export(run_id, fmt, models.export_run(store.root, run_id, fmt))
    path = session.exported(run_id, fmt)
    if path is not None:
        name = f"{run_id}-{path.name}"
        st.download_button(
            f"Download {name}", path.read_bytes(), name, MIME[fmt], key="runs_download"
        )


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


settings = page_setup("Runs")
store = cache.get_run_store(settings.runs_dir)
with guard():
    runs = store.list()
if not runs:
    st.info("No runs yet: start one on the Train page (or the Demo).")
    st.stop()
st.dataframe(runs_table(runs), hide_index=True)
run_ids = [info.run_id for info in runs]
with guard(stop=False):
    compare_ui(store, run_ids)

exportable = [info.run_id for info in runs if info.complete]
first = run_ids.index(exportable[0]) if exportable else 0
run_id = st.selectbox("Run", run_ids, index=first, key="runs_selected")
export_column, delete_column = st.columns(2)
with export_column, guard(stop=False):
    st.subheader("Export")
    if run_id in exportable:
        export_ui(store, run_id)
    else:
        st.info("This run was cancelled before it had a model, so there is nothing to export.")
with delete_column, guard(stop=False):
    st.subheader("Delete")
    delete_ui(store, run_id)
