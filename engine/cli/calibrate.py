"""`python -m engine calibrate`: calibrate a saved run's confidence on its validation photos."""

from __future__ import annotations

import argparse
import sys

from engine.access import require_editor
from engine.classifiers import load_run_classifier
from engine.cli.text import calibration_lines, to_json
from engine.data.paths import checked_path
from engine.errors import ModelUnavailableError
from engine.insight.compute import calibrate_saved_run, recorded_split
from engine.runs import RunStore
from engine.runtime import Runtime
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "calibrate",
        parents=[common],
        help="fit both models' confidence on a saved run's validation photos and save it "
        "(runs trained before calibration existed)",
    )
    parser.add_argument("--run", required=True, metavar="RUN_ID", help="run id or 'latest'")
    parser.add_argument(
        "--data", metavar="DIR", help="the dataset folder (default: the one the run trained on)"
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Run both models on the run's recorded validation and test photos; save the result."""
    store = RunStore(settings.runs_dir)
    info = store.info(args.run)
    folder = checked_path(args.data, "--data") if args.data else None
    # Refuse before seconds of model loading.
    require_editor(settings, "compute a calibration")
    recorded_split(store.load(info.run_id), folder)
    fine_tuned = load_run_classifier(store, info.run_id, Runtime.from_settings(settings))
    try:
        zero_shot, why = ZeroShotClassifier.load(settings), None
    except ModelUnavailableError as error:
        zero_shot, why = None, str(error)
        print(f"warning: zero-shot skipped: {error}", file=sys.stderr)
    print(f"Calibrating run {info.run_id} on its validation photos...", file=sys.stderr)
    calibration = calibrate_saved_run(
        store, settings, info.run_id, fine_tuned, zero_shot, why, folder
    )
    if args.json:
        return to_json({"run_id": info.run_id, **calibration.to_dict()}), 0
    lines = [
        f"Run {info.run_id}: confidence calibrated and saved with the run.",
        *calibration_lines(calibration),
        "Choose where it should answer 'not sure' on the Evaluate page.",
    ]
    return "\n".join(lines), 0
