"""Editable ImageNet-label -> dataset-class mapping (st.data_editor with a multiselect column),
each class's reason beside it, and one-click suggestions for classes with no label."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from engine.errors import RunNotFoundError
from engine.mapping import MappedClass, suggestions
from engine.mapping_record import load_mapping_record
from engine.run_record import Run
from engine.runs import RunStore
from ui import session

COLUMN = "ImageNet labels"
WHY = "why"


def _option(index: int, labels: Sequence[str]) -> str:
    # The index is part of the text because ImageNet repeats some names ('crane', 'maillot').
    return f"{index}: {labels[index]}"


def _index(option: str) -> int:
    return int(option.split(":", 1)[0])


def _short(label: str) -> str:
    """'hip (rose hip)': the label's first name and, when it has one, its second."""
    names = [name.strip() for name in label.split(",")]
    return f"{names[0]} ({names[1]})" if len(names) > 1 else names[0]


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


def render_suggestions(
    data_dir: Path, mapping: dict[str, list[int]], labels: tuple[str, ...], key: str
) -> None:
    """For each class no label is mapped to, the closest free labels on a button; a click
    adds them to the mapping (kept for this dataset's trainings) and reruns the page."""
    unmapped = [name for name, indices in mapping.items() if not indices]
    taken = {index for indices in mapping.values() for index in indices}
    offered = {name: found for name, found in suggestions(unmapped, labels, taken).items() if found}
    if not offered:
        return
    st.caption("No rule maps these classes; the closest labels, one click to use them:")
    for number, (name, indices) in enumerate(offered.items()):
        # The class name is a folder name: shown as plain text, never markdown.
        left, *buttons = st.columns([2, 2, 2, 2], vertical_alignment="center")
        left.text(name)
        for place, index in zip(buttons, indices, strict=False):
            label = f"Use {_short(labels[index])}"
            if place.button(label, key=f"{key}_{number}_{index}", icon=":material/add:"):
                session.replace_mapping(data_dir, {**mapping, name: [index]}, key)
                st.rerun()


def render_run_mapping(store: RunStore, run: Run) -> None:
    """The ImageNet labels each class of a saved run counted as, and why; runs saved before
    reasons were recorded show their labels alone, a damaged record says what is wrong."""
    if run.zero_shot is None:
        return
    st.caption(
        "Zero-shot counts a photo as a class when the ImageNet model's top answer is one of "
        "that class's labels; a class with none can never be right."
    )
    try:
        record = load_mapping_record(store, run.info.run_id)
    except RunNotFoundError as exc:
        st.warning(f"The saved reasons of this run's mapping cannot be read. {exc}")
        record = None
    if record is None:
        st.caption("This run was saved before runs recorded why each class was mapped.")
        rows = [
            {"class": name, "ImageNet label numbers": ", ".join(map(str, indices)) or "none"}
            for name, indices in run.zero_shot.mapping.items()
        ]
    else:
        rows = [
            {
                "class": name,
                "ImageNet labels": ", ".join(mapped.labels) or "none",
                "rule": mapped.rule,
                WHY: mapped.why,
            }
            for name, mapped in record.classes.items()
        ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
