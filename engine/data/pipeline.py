"""tf.data pipelines over a Subset: seeded shuffling, parallel decoding, prefetch."""

from __future__ import annotations

import os
import re
from functools import partial

import tensorflow as tf

from engine.data.batches import load_for_batch
from engine.data.split import Subset
from engine.errors import ImageError
from engine.settings import DEFAULT_MAX_IMAGE_PIXELS

_WRAPPED_IMAGE_ERROR = re.compile(r"ImageError: ([^\n]+)")


def make_pipeline(
    subset: Subset,
    image_size: int,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
) -> tf.data.Dataset:
    """Streaming batches of (float32 images [B,S,S,3] in [0,255], int32 labels [B]).

    Decoding (engine.images, in parallel) happens per batch, so the dataset never sits in memory.
    With shuffle=False batches follow subset order; with shuffle=True the order is seeded and
    changes every epoch. A file that can no longer be read raises a tf.errors.OpError when its
    batch is built; unwrap_pipeline_error turns it back into the ImageError naming the file.
    """
    # Bytes, not str: file names that are not valid UTF-8 cannot become tf.string otherwise.
    paths = tf.constant([os.fsencode(path) for path in subset.paths], dtype=tf.string)
    labels = tf.constant(subset.labels, dtype=tf.int32)
    load = partial(load_for_batch, size=image_size, max_pixels=max_pixels)

    def decode(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        pixels = tf.numpy_function(load, [path], tf.uint8, name="load_image")
        pixels.set_shape((image_size, image_size, 3))
        return tf.cast(pixels, tf.float32), label

    pipeline = tf.data.Dataset.from_tensor_slices((paths, labels))
    if shuffle:
        # Only paths sit in the buffer, so it can hold the whole subset (a full shuffle).
        pipeline = pipeline.shuffle(max(1, len(subset)), seed=seed, reshuffle_each_iteration=True)
    # deterministic=True even when shuffling: the same seed gives the same batches.
    pipeline = pipeline.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return pipeline.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def unwrap_pipeline_error(error: tf.errors.OpError) -> ImageError | None:
    """The ImageError raised inside a make_pipeline decode, without TensorFlow's wrapping.

    Returns None when the error did not come from decoding an image.
    """
    found = _WRAPPED_IMAGE_ERROR.search(error.message or "")
    return ImageError(found.group(1).strip()) if found else None
