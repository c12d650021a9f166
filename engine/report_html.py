"""HTML pieces of the shareable report: one self-contained page (inline style, photos as data
URIs, plotly.js inlined once), where every text from a user is escaped."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

import plotly.graph_objects as go

from engine import images
from engine.errors import ImageError

# About 5 kB a photo in base64: two dozen photos add ~130 kB to plotly.js (4.8 MB).
THUMBNAIL_PIXELS = 112
THUMBNAIL_QUALITY = 75
RIGHT = "#16a34a"
WRONG = "#dc2626"
# The page may load nothing from anywhere: no fetch, no remote script, style, font or image.
# 'unsafe-eval': plotly.js compiles some of its functions at run time.
POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline' 'unsafe-eval'"
)
# Charts sit in a grid, not a flexbox: a grid's columns exist before the first chart is drawn,
# and plotly sizes a chart once, from its box at that moment.
STYLE = """
html{background:#f8fafc}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;
margin:0;background:#f8fafc;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:1.8rem;margin:0 0 4px}h2{font-size:1.3rem;margin:32px 0 8px;
border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.sub,.note{color:#64748b;font-size:.9rem}
.cards{display:flex;gap:16px;flex-wrap:wrap}
.card{flex:1 1 300px;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px}
.big{font-size:2.6rem;font-weight:600;margin:4px 0}
.delta{color:#15803d;font-weight:600}.warn{background:#fef9c3;padding:8px 12px;border-radius:6px}
table{border-collapse:collapse;margin:8px 0;font-size:.92rem}
th,td{border-bottom:1px solid #e2e8f0;padding:4px 12px 4px 0;text-align:left;vertical-align:top}
td.num,th.num{text-align:right}
.figures{display:grid;gap:16px;grid-template-columns:repeat(auto-fill,minmax(420px,1fr))}
.photos{display:grid;grid-template-columns:repeat(auto-fill,minmax(130px,1fr));gap:12px}
.photos figure{margin:0;font-size:.8rem}.photos img{width:112px;height:112px;display:block}
.right{color:#15803d}.wrong{color:#b91c1c}.missing{width:112px;height:112px;background:#e2e8f0;
display:flex;align-items:center;justify-content:center;text-align:center;font-size:.75rem}
"""


@dataclass(frozen=True)
class PhotoCard:
    """One photo in a grid: its file, caption lines (plain text, each right/wrong/neutral)."""

    path: str
    lines: tuple[tuple[str, bool | None], ...]
    correct: bool | None = None


def page(title: str, body: Iterable[str]) -> str:
    """The whole document around already-built body parts."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body><main>\n"
        + "\n".join(body)
        + "\n</main></body>\n</html>\n"
    )


def section(anchor: str, heading: str, *parts: str) -> str:
    """An h2 section; heading is plain text, parts are built HTML."""
    return f'<section id="{anchor}"><h2>{escape(heading)}</h2>\n' + "\n".join(parts) + "</section>"


def paragraph(text: str, css: str = "") -> str:
    """A paragraph of plain text (escaped)."""
    attribute = f' class="{css}"' if css else ""
    return f"<p{attribute}>{escape(text)}</p>"


def table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric_from: int = 1) -> str:
    """A table of plain-text cells; columns from numeric_from on are right-aligned."""

    def cells(values: Sequence[object], tag: str) -> str:
        return "".join(
            f"<{tag}{' class=num' if i >= numeric_from else ''}>{escape(str(value))}</{tag}>"
            for i, value in enumerate(values)
        )

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    return f"<table><thead><tr>{cells(header, 'th')}</tr></thead><tbody>{body}</tbody></table>"


class Figures:
    """Plotly figures as HTML divs; the first one carries plotly.js, the rest reuse it."""

    def __init__(self) -> None:
        self._library_included = False

    def html(self, figure: go.Figure) -> str:
        include = not self._library_included
        self._library_included = True
        return figure.to_html(
            full_html=False,
            include_plotlyjs=include,
            include_mathjax=False,
            config={"displaylogo": False, "responsive": True},
        )


def photo_grid(cards: Sequence[PhotoCard], max_pixels: int) -> str:
    """Thumbnails inlined as base64 JPEG, each with its caption; a photo that cannot be read
    any more shows why instead."""
    return '<div class="photos">' + "".join(_card(card, max_pixels) for card in cards) + "</div>"


def _card(card: PhotoCard, max_pixels: int) -> str:
    border = None if card.correct is None else (RIGHT if card.correct else WRONG)
    try:
        jpeg = images.thumbnail_jpeg(
            card.path, THUMBNAIL_PIXELS, max_pixels, border, THUMBNAIL_QUALITY
        )
        picture = (
            f'<img alt="" src="data:image/jpeg;base64,{base64.b64encode(jpeg).decode("ascii")}">'
        )
    except (ImageError, OSError):
        picture = '<div class="missing">photo no longer readable</div>'
    lines = "<br>".join(_line(text, correct) for text, correct in card.lines)
    return f"<figure>{picture}<figcaption>{lines}</figcaption></figure>"


def _line(text: str, correct: bool | None) -> str:
    if correct is None:
        return escape(text)
    mark, css = ("✓", "right") if correct else ("✗", "wrong")
    return f'<span class="{css}">{mark} {escape(text)}</span>'
