"""Single photo, warm: latency of classifying one JPEG with both models, vs the models alone."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.context import Context
from bench.report import Outcome, Row
from engine.images import load_array

CALLS = 50
QUICK_CALLS = 5
WARMUP_CALLS = 3
TARGET_P50_MS = 100.0


def latencies_ms(function: Callable[[], object], calls: int) -> np.ndarray:
    """Milliseconds taken by each of `calls` calls of function, after a few unmeasured ones."""
    for _ in range(WARMUP_CALLS):
        function()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


def run(ctx: Context) -> Outcome:
    """Decode from bytes + zero-shot top-5 + fine-tuned probabilities, p50/p95 over many calls."""
    zero_shot, fine_tuned = ctx.zero_shot, ctx.fine_tuned
    photo = Path(ctx.split.test.paths[0]).read_bytes()
    sizes = {zero_shot.input_size, fine_tuned.input_size}
    ready = {size: load_array(photo, size)[None] for size in sizes}

    def classify() -> None:
        arrays = {size: load_array(photo, size)[None] for size in sizes}
        zero_shot.top_k(arrays[zero_shot.input_size], k=5)
        fine_tuned.predict_proba(arrays[fine_tuned.input_size])

    def models_only() -> None:
        zero_shot.predict_proba(ready[zero_shot.input_size])
        fine_tuned.predict_proba(ready[fine_tuned.input_size])

    calls = QUICK_CALLS if ctx.quick else CALLS
    full = latencies_ms(classify, calls)
    models = latencies_ms(models_only, calls)
    p50, p95 = np.percentile(full, [50, 95])
    models_p50, models_p95 = np.percentile(models, [50, 95])
    row = Row(
        "Single photo, both models, warm",
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms",
        f"models only: p50 {models_p50:.0f} ms, p95 {models_p95:.0f} ms",
        p50 / models_p50,
        f"p50 <= {TARGET_P50_MS:.0f} ms",
        p50 <= TARGET_P50_MS,
    )
    notes = [
        f"{calls} calls after {WARMUP_CALLS} warm-up calls; measured = decode the JPEG bytes "
        "(engine.images.load_array) + zero-shot top_k(5) + fine-tuned predict_proba; "
        "models only = both predict_proba on an already decoded tensor."
    ]
    return Outcome([row], notes=notes)
