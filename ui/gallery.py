"""The test-photo gallery: predicted vs true (and zero-shot) per photo, filters, sorting."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from engine.settings import Settings
from ui.image_grid import Card, mark, paginate, render_grid

PER_PAGE = 24
SORTS = {"File order": None, "Least confident first": False, "Most confident first": True}


def row_card(row: dict) -> Card:
    """A card for one prediction row: fine-tuned guess, true class, zero-shot guess."""
    lines = [
        mark(f"{row['predicted']} ({row['confidence']:.0%})", row["correct"]),
        f"true: **{row['true']}**",
    ]
    if row["zero_shot_label"]:
        lines.append("zero-shot: " + mark(row["zero_shot_label"], row["zero_shot_correct"]))
    return Card(path=row["path"], lines=tuple(lines), correct=row["correct"])


def filter_rows(
    rows: Sequence[dict],
    only_errors: bool = False,
    true: str | None = None,
    predicted: str | None = None,
    most_confident_first: bool | None = None,
) -> list[dict]:
    """Rows kept by the filters, optionally sorted by confidence."""
    kept = [
        row
        for row in rows
        if not (only_errors and row["correct"])
        and true in (None, row["true"])
        and predicted in (None, row["predicted"])
    ]
    if most_confident_first is not None:
        kept.sort(key=lambda row: row["confidence"], reverse=most_confident_first)
    return kept


def render_gallery(
    rows: Sequence[dict], settings: Settings, true: str | None, predicted: str | None
) -> None:
    """Filters (errors only, sort), then a page of cards; true/predicted come from the matrix."""
    left, right = st.columns(2)
    only_errors = left.toggle("Only errors", key="gallery_errors")
    sort = right.selectbox("Sort", list(SORTS), key="gallery_sort")
    kept = filter_rows(rows, only_errors, true, predicted, SORTS[sort])
    st.caption(f"{len(kept)} of {len(rows)} test photos")
    page = paginate(kept, PER_PAGE, key="gallery_page")
    render_grid([row_card(row) for row in page], settings)
