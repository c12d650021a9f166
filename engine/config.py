"""TrainConfig: every choice a training makes besides the data, with its help text and range."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from engine.backbones import DEFAULT_BACKBONE, get_backbone
from engine.errors import ConfigError

CLASS_WEIGHTS = ("none", "balanced")  # TrainConfig.class_weight


@dataclass(frozen=True)
class _Range:
    """An allowed interval for one TrainConfig field."""

    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def contains(self, value: object) -> bool:
        kinds = (int,) if self.integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        kind = "a whole number" if self.integer else "a number"
        if self.high == math.inf:
            return f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"{kind} in {left}{self.low:g}, {self.high:g}{right}"


def _option(default: object, help_text: str, allowed: _Range | None = None):
    """A TrainConfig field whose help text and range live beside its default (CLI and form)."""
    return field(default=default, metadata={"help": help_text, "range": allowed})


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training needs besides data; defaults are the one-click recipe (fast, good)."""

    backbone: str = _option(DEFAULT_BACKBONE, "pretrained network whose features are reused")
    epochs: int = _option(
        30, "epochs training the new head on the frozen base (stage 1)", _Range(1, integer=True)
    )
    fine_tune_epochs: int = _option(
        0,
        "epochs with the top base layers unfrozen (stage 2); 0 keeps the base frozen",
        _Range(0, integer=True),
    )
    unfreeze_layers: int = _option(
        20,
        "top N base layers trained in stage 2 (BatchNormalization stays frozen)",
        _Range(0, integer=True),
    )
    batch_size: int = _option(32, "photos per training step", _Range(1, 1024, integer=True))
    learning_rate: float = _option(
        1e-3, "Adam learning rate of stage 1", _Range(0, 1, low_open=True)
    )
    fine_tune_learning_rate: float = _option(
        1e-5, "Adam learning rate of stage 2 (keep it low)", _Range(0, 1, low_open=True)
    )
    dropout: float = _option(
        0.2, "dropout before the new head's softmax", _Range(0, 1, high_open=True)
    )
    augment: bool = _option(
        False, "random flips, rotations, zoom, contrast (slower: features are not cached)"
    )
    early_stopping_patience: int = _option(
        5,
        "stop after N epochs without a better validation loss and keep the best; 0 = off",
        _Range(0, integer=True),
    )
    validation_fraction: float = _option(
        0.1, "share of each class set aside to choose when to stop", _Range(0, 1, high_open=True)
    )
    test_fraction: float = _option(
        0.2,
        "share of each class held out for the final test only",
        _Range(0, 1, low_open=True, high_open=True),
    )
    seed: int = _option(
        0,
        "seed of the split, the order of photos and the initial weights",
        _Range(0, 2**32 - 1, integer=True),
    )  # numpy's seed range
    class_weight: str = field(
        default="none",
        metadata={
            "help": "'balanced' weighs each class's photos by 1 / its share of the training "
            "photos, so a small class counts as much as a large one; 'none' weighs all alike",
            "range": None,
            "choices": CLASS_WEIGHTS,
        },
    )

    @property
    def caches_features(self) -> bool:
        """Whether stage 1 trains on precomputed frozen features: only without augmentation,
        because then the frozen base gives the same features every epoch."""
        return not self.augment

    def validate(self) -> TrainConfig:
        """Return self, or raise ConfigError naming the bad field and its allowed range."""
        try:
            get_backbone(self.backbone)
        except ConfigError as exc:
            raise ConfigError(f"backbone: {exc}") from None
        for option in fields(self):
            allowed, value = option.metadata["range"], getattr(self, option.name)
            if allowed is not None and not allowed.contains(value):
                raise ConfigError(
                    f"{option.name}={value!r} is out of range: expected {allowed}. "
                    f"Change {option.name} in the training settings."
                )
        if self.class_weight not in CLASS_WEIGHTS:
            raise ConfigError(
                f"class_weight={self.class_weight!r} is not one of {', '.join(CLASS_WEIGHTS)}."
            )
        if not isinstance(self.augment, bool):
            raise ConfigError(f"augment={self.augment!r} must be True or False.")
        if self.validation_fraction + self.test_fraction >= 1:
            raise ConfigError(
                f"validation_fraction + test_fraction = "
                f"{self.validation_fraction + self.test_fraction:g} leaves no training images; "
                "make their sum smaller than 1 (e.g. 0.1 and 0.2)."
            )
        return self


def help_text(name: str) -> str:
    """The help of one TrainConfig field (for the Train form's tooltips and the CLI)."""
    return next(option.metadata["help"] for option in fields(TrainConfig) if option.name == name)
