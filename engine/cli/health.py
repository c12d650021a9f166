"""`python -m engine health`: check a dataset before training (balance, copies, odd photos)."""

from __future__ import annotations

import argparse
import sys

from engine.cli.data_args import add_data_arguments, data_and_split_file
from engine.cli.text import table, to_json
from engine.config import TrainConfig
from engine.data.scan import scan_dataset
from engine.data.split import make_split
from engine.health.check import health_check
from engine.health.report import HealthReport
from engine.settings import Settings

SHOWN = 10  # groups and odd photos listed in the text report (--json lists all)


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "health", parents=[common], help="check a dataset: balance, copies, leakage, odd photos"
    )
    add_data_arguments(
        parser, "check the engine's own seeded split even when the folder has a splits.csv"
    )
    parser.add_argument(
        "--no-features",
        action="store_true",
        help="hashes only: finds exact and near-identical copies without running the model",
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Scan, split as a training would, check; one JSON object with --json."""
    data, split_file, _ = data_and_split_file(args)
    dataset = scan_dataset(data, settings.max_image_pixels)
    split = make_split(dataset, TrainConfig(), split_file)
    report = health_check(
        dataset, split, settings, split_file, not args.no_features, on_photos=_progress
    )
    if args.json:
        summary = {
            "warnings": report.warnings(),
            "duplicate_groups": len(report.groups),
            "leaking_groups": len(report.leaks),
            "test_photos_leaked": report.test_photos_leaked,
            "odd_photos": len(report.oddities),
            "imbalance_ratio": report.balance.ratio,
        }
        return to_json({**summary, **report.to_dict()}), 0
    return _text(report), 0


def _progress(done: int, total: int) -> None:
    print(f"features: {done}/{total} photos", file=sys.stderr, flush=True)


def _text(report: HealthReport) -> str:
    checked = "hashes and model features" if report.features_checked else "hashes only"
    lines = [
        f"{report.num_photos} photos in {report.root}, split: {report.split_source} ({checked})",
        *[f"warning: {warning}" for warning in report.warnings()],
        "",
        *table([("class", "photos"), *((n, str(c)) for n, c in report.balance.counts.items())]),
        "",
        f"{len(report.groups)} groups of copies, {len(report.leaks)} across the split "
        f"({report.test_photos_leaked} test photos affected):",
    ]
    for group in report.groups[:SHOWN]:
        members = ", ".join(f"{photo.path} ({photo.part or 'unused'})" for photo in group.photos)
        lines.append(f"  {group.kind}: {members}")
    lines += ["", f"{len(report.oddities)} odd photos:"]
    lines += [f"  {o.photo.path}: {'; '.join(o.reasons)}" for o in report.oddities[:SHOWN]]
    if len(report.groups) > SHOWN or len(report.oddities) > SHOWN:
        lines.append(f"(first {SHOWN} of each listed; --json lists all)")
    return "\n".join(lines)
