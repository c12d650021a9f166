"""`python -m engine evaluate`: test a saved run, on its own test photos unless told otherwise."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.classifiers import load_run_classifier
from engine.cli.text import (
    accuracy_text,
    flips_text,
    mapping_lines,
    per_class_table,
    percent,
    to_json,
)
from engine.data.paths import checked_path
from engine.data.record import overlap
from engine.data.scan import scan_dataset
from engine.data.split import Subset, find_split_file, make_split
from engine.errors import DatasetError, ModelUnavailableError, RunNotFoundError
from engine.evaluation import evaluate
from engine.insight.flips import flip_board
from engine.mapping_record import load_mapping_record
from engine.run_record import Run
from engine.runs import RunStore
from engine.runtime import Runtime
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier, ZeroShotReport, evaluate_zero_shot


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "evaluate",
        parents=[common],
        help="test a saved run (by default on the run's own test photos)",
    )
    parser.add_argument("--run", required=True, metavar="RUN_ID", help="run id or 'latest'")
    parser.add_argument(
        "--data", metavar="DIR", help="the dataset folder (default: the one the run trained on)"
    )
    parser.add_argument(
        "--split-file",
        metavar="CSV",
        help="test on this split's test photos instead of the run's own",
    )
    parser.add_argument(
        "--allow-overlap",
        action="store_true",
        help="evaluate even when the split's test photos include photos the run trained on",
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """The run's model on its own test photos, or on another split's when it shares none;
    the zero-shot model on the same photos for the flip counts."""
    store = RunStore.for_settings(settings)
    saved = store.load(args.run)
    info = saved.info
    folder = checked_path(args.data, "--data") if args.data else Path(info.dataset)
    test, source, notes = _test_photos(saved, folder, args, settings)
    num_shared = overlap(saved.split, test) if saved.split is not None and source != "run" else 0
    if num_shared and not args.allow_overlap:
        raise DatasetError(
            f"{num_shared} of the {len(test)} test photos of that split were used to train or "
            f"tune run {info.run_id} (same file content), so its accuracy on them would be "
            "inflated. Omit --split-file to use the run's own test photos, or pass "
            "--allow-overlap to measure anyway."
        )
    if num_shared:
        notes.append(
            f"WARNING: {num_shared} of the {len(test)} test photos were used in training; "
            "this accuracy is inflated."
        )
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    report, zero_shot_error = _zero_shot(saved, test, settings)
    evaluation = evaluate(
        load_run_classifier(store, info.run_id, Runtime.from_settings(settings)),
        test,
        zero_shot=report,
        batch_size=info.config.batch_size,
    )
    metrics = evaluation.metrics
    board = flip_board(evaluation)
    result = {
        "run_id": info.run_id,
        "data": str(folder),
        "test_photos": source,
        "num_images": len(test),
        "overlap": num_shared,
        "notes": notes,
        "accuracy": metrics.accuracy,
        "accuracy_interval": list(metrics.accuracy_interval),
        "class_names": list(metrics.class_names),
        **{key: value for key, value in metrics.to_dict().items() if key != "accuracy"},
        **_zero_shot_figures(report, saved),
        "zero_shot_error": zero_shot_error,
        "zero_shot_mapping": _mapping(store, info.run_id),
        "flips": board.counts() if board is not None else None,
    }
    if args.json:
        return to_json(result), 0
    lines = [
        f"Run {info.run_id} on {len(test)} test photos of {folder} ({source})",
        f"Accuracy: {accuracy_text(metrics)}",
        f"Zero-shot (ImageNet) on these photos: {percent(result['zero_shot_accuracy'])}, "
        f"{percent(result['zero_shot_named_accuracy'])} on the "
        f"{len(result['zero_shot_named_classes'])} classes it can name",
        flips_text(board.counts()) if board else f"No zero-shot comparison: {zero_shot_error}",
        "",
        *per_class_table(metrics.per_class),
        *mapping_lines(result["zero_shot_mapping"]),
        "",
        "Confusion (rows = true class, columns = predicted, in the order above):",
        *("  " + " ".join(f"{n:5d}" for n in row) for row in metrics.confusion),
    ]
    return "\n".join(lines), 0


def _zero_shot_figures(report: ZeroShotReport | None, saved: Run) -> dict:
    """Zero-shot on these test photos (else as the run saved it, on its own test photos):
    overall and on the classes ImageNet can name, so 'cannot name' and 'names wrongly' stay
    apart."""
    zero_shot = report.result if report is not None else saved.zero_shot
    return {
        "zero_shot_accuracy": zero_shot.metrics.accuracy if zero_shot else None,
        "zero_shot_named_accuracy": zero_shot.named_accuracy if zero_shot else None,
        "zero_shot_named_classes": list(zero_shot.named_classes) if zero_shot else [],
    }


def _mapping(store: RunStore, run_id: str) -> dict[str, dict]:
    """class -> {labels, indices, rule, why} as the run saved it; {} for runs saved before
    (and, with a note, when the saved document is damaged: the evaluation still stands)."""
    try:
        record = load_mapping_record(store, run_id)
    except RunNotFoundError as exc:
        print(f"note: {exc}", file=sys.stderr)
        return {}
    return {name: mapped.to_dict() for name, mapped in record.classes.items()} if record else {}


def _zero_shot(
    saved: Run, test: Subset, settings: Settings
) -> tuple[ZeroShotReport | None, str | None]:
    """The zero-shot model on the test photos with the run's own mapping, or why not."""
    if saved.zero_shot is None:
        return None, f"the run has no zero-shot baseline ({saved.zero_shot_error})"
    try:
        model = ZeroShotClassifier.load(settings)
    except ModelUnavailableError as error:
        print(f"warning: zero-shot skipped: {error}", file=sys.stderr)
        return None, str(error)
    names, batch_size = saved.info.class_names, saved.info.config.batch_size
    return evaluate_zero_shot(model, test, names, saved.zero_shot.mapping, batch_size), None


def _test_photos(
    saved: Run, folder: Path, args: argparse.Namespace, settings: Settings
) -> tuple[Subset, str, list[str]]:
    """(test photos, where they come from, notes for the user)."""
    info = saved.info
    if args.split_file is None and saved.split is not None:
        notes = []
        missing = saved.split.missing("test", folder)
        if missing:
            notes.append(f"{missing} of the run's test photos are no longer in {folder}.")
        return saved.split.subset("test", info.class_names, folder), "run", notes
    split_file = checked_path(args.split_file, "--split-file") if args.split_file else None
    split_file = split_file or find_split_file(folder)
    split = make_split(scan_dataset(folder, settings.max_image_pixels), info.config, split_file)
    if tuple(split.class_names) != tuple(info.class_names):
        raise DatasetError(
            f"Run {info.run_id} was trained on the classes {', '.join(info.class_names)} "
            f"but {folder} has {', '.join(split.class_names)}; evaluate it on a folder with "
            "the same class sub-folders."
        )
    notes = []
    if saved.split is None:
        notes.append(
            f"run {info.run_id} was saved before runs recorded their split, so Transfer Lab "
            "cannot check that these test photos were not used in training."
        )
    source = f"split file {split_file}" if split_file else "the run's seeded random split"
    return split.test, source, notes
