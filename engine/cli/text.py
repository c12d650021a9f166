"""Plain-text output shared by the CLI commands: aligned tables and percentages."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from engine.insight.calibration import Calibration
from engine.metrics import ClassMetrics, Metrics
from engine.store_files import finite

MAX_LABELS_SHOWN = 6  # a group such as 'dog' has 118 labels; --json lists them all


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


def mapping_lines(mapping: dict[str, dict]) -> list[str]:
    """'ImageNet labels per class:' and one line per class: its labels, the rule and why."""
    if not mapping:
        return []
    lines = ["", "ImageNet labels per class (rule: why):"]
    for name, mapped in mapping.items():
        shown = mapped["labels"][:MAX_LABELS_SHOWN]
        more = len(mapped["labels"]) - len(shown)
        labels = (", ".join(shown) or "none") + (f" and {more} more" if more > 0 else "")
        lines.append(f"  {name}: {labels} ({mapped['rule']}: {mapped['why']})")
    return lines


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


def flips_text(counts: dict[str, int]) -> str:
    """The flip board's counts in one line (both models on the same test photos)."""
    return (
        f"Test photos fixed by training {counts['fixed']}, broken {counts['broken']}, both "
        f"right {counts['both_right']}, both wrong {counts['both_wrong']}; "
        f"{counts['cannot_name']} more are of classes zero-shot cannot name."
    )


def calibration_lines(calibration: Calibration) -> list[str]:
    """Each model's calibration error before -> after its temperature, one line each."""
    lines = []
    for title, model, note, photos in (
        ("trained model", calibration.fine_tuned, None, "test photos"),
        ("zero-shot", calibration.zero_shot, calibration.zero_shot_note, "photos it can name"),
    ):
        if model is None:
            lines.append(f"  {title}: not calibrated ({note})")
        elif model.temperature is None:
            lines.append(f"  {title}: calibration error {percent(model.ece_before)}; {model.note}")
        else:
            lines.append(
                f"  {title}: calibration error {percent(model.ece_before)} -> "
                f"{percent(model.ece_after)} (temperature {model.temperature:.2f}, fitted on "
                f"{model.num_validation} validation photos, measured on {model.num_test} {photos})"
            )
    return lines


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
