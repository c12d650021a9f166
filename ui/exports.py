"""What an exported model expects and returns, shown before its download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.run_record import RunInfo


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
