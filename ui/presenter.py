"""Presenter mode's steps: the Demo's story one screen at a time, in large type for a projector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from engine.access import can_change
from engine.data.scan import Dataset
from engine.evaluation import Prediction, round_robin
from engine.events import format_seconds
from engine.insight.flips import wins_text
from engine.jobs import JobManager
from engine.mapping import auto_mapping
from engine.run_record import Run
from engine.runs import RunStore
from engine.settings import Settings
from ui import session
from ui.curves import render_curves
from ui.demo import start_fresh_run
from ui.errors import guard
from ui.gallery import row_card
from ui.headline import render_headline
from ui.heatmaps import render_heatmap_pair
from ui.image_grid import Card, mark, render_grid
from ui.progress import render_job_progress
from ui.text import md

NUM_PHOTOS = 5  # one row of photos per step: a screen, even on a 1280x720 projector
TOP_K = 3
# Static CSS (no user text): bigger type, no sidebar, the whole width for the story.
LARGE_TYPE = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] { display: none; }
[data-testid="stMainBlockContainer"] { padding: 3.25rem 2.5rem 1rem; max-width: 100%; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stAlertContainer"] p { font-size: 1.45rem; }
[data-testid="stCaptionContainer"] p { font-size: 1.15rem; }
[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p { font-size: 1.4rem; }
[data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p {
  font-size: 5rem; line-height: 1.1; font-weight: 600; }
[data-testid="stMetricDelta"] [data-testid="stMarkdownContainer"] p { font-size: 1.6rem; }
h1 { font-size: 2.5rem; padding-top: 0; }
</style>
"""


@dataclass(frozen=True)
class Story:
    """What every step draws from: the sample photos, the Demo's run (None before one
    exists) and the training job."""

    settings: Settings
    data_dir: Path
    dataset: Dataset
    run: Run | None
    store: RunStore
    manager: JobManager


Step = tuple[str, Callable[[Story], None]]


def use_large_type() -> None:
    st.html(LARGE_TYPE)


def render_navigation(num_steps: int) -> int:
    """Back, where we are, Next and the way out; returns the step to draw (0-based)."""
    step = min(session.present_step(), num_steps - 1)
    back, where, forward, leave = st.columns([1, 5, 1, 1], vertical_alignment="center")
    back.button(
        "Back",
        key="present_back",
        disabled=step == 0,
        on_click=session.set_present_step,
        args=(step - 1,),
        width="stretch",
        shortcut="Left",
    )
    where.progress((step + 1) / num_steps, text=f"Step {step + 1} of {num_steps}")
    forward.button(
        "Next",
        key="present_next",
        type="primary",
        disabled=step == num_steps - 1,
        on_click=session.set_present_step,
        args=(step + 1,),
        width="stretch",
        shortcut="Right",
    )
    leave.page_link("pages/home.py", label="Exit", icon=":material/close:")
    return step


def _one_per_class(dataset: Dataset) -> list[Card]:
    """The first photo of each class (up to NUM_PHOTOS), named under it."""
    cards = []
    for index, name in enumerate(dataset.class_names[:NUM_PHOTOS]):
        path = next(
            p for p, label in zip(dataset.paths, dataset.labels, strict=True) if label == index
        )
        cards.append(Card(str(path), (f"**{md(name)}**",)))
    return cards


def draw_photos(story: Story) -> None:
    counts = story.dataset.counts()
    st.markdown(
        f"**{len(story.dataset.paths):,} photos** in **{len(counts)} classes**: "
        + ", ".join(f"{md(name)} ({count})" for name, count in counts.items())
    )
    cards = _one_per_class(story.dataset)
    render_grid(cards, story.settings, columns=len(cards))
    st.caption("One folder of photos per class: this is all the model will learn from.")
    if story.run is None:  # start now, and it is done by the time the story needs it
        _start_training_ui(story, "present_start_early")


def _short(label: str) -> str:
    """An ImageNet label's first name ('monarch' for 'monarch, monarch butterfly, ...')."""
    return label.split(",")[0]


def draw_zero_shot(story: Story) -> None:
    from ui import models  # loads TensorFlow: the first step opens without it
    from ui.downloads import prefetch_model_files

    prefetch_model_files(story.settings)
    cards = _one_per_class(story.dataset)
    with guard():
        labels = models.load_zero_shot(story.settings).class_names
        guesses = models.zero_shot_top_k(story.settings, tuple(c.path for c in cards), TOP_K)
    class_names = story.dataset.class_names
    run_zero_shot = story.run.zero_shot if story.run else None
    mapping = run_zero_shot.mapping if run_zero_shot else auto_mapping(class_names, labels)
    shown = []
    for card, pairs, name in zip(cards, guesses, class_names, strict=False):
        (label, probability), *others = pairs
        right = labels.index(label) in mapping.get(name, [])
        lines = [f"**{md(name)}**", mark(f"{_short(label)} {probability:.0%}", right)]
        lines += [md(f"{_short(other)} {p:.0%}") for other, p in others]
        shown.append(Card(card.path, tuple(lines), right))
    render_grid(shown, story.settings, columns=len(shown))
    st.caption(
        "Its three best guesses among the 1,000 everyday things it was trained on (green: a "
        "label that means this class)."
    )
    unnamed = [name for name in class_names if not mapping.get(name)]
    if unnamed:
        st.markdown(f"It has **no word at all** for: {', '.join(md(n) for n in unnamed)}.")
    else:
        st.markdown("It has a word for every one of your classes.")


