"""Command line: python -m engine train | predict | evaluate | runs | ... (--json for machines)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
from collections.abc import Iterator

from engine.cli import (
    calibrate,
    curve,
    download,
    evaluate,
    export,
    gradcam,
    health,
    labels,
    predict,
    projection,
    report,
    runs,
    train,
)
from engine.data.paths import checked_path
from engine.errors import TransferLabError, first_line
from engine.housekeeping import clean_leftovers
from engine.images import printable
from engine.settings import Settings

COMMANDS = (
    train,
    predict,
    evaluate,
    runs,
    calibrate,
    curve,
    gradcam,
    projection,
    report,
    export,
    health,
    labels,
    download,
)


def main(argv: list[str] | None = None) -> int:
    """Parse argv, run the command, return the exit code (user errors: 1 and one stderr line)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2); main reports codes, never exits
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        settings = Settings.from_env()
        if args.runs_dir is not None:
            runs_dir = checked_path(args.runs_dir, "--runs-dir")
            settings = dataclasses.replace(settings, runs_dir=runs_dir)
        clean_leftovers(settings)
        # Keras and TF print progress and notices; stdout carries only the command's result.
        with _stdout_to_stderr():
            text, code = args.command(args, settings)
    except TransferLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the checks let through that the system still refuses
        where = f" ({printable(exc.filename)})" if exc.filename else ""
        print(f"error: {first_line(exc)}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if text:
        # Paths that are not valid UTF-8 (a run's dataset, an image argument) hold lone
        # surrogates, which a strict UTF-8 stdout (macOS, en_US.UTF-8) refuses with a traceback.
        print(printable(text))
    return code


def _build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--runs-dir", metavar="DIR", help="run store (default: TLAB_RUNS_DIR)")
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    parser = argparse.ArgumentParser(
        prog="python -m engine", description="Transfer Lab: zero-shot vs fine-tuned image models."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands, common)
    return parser


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send whatever is printed meanwhile, by Python or native code, to stderr."""
    sys.stdout.flush()
    saved_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
