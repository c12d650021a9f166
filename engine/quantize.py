"""TFLite conversion of an exported SavedModel at float32, float16 weights, or full int8
(calibrated on the run's own training photos); inputs and outputs stay float32 throughout."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

from engine.data.batches import decode_batches
from engine.data.split import Subset
from engine.errors import DatasetError, RunStoreError, first_line
from engine.run_record import Run

TFLITE_FORMATS = ("tflite", "tflite-float16", "tflite-int8")
# Enough photos to see every class's range of activations; more barely moves the scales
# and each one costs a forward pass per layer during conversion.
CALIBRATION_PHOTOS = 100

Calibration = Callable[[], Iterator[list[np.ndarray]]]


def calibration_photos(run: Run, count: int = CALIBRATION_PHOTOS) -> Subset:
    """Up to count of the run's training photos, spread evenly over them (so over every
    class: a split lists each class's photos together).

    Raises:
        DatasetError: the run has no recorded split, or its training photos are gone.
    """
    if run.split is None:
        raise DatasetError(
            f"Run '{run.info.run_id}' was saved before runs recorded their split, so its "
            "training photos are unknown and int8 cannot be calibrated on them; export it as "
            "tflite or tflite-float16, or train it again."
        )
    train = run.split.subset("train", run.info.class_names)
    if not len(train):
        raise DatasetError(f"Run '{run.info.run_id}' has no training photos to calibrate int8.")
    picked = np.unique(np.linspace(0, len(train) - 1, min(count, len(train))).astype(int))
    return Subset(tuple(train.paths[i] for i in picked), tuple(train.labels[i] for i in picked))


def calibration(photos: Subset, input_size: int, max_pixels: int) -> Calibration:
    """The converter's representative dataset: one float32 photo [1,S,S,3] in [0,255] at a
    time, decoded as every prediction decodes them."""

    def photos_one_by_one() -> Iterator[list[np.ndarray]]:
        for batch in decode_batches(photos, input_size, 32, max_pixels):
            for image in batch.astype(np.float32):
                yield [image[None]]

    return photos_one_by_one


def to_tflite(
    saved_model: Path, run_id: str, fmt: str, representative: Calibration | None = None
) -> bytes:
    """The flatbuffer of saved_model in fmt (one of TFLITE_FORMATS); tflite-int8 needs
    representative photos.

    Raises:
        RunStoreError: the converter fails.
    """
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if fmt == "tflite-float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif fmt == "tflite-int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        # Every op in int8 (none left in float); float32 in and out, so the input spec and
        # the README's lines stay the same as for the float models.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    try:
        # The calibrator prints its settings; stdout is the CLI's result channel.
        with contextlib.redirect_stdout(io.StringIO()):
            return converter.convert()
    except Exception as exc:  # the converter raises its own ConverterError and others
        raise RunStoreError(
            f"Run '{run_id}' could not be converted to {fmt}: {first_line(exc)}. "
            "Export it as keras or savedmodel instead."
        ) from exc
