"""Grids of photo thumbnails with a few caption lines each, and pagination."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import streamlit as st

from engine.errors import ImageError
from engine.settings import Settings
from ui import cache
from ui.text import md

RIGHT = "#16a34a"
WRONG = "#dc2626"
T = TypeVar("T")


@dataclass(frozen=True)
class Card:
    """One photo in a grid: markdown lines below it; correct colours the frame (None = plain)."""

    path: str
    lines: tuple[str, ...] = ()
    correct: bool | None = None


def mark(text: str, correct: bool | None) -> str:
    """Text in green with a tick (right) or red with a cross (wrong), for colour-blind users too;
    the text is shown as written (class names come from users)."""
    if correct is None:
        return md(text)
    return f":green[✓ {md(text)}]" if correct else f":red[✗ {md(text)}]"


def paginate(items: Sequence[T], per_page: int, key: str) -> Sequence[T]:
    """The slice of items on the page chosen with a pagination widget (shown when > 1 page)."""
    num_pages = max(1, math.ceil(len(items) / per_page))
    page = st.pagination(num_pages, key=key) if num_pages > 1 else 1
    return items[(page - 1) * per_page : page * per_page]


def render_grid(
    cards: Sequence[Card],
    settings: Settings,
    columns: int = 4,
    below: Callable[[Card], None] | None = None,
) -> None:
    """Thumbnails in rows of `columns`; an unreadable photo shows its error instead. below
    draws more under each card (e.g. a button)."""
    for start in range(0, len(cards), columns):
        row = st.columns(columns)
        for column, card in zip(row, cards[start : start + columns], strict=False):
            with column:
                _render_card(card, settings)
                if below is not None:
                    below(card)


def _render_card(card: Card, settings: Settings) -> None:
    border = None if card.correct is None else (RIGHT if card.correct else WRONG)
    try:
        st.image(cache.thumbnail(card.path, settings, border=border), width="stretch")
    except ImageError as error:
        st.caption(str(error))
    if card.lines:
        st.markdown("  \n".join(card.lines))  # one paragraph, one line each
