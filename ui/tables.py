"""Tables (pandas) for metrics and runs, shaped for st.dataframe."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

import pandas as pd

from engine.metrics import ClassMetrics
from engine.run_record import Run, RunInfo


def per_class_table(
    per_class: dict[str, ClassMetrics], zero_shot_per_class: dict[str, ClassMetrics] | None = None
) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, with the zero-shot F1 when known."""
    table = pd.DataFrame.from_dict(
        {name: values.to_dict() for name, values in per_class.items()}, orient="index"
    )
    if zero_shot_per_class:
        table["zero-shot f1"] = pd.Series(
            {name: values.f1 for name, values in zero_shot_per_class.items()}
        )
    return table.rename_axis("class")


def runs_table(infos: Sequence[RunInfo]) -> pd.DataFrame:
    """One row per run: status, dataset, accuracies, seconds and the config as JSON."""
    return pd.DataFrame(
        [
            {
                "run": info.run_id,
                "created": info.created,
                "status": info.status,
                "dataset": info.dataset,
                "accuracy": info.test_accuracy,
                "zero-shot accuracy": info.zero_shot_accuracy,
                "seconds": info.train_seconds,
                "config": json.dumps(dataclasses.asdict(info.config), sort_keys=True),
            }
            for info in infos
        ]
    )


def compare_table(runs: Sequence[Run]) -> pd.DataFrame:
    """Runs as rows: test accuracy, zero-shot accuracy and the F1 of every class."""
    rows = {}
    for run in runs:
        row = {
            "accuracy": run.info.test_accuracy,
            "zero-shot accuracy": run.info.zero_shot_accuracy,
        }
        if run.evaluation is not None:
            for name, values in run.evaluation.metrics.per_class.items():
                row[f"f1 {name}"] = values.f1
        rows[run.info.run_id] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("run")


def percent(value: float | None) -> str:
    """0.873 -> '87.3%'; None -> 'n/a'."""
    return "n/a" if value is None else f"{value:.1%}"
