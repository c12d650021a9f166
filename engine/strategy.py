"""The tf.distribute strategy a training runs under, chosen by Settings.distribute."""

from __future__ import annotations

import functools

import tensorflow as tf

from engine.errors import SettingsError
from engine.settings import DISTRIBUTE_CHOICES


def get_strategy(distribute: str) -> tf.distribute.Strategy:
    """The strategy for a TLAB_DISTRIBUTE value: 'none', 'mirrored' or 'multiworker'.

    'none' is the current (default) strategy; the others are created once per process because
    MultiWorkerMirroredStrategy must be set up before TensorFlow runs anything else.

    Raises:
        SettingsError: distribute is not one of DISTRIBUTE_CHOICES.
    """
    if distribute not in DISTRIBUTE_CHOICES:
        raise SettingsError(
            f"TLAB_DISTRIBUTE={distribute!r} is not one of {', '.join(DISTRIBUTE_CHOICES)}."
        )
    if distribute == "none":
        return tf.distribute.get_strategy()
    return _distributed_strategy(distribute)


@functools.cache
def _distributed_strategy(distribute: str) -> tf.distribute.Strategy:
    if distribute == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    # MirroredStrategy() alone would use only CPU:0 on a machine without GPUs; listing the
    # logical CPUs lets it spread over them (this is how the tests run it on two CPU devices).
    gpus = tf.config.list_logical_devices("GPU")
    devices = gpus or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy(devices=[device.name for device in devices])
