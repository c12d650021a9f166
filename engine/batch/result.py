"""What batch classify found: one row per photo (both models' top-1), the files left out, a CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from engine.data.scan import Skipped

CSV_COLUMNS = (
    "file",
    "zero_shot",
    "zero_shot_probability",
    "fine_tuned",
    "fine_tuned_probability",
    "not_sure",
    "problem",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): file
# and folder names come from users, so such cells are written with a leading apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Answer:
    """A model's top-1 for one photo."""

    label: str
    probability: float

    def to_dict(self) -> dict:
        return {"label": self.label, "probability": self.probability}


@dataclass(frozen=True)
class PhotoAnswer:
    """One photo: its name (relative to the folder) and each model's top-1 (None: no model)."""

    file: str
    zero_shot: Answer | None
    fine_tuned: Answer | None
    not_sure: bool | None = None  # None when the run has no confidence threshold

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "zero_shot": None if self.zero_shot is None else self.zero_shot.to_dict(),
            "fine_tuned": None if self.fine_tuned is None else self.fine_tuned.to_dict(),
            "not_sure": self.not_sure,
        }


@dataclass(frozen=True)
class BatchResult:
    """Every photo's answers in name order, the files not classified and why, and how."""

    rows: tuple[PhotoAnswer, ...]
    skipped: tuple[Skipped, ...]  # not photos, unreadable, links leaving the folder, ...
    zero_shot: bool  # whether the zero-shot model answered
    run_id: str | None  # the fine-tuned model's run (None: zero-shot only)
    threshold: float | None = None  # below it the fine-tuned answer is marked 'not sure'
    notes: tuple[str, ...] = ()  # e.g. why a model is missing

    def num_not_sure(self) -> int:
        return sum(bool(row.not_sure) for row in self.rows)

    def to_csv(self) -> str:
        """Every file as a CSV row (left-out files at the end, with their problem)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for row in self.rows:
            writer.writerow(
                _safe_cells(
                    row.file,
                    *_answer_cells(row.zero_shot),
                    *_answer_cells(row.fine_tuned),
                    "" if row.not_sure is None else ("yes" if row.not_sure else "no"),
                    "",
                )
            )
        for item in self.skipped:
            writer.writerow(_safe_cells(item.path, "", "", "", "", "", item.reason))
        return buffer.getvalue()

    def to_dict(self) -> dict:
        """The result as plain JSON types (the CLI's --json)."""
        return {
            "run_id": self.run_id,
            "zero_shot": self.zero_shot,
            "threshold": self.threshold,
            "notes": list(self.notes),
            "photos": [row.to_dict() for row in self.rows],
            "skipped": [{"file": item.path, "reason": item.reason} for item in self.skipped],
        }


def _answer_cells(answer: Answer | None) -> tuple[str, str]:
    return ("", "") if answer is None else (answer.label, f"{answer.probability:.4f}")


def _safe_cells(*cells: str) -> list[str]:
    return [f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell for cell in cells]
