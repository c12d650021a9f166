"""Plain-text output shared by the CLI commands: aligned tables and percentages."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from engine.metrics import ClassMetrics, Metrics
from engine.store_files import finite


def per_class_table(per_class: dict[str, ClassMetrics]) -> list[str]:
    """Precision, recall, F1 and support per class, one aligned line each."""
    rows = [("class", "precision", "recall", "f1", "support")]
    rows += [
        (name, f"{m.precision:.2f}", f"{m.recall:.2f}", f"{m.f1:.2f}", str(m.support))
        for name, m in per_class.items()
    ]
    return table(rows)


def table(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned first column, right-aligned numbers, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def accuracy_text(metrics: Metrics) -> str:
    """'84.0% (95% CI 78.3-88.5%, 200 photos)', with the small-sample caveat when there is one."""
    low, high = metrics.accuracy_interval
    text = f"{metrics.accuracy:.1%} (95% CI {low:.1%}-{high:.1%}, {metrics.num_images} photos)"
    caveat = metrics.caveat()
    return f"{text}; note: {caveat}" if caveat else text


def to_json(data: object) -> str:
    """Strict JSON for stdout: NaN and infinities become null, so every parser accepts it."""
    return json.dumps(finite(data), allow_nan=False, default=str)


def progress_lines(steps: int = 10) -> Callable[[float, str], None]:
    """A progress callback (fraction done, what) printing a line on stderr whenever the
    activity changes or another 1/steps of the work is done."""
    last = {"text": "", "step": -1}

    def report(fraction: float, text: str) -> None:
        step = int(fraction * steps)
        if text != last["text"] or step > last["step"]:
            print(f"[{fraction:4.0%}] {text}", file=sys.stderr, flush=True)
            last.update(text=text, step=step)

    return report
