"""`python -m engine curve`: test accuracy against photos per class (label-efficiency curve)."""

from __future__ import annotations

import argparse

from engine.backbones import BACKBONES
from engine.cli.text import percent, progress_lines, table, to_json
from engine.config import TrainConfig
from engine.data.paths import checked_path
from engine.data.scan import scan_dataset
from engine.data.split import find_split_file, make_split
from engine.errors import ConfigError
from engine.insight.analyses import curve_of_run, curve_of_split, zero_shot_accuracy
from engine.insight.curve import CurvePoint, LabelCurve
from engine.runs import RunStore
from engine.settings import Settings


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "curve",
        parents=[common],
        help="test accuracy of heads trained on 1, 2, 5, ... photos per class",
    )
    parser.add_argument(
        "--data",
        metavar="DIR",
        help="one sub-folder per class (with --run: where the run's photos are, by default the "
        "folder it trained on)",
    )
    parser.add_argument(
        "--split-file",
        metavar="CSV",
        help="path,label,split rows (default: the folder's splits.csv when it has one)",
    )
    parser.add_argument(
        "--backbone",
        default=TrainConfig().backbone,
        metavar="NAME",
        help=f"without --run: whose frozen features to use: {', '.join(BACKBONES)} "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--run",
        metavar="RUN_ID",
        help="use this run's own photos, mark its accuracy, and save the curve with it",
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Compute the curve (progress on stderr); with --run it is saved with that run."""
    data = checked_path(args.data, "--data") if args.data else None
    progress = progress_lines()
    zero_shot_error = None
    if args.run is not None:
        if args.split_file:
            raise ConfigError(
                "--split-file cannot be combined with --run: a curve saved with a run uses the "
                "run's own training and test photos. Drop one of the two."
            )
        store = RunStore(settings.runs_dir)
        run_id = store.info(args.run).run_id
        curve = curve_of_run(store, run_id, settings, data, progress)
    elif data is None:
        raise ConfigError("Give --data DIR (the photos' folder) or --run RUN_ID (a saved run).")
    else:
        run_id = None
        split_file = checked_path(args.split_file, "--split-file") if args.split_file else None
        split = make_split(
            scan_dataset(data, settings.max_image_pixels),
            TrainConfig(),
            split_file or find_split_file(data),
        )
        progress(0.0, "Zero-shot accuracy on the test photos (the 0-photo point)")
        accuracy, zero_shot_error = zero_shot_accuracy(split, settings)
        curve = curve_of_split(
            split, args.backbone, settings, zero_shot_accuracy=accuracy, on_progress=progress
        )
    result = {
        "run_id": run_id,
        "saved": run_id is not None,
        "data": str(data),
        **curve.to_dict(),
        "points": [_point(point) for point in curve.points],
        "next_doubling": curve.next_doubling(),
        "zero_shot_error": zero_shot_error,
    }
    return (to_json(result) if args.json else _report(curve, result)), 0


def _point(point: CurvePoint) -> dict:
    return {**point.to_dict(), "mean": point.mean, "low": point.low, "high": point.high}


def _report(curve: LabelCurve, result: dict) -> str:
    rows = [("photos per class", "test accuracy", "lowest", "highest")]
    rows.append(("0 (zero-shot)", percent(curve.zero_shot_accuracy), "", ""))
    for point in curve.points:
        name = f"all ({point.per_class})" if point.all_photos else str(point.per_class)
        rows.append((name, percent(point.mean), percent(point.low), percent(point.high)))
    lines = [
        f"Test accuracy by photos per class ({curve.num_test} test photos, "
        f"{len(curve.seeds)} seeds per size):",
        *table(rows),
        "",
        curve.next_doubling(),
    ]
    if curve.run_accuracy is not None:
        lines.append(f"The run itself scored {percent(curve.run_accuracy)} with every photo.")
    if result["saved"]:
        lines.append(f"Saved with run {result['run_id']}.")
    return "\n".join(lines)
