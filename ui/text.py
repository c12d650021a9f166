"""User-supplied text (class and folder names, paths, notes, error messages that quote them)
made safe to show: as plain words in markdown, and as plain text in plotly labels."""

from __future__ import annotations

import html
import re

# Everything CommonMark or Streamlit gives a meaning: emphasis, links, images, code, HTML,
# headings, lists, tables, maths, and Streamlit's :colour[...] and :emoji: directives.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def md(text: object) -> str:
    """text to place inside markdown so that it reads exactly as written (no links, no
    images, no formatting, no directives)."""
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", " ")


def label(text: object) -> str:
    """text for a plotly label or hover, where tags like <a href> would be rendered."""
    return html.escape(str(text), quote=False)
