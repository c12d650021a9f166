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
        f"· data {md(snapshot.data_dir)}"
    )


def _draw_bars(snapshot: JobSnapshot) -> None:
    if not snapshot.num_stages:  # no event yet: the photos are being scanned
        st.progress(0.0, text="Preparing: checking the photos...")
        st.caption(_settings_text(snapshot))
        return
    stage = STAGE_TITLES.get(snapshot.stage, snapshot.stage)
    # The whole job by expected time (never moves back), then where this stage is.
    st.progress(
        min(max(snapshot.fraction, 0.0), 1.0),
        text=f"Stage {snapshot.stage_index}/{snapshot.num_stages}: {stage} · {_eta_text(snapshot)}",
    )
    if snapshot.num_batches:
        epochs = max(snapshot.num_epochs, 1)
        done = (max(snapshot.epoch, 1) - 1) * snapshot.num_batches + snapshot.batch
        where = f"Batch {snapshot.batch}/{snapshot.num_batches}"
        if snapshot.num_epochs:
            where = f"Epoch {snapshot.epoch}/{snapshot.num_epochs} · {where}"
        st.progress(_fraction(done, epochs * snapshot.num_batches), text=where)
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
        training = (
            f" (the training itself {format_seconds(snapshot.train_seconds)}; the rest is the "
            "zero-shot baseline, loading and evaluating)"
            if snapshot.train_seconds
            else ""
        )
        st.success(
            f"Training finished in {elapsed}{training}. {md(snapshot.message)} · run "
            f"{md(snapshot.run_title)}"
        )
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
