"""`python -m engine runs`: list the saved runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.text import percent, table, to_json
from engine.errors import RunNotFoundError
from engine.events import format_seconds
from engine.mapping_record import named_accuracy
from engine.runs import RunStore
from engine.settings import Settings


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("runs", parents=[common], help="list saved runs")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Every readable run, newest first, then the damaged ones with the reason."""
    store = RunStore.for_settings(settings)
    infos, damaged = store.list(), store.damaged()
    named = {info.run_id: _named_accuracy(store, info.run_id) for info in infos}
    if args.json:
        listed = [
            {**info.to_dict(), "zero_shot_named_accuracy": named[info.run_id]} for info in infos
        ]
        listed += [{"run_id": d.run_id, "status": "damaged", "reason": d.reason} for d in damaged]
        return to_json(listed), 0
    if not infos and not damaged:
        return f"No runs in {settings.runs_dir} yet.", 0
    rows = [
        ("run id", "status", "classes", "test acc", "zero-shot", "zs named", "trained", "dataset")
    ]
    rows += [
        (
            info.run_id,
            info.status,
            str(len(info.class_names)),
            percent(info.test_accuracy),
            percent(info.zero_shot_accuracy),
            percent(named[info.run_id]),
            format_seconds(info.train_seconds) if info.train_seconds is not None else "-",
            Path(info.dataset).name,
        )
        for info in infos
    ]
    rows += [(d.run_id, "damaged", "-", "-", "-", "-", "-", d.reason) for d in damaged]
    lines = table(rows)
    if infos:
        lines.append("zs named: zero-shot accuracy on the classes ImageNet has a label for.")
    return "\n".join(lines), 0


def _named_accuracy(store: RunStore, run_id: str) -> float | None:
    """Zero-shot on the classes ImageNet can name; None (shown '-') when it cannot be read."""
    try:
        return named_accuracy(store, run_id)
    except RunNotFoundError:  # damaged files beyond run.json: the listing still shows the run
        return None
