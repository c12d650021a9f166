"""The flip board: a 2x2 table of the test photos (zero-shot right or wrong x trained model
right or wrong) whose boxes open their photos, worst first; its counts for the Demo."""

from __future__ import annotations

import dataclasses

import streamlit as st

from engine.insight.flips import (
    BOTH_RIGHT,
    BOTH_WRONG,
    BROKEN,
    CANNOT_NAME,
    FIXED,
    GROUPS,
    FlipBoard,
    FlipPhoto,
)
from engine.settings import Settings
from ui import session
from ui.gallery import row_card
from ui.image_grid import Card, paginate, render_grid

PER_PAGE = 12
TITLES = {
    FIXED: "Fixed",
    BROKEN: "Broken",
    BOTH_RIGHT: "Both right",
    BOTH_WRONG: "Both wrong",
    CANNOT_NAME: "Zero-shot cannot name",
}
MEANINGS = {
    FIXED: "zero-shot wrong, trained model right",
    BROKEN: "zero-shot right, trained model wrong",
    BOTH_RIGHT: "both models right",
    BOTH_WRONG: "both models wrong",
    CANNOT_NAME: "photos of a class ImageNet has no label for, so zero-shot is never right on them",
}
ROWS = (("Zero-shot wrong", FIXED, BOTH_WRONG), ("Zero-shot right", BOTH_RIGHT, BROKEN))
WIDTHS = [1, 2, 2]  # row label, then the trained model right / wrong


def render_flip_board(board: FlipBoard | None, settings: Settings, key: str) -> None:
    """The 2x2 table of clickable boxes, the 'cannot name' box apart, then the open box's
    photos (keys start with key)."""
    if board is None:
        st.info(
            "This run has no zero-shot baseline, so there is nothing to compare photo by photo."
        )
        return
    st.caption(
        "Every test photo, sorted by whether the off-the-shelf model and your trained model got "
        "it right. Click a box to see its photos, those your trained model was most wrong about "
        "first."
    )
    table_column, apart = st.columns([3, 1], vertical_alignment="center")
    with table_column, st.container(border=True):
        header = st.columns(WIDTHS)
        header[1].markdown("**Trained model right**")
        header[2].markdown("**Trained model wrong**")
        for label, right, wrong in ROWS:
            cells = st.columns(WIDTHS, vertical_alignment="center")
            cells[0].markdown(f"**{label}**")
            with cells[1]:
                _box(board, right, key)
            with cells[2]:
                _box(board, wrong, key)
    with apart, st.container(border=True):
        st.caption("Counted apart: ImageNet has no label for their class.")
        _box(board, CANNOT_NAME, key)
    _render_open_group(board, settings, key)


def _box(board: FlipBoard, group: str, key: str) -> None:
    st.button(
        f"{TITLES[group]}: {len(board.photos(group))}",
        key=f"{key}_flip_{group}",
        help=_sentence(MEANINGS[group]),
        type="primary" if session.flip_group(key) == group else "secondary",
        on_click=session.toggle_flip_group,
        args=(key, group),
        width="stretch",
    )


def _sentence(text: str) -> str:
    """text with a capital first letter (str.capitalize would lower 'ImageNet')."""
    return text[:1].upper() + text[1:]


def _render_open_group(board: FlipBoard, settings: Settings, key: str) -> None:
    group = session.flip_group(key)
    if group is None:
        return
    photos = board.photos(group)
    st.markdown(
        f"**{TITLES[group]}** ({MEANINGS[group]}): {len(photos)} photos, the trained model's "
        "highest loss (its most confident mistakes, its least sure right answers) first."
    )
    if board.note:
        st.caption(f"Note: {board.note}.")
    if not photos:
        st.info("No photo falls in this box.")
        return
    page = paginate(photos, PER_PAGE, key=f"{key}_flip_page_{group}")
    render_grid([_card(photo) for photo in page], settings)


def _card(photo: FlipPhoto) -> Card:
    """The gallery's card with the photo's loss below it."""
    card = row_card(photo.prediction)
    loss = f"loss {photo.loss:.2f}" if photo.exact else f"loss ≥ {photo.loss:.2f}"
    return dataclasses.replace(card, lines=(*card.lines, loss))


def render_flip_counts(board: FlipBoard) -> None:
    """The five counts side by side, each with what it means."""
    st.caption(
        "Every test photo, counted by whether the off-the-shelf model and your trained model "
        "got it right."
    )
    for column, group in zip(st.columns(len(GROUPS)), GROUPS, strict=True):
        column.metric(TITLES[group], len(board.photos(group)), border=True)
        column.caption(_sentence(MEANINGS[group]) + ".")
