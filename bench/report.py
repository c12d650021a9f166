"""Benchmark results as a markdown report: one row per measurement, small extra tables, machine."""

from __future__ import annotations

import datetime as dt
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One measurement set against a baseline measured in the same run."""

    name: str
    measured: str
    baseline: str = "-"
    ratio: float | None = None
    target: str = "-"
    met: bool | None = None  # None: no target, or nothing to compare


@dataclass(frozen=True)
class Table:
    """A small extra table (e.g. images/s per batch size and thread count)."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]


@dataclass
class Outcome:
    """What one benchmark returns."""

    rows: list[Row]
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _first_value(path: str, key: str) -> str:
    """Value of the first 'key: value' line of a /proc file, or '?' where there is no /proc."""
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return "?"


def machine_info() -> dict[str, str]:
    """CPUs usable by this process (what `nproc` prints), RAM, CPU model, Python and TF versions."""
    mem_kb = _first_value("/proc/meminfo", "MemTotal").split()[0]
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "RAM": f"{int(mem_kb) / 2**20:.1f} GiB" if mem_kb.isdigit() else "?",
        "CPU": _first_value("/proc/cpuinfo", "model name"),
        "Python": platform.python_version(),
        "TensorFlow": metadata.version("tensorflow"),
    }


def _markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    # A '|' inside a cell (e.g. from an error message) would split the column.
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def _cells(row: Row) -> tuple[str, ...]:
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
    met = {True: "yes", False: "**NO**", None: "-"}[row.met]
    return (row.name, row.measured, row.baseline, ratio, row.target, met)


def render(
    outcomes: dict[str, Outcome], machine: dict[str, str], quick: bool, seconds: float
) -> str:
    """The whole report as markdown: headline table, then each benchmark's tables and notes."""
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [
        "# Transfer Lab benchmarks",
        "",
        f"Date: {when}. Mode: {'quick (smaller counts, smoke test)' if quick else 'full'}. "
        f"Total time: {seconds:.0f} s.",
        "",
        "Machine: " + ", ".join(f"{key} {value}" for key, value in machine.items()) + ".",
        "",
    ]
    rows = [_cells(row) for outcome in outcomes.values() for row in outcome.rows]
    header = ("benchmark", "measured", "baseline", "ratio", "target", "met?")
    lines += _markdown_table(header, rows)
    for name, outcome in outcomes.items():
        if not outcome.tables and not outcome.notes:
            continue
        lines += ["", f"## {name}"]
        for table in outcome.tables:
            lines += ["", table.title, "", *_markdown_table(table.header, table.rows)]
        if outcome.notes:
            lines += ["", *(f"- {note}" for note in outcome.notes)]
    return "\n".join(lines) + "\n"


def write(text: str, path: Path) -> None:
    """Write the report atomically, so a reader never sees half a table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)
