"""The health check at scale: 10,000 photos made from the sample (crops and mirror images),
checked with a cold feature cache, against extracting their features alone in the same run;
and the peak memory of the copy search, which compares hashes in bounded blocks."""

from __future__ import annotations

import dataclasses
import tempfile
import tracemalloc
from pathlib import Path

from bench.context import Context, timed
from bench.large_dataset import write_large_dataset
from bench.report import Outcome, Row
from engine.data.scan import scan_dataset
from engine.data.split import split_dataset
from engine.health import fingerprints as fingerprint_module
from engine.health.check import health_check
from engine.health.duplicates import copy_groups
from engine.health.features import photo_features
from engine.settings import Settings

CLASSES, PER_CLASS = 100, 100
QUICK_CLASSES, QUICK_PER_CLASS = 10, 30
TARGET_RATIO = 2.0


def _cold(settings: Settings, workdir: Path) -> Settings:
    """Settings with an empty runs folder and feature cache (nothing computed before)."""
    runs = Path(tempfile.mkdtemp(dir=workdir))
    return dataclasses.replace(settings, runs_dir=runs, cache_dir=None)


def run(ctx: Context) -> Outcome:
    """Health check (fingerprints, features, copy search, report) over feature extraction."""
    classes, per_class = (QUICK_CLASSES, QUICK_PER_CLASS) if ctx.quick else (CLASSES, PER_CLASS)
    folder = ctx.workdir / "health"
    count = write_large_dataset(sorted(ctx.data_dir.glob("*/*.jpg")), folder, classes, per_class)
    dataset = scan_dataset(folder, ctx.settings.max_image_pixels)
    split = split_dataset(dataset)  # no copy grouping here: the check hashes inside the timing
    keys = [str(path) for path in dataset.paths]
    # Build the model and the runtime's interpreters once, so neither timing pays for them.
    photo_features(dataset.paths[:32], keys[:32], _cold(ctx.settings, ctx.workdir))
    baseline, _ = timed(photo_features, dataset.paths, keys, _cold(ctx.settings, ctx.workdir))
    fingerprint_module._remembered.cache_clear()
    measured, report = timed(health_check, dataset, split, _cold(ctx.settings, ctx.workdir))
    ratio = measured / baseline

    prints = fingerprint_module.fingerprints(dataset.paths)
    tracemalloc.start()
    copy_groups(prints)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    all_pairs_mb = count * count / 2**20  # one byte per pair, the least an all-pairs matrix needs
    rows = [
        Row(
            f"Health check, {count:,} photos (cold feature cache)",
            f"{measured:.0f} s ({count / measured:.0f} photos/s)",
            f"{baseline:.0f} s extracting their features",
            ratio,
            f"< {TARGET_RATIO}",
            ratio < TARGET_RATIO,
        ),
        Row(
            f"Copy search, {count:,} photos, peak memory",
            f"{peak / 2**20:.0f} MB",
            f"{all_pairs_mb:.0f} MB for an all-pairs matrix of bytes",
        ),
    ]
    notes = [
        f"{count:,} JPEGs: 80% crops and mirror images of the sample photos "
        f"({classes} classes x {per_class}). Baseline: engine.health.features.photo_features on "
        "them with an empty cache (decode, MobileNetV2 on the runtime). Measured: "
        "engine.health.check.health_check with another empty cache (content and perceptual "
        "hashes, the same features, copy search, odd photos, report); the baseline ran first, "
        "so both read the photos from the page cache.",
        f"It found {len(report.groups)} groups of copies ({len(report.leaks)} across the "
        f"seeded split) and {len(report.oddities)} odd photos.",
    ]
    return Outcome(rows, notes=notes)
