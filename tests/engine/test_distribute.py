"""Tests for engine.strategy: training under MirroredStrategy on two logical CPU devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

from engine.errors import SettingsError
from engine.strategy import get_strategy

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: logical devices must be configured before TensorFlow initialises,
# which in this test process has long happened.
TRAIN_MIRRORED = """
import dataclasses, json, sys
from pathlib import Path

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from engine import training
from engine.backbones import register_backbone
from engine.settings import Settings
from engine.strategy import get_strategy
from tests.support.tiny import QUICK, TINY, fake_make_pipeline, images_of, split_folder

register_backbone(TINY)
training.make_pipeline = fake_make_pipeline()
split = split_folder(Path(sys.argv[1]))
settings = Settings(runs_dir=Path(sys.argv[2]), distribute="mirrored")
config = dataclasses.replace(QUICK, epochs=2, fine_tune_epochs=1)
result = training.fit(split, config, settings)
kernel = result.classifier.model.get_layer("head").get_layer("probabilities").kernel
images, _ = images_of(split.test)
print(json.dumps({
    "replicas": get_strategy("mirrored").num_replicas_in_sync,
    "mirrored_variables": isinstance(kernel.value, tf.distribute.DistributedValues),
    "stages": result.history.get("stage"),
    "probabilities_shape": list(result.classifier.predict_proba(images).shape),
}))
"""


def test_none_is_the_default_strategy():
    assert get_strategy("none") is tf.distribute.get_strategy()


def test_unknown_strategy_is_a_settings_error():
    with pytest.raises(SettingsError, match="TLAB_DISTRIBUTE"):
        get_strategy("tpu")


def test_fit_runs_mirrored_on_two_logical_cpus(image_folder: Path, tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-c", TRAIN_MIRRORED, str(image_folder), str(tmp_path / "runs")]

    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "replicas": 2,
        "mirrored_variables": True,
        "stages": ["head", "head", "fine_tune"],
        "probabilities_shape": [6, 3],
    }
