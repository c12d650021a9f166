"""Memory: peak RSS of predict_subset over 10,000 vs 1,000 generated JPEGs, each in a fresh process.

`python -m bench.memory FOLDER COUNT` is the child: it evaluates the first COUNT images under
FOLDER and prints one JSON line with its own peak RSS.
"""

from __future__ import annotations

import json
import os
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.context import Context, run_child
from bench.report import Outcome, Row
from engine.backbones import get_backbone
from engine.classifiers import FineTunedClassifier
from engine.config import TrainConfig
from engine.data.split import Subset
from engine.evaluation import predict_subset
from engine.model import build_model
from engine.settings import Settings

COUNTS = (1_000, 10_000)
QUICK_COUNTS = (100, 1_000)
DISTINCT_IMAGES = 64
IMAGE_SIZE = 256
NUM_CLASSES = 2
TARGET_RATIO = 1.2


def write_images(folder: Path, count: int, seed: int = 0) -> None:
    """Write DISTINCT_IMAGES random JPEGs once and hard-link them up to count files."""
    rng = np.random.default_rng(seed)
    originals = folder / "originals"
    originals.mkdir(parents=True)
    sources = []
    for i in range(DISTINCT_IMAGES):
        pixels = rng.integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
        sources.append(originals / f"{i}.jpg")
        Image.fromarray(pixels).save(sources[-1], quality=90)
    for c in range(NUM_CLASSES):
        (folder / "images" / f"class_{c}").mkdir(parents=True)
    for i in range(count):
        link = folder / "images" / f"class_{i % NUM_CLASSES}" / f"{i:05d}.jpg"
        os.link(sources[i % DISTINCT_IMAGES], link)


def _current_rss_mb() -> float:
    """Resident memory now (VmRSS), to tell model loading apart from evaluation."""
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024


def child_main(argv: list[str]) -> int:
    """Evaluate the first COUNT images under FOLDER with the fine-tuned network; print peak RSS."""
    folder, count = Path(argv[0]), int(argv[1])
    paths = tuple(sorted(folder.rglob("*.jpg"))[:count])
    labels = tuple(int(path.parent.name.rsplit("_", 1)[1]) for path in paths)
    config = TrainConfig()
    # Same network as a trained run (weights do not change time or memory), without training.
    model, _, _ = build_model(
        config.backbone, NUM_CLASSES, config.dropout, Settings.from_env().backbone_weights
    )
    names = tuple(f"class_{c}" for c in range(NUM_CLASSES))
    classifier = FineTunedClassifier(model, names, get_backbone(config.backbone).input_size)
    rss_before_mb = _current_rss_mb()
    start = time.perf_counter()
    probabilities = predict_subset(classifier, Subset(paths, labels))
    result = {
        "images": len(probabilities),
        "seconds": time.perf_counter() - start,
        "rss_before_mb": rss_before_mb,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }
    print(json.dumps(result))
    return 0


def run(ctx: Context) -> Outcome:
    """Peak RSS of the large case over the small case, each in its own process."""
    small, large = QUICK_COUNTS if ctx.quick else COUNTS
    folder = ctx.workdir / "memory"
    write_images(folder, large)
    measured = [run_child("bench.memory", str(folder / "images"), str(n)) for n in (small, large)]
    small_mb, large_mb = (result["peak_rss_mb"] for result in measured)
    row = Row(
        f"Peak RSS, predict_subset on {large:,} vs {small:,} JPEGs",
        f"{large_mb:.0f} MB ({measured[1]['seconds']:.0f} s)",
        f"{small_mb:.0f} MB ({measured[0]['seconds']:.0f} s)",
        large_mb / small_mb,
        f"<= {TARGET_RATIO}",
        large_mb / small_mb <= TARGET_RATIO,
    )
    notes = [
        f"{large:,} vs {small:,} images; {DISTINCT_IMAGES} random {IMAGE_SIZE}x{IMAGE_SIZE} JPEGs "
        "hard-linked up to the count; "
        "each case runs in a fresh process (peak RSS = its ru_maxrss) with the fine-tuned "
        "network from engine.model.build_model (untrained head: same compute and memory).",
        "Resident memory with the model loaded, just before predict_subset: "
        f"{measured[0]['rss_before_mb']:.0f} MB ({small:,} case), "
        f"{measured[1]['rss_before_mb']:.0f} MB ({large:,} case).",
    ]
    return Outcome([row], notes=notes)


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
