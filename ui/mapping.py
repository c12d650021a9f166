"""Editable ImageNet-label -> dataset-class mapping (st.data_editor with a multiselect column)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

COLUMN = "ImageNet labels"


def _option(index: int, labels: Sequence[str]) -> str:
    # The index is part of the text because ImageNet repeats some names ('crane', 'maillot').
    return f"{index}: {labels[index]}"


def _index(option: str) -> int:
    return int(option.split(":", 1)[0])


def mapping_editor(
    class_names: Sequence[str], labels: Sequence[str], mapping: dict[str, list[int]], key: str
) -> dict[str, list[int]]:
    """Show one row per class with its ImageNet labels; return the mapping as edited.

    labels are the 1001 ImageNet labels (index 0 'background' is never offered).
    """
    options = [_option(i, labels) for i in range(1, len(labels))]
    frame = pd.DataFrame(
        {
            "class": list(class_names),
            COLUMN: [[_option(i, labels) for i in mapping.get(name, [])] for name in class_names],
        }
    )
    edited = st.data_editor(
        frame,
        key=key,
        hide_index=True,
        num_rows="fixed",
        disabled=["class"],
        column_config={COLUMN: st.column_config.MultiselectColumn(options=options, width="large")},
    )
    return {
        row["class"]: [
            _index(option) for option in (row[COLUMN] if row[COLUMN] is not None else [])
        ]
        for row in edited.to_dict("records")
    }
