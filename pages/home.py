"""Demo: one click from the sample photos to zero-shot vs a trained model, in big numbers."""

import streamlit as st

from engine.access import can_change
from engine.demo import find_demo_run
from engine.evaluation import round_robin
from engine.insight.flips import load_flip_board, wins_text
from engine.run_record import Run
from engine.sample import sample_folder
from engine.settings import Settings
from ui import cache, session
from ui.curves import render_curves
from ui.demo import start_fresh_run
from ui.downloads import render_sample_download
from ui.errors import guard
from ui.flips import render_flip_counts
from ui.gallery import row_card
from ui.headline import render_headline
from ui.image_grid import render_grid
from ui.progress import render_job_progress
from ui.setup import page_setup
from ui.text import md

NUM_WINS = 8


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
            md(wins_text(run.evaluation))
            + f" Here are {len(wins)}, taken from every class in turn."
        )
        render_grid([row_card(row) for row in wins], settings)
    st.subheader("How training went")
    render_curves(run.history, key="home_curves")


settings = page_setup("Transfer Lab demo")
st.markdown(
    "What does an off-the-shelf ImageNet model say about your photos, and how much better is "
    "the same network after a few minutes of training on them?"
)
data_dir = sample_folder(settings)
if data_dir is None:
    st.info(
        "The demo runs on TensorFlow's sample flower photos: download them once below, or set "
        "TLAB_DATA_DIR to a folder with one sub-folder of photos per class and restart the "
        "app, or choose a dataset on the **Data** page and train it on the **Train** page."
    )
    render_sample_download(settings, key="home")
    st.stop()

store = cache.get_run_store(settings.runs_dir)
manager = cache.get_job_manager(settings)
demo = find_demo_run(store, data_dir)
st.caption(
    f"Sample photos: {md(data_dir)}. "
    + (
        "A finished run is ready: the story shows at once."
        if demo
        else "No run yet: the button trains one first (well under a minute on a laptop)."
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
            start_fresh_run(settings, store, data_dir)
fresh = demo is not None and can_change(settings)
if fresh and right.button("Train a fresh one with the defaults", key="home_fresh"):
    session.request_demo()
    with guard(stop=False):
        start_fresh_run(settings, store, data_dir)

demo = find_demo_run(store, data_dir)
snapshot = manager.snapshot()
training_for_demo = snapshot.state == "running" and session.watching_demo_job(snapshot.job_id)
if session.demo_requested() and demo is not None and not training_for_demo:
    with guard():
        render_story(store.load(demo.run_id), store.demo_pin() is not None, settings)
else:  # the story appears when the job ends: the progress widget then reruns the page
    render_job_progress(manager, key="home")
