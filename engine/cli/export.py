"""`python -m engine export`: a run's model as a download bundle, optionally checked (reloaded
from the file and scored on the run's test photos beside the app's model)."""

from __future__ import annotations

import argparse

from engine.cli.text import percent, table, to_json
from engine.export_check import prepare_export
from engine.export_record import ExportCheck
from engine.runs import EXPORT_FORMATS, RunStore
from engine.settings import Settings


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "export", parents=[common], help="write a run's model as a .zip (model, labels, README)"
    )
    parser.add_argument("--run", required=True, metavar="RUN_ID", help="run id or 'latest'")
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="export_format")
    parser.add_argument(
        "--check",
        action="store_true",
        help="reload the exported file, score it on the run's test photos beside the app's "
        "model and time one photo (saved with the run)",
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Export (editor mode only), then print where it is and, with --check, what it scored."""
    store = RunStore.for_settings(settings)
    run_id = store.info(args.run).run_id
    path, check = prepare_export(settings, store, run_id, args.export_format, args.check)
    size = path.stat().st_size
    if args.json:
        result = {
            "run_id": run_id,
            "format": args.export_format,
            "path": str(path),
            "bytes": size,
            "check": None if check is None else check.to_dict(),
            "warning": None if check is None else check.warning(),
        }
        return to_json(result), 0
    lines = [f"Run {run_id} exported as {args.export_format}: {path} ({_megabytes(size)})"]
    if check is not None:
        lines += ["", *check_table(check)]
        if check.warning():
            lines.append(f"warning: {check.warning()}")
    return "\n".join(lines), 0


def check_table(check: ExportCheck) -> list[str]:
    """The exported model beside the app's, one measure per line."""
    rows = [
        ("", "export", "app"),
        ("accuracy", percent(check.accuracy), percent(check.app_accuracy)),
        ("max probability difference", f"{check.max_probability_difference:.4f}", "-"),
        ("model size", _megabytes(check.model_bytes), "-"),
        ("one photo", f"{check.latency_ms:.1f} ms", f"{check.app_latency_ms:.1f} ms"),
    ]
    return [
        f"Reloaded from the file and scored on the run's {check.num_photos} test photos:",
        *table(rows),
    ]


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
