"""Editable ImageNet-label -> dataset-class mapping (st.data_editor with a multiselect column),
each class's reason beside it, and one-click suggestions for classes with no label."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from engine.mapping import MappedClass

COLUMN = "ImageNet labels"
WHY = "why"


def _option(index: int, labels: Sequence[str]) -> str:
    # The index is part of the text because ImageNet repeats some names ('crane', 'maillot').
    return f"{index}: {labels[index]}"


def _index(option: str) -> int:
    return int(option.split(":", 1)[0])


def reason_text(mapped: MappedClass) -> str:
    """'group: ImageNet splits ...' (what the table's why column shows)."""
    return f"{mapped.rule}: {mapped.why}"


def mapping_editor(
    class_names: Sequence[str],
    labels: Sequence[str],
    mapping: dict[str, list[int]],
    key: str,
    reasons: dict[str, MappedClass] | None = None,
    editable: bool = True,
) -> dict[str, list[int]]:
    """Show one row per class with its ImageNet labels (and why); return the mapping as edited.

    labels are the 1001 ImageNet labels (index 0 'background' is never offered). With
    editable False the table is read-only (viewer mode).
    """
    options = [_option(i, labels) for i in range(1, len(labels))]
    columns = {
        "class": list(class_names),
        COLUMN: [[_option(i, labels) for i in mapping.get(name, [])] for name in class_names],
    }
    if reasons is not None:
        columns[WHY] = [reason_text(reasons[name]) for name in class_names]
    edited = st.data_editor(
        pd.DataFrame(columns),
        key=key,
        hide_index=True,
        num_rows="fixed",
        disabled=True if not editable else ["class", WHY],
        column_config={
            COLUMN: st.column_config.MultiselectColumn(options=options, width="large"),
            WHY: st.column_config.TextColumn(WHY, width="large"),
        },
    )
    return {
        row["class"]: [
            _index(option) for option in (row[COLUMN] if row[COLUMN] is not None else [])
        ]
        for row in edited.to_dict("records")
    }


def suggestion_buttons(
    offered: dict[str, list[int]], labels: Sequence[str], key: str
) -> tuple[str, list[int]] | None:
    """A button per class with suggested labels; returns (class, labels) of the one clicked."""
    chosen = None
    for number, (name, indices) in enumerate(offered.items()):
        if not indices:
            continue
        names = ", ".join(labels[i].split(",")[0] for i in indices)
        # The class name is a folder name: shown as plain text, never markdown.
        left, right = st.columns([2, 3], vertical_alignment="center")
        left.text(name)
        if right.button(f"Use {names}", key=f"{key}_{number}", icon=":material/add:"):
            chosen = (name, indices)
    return chosen
