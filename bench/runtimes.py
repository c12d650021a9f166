"""Model-only images/s of the frozen MobileNetV2 (features) on each CPU runtime: Keras
(tf.function), LiteRT with XNNPACK (what the engine uses), and OpenVINO when installed (float32,
and its CPU default, which is bfloat16 on CPUs that have it), each with its distance to Keras."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.context import Context, timed
from bench.report import Outcome, Row, Table
from engine.model import build_model, feature_extractor
from engine.runtime import TOLERANCE, Runtime, keras_forward

BATCHES = (1, 8, 32)
REPEATS = 5  # interleaved passes per runtime and batch; the median is reported
QUICK_REPEATS = 1
IMAGES_PER_PASS = 64


def _openvino(flatbuffer: Path, precision: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """OpenVINO compiled from the same flatbuffer at precision ('f32', or '' for the CPU
    plugin's default), or None when it is not installed."""
    try:
        import openvino as ov
    except ImportError:
        return None
    core = ov.Core()
    options = {"INFERENCE_NUM_THREADS": os.cpu_count() or 1}
    if precision:
        options["INFERENCE_PRECISION_HINT"] = precision
    compiled: dict[tuple[int, ...], object] = {}

    def forward(batch: np.ndarray) -> np.ndarray:
        if batch.shape not in compiled:
            model = core.read_model(str(flatbuffer))
            model.reshape({model.inputs[0].any_name: list(batch.shape)})
            compiled[batch.shape] = core.compile_model(model, "CPU", options)
        network = compiled[batch.shape]
        return network(batch)[network.outputs[0]]

    return forward


def run(ctx: Context) -> Outcome:
    """Each runtime on the same batches, interleaved; the fastest at each batch is the limit."""
    extractor = feature_extractor(
        build_model("mobilenet_v2", 5, 0.2, ctx.settings.backbone_weights)[0]
    )
    with tempfile.TemporaryDirectory(dir=ctx.workdir) as cache:
        convert_seconds, litert = timed(
            keras_forward, extractor, 224, Runtime("litert", Path(cache)), "features"
        )
        [flatbuffer] = Path(cache).glob("*.tflite")
        runtimes = {
            "Keras (tf.function)": keras_forward(extractor, 224, Runtime(), "features"),
            "LiteRT (XNNPACK)": litert,
        }
        openvino = _openvino(flatbuffer, "f32")
        if openvino is not None:
            runtimes["OpenVINO float32 (from the flatbuffer)"] = openvino
            runtimes["OpenVINO CPU default precision"] = _openvino(flatbuffer, "")
        distances = _distances(runtimes)
        rates = _rates(runtimes, 1 if ctx.quick else REPEATS)
    header = ("runtime", *(f"batch {b}" for b in BATCHES), "max abs vs Keras")
    table_rows = [
        (name, *(f"{rates[name][b]:.1f}" for b in BATCHES), f"{distances[name]:.1e}")
        for name in rates
    ]
    # Only float32 runtimes compete for the limit: features must match Keras to 1e-3.
    rates = {name: rate for name, rate in rates.items() if distances[name] <= TOLERANCE}
    keras = rates["Keras (tf.function)"]
    rows = [
        Row(
            f"Model-only MobileNetV2 features, batch {batch}, fastest runtime",
            f"{max(rates[n][batch] for n in rates):.1f} img/s "
            f"({max(rates, key=lambda n: rates[n][batch])})",
            f"{keras[batch]:.1f} img/s (Keras)",
            max(rates[n][batch] for n in rates) / keras[batch],
        )
        for batch in BATCHES
    ]
    rows.append(
        Row("Converting MobileNetV2 for LiteRT (once per machine)", f"{convert_seconds:.1f} s")
    )
    notes = [
        f"Images/s of the frozen no-top MobileNetV2 with its preprocessing and pooling, on "
        f"random float32 batches in memory; median of {1 if ctx.quick else REPEATS} "
        "interleaved passes of 64 images per runtime and batch size, every runtime on all "
        f"{os.cpu_count()} cores. OpenVINO "
        + (
            "ran from the engine's flatbuffer; its CPU default precision is bfloat16 on CPUs "
            "with AMX or AVX512-BF16, so only its float32 row competes for the limit (features "
            f"must match Keras within {TOLERANCE:g})."
            if openvino
            else "is not installed (`pip install openvino` to compare it)."
        )
    ]
    if openvino is None:
        notes.append("Without OpenVINO the table compares Keras and LiteRT only.")
    return Outcome(
        rows,
        tables=[Table("Model-only images/s by runtime and batch", header, table_rows)],
        notes=notes,
    )


def _distances(runtimes: dict[str, Callable[[np.ndarray], np.ndarray]]) -> dict[str, float]:
    """{runtime: max abs difference of its features from Keras's} on one random batch."""
    batch = np.random.default_rng(1).uniform(0, 255, (8, 224, 224, 3)).astype(np.float32)
    expected = runtimes["Keras (tf.function)"](batch)
    return {
        name: float(np.abs(forward(batch) - expected).max()) for name, forward in runtimes.items()
    }


def _rates(
    runtimes: dict[str, Callable[[np.ndarray], np.ndarray]], repeats: int
) -> dict[str, dict[int, float]]:
    """{runtime: {batch: images/s}}: passes interleaved so load from elsewhere hits all alike."""
    rng = np.random.default_rng(0)
    inputs = {b: rng.uniform(0, 255, (b, 224, 224, 3)).astype(np.float32) for b in BATCHES}
    for forward in runtimes.values():  # warm-up: tracing, interpreter set-up, compilation
        for batch in inputs.values():
            forward(batch)
    seconds: dict[tuple[str, int], list[float]] = {}
    for _ in range(repeats):
        for batch_size, batch in inputs.items():
            for name, forward in runtimes.items():
                start = time.perf_counter()
                for _ in range(IMAGES_PER_PASS // batch_size):
                    forward(batch)
                seconds.setdefault((name, batch_size), []).append(time.perf_counter() - start)
    return {
        name: {b: IMAGES_PER_PASS / statistics.median(seconds[name, b]) for b in BATCHES}
        for name in runtimes
    }
