"""What an exported model expects and returns, shown before its download; and how each
export scored when it was reloaded and checked."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.export_record import ExportChecks, saved_checks
from engine.run_record import RunInfo
from engine.runs import RunStore


def render_input_spec(info: RunInfo) -> None:
    """The input a model of this run takes and what it gives back (as in its input.json)."""
    spec = info.input_spec()
    rows = {
        **spec["input"],
        "output": spec["output"]["meaning"],
        "labels": ", ".join(info.class_names),
    }
    rows["shape"] = "[N, " + ", ".join(str(n) for n in spec["input"]["shape"][1:]) + "]"
    st.caption(
        "Every download is a .zip: the model, labels.txt, input.json and a README with the "
        "lines that load it without Transfer Lab."
    )
    table = pd.DataFrame({"value": {name: str(value) for name, value in rows.items()}})
    st.table(table.rename_axis("model input / output"))  # a table wraps; nothing is cut off


def checks_table(checks: ExportChecks) -> pd.DataFrame:
    """One row per checked export: its size, accuracy beside the app's, largest probability
    difference and one photo's time."""
    rows = {
        fmt: {
            "model size": f"{check.model_bytes / 1e6:.1f} MB",
            "accuracy": f"{check.accuracy:.1%}",
            "app's accuracy": f"{check.app_accuracy:.1%}",
            "largest probability difference": f"{check.max_probability_difference:.4f}",
            "one photo": f"{check.latency_ms:.1f} ms",
            "app's one photo": f"{check.app_latency_ms:.1f} ms",
            "test photos": check.num_photos,
        }
        for fmt, check in checks.by_format.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("export")


def render_export_checks(store: RunStore, run_id: str) -> None:
    """The checks saved with the run (nothing before its first checked export).

    Raises:
        RunNotFoundError: the saved checks are damaged (the message says what to do).
    """
    checks = saved_checks(store, run_id)
    if not checks.by_format:
        return
    st.subheader("Exports checked")
    st.table(checks_table(checks))
    st.caption(
        "Each download was opened again and run on the same test photos as the model in this "
        "app: how often it is right, how far its answers differ at most (0 = identical), how "
        "big the model file is and how long one photo takes."
    )
    for check in checks.by_format.values():
        if check.warning():
            st.warning(f"Careful: {check.warning()}.")
