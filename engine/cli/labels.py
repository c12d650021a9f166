"""`python -m engine labels`: suspected label errors of a dataset, and fixing them on disk."""

from __future__ import annotations

import argparse
import sys

from engine.cli.text import table, to_json
from engine.config import TrainConfig
from engine.data.paths import checked_path
from engine.data.scan import scan_dataset
from engine.data.split import find_split_file, make_split
from engine.errors import DatasetError
from engine.health import fixes
from engine.health.label_issues import DEFAULT_FOLDS, review_labels
from engine.settings import Settings

SHOWN = 20  # suspects listed in the text report (--json lists all)


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "labels",
        parents=[common],
        help="list suspected label errors, or fix one (move, exclude, keep, undo)",
    )
    parser.add_argument("--data", required=True, metavar="DIR", help="one sub-folder per class")
    parser.add_argument(
        "--split-file", metavar="CSV", help="default: the folder's splits.csv when it has one"
    )
    parser.add_argument(
        "--folds", type=int, default=DEFAULT_FOLDS, metavar="K", help="folds (default: 5)"
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--move", metavar="PATH", help="move this photo (class/photo.jpg)...")
    action.add_argument("--exclude", metavar="PATH", help="take this photo out of the dataset")
    action.add_argument("--keep", metavar="PATH", help="record that this photo's label is right")
    action.add_argument("--undo", action="store_true", help="undo the newest fix")
    action.add_argument("--undo-all", action="store_true", help="undo every fix")
    parser.add_argument("--to", metavar="CLASS", help="...into this class folder (with --move)")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """List the suspects, or apply one fix (only in uploads or TLAB_DATA_ROOTS folders)."""
    data = checked_path(args.data, "--data")
    if args.move and not args.to:
        raise DatasetError("--move needs --to CLASS: the class folder to move it into.")
    if args.move:
        return _fixed(args, fixes.move_photo(data, args.move, args.to, settings).to_dict())
    if args.exclude:
        return _fixed(args, fixes.exclude_photo(data, args.exclude, settings).to_dict())
    if args.keep:
        return _fixed(args, fixes.keep_photo(data, args.keep, settings).to_dict())
    if args.undo:
        undone = fixes.undo_last(data, settings)
        return _fixed(args, undone.to_dict() if undone else None)
    if args.undo_all:
        return _fixed(args, {"undone": fixes.undo_all(data, settings)})
    if not 2 <= args.folds <= 20:
        raise DatasetError(f"--folds {args.folds}: give a number of folds from 2 to 20.")
    split_file = checked_path(args.split_file, "--split-file") if args.split_file else None
    dataset = scan_dataset(data, settings.max_image_pixels)
    split = make_split(dataset, TrainConfig(), split_file or find_split_file(dataset.root))
    review = review_labels(dataset.root, split, settings, args.folds, on_photos=_progress)
    if args.json:
        return to_json(review.to_dict()), 0
    rows = [("photo", "given", "suggested", "score")]
    rows += [
        (s.path, s.given, f"{s.suggested} ({s.suggested_probability:.0%})", f"{s.score:.2f}")
        for s in review.suspects[:SHOWN]
    ]
    head = f"{len(review.suspects)} suspects among {review.num_photos} training photos"
    return "\n".join([head, "", *table(rows)]), 0


def _progress(done: int, total: int) -> None:
    print(f"features: {done}/{total} photos", file=sys.stderr, flush=True)


def _fixed(args: argparse.Namespace, result: dict | None) -> tuple[str, int]:
    if args.json:
        return to_json({"fix": result}), 0
    if result is None:
        return "Nothing to undo.", 0
    if "undone" in result:
        return f"Undid {result['undone']} fixes.", 0
    return f"{result['action']}: {result['source']} -> {result['target'] or '(kept)'}", 0
