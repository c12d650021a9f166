"""The vocabulary of training events: stage names and titles, ProgressEvent, History."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# The stages of one experiment, in the order they run (the middle three are training's).
ZERO_SHOT = "zero_shot"
FEATURES = "features"
HEAD = "head"
FINE_TUNE = "fine_tune"
EVALUATE = "evaluate"
CALIBRATE = "calibrate"  # after evaluate, when the split has validation photos
STAGE_TITLES = {
    ZERO_SHOT: "Zero-shot ImageNet baseline on the test photos",
    FEATURES: "Computing features with the frozen base",
    HEAD: "Training the new head",
    FINE_TUNE: "Fine-tuning the top layers",
    EVALUATE: "Evaluating on the test photos",
    CALIBRATE: "Calibrating confidence on the validation photos",
}
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class ProgressEvent:
    """One training event for listeners (progress bars, logs); display is never baked in."""

    kind: str  # 'stage_start' | 'batch' | 'epoch_end' | 'stage_end'
    stage: str  # one of STAGE_TITLES
    stage_index: int  # 1-based, over the whole plan
    num_stages: int
    epoch: int = 0  # 1-based; 0 for stages without epochs
    num_epochs: int = 0
    batch: int = 0  # 1-based
    num_batches: int = 0
    # loss, accuracy (running, on batches), val_loss, val_accuracy (on epoch_end)
    metrics: dict[str, float] = field(default_factory=dict)
    eta_seconds: float | None = None  # for the whole plan, when known
    fraction: float = 0.0  # of the whole plan done, weighted by each stage's expected time


EventCallback = Callable[[ProgressEvent], None]


class History:
    """Per-epoch metrics over all stages, from epoch_end events (as Keras' History callback).

    `values` holds one list per metric plus 'stage', the stage name of each epoch, so live and
    saved curves draw the same way.
    """

    def __init__(self, values: dict[str, list] | None = None) -> None:
        self.values: dict[str, list] = {name: list(v) for name, v in (values or {}).items()}

    def record(self, event: ProgressEvent) -> None:
        """Append an epoch's metrics; other events carry nothing to keep."""
        if event.kind != "epoch_end":
            return
        for name, value in event.metrics.items():
            self.values.setdefault(name, []).append(value)
        self.values.setdefault("stage", []).append(event.stage)

    def get(self, name: str) -> list:
        """The values of one metric (or 'stage') per epoch; [] when never recorded."""
        return self.values.get(name, [])

    @property
    def num_epochs(self) -> int:
        return len(self.get("stage"))

    def copy(self) -> History:
        return History(self.values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, History) and other.values == self.values

    def __repr__(self) -> str:
        return f"History({self.values!r})"


def format_seconds(seconds: float) -> str:
    """'12 s' or '3 min 05 s' (durations a person reads at a glance)."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
