"""Tables (pandas) for metrics and runs, shaped for st.dataframe."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from engine.data.scan import Skipped
from engine.evaluation import ZeroShotResult
from engine.events import format_seconds
from engine.metrics import ClassMetrics
from engine.run_record import Run, RunInfo


def per_class_table(
    per_class: dict[str, ClassMetrics], zero_shot: ZeroShotResult | None = None
) -> pd.DataFrame:
    """Precision, recall and F1 as percentages per class, and the zero-shot recall and F1
    ('n/a' where ImageNet has no label for the class, so zero-shot cannot name it)."""
    rows = {}
    for name, values in per_class.items():
        row = {
            "photos": values.support,
            "precision": percent(values.precision),
            "recall": percent(values.recall),
            "f1": percent(values.f1),
        }
        if zero_shot is not None:
            named = name in zero_shot.named_classes
            theirs = zero_shot.metrics.per_class[name]
            row["zero-shot recall"] = percent(theirs.recall) if named else "n/a"
            row["zero-shot f1"] = percent(theirs.f1) if named else "n/a"
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("class")


def runs_table(
    infos: Sequence[RunInfo], named: dict[str, float | None] | None = None
) -> pd.DataFrame:
    """One readable row per run: local time, percentages, the settings that matter, notes.

    named: run id -> zero-shot accuracy on the classes ImageNet can name (a column when given).
    """
    named_column = {} if named is None else {"zero-shot, nameable classes": None}
    return pd.DataFrame(
        [
            {
                "run": info.title,
                "status": info.status,
                "accuracy": percent(info.test_accuracy),
                "zero-shot": percent(info.zero_shot_accuracy),
                **{column: percent(named.get(info.run_id)) for column in named_column},
                "backbone": info.config.backbone,
                "head epochs": info.config.epochs,
                "fine-tune epochs": info.config.fine_tune_epochs,
                "augment": "on" if info.config.augment else "off",
                "mapping": info.mapping_source,
                "training time": format_seconds(info.train_seconds) if info.train_seconds else "",
                "notes": info.notes,
                "id": info.run_id,
            }
            for info in infos
        ]
    )


def config_table(infos: Sequence[RunInfo]) -> pd.DataFrame:
    """Every training setting of every run (the details behind runs_table)."""
    table = pd.DataFrame({info.title: dataclasses.asdict(info.config) for info in infos})
    return table.astype(str).rename_axis("setting")  # one column mixes names and numbers


def compare_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Runs as rows: test accuracy, zero-shot accuracy and the F1 of every class."""
    rows = {}
    for run in runs:
        row = {
            "accuracy": percent(run.info.test_accuracy),
            "zero-shot accuracy": percent(run.info.zero_shot_accuracy),
            "zero-shot, nameable classes": percent(
                run.zero_shot.named_accuracy if run.zero_shot else None
            ),
        }
        if run.evaluation is not None:
            for name, values in run.evaluation.metrics.per_class.items():
                row[f"f1 {name}"] = percent(values.f1)
        rows[run.info.title] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("run")


def percent(value: float | None) -> str:
    """0.873 -> '87.3%'; None -> 'n/a'."""
    return "n/a" if value is None else f"{value:.1%}"


def split_table(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Classes as rows, train / validation / test as columns, with a total row."""
    table = pd.DataFrame.from_dict(counts, orient="index")
    table.loc["all classes"] = table.sum()
    return table.rename_axis("class")


def skipped_table(skipped: Sequence[Skipped]) -> tuple[pd.DataFrame, dict]:
    """Skipped files and why, with column settings that show the whole reason."""
    table = pd.DataFrame([{"file": item.path, "reason": item.reason} for item in skipped])
    column_config = {
        "file": st.column_config.TextColumn("file", width="medium"),
        "reason": st.column_config.TextColumn("reason", width="large"),
    }
    return table, column_config
