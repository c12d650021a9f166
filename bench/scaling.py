"""Scaling: images/s of MobileNetV2 feature extraction by batch size and by CPU thread count.

`python -m bench.scaling THREADS NUM_IMAGES BATCH[,BATCH...]` is the child: TensorFlow fixes its
thread pools when it runs its first op, so each thread count needs a fresh process. It prints one
JSON line {batch size: images/s}.
"""

from __future__ import annotations

import json
import math
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from bench.context import Context, run_child
from bench.report import Outcome, Row, Table
from engine.settings import Settings

BATCH_SIZES = (1, 8, 32, 64)
QUICK_BATCH_SIZES = (1, 8)
THREADS = (1, 2)
NUM_IMAGES = 128  # per batch size; at batch 64 that is 2 calls after the warm-up
QUICK_NUM_IMAGES = 8
INPUT_SIZE = 224


def images_per_second(model: keras.Model, images: np.ndarray, batch_size: int, count: int) -> float:
    """Warm rate of model.predict_on_batch over about count images in batches of batch_size."""
    batch = images[:batch_size]
    model.predict_on_batch(batch)  # the first call traces the predict function
    calls = math.ceil(count / batch_size)
    start = time.perf_counter()
    for _ in range(calls):
        model.predict_on_batch(batch)
    return calls * batch_size / (time.perf_counter() - start)


def child_main(argv: list[str]) -> int:
    """Measure every batch size with TensorFlow limited to THREADS threads; print JSON."""
    threads, count = int(argv[0]), int(argv[1])
    batch_sizes = [int(size) for size in argv[2].split(",")]
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    base = keras.applications.MobileNetV2(
        input_shape=(INPUT_SIZE, INPUT_SIZE, 3),
        include_top=False,
        pooling="avg",
        weights=Settings.from_env().backbone_weights,
    )
    rng = np.random.default_rng(0)
    # Already preprocessed: mobilenet_v2 inputs live in [-1, 1].
    shape = (max(batch_sizes), INPUT_SIZE, INPUT_SIZE, 3)
    images = rng.uniform(-1, 1, shape).astype(np.float32)
    rates = {size: images_per_second(base, images, size, count) for size in batch_sizes}
    print(json.dumps(rates))
    return 0


def _child_rates(threads: int, count: int, batch_sizes: tuple[int, ...]) -> dict[int, float]:
    """{batch size: images/s} measured in a fresh process limited to threads."""
    sizes = ",".join(map(str, batch_sizes))
    measured = run_child("bench.scaling", str(threads), str(count), sizes)
    return {int(size): rate for size, rate in measured.items()}  # JSON keys are strings


def run(ctx: Context) -> Outcome:
    """One child per thread count; a table of images/s plus headline ratios."""
    batch_sizes = QUICK_BATCH_SIZES if ctx.quick else BATCH_SIZES
    count = QUICK_NUM_IMAGES if ctx.quick else NUM_IMAGES
    rates = {threads: _child_rates(threads, count, batch_sizes) for threads in THREADS}
    few, many = THREADS
    smallest, largest = batch_sizes[0], batch_sizes[-1]
    table = Table(
        "Feature extraction (MobileNetV2 base + average pooling, tensors in memory), images/s:",
        ("batch", f"{few} thread", f"{many} threads", f"{many} vs {few}"),
        [
            (
                str(size),
                f"{rates[few][size]:.1f}",
                f"{rates[many][size]:.1f}",
                f"{rates[many][size] / rates[few][size]:.2f}",
            )
            for size in batch_sizes
        ],
    )
    rows = [
        Row(
            f"Feature extraction, batch {largest}, {many} vs {few} threads",
            f"{rates[many][largest]:.1f} img/s",
            f"{rates[few][largest]:.1f} img/s",
            rates[many][largest] / rates[few][largest],
        ),
        Row(
            f"Feature extraction, {many} threads, batch {largest} vs {smallest}",
            f"{rates[many][largest]:.1f} img/s",
            f"{rates[many][smallest]:.1f} img/s",
            rates[many][largest] / rates[many][smallest],
        ),
    ]
    notes = [f"About {count} images per batch size after one warm-up call; no target."]
    return Outcome(rows, tables=[table], notes=notes)


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
