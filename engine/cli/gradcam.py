"""`python -m engine gradcam`: where the zero-shot and the trained model look in a photo."""

from __future__ import annotations

import argparse
import sys
import time

from engine.classifiers import load_run_classifier
from engine.cli.text import to_json
from engine.data.paths import checked_path
from engine.insight.gradcam import GradCam, explain_pair
from engine.insight.heatmaps import pair_png
from engine.runs import TMP_PREFIX, RunStore
from engine.settings import Settings
from engine.store_files import replace_bytes


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "gradcam",
        parents=[common],
        help="heatmaps of where each model looks in a photo, side by side in one PNG",
    )
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("--run", required=True, metavar="RUN_ID", help="run id or 'latest'")
    parser.add_argument("--out", required=True, metavar="PAIR.png", help="PNG to write")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Both heatmaps over the photo, written as one PNG; the zero-shot side may be missing
    (a warning says which setting fixes it)."""
    image = checked_path(args.image, "IMAGE")
    out = checked_path(args.out, "--out")
    store = RunStore(settings.runs_dir)
    started = time.perf_counter()
    classifier = load_run_classifier(store, args.run)
    fine_tuned = GradCam.fine_tuned(classifier.model, classifier.class_names)
    pair = explain_pair(
        image, lambda: GradCam.zero_shot(settings), fine_tuned, settings.max_image_pixels
    )
    if pair.zero_shot_error:
        print(f"warning: zero-shot heatmap skipped: {pair.zero_shot_error}", file=sys.stderr)
    replace_bytes(out, pair_png(pair), TMP_PREFIX)
    result = {
        "run_id": store.info(args.run).run_id,
        "image": str(image),
        "out": str(out),
        "zero_shot": pair.zero_shot.to_dict() if pair.zero_shot else None,
        "zero_shot_error": pair.zero_shot_error,
        "fine_tuned": pair.fine_tuned.to_dict() if pair.fine_tuned else None,
        "seconds": time.perf_counter() - started,
    }
    if args.json:
        return to_json(result), 0
    return f"Wrote {out}: " + " | ".join(pair.titles()), 0
