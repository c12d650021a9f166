"""Demo: one click from the sample photos to zero-shot vs fine-tuned, in big numbers."""

from pathlib import Path

import streamlit as st

from engine.config import TrainConfig
from engine.data.split import find_split_file
from engine.errors import JobBusyError
from engine.run_record import Run, RunInfo
from engine.runs import RunStore
from engine.settings import Settings
from ui import cache, models, session
from ui.curves import render_curves
from ui.errors import guard
from ui.gallery import row_card
from ui.image_grid import render_grid
from ui.progress import render_job_progress
from ui.setup import page_setup
from ui.tables import percent

NUM_WINS = 8


def same_dataset(recorded: str, folder: Path) -> bool:
    """Whether a run's dataset field names this folder (as typed or resolved)."""
    return recorded == str(folder) or Path(recorded).resolve() == folder.resolve()


def find_demo_run(store: RunStore, data_dir: Path) -> RunInfo | None:
    """Newest complete run on the sample folder: the demo reuses it instead of training."""
    runs = store.list(status="complete")
    return next((info for info in runs if same_dataset(info.dataset, data_dir)), None)


def render_story(run: Run, settings: Settings) -> None:
    """Headline numbers, photos only fine-tuning gets right, and the training curves."""
    zero_shot, fine_tuned = run.info.zero_shot_accuracy, run.info.test_accuracy
    delta = None if zero_shot is None else f"{(fine_tuned - zero_shot) * 100:+.1f} points"
    left, right = st.columns(2)
    left.metric("Off-the-shelf ImageNet model (zero-shot)", percent(zero_shot), border=True)
    right.metric("Fine-tuned on your photos", percent(fine_tuned), delta=delta, border=True)
    if zero_shot is None:
        st.caption(f"No zero-shot baseline: {run.zero_shot_error}")
    st.caption(f"Both measured on the same {len(run.evaluation.predictions)} held-out test photos.")
    wins = run.evaluation.wins()
    if wins:
        st.subheader("Zero-shot wrong, fine-tuned right")
        render_grid([row_card(row) for row in wins[:NUM_WINS]], settings)
    st.subheader("How training went")
    render_curves(run.history, key="home_curves")


settings = page_setup("Transfer Lab demo")
st.markdown(
    "What does an off-the-shelf ImageNet model say about your photos, and how much better is "
    "the same network after a few minutes of fine-tuning on them?"
)
if settings.data_dir is None:
    st.info(
        "The demo runs on the sample folder, which is not set. Set TLAB_DATA_DIR to a folder "
        "with one sub-folder of photos per class and restart the app, or choose a dataset on "
        "the **Data** page and train it on the **Train** page."
    )
    st.stop()

store = cache.get_run_store(settings.runs_dir)
st.caption(f"Sample photos: `{settings.data_dir}`")
if st.button("Run the demo", type="primary", key="home_run", icon=":material/play_arrow:"):
    session.request_demo()
    if find_demo_run(store, settings.data_dir) is None:
        with guard(stop=False):
            try:
                split_file = find_split_file(settings.data_dir)
                models.start_training(settings, settings.data_dir, TrainConfig(), split_file)
            except JobBusyError:
                st.warning("A training job is running; the demo can start when it has finished.")

demo = find_demo_run(store, settings.data_dir)
if session.demo_requested() and demo is not None:
    with guard():
        render_story(store.load(demo.run_id), settings)
else:  # the story appears when the job ends: the progress widget then reruns the page
    render_job_progress(cache.get_job_manager(settings), key="home")
