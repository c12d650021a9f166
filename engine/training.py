"""Fine-tuning: base + head, stage 1 on frozen (cached) features, optional stage 2 unfreezing."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np

from engine.datasets import Split
from engine.settings import Settings


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training needs besides data; defaults are the one-click recipe (fast, good)."""

    backbone: str = "mobilenet_v2"
    epochs: int = 30  # stage 1 (head on frozen base)
    fine_tune_epochs: int = 0  # stage 2; 0 = skip
    unfreeze_layers: int = 20  # top N base layers trainable in stage 2
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-5
    dropout: float = 0.2
    augment: bool = False  # True forces the slow path (no cached features)
    early_stopping_patience: int = 5  # 0 = off; monitors val_loss, restores best weights
    validation_fraction: float = 0.1
    test_fraction: float = 0.2
    seed: int = 0

    def validate(self) -> TrainConfig:
        """Return self, or raise ConfigError naming the bad field and its allowed range."""
        raise NotImplementedError


@dataclass(frozen=True)
class ProgressEvent:
    """One training event for callbacks (progress bars, logs); display is never baked in."""

    kind: str  # 'stage_start' | 'batch' | 'epoch_end' | 'stage_end'
    stage: str  # 'features' | 'head' | 'fine_tune'
    stage_index: int  # 1-based
    num_stages: int
    epoch: int = 0  # 1-based; 0 for the features stage
    num_epochs: int = 0
    batch: int = 0  # 1-based
    num_batches: int = 0
    metrics: dict[str, float] = field(default_factory=dict)  # loss, accuracy, val_loss, val_accuracy
    eta_seconds: float | None = None  # for the whole training, when known


EventCallback = Callable[[ProgressEvent], None]


class FineTunedClassifier:
    """A trained model behind the same interface as ZeroShotClassifier."""

    def __init__(self, model: keras.Model, class_names: tuple[str, ...], input_size: int) -> None:
        self.model = model
        self.class_names = class_names
        self.input_size = input_size

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities for uint8/float images [N,H,W,3] in [0,255] (any H, W)."""
        raise NotImplementedError


@dataclass
class TrainResult:
    """What fit() learned: the full model (raw [0,255] images in, probabilities out) and history."""

    classifier: FineTunedClassifier
    history: dict[str, list[float]]  # loss, accuracy, val_loss, val_accuracy, per epoch, all stages
    stages: list[str]  # stage name per epoch in history
    seconds: float
    cached_features: bool


def build_model(
    backbone: str, num_classes: int, dropout: float, weights: str | None
) -> tuple[keras.Model, keras.Model, keras.Model]:
    """Return (model, base, head): Input -> Preprocess -> base(training=False) -> pool -> head."""
    raise NotImplementedError


def fit(
    split: Split,
    config: TrainConfig,
    settings: Settings,
    on_event: EventCallback | None = None,
    cancel: threading.Event | None = None,
) -> TrainResult:
    """Train on split.train with early stopping on split.validation (never split.test).

    Raises:
        TrainingCancelled: cancel was set; checked between batches.
        ModelUnavailableError: backbone weights cannot be loaded.
    """
    raise NotImplementedError
