"""`python -m engine train`: fine-tune on a folder of photos, progress on stderr."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TextIO

from engine.access import require_editor
from engine.backbones import BACKBONES
from engine.cli.data_args import add_data_arguments, data_and_split_file
from engine.cli.text import (
    accuracy_text,
    calibration_lines,
    flips_text,
    mapping_lines,
    per_class_table,
    percent,
    to_json,
)
from engine.config import TrainConfig
from engine.events import STAGE_TITLES, ProgressEvent, format_seconds
from engine.experiment import run_experiment
from engine.images import printable
from engine.insight.calibration import load_calibration
from engine.insight.flips import load_flip_board
from engine.mapping_record import load_mapping_record
from engine.metrics import Metrics
from engine.runs import RunStore
from engine.settings import Settings
from engine.train_lock import training_lock

BAR_WIDTH = 24
# Short spellings kept from earlier versions of the CLI.
ALIASES = {"unfreeze_layers": ("--unfreeze",)}
_TYPES = {"int": int, "float": float, "str": str}


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The train command with one flag per TrainConfig field (so none can drift)."""
    parser = commands.add_parser("train", parents=[common], help="fine-tune on a folder of photos")
    add_data_arguments(parser, "split at random (seeded) even when the folder has a splits.csv")
    for option in dataclasses.fields(TrainConfig):
        flags = ["--" + option.name.replace("_", "-"), *ALIASES.get(option.name, ())]
        help_text = option.metadata["help"]
        if option.name == "backbone":
            help_text += f": {', '.join(BACKBONES)}"
        if option.type == "bool":
            parser.add_argument(
                *flags,
                dest=option.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{help_text} (default: {'on' if option.default else 'off'})",
            )
        else:
            parser.add_argument(
                *flags,
                dest=option.name,
                type=_TYPES[option.type],
                default=None,
                choices=option.metadata.get("choices"),
                metavar=option.type.upper() if option.type != "str" else "NAME",
                help=f"{help_text} (default: {option.default})",
            )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Train, save the run, and report it (one JSON object with --json)."""
    overrides = {
        option.name: getattr(args, option.name)
        for option in dataclasses.fields(TrainConfig)
        if getattr(args, option.name) is not None
    }
    data, split_file, found = data_and_split_file(args)
    if found:
        print(f"Using {split_file} (pass --no-split-file for a random split)", file=sys.stderr)
    require_editor(settings, "train")
    with training_lock(settings.runs_dir, f"python -m engine train --data {printable(data.name)}"):
        info = run_experiment(
            data,
            TrainConfig(**overrides),
            settings,
            split_file=split_file,
            on_event=ProgressPrinter(sys.stderr),
        )
    store = RunStore.for_settings(settings)
    run = store.load(info.run_id)
    board, calibration = load_flip_board(store, run), load_calibration(store, info.run_id)
    metrics = run.evaluation.metrics if run.evaluation is not None else None
    per_class = metrics.per_class if metrics is not None else {}
    zero_shot = run.zero_shot
    record = load_mapping_record(store, info.run_id)
    result = {
        "run_id": info.run_id,
        "status": info.status,
        "test_accuracy": info.test_accuracy,
        "test_accuracy_interval": list(metrics.accuracy_interval) if metrics else None,
        "zero_shot_accuracy": info.zero_shot_accuracy,
        "zero_shot_named_accuracy": zero_shot.named_accuracy if zero_shot else None,
        "zero_shot_named_classes": list(zero_shot.named_classes) if zero_shot else [],
        "caveat": metrics.caveat() if metrics else None,
        "split_file": str(split_file) if split_file else None,
        "split_digest": run.split.digest if run.split else None,
        "classes": list(info.class_names),
        "per_class": {name: values.to_dict() for name, values in per_class.items()},
        "train_seconds": info.train_seconds,
        "unmapped_classes": list(zero_shot.unmapped_classes) if zero_shot else [],
        "zero_shot_error": run.zero_shot_error,
        # class -> {labels, indices, rule, why}: what zero-shot counts as each class, and why
        "zero_shot_mapping": (
            {name: mapped.to_dict() for name, mapped in record.classes.items()} if record else {}
        ),
        "skipped": len(run.data.skipped_files),
        "run_dir": str(settings.runs_dir / info.run_id),
        "flips": board.counts() if board is not None else None,
        "calibration": calibration.summary() if calibration is not None else None,
    }
    if args.json:
        return to_json(result), 0
    insight = [flips_text(board.counts())] if board is not None else []
    if calibration is not None:
        insight += ["Calibration on the validation photos:", *calibration_lines(calibration)]
    return "\n".join([_report(result, metrics), *insight]), 0


def _report(result: dict, metrics: Metrics | None) -> str:
    fine_tuned = accuracy_text(metrics) if metrics else percent(result["test_accuracy"])
    lines = [
        f"Run {result['run_id']} ({result['status']}) saved in {result['run_dir']}",
        f"Test accuracy: {fine_tuned} fine-tuned, "
        f"{percent(result['zero_shot_accuracy'])} zero-shot (ImageNet; "
        f"{percent(result['zero_shot_named_accuracy'])} on the classes it can name)",
        "",
        *per_class_table(metrics.per_class if metrics else {}),
        "",
        f"Trained in {format_seconds(result['train_seconds'] or 0)}; "
        f"{result['skipped']} file(s) skipped.",
    ]
    if result["unmapped_classes"]:
        named = result["zero_shot_named_classes"]
        lines.append(
            f"ImageNet can name {len(named)} of {len(result['classes'])} classes "
            f"({', '.join(named) or 'none'}); zero-shot on their photos: "
            f"{percent(result['zero_shot_named_accuracy'])}. No ImageNet label for: "
            f"{', '.join(result['unmapped_classes'])}."
        )
    if result["zero_shot_error"]:
        lines.append(f"Zero-shot baseline skipped: {result['zero_shot_error']}")
    lines += mapping_lines(result["zero_shot_mapping"])
    return "\n".join(lines)


class ProgressPrinter:
    """Training progress on stderr: a bar redrawn in place on a terminal, else a line per epoch."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._bar_shown = False

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "stage_start":
            title = STAGE_TITLES.get(event.stage, event.stage)
            self._line(f"[{event.stage_index}/{event.num_stages}] {title}")
        elif event.kind == "batch" and self._live:
            self._bar(event)
        elif event.kind == "epoch_end":
            self._line(f"  {_position(event)}{_metrics_text(event)}")
        elif event.kind == "stage_end" and self._bar_shown:
            # Stages without epochs end on their bar: keep it on screen.
            self._stream.write("\n")
            self._bar_shown = False

    def _bar(self, event: ProgressEvent) -> None:
        done = event.batch / event.num_batches if event.num_batches else 0.0
        filled = round(done * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        # \r returns to the line start and \x1b[K clears what a longer previous bar left.
        self._stream.write(
            f"\r  {_position(event)} [{bar}] {event.batch}/{event.num_batches}"
            f"{_metrics_text(event)}\x1b[K"
        )
        self._stream.flush()
        self._bar_shown = True

    def _line(self, text: str) -> None:
        prefix = "\r\x1b[K" if self._bar_shown else ""
        self._bar_shown = False
        self._stream.write(f"{prefix}{text}\n")
        self._stream.flush()


def _position(event: ProgressEvent) -> str:
    if event.num_epochs:
        return f"{event.stage} epoch {event.epoch}/{event.num_epochs}"
    return event.stage


def _metrics_text(event: ProgressEvent) -> str:
    parts = [f"{name} {value:.3f}" for name, value in event.metrics.items()]
    if event.eta_seconds is not None:
        parts.append(f"ETA {format_seconds(event.eta_seconds)}")
    return "  " + "  ".join(parts) if parts else ""
