"""`python -m engine report`: a run's shareable HTML report, written to the file you name."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.text import to_json
from engine.data.paths import checked_path
from engine.errors import BadPathError
from engine.images import printable
from engine.report import run_report
from engine.runs import RunStore
from engine.settings import Settings
from engine.store_files import replace_bytes


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "report",
        parents=[common],
        help="write a run's report: one HTML file that opens offline and can be forwarded",
    )
    parser.add_argument("--run", required=True, metavar="RUN_ID", help="run id or 'latest'")
    parser.add_argument("--out", required=True, metavar="FILE", help="the .html file to write")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Build the report in memory, then write it to --out in one step."""
    out = checked_path(args.out, "--out")
    store = RunStore.for_settings(settings)
    run_id = store.info(args.run).run_id
    document = run_report(store, run_id, settings.max_image_pixels)
    _write(out, document)
    if args.json:
        return to_json({"run_id": run_id, "out": str(out), "bytes": len(document)}), 0
    return f"Report of run {run_id} written to {out} ({len(document) / 1e6:.1f} MB).", 0


def _write(out: Path, document: bytes) -> None:
    """Write through a temp file beside out and a rename: out is whole or untouched.

    Raises:
        BadPathError: out is a folder or a symbolic link.
        OSError: the folder is missing or not writable.
    """
    if out.is_symlink() or out.is_dir():
        kind = "a symbolic link" if out.is_symlink() else "a folder"
        raise BadPathError(f"--out {printable(out)} is {kind}; name a new .html file.")
    replace_bytes(out, document)
