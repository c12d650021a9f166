"""Batch classify: images/s of a folder through both models vs the evaluation pipeline's, and
peak RSS of a large folder vs a small one (memory flat).

`python -m bench.batch_classify FOLDER COUNT` is the memory child: it classifies the first
COUNT photos under FOLDER with both models and prints one JSON line with its own peak RSS.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench.context import Context, run_child, timed
from bench.memory import NUM_CLASSES, write_images
from bench.report import Outcome, Row
from engine.backbones import get_backbone
from engine.batch.classify import BATCH_SIZE, BatchModels, classify_photos
from engine.batch.photos import Photos, list_photos
from engine.classifiers import FineTunedClassifier
from engine.config import TrainConfig
from engine.data.split import Subset
from engine.evaluation import predict_subset
from engine.model import build_model
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier

REPEATS = 3  # the median damps noise from other processes on a shared machine
QUICK_IMAGES = 64
TARGET_RATIO = 0.9
MEMORY_COUNTS = (500, 5_000)
QUICK_MEMORY_COUNTS = (50, 500)
TARGET_MEMORY_RATIO = 1.2
EVALUATION_BATCH = 32  # predict_subset's default, as evaluation runs it


def run(ctx: Context) -> Outcome:
    """classify_photos on the test photos vs predict_subset for each model on the same photos."""
    zero_shot, fine_tuned = ctx.zero_shot, ctx.fine_tuned
    test = ctx.split.test
    if ctx.quick:
        test = Subset(test.paths[:QUICK_IMAGES], test.labels[:QUICK_IMAGES])
    photos = Photos(ctx.data_dir.resolve(), tuple(Path(p) for p in test.paths), ())
    models = BatchModels(zero_shot, fine_tuned)

    def evaluation() -> None:
        predict_subset(zero_shot, test, EVALUATION_BATCH)
        predict_subset(fine_tuned, test, EVALUATION_BATCH)

    def batch() -> None:
        classify_photos(photos, models)

    def batch_in_background() -> None:
        classify_photos(photos, models, background=True)

    sides = (evaluation, batch, batch_in_background)
    for side in sides:  # untimed: the first calls trace and make interpreters
        side()
    repeats = 1 if ctx.quick else REPEATS
    # Interleaved passes, so a burst of load from other processes hits every side alike.
    passes = [tuple(timed(side)[0] for side in sides) for _ in range(repeats)]
    base, fore, back = (len(test) / statistics.median(p[i] for p in passes) for i in range(3))
    rows = [
        Row(
            f"Batch classify, {len(test)} test JPEGs, both models",
            f"{fore:.1f} img/s (classify_photos, batch {BATCH_SIZE})",
            f"{base:.1f} img/s (predict_subset per model, batch {EVALUATION_BATCH})",
            fore / base,
            f">= {TARGET_RATIO}",
            fore / base >= TARGET_RATIO,
        ),
        Row(
            "Batch classify as the page runs it (background priority), extra",
            f"{back:.1f} img/s",
            f"{base:.1f} img/s",
            back / base,
        ),
        _memory_row(ctx),
    ]
    notes = [
        f"Warm; median of {repeats} interleaved passes each. Measured: engine.batch.classify "
        "decodes each photo once per input size and runs both models on it; baseline: the "
        "evaluation pipeline, predict_subset of the zero-shot model then of the fine-tuned one "
        "(each decodes the photos itself).",
        "Memory: each count in a fresh process (peak RSS = its ru_maxrss), random JPEGs "
        "hard-linked up to the count (bench/memory.py), the Hub zero-shot model and the "
        "default fine-tuned network from build_model (untrained head: same compute and memory).",
    ]
    return Outcome(rows, notes=notes)


def _memory_row(ctx: Context) -> Row:
    small, large = QUICK_MEMORY_COUNTS if ctx.quick else MEMORY_COUNTS
    folder = ctx.workdir / "batch-memory"
    write_images(folder, large)
    measured = [
        run_child("bench.batch_classify", str(folder / "images"), str(n)) for n in (small, large)
    ]
    small_mb, large_mb = (result["peak_rss_mb"] for result in measured)
    return Row(
        f"Peak RSS, batch classify (both models) on {large:,} vs {small:,} JPEGs",
        f"{large_mb:.0f} MB ({measured[1]['seconds']:.0f} s)",
        f"{small_mb:.0f} MB ({measured[0]['seconds']:.0f} s)",
        large_mb / small_mb,
        f"<= {TARGET_MEMORY_RATIO}",
        large_mb / small_mb <= TARGET_MEMORY_RATIO,
    )


def child_main(argv: list[str]) -> int:
    """Classify the first COUNT photos under FOLDER with both models; print peak RSS."""
    folder, count = Path(argv[0]), int(argv[1])
    settings = Settings.from_env()
    listed = list_photos(folder, settings)
    photos = replace(listed, files=listed.files[:count])
    config = TrainConfig()
    model, _, _ = build_model(
        config.backbone, NUM_CLASSES, config.dropout, settings.backbone_weights
    )
    names = tuple(f"class_{c}" for c in range(NUM_CLASSES))
    fine_tuned = FineTunedClassifier(model, names, get_backbone(config.backbone).input_size)
    models = BatchModels(ZeroShotClassifier.load(settings), fine_tuned)
    start = time.perf_counter()
    result = classify_photos(photos, models, settings.max_image_pixels)
    print(
        json.dumps(
            {
                "images": len(result.rows),
                "seconds": time.perf_counter() - start,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
