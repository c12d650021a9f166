"""Demo: one click from the sample photos to zero-shot vs a trained model, in big numbers."""

from pathlib import Path

import streamlit as st

from engine.access import can_change
from engine.config import TrainConfig
from engine.data.split import find_split_file
from engine.errors import JobBusyError
from engine.evaluation import round_robin
from engine.insight.flips import load_flip_board
from engine.run_record import Run, RunInfo
from engine.runs import RunStore
from engine.settings import Settings
from ui import cache, models, session
from ui.curves import render_curves
from ui.errors import guard
from ui.flips import render_flip_counts
from ui.gallery import row_card
from ui.headline import render_headline
from ui.image_grid import render_grid
from ui.progress import render_job_progress
from ui.setup import page_setup
from ui.text import md

NUM_WINS = 8


def same_dataset(recorded: str, folder: Path) -> bool:
    """Whether a run's dataset field names this folder (as typed or resolved)."""
    return recorded == str(folder) or Path(recorded).resolve() == folder.resolve()


def find_demo_run(store: RunStore, data_dir: Path) -> RunInfo | None:
    """The run the presenter pinned, else the newest one on the sample folder made with the
    default recipe and the automatic mapping (a 1-epoch test or an edited mapping never is)."""
    pinned = store.demo_pin()
    if pinned is not None:
        return store.info(pinned)
    runs = store.list(status="complete")
    return next(
        (info for info in runs if info.uses_defaults and same_dataset(info.dataset, data_dir)),
        None,
    )


def start_fresh_run(settings: Settings, store: RunStore) -> None:
    """Train with the defaults on the sample photos; the Demo then shows that run."""
    try:
        split_file = find_split_file(settings.data_dir)
        job_id = models.start_training(settings, settings.data_dir, TrainConfig(), split_file)
    except JobBusyError:
        st.warning("A training job is running; the demo can start when it has finished.")
        return
    store.pin_demo(None)  # the fresh run, not an earlier pinned one, is what to show
    session.watch_demo_job(job_id)


def render_story(run: Run, pinned: bool, settings: Settings) -> None:
    """Which run this is, the headline numbers, what training fixed (counts, then photos only
    fine-tuning gets right), curves."""
    origin = "pinned on the Runs page" if pinned else "the newest made with the default recipe"
    st.caption(f"Showing run **{md(run.info.title)}** ({origin}).")
    render_headline(run)
    board = load_flip_board(cache.get_run_store(settings.runs_dir), run)
    if board is not None:
        st.subheader("What training fixed, and what it broke")
        render_flip_counts(board)
    wins = round_robin(run.evaluation.wins(), NUM_WINS)
    if wins:
        st.subheader("Zero-shot wrong, trained model right")
        st.caption(
            "Taken from every class in turn, including those ImageNet has no label for (the "
            "zero-shot model could never name them; the counts above keep them apart)."
        )
        render_grid([row_card(row) for row in wins], settings)
    st.subheader("How training went")
    render_curves(run.history, key="home_curves")


settings = page_setup("Transfer Lab demo")
st.markdown(
    "What does an off-the-shelf ImageNet model say about your photos, and how much better is "
    "the same network after a few minutes of training on them?"
)
if settings.data_dir is None:
    st.info(
        "The demo runs on the sample folder, which is not set. Set TLAB_DATA_DIR to a folder "
        "with one sub-folder of photos per class and restart the app, or choose a dataset on "
        "the **Data** page and train it on the **Train** page."
    )
    st.stop()

store = cache.get_run_store(settings.runs_dir)
manager = cache.get_job_manager(settings)
demo = find_demo_run(store, settings.data_dir)
st.caption(
    f"Sample photos: {md(settings.data_dir)}. "
    + (
        "A finished run is ready: the story shows at once."
        if demo
        else "No run yet: the button trains one first (about one to three minutes on a laptop)."
    )
)
left, right = st.columns([1, 3])
if demo is None and not can_change(settings):
    st.info("No demo run yet, and viewer mode cannot train one (TLAB_MODE=viewer).")
    st.stop()
if left.button("Run the demo", type="primary", key="home_run", icon=":material/play_arrow:"):
    session.request_demo()
    if demo is None:
        with guard(stop=False):
            start_fresh_run(settings, store)
fresh = demo is not None and can_change(settings)
if fresh and right.button("Train a fresh one with the defaults", key="home_fresh"):
    session.request_demo()
    with guard(stop=False):
        start_fresh_run(settings, store)

demo = find_demo_run(store, settings.data_dir)
snapshot = manager.snapshot()
training_for_demo = snapshot.state == "running" and session.watching_demo_job(snapshot.job_id)
if session.demo_requested() and demo is not None and not training_for_demo:
    with guard():
        render_story(store.load(demo.run_id), store.demo_pin() is not None, settings)
else:  # the story appears when the job ends: the progress widget then reruns the page
    render_job_progress(manager, key="home")
