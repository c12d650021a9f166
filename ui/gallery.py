"""The test-photo gallery: predicted vs true (and zero-shot) per photo, filters, sorting."""

from __future__ import annotations

from functools import partial

import streamlit as st

from engine.evaluation import Evaluation, Prediction
from engine.settings import Settings
from ui.heatmaps import heatmap_dialog
from ui.image_grid import Card, mark, paginate, render_grid
from ui.text import md

PER_PAGE = 24
ERRORS_KEY = "gallery_errors"
SORTS = {"File order": None, "Least confident first": False, "Most confident first": True}


def row_card(row: Prediction) -> Card:
    """A card for one prediction: fine-tuned guess, true class, zero-shot guess."""
    lines = [
        mark(f"{row.predicted} ({row.confidence:.0%})", row.correct),
        f"true: **{md(row.true)}**",
    ]
    if row.zero_shot_label:
        lines.append("zero-shot: " + mark(row.zero_shot_label, row.zero_shot_correct))
    return Card(path=row.path, lines=tuple(lines), correct=row.correct)


def look_button(settings: Settings, run_id: str, card: Card) -> None:
    """A button under a card opening where both models look in its photo."""
    if st.button(
        "Where each model looks",
        key=f"gallery_look_{card.path}",
        icon=":material/visibility:",
        type="tertiary",
        help="Heatmaps of the parts of this photo each model based its answer on",
    ):
        heatmap_dialog(settings, run_id, card.path)


def render_gallery(
    evaluation: Evaluation,
    settings: Settings,
    true: str | None,
    predicted: str | None,
    run_id: str | None = None,
) -> None:
    """Filters (errors only, sort), then a page of cards; true/predicted come from the matrix.
    With run_id every card has a button showing where the run's model and zero-shot look."""
    left, right = st.columns(2)
    only_errors = left.toggle("Only errors", key=ERRORS_KEY)
    sort = right.selectbox("Sort", list(SORTS), key="gallery_sort")
    kept = evaluation.select(true, predicted, only_errors, SORTS[sort])
    st.caption(f"{len(kept)} of {len(evaluation.predictions)} test photos")
    if not kept and only_errors and true is not None and true == predicted:
        st.info(
            "This square holds the photos predicted right, and **Only errors** hides those: "
            "switch it off to see them."
        )
    page = paginate(kept, PER_PAGE, key="gallery_page")
    below = None if run_id is None else partial(look_button, settings, run_id)
    render_grid([row_card(row) for row in page], settings, below=below)
