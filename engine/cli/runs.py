"""`python -m engine runs`: list the saved runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.text import percent, table, to_json
from engine.events import format_seconds
from engine.runs import RunStore
from engine.settings import Settings


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("runs", parents=[common], help="list saved runs")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Every readable run, newest first, then the damaged ones with the reason."""
    store = RunStore.for_settings(settings)
    infos, damaged = store.list(), store.damaged()
    if args.json:
        listed = [info.to_dict() for info in infos]
        listed += [{"run_id": d.run_id, "status": "damaged", "reason": d.reason} for d in damaged]
        return to_json(listed), 0
    if not infos and not damaged:
        return f"No runs in {settings.runs_dir} yet.", 0
    rows = [("run id", "status", "classes", "test acc", "zero-shot", "trained", "dataset")]
    rows += [
        (
            info.run_id,
            info.status,
            str(len(info.class_names)),
            percent(info.test_accuracy),
            percent(info.zero_shot_accuracy),
            format_seconds(info.train_seconds) if info.train_seconds is not None else "-",
            Path(info.dataset).name,
        )
        for info in infos
    ]
    rows += [(d.run_id, "damaged", "-", "-", "-", "-", d.reason) for d in damaged]
    return "\n".join(table(rows)), 0