def draw_training(story: Story) -> None:
    state = story.manager.snapshot().state
    if state == "running":
        st.markdown("The same network is learning your classes right now:")
    if state in ("running", "failed", "cancelled"):  # the bars, or why it stopped
        render_job_progress(story.manager, key="present")
    if state == "running":
        return
    if story.run is not None:
        seconds = story.run.info.train_seconds
        took = f" in **{format_seconds(seconds)}**" if seconds else ""
        st.markdown(f"It learned your classes{took}, starting from its ImageNet knowledge.")
        render_curves(story.run.history, key="present_curves")
        st.caption(
            "Each point is one pass over the training photos: accuracy climbs as it learns; "
            "validation is photos it does not learn from, so it shows honest progress."
        )
    _start_training_ui(story, "present_start")


def _start_training_ui(story: Story, key: str) -> None:
    """Start a training with the defaults (it runs while the talk goes on), editors only."""
    if story.manager.snapshot().state == "running":
        return
    if not can_change(story.settings):
        if story.run is None:
            st.info("No finished run to show, and this app is in viewer mode: nothing trains.")
        return
    label = "Train a fresh one now" if story.run else "Start training (runs while you talk)"
    st.button(
        label, key=key, icon=":material/play_arrow:", on_click=session.request_present_training
    )


def start_requested_training(story: Story) -> None:
    """Start the training the presenter asked for. The request stays in the session until the
    job has started: a Next pressed while the click's run still loads TensorFlow (seconds, cold)
    cuts that run short, and the next run starts it instead."""
    if not session.present_training_requested():
        return
    with guard(stop=False):
        start_fresh_run(story.settings, story.store, story.data_dir)
    session.forget_present_training()  # started, or why not shown: never twice


def _finished_run(story: Story) -> Run | None:
    """The run, or None after saying the step appears when training finishes."""
    if story.run is not None and story.run.evaluation is not None:
        return story.run
    if story.manager.snapshot().state == "running":
        st.info("This appears when the training finishes (a minute or two):")
        render_job_progress(story.manager, key="present")
    else:
        st.info("No finished run yet: start the training on the step **Training**.")
    return None


def draw_headline(story: Story) -> None:
    run = _finished_run(story)
    if run is not None:
        render_headline(run)


def _photo_grid(rows: list[Prediction], story: Story) -> None:
    picked = round_robin(rows, NUM_PHOTOS)
    render_grid([row_card(row) for row in picked], story.settings, columns=NUM_PHOTOS)


def draw_fixed(story: Story) -> None:
    run = _finished_run(story)
    if run is None:
        return
    wins = run.evaluation.wins()
    if not wins:
        st.info("No test photo went from wrong (ImageNet model) to right (trained model).")
        return
    st.markdown(md(wins_text(run.evaluation)))
    _photo_grid(wins, story)
    st.caption("Green frame: the trained model's answer is right; below it, what ImageNet said.")


def draw_heatmaps(story: Story) -> None:
    run = _finished_run(story)
    if run is None:
        return
    # A photo training fixed (any test photo when it fixed none): the answers differ.
    [row] = round_robin(run.evaluation.wins() or list(run.evaluation.predictions), 1)
    st.markdown(f"A test photo of **{md(row.true)}**:")
    with guard(stop=False):
        render_heatmap_pair(story.settings, run.info.run_id, row.path)


def draw_errors(story: Story) -> None:
    run = _finished_run(story)
    if run is None:
        return
    errors, total = run.evaluation.errors(), len(run.evaluation.predictions)
    if not errors:
        st.success(f"Every one of the {total} test photos is right.")
        return
    confused = run.evaluation.most_confused(1)
    st.markdown(
        f"**{len(errors)} of the {total} test photos** are still wrong"
        + (
            f"; most often {md(confused[0][0])} taken for {md(confused[0][1])}."
            if confused
            else "."
        )
    )
    _photo_grid(errors, story)
    st.caption(
        "Red frame: the trained model's answer (first line) is wrong; the true class is below."
    )


def steps() -> list[Step]:
    """The story in order."""
    return [
        ("Your photos", draw_photos),
        ("What an ImageNet model says, untrained", draw_zero_shot),
        ("Training on your photos", draw_training),
        ("Off-the-shelf vs trained, on the same test photos", draw_headline),
        ("Photos training fixed", draw_fixed),
        ("Where the models look", draw_heatmaps),
        ("Photos it still gets wrong", draw_errors),
    ]
