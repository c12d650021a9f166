"""class_weight='balanced' is honoured by training on both stage-1 paths and in stage 2."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest

from engine import training
from engine.config import TrainConfig
from engine.data.split import Split, Subset
from engine.errors import ConfigError
from engine.settings import Settings
from engine.training import fit
from tests.support.tiny import QUICK, fake_decode_batches, fake_make_pipeline, split_folder

pytestmark = pytest.mark.usefixtures("tiny_backbone")


@pytest.fixture
def lopsided(image_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Split:
    """8 red training photos, 2 of each other class (4x imbalance), small PNGs decoded fast."""
    monkeypatch.setattr(training, "make_pipeline", fake_make_pipeline())
    monkeypatch.setattr(training, "decode_batches", fake_decode_batches())
    split = split_folder(image_folder)
    keep = [
        i
        for i, label in enumerate(split.train.labels)
        if split.class_names[label] == "red" or i % 8 < 2
    ]
    train = Subset(
        tuple(split.train.paths[i] for i in keep), tuple(split.train.labels[i] for i in keep)
    )
    return dataclasses.replace(split, train=train)


def test_both_stage_one_paths_weigh_the_classes_alike(lopsided: Split, tmp_path: Path):
    settings = Settings(runs_dir=tmp_path / "runs")
    config = dataclasses.replace(QUICK, epochs=4, class_weight="balanced")
    images = np.zeros((1, 32, 32, 3), np.float32)

    fast = fit(lopsided, config, settings)
    slow = fit(lopsided, config, settings, stream_images=True)
    plain = fit(lopsided, dataclasses.replace(config, class_weight="none"), settings)

    np.testing.assert_allclose(fast.history.get("loss"), slow.history.get("loss"), atol=1e-4)
    assert not np.allclose(fast.history.get("loss"), plain.history.get("loss"), atol=1e-3)
    np.testing.assert_allclose(
        fast.classifier.predict_proba(images), slow.classifier.predict_proba(images), atol=1e-4
    )


def test_every_stage_fits_with_the_class_weights(
    lopsided: Split, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    weights_seen = []
    real_fit = keras.Model.fit

    def recording_fit(model, *args, **kwargs):
        weights_seen.append(kwargs.get("class_weight"))
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", recording_fit)
    config = dataclasses.replace(
        QUICK, epochs=1, fine_tune_epochs=1, unfreeze_layers=2, class_weight="balanced"
    )
    fit(lopsided, config, Settings(runs_dir=tmp_path / "runs"))
    fit(lopsided, config, Settings(runs_dir=tmp_path / "runs"), stream_images=True)

    expected = {0: 12 / 6, 1: 12 / 6, 2: 12 / 24}  # 2 blue, 2 green, 8 red: n / (3 n_c)
    assert len(weights_seen) == 4  # head and fine-tune, on both paths
    for seen in weights_seen:
        assert seen == pytest.approx(expected)


def test_an_unknown_class_weight_is_refused():
    with pytest.raises(ConfigError, match="class_weight='sometimes'"):
        TrainConfig(class_weight="sometimes").validate()
