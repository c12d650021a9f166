"""The test-photo gallery: predicted vs true (and zero-shot) per photo, filters, sorting."""

from __future__ import annotations

import streamlit as st

from engine.evaluation import Evaluation, Prediction
from engine.settings import Settings
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


def render_gallery(
    evaluation: Evaluation, settings: Settings, true: str | None, predicted: str | None
) -> None:
    """Filters (errors only, sort), then a page of cards; true/predicted come from the matrix."""
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
    render_grid([row_card(row) for row in page], settings)
