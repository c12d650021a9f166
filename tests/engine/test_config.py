"""Tests for engine.config: TrainConfig defaults, ranges and help texts."""

from __future__ import annotations

import dataclasses

import pytest

from engine.config import TrainConfig, help_text
from engine.errors import ConfigError

# --- config ----------------------------------------------------------------------------------


def test_defaults_are_valid():
    assert TrainConfig().validate() == TrainConfig()


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"fine_tune_epochs": -1}, "fine_tune_epochs"),
        ({"unfreeze_layers": -1}, "unfreeze_layers"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 1025}, "batch_size"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": 1.5}, "learning_rate"),
        ({"fine_tune_learning_rate": float("nan")}, "fine_tune_learning_rate"),
        ({"dropout": 1.0}, "dropout"),
        ({"early_stopping_patience": -1}, "early_stopping_patience"),
        ({"validation_fraction": -0.1}, "validation_fraction"),
        ({"test_fraction": 0.0}, "test_fraction"),
        ({"validation_fraction": 0.5, "test_fraction": 0.5}, "validation_fraction"),
        ({"seed": -1}, "seed"),
        ({"augment": "yes"}, "augment"),
        ({"backbone": "vgg99"}, "backbone"),
    ],
)
def test_validate_names_the_bad_field(changes, field_name):
    with pytest.raises(ConfigError, match=field_name):
        TrainConfig(**changes).validate()


def test_unknown_backbone_message_lists_known_names():
    with pytest.raises(ConfigError, match="mobilenet_v2"):
        TrainConfig(backbone="vgg99").validate()


def test_every_field_has_help_text_and_the_cache_rule_is_written_once():
    for option in dataclasses.fields(TrainConfig):
        assert help_text(option.name), option.name
    assert TrainConfig().caches_features and not TrainConfig(augment=True).caches_features
