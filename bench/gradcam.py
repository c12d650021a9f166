"""Grad-CAM pair: both heatmaps of one photo, warm, vs both models' plain forward passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.context import Context
from bench.report import Outcome, Row
from bench.single_photo import latencies_ms
from engine.images import load_array
from engine.insight.gradcam import GradCam, explain_pair

CALLS = 30
QUICK_CALLS = 3


def run(ctx: Context) -> Outcome:
    """Decode the JPEG, Grad-CAM of the zero-shot twin and of the fine-tuned model, p50/p95."""
    settings, fine_tuned = ctx.settings, ctx.fine_tuned
    zero_shot_cam = GradCam.zero_shot(settings)
    fine_tuned_cam = GradCam.fine_tuned(fine_tuned.model, fine_tuned.class_names)
    photo = Path(ctx.split.test.paths[0]).read_bytes()
    ready = load_array(photo, fine_tuned.input_size)[None]

    def pair() -> None:
        explain_pair(photo, zero_shot_cam, fine_tuned_cam, settings.max_image_pixels)

    def models_only() -> None:
        ctx.zero_shot.predict_proba(ready)
        fine_tuned.predict_proba(ready)

    calls = QUICK_CALLS if ctx.quick else CALLS
    pairs, models = latencies_ms(pair, calls), latencies_ms(models_only, calls)
    p50, p95 = np.percentile(pairs, [50, 95])
    models_p50, models_p95 = np.percentile(models, [50, 95])
    row = Row(
        "Grad-CAM pair for one photo, warm",
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms",
        f"both models' answers only: p50 {models_p50:.0f} ms, p95 {models_p95:.0f} ms",
        p50 / models_p50,
    )
    notes = [
        f"{calls} calls after warm-up; a pair = decode the JPEG twice (display size and model "
        "size) + a gradient pass of the Keras zero-shot twin + one of the fine-tuned model, "
        "both in TensorFlow (gradients: no LiteRT). Baseline: both models' forward passes on "
        "the decoded tensor, on the app's runtime."
    ]
    return Outcome([row], notes=notes)
