"""Live progress of the background training job (used by Home and Train)."""

from __future__ import annotations

import streamlit as st

from engine.events import STAGE_TITLES, format_seconds
from engine.jobs import JobManager, JobSnapshot
from ui import session
from ui.curves import render_curves
from ui.errors import guard
from ui.text import md


def _fraction(done: int, total: int) -> float:
    return min(max(done / total, 0.0), 1.0) if total > 0 else 0.0


def _eta_text(snapshot: JobSnapshot) -> str:
    if snapshot.eta_seconds is None:
        return "estimating time left..."
    if snapshot.eta_seconds < 1:
        return "finishing..."
    return f"about {format_seconds(snapshot.eta_seconds)} left"


def _settings_text(snapshot: JobSnapshot) -> str:
    """The few settings that matter, of the job actually running (not the form's)."""
    config = snapshot.config
    if config is None:
        return ""
    fine_tune = (
        f"then {config.fine_tune_epochs} fine-tune epochs (top {config.unfreeze_layers} layers)"
        if config.fine_tune_epochs
        else "frozen base, no fine-tuning"
    )
    return (
        f"Running: {config.backbone}, up to {config.epochs} head epochs, {fine_tune}, batch "
        f"{config.batch_size}, augment {'on' if config.augment else 'off'}, seed {config.seed} "
        f"· data `{snapshot.data_dir}`"
    )


def _draw_bars(snapshot: JobSnapshot) -> None:
    if not snapshot.num_stages:  # no event yet: the photos are being scanned
        st.progress(0.0, text="Preparing: checking the photos...")
        return
    stage = STAGE_TITLES.get(snapshot.stage, snapshot.stage)
    st.progress(
        # Stages finished so far: stage 1 of 4 starts empty, not a quarter full.
        _fraction(snapshot.stage_index - 1, snapshot.num_stages),
        text=f"Stage {snapshot.stage_index}/{snapshot.num_stages}: {stage}",
    )
    if snapshot.num_epochs:
        st.progress(
            _fraction(snapshot.epoch, snapshot.num_epochs),
            text=f"Epoch {snapshot.epoch}/{snapshot.num_epochs}",
        )
    if snapshot.num_batches:
        st.progress(
            _fraction(snapshot.batch, snapshot.num_batches),
            text=f"Batch {snapshot.batch}/{snapshot.num_batches} · {_eta_text(snapshot)}",
        )
    notes = [f"{name} {value:.3f}" for name, value in snapshot.metrics.items()]
    if snapshot.batch == 0 and snapshot.num_epochs:
        notes.append("preparing this stage (its first batch also builds the model's graph)")
    if snapshot.message:  # e.g. 'cancelling'
        notes.append(snapshot.message)
    st.caption(" · ".join(notes))
    st.caption(_settings_text(snapshot))


def _draw_outcome(snapshot: JobSnapshot) -> None:
    if snapshot.state == "done":
        elapsed = format_seconds(snapshot.elapsed_seconds)
        st.success(f"Training finished in {elapsed}. {md(snapshot.message)}")
        st.page_link("pages/evaluate.py", label="See the evaluation", icon=":material/analytics:")
    elif snapshot.state == "failed":
        st.error(md(snapshot.summary()))  # 'Training failed: <why>' in one line
        with st.expander("Details"):
            st.text(snapshot.message)
    elif snapshot.state == "cancelled":
        kept = "its stage-1 model, evaluated" if snapshot.kept_model else "its curves so far"
        st.warning(f"Training was cancelled; the run is kept with {kept}.")


@st.fragment(run_every=1.0)
def render_job_progress(manager: JobManager, key: str) -> None:
    """Bars for stage, epoch and batch with ETA, live curves and Cancel; polled every second.

    When the job ends while this page watches, the whole page reruns once so it can show
    the finished run. key prefixes the widget keys (e.g. 'train', 'home').
    """
    with guard(stop=False):
        snapshot = manager.snapshot()
        last_state = session.swap_job_state(key, snapshot.state)
        if last_state == "running" and snapshot.state != "running":
            st.rerun(scope="app")
        if snapshot.state == "idle":
            return
        if snapshot.state == "running":
            _draw_bars(snapshot)
            if st.button("Cancel training", key=f"{key}_cancel", icon=":material/stop_circle:"):
                manager.cancel()
                st.info("Cancelling: the job stops after the current batch.")
        _draw_outcome(snapshot)
        render_curves(snapshot.history, key=f"{key}_live")
