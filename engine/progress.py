"""Progress over a declared plan of stages: ProgressEvents with an ETA, history, cancel flag."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from engine.errors import TrainingCancelled
from engine.events import EventCallback, History, ProgressEvent


@dataclass(frozen=True)
class StagePlan:
    """What one stage will do, known before it starts (for counters and the ETA)."""

    name: str
    num_epochs: int  # 0 for one-pass stages (features, zero-shot, evaluate)
    num_batches: int  # per epoch
    cost: float  # seconds per batch relative to one forward pass of the base on a batch

    @property
    def total_batches(self) -> int:
        return max(self.num_epochs, 1) * self.num_batches


class Progress:
    """Turns the progress of planned stages into ProgressEvents with an ETA for the whole plan.

    Every event is recorded in `history` and passed to on_event; `cancel` is the flag a user
    sets, which the stages check between batches (raise_if_cancelled).
    """

    def __init__(
        self,
        plans: list[StagePlan],
        on_event: EventCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.plans = plans
        self.on_event = on_event
        self.cancel = cancel
        self.history = History()
        self.index = 0
        self.stage_started = time.perf_counter()
        self.first_batch: tuple[float, int] | None = None  # (time, batches done) after it
        self.unit_seconds: float | None = None  # measured seconds per unit of stage cost

    @property
    def plan(self) -> StagePlan:
        return self.plans[self.index]

    def has_stage(self, name: str) -> bool:
        return any(plan.name == name for plan in self.plans)

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def raise_if_cancelled(self) -> None:
        if self.cancelled:
            raise TrainingCancelled(
                "Training cancelled by the user; start it again when you want a model."
            )

    def start_stage(self, name: str) -> None:
        self.index = [plan.name for plan in self.plans].index(name)
        self.stage_started = time.perf_counter()
        self.first_batch = None
        self._emit("stage_start", done=0)

    def batch(self, epoch: int, batch: int, metrics: dict[str, float] | None = None) -> None:
        done = (max(epoch, 1) - 1) * self.plan.num_batches + batch
        self._emit("batch", done, epoch=epoch, batch=batch, metrics=metrics or {})

    def epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        done = epoch * self.plan.num_batches
        self._emit("epoch_end", done, epoch=epoch, batch=self.plan.num_batches, metrics=metrics)

    def end_stage(self) -> None:
        plan = self.plan
        self._emit("stage_end", plan.total_batches, epoch=plan.num_epochs, batch=plan.num_batches)

    def _emit(self, kind: str, done: int, **fields) -> None:
        event = ProgressEvent(
            kind=kind,
            stage=self.plan.name,
            stage_index=self.index + 1,
            num_stages=len(self.plans),
            num_epochs=self.plan.num_epochs,
            num_batches=self.plan.num_batches,
            eta_seconds=self._eta(done, measured=kind == "batch"),
            fraction=self._fraction(done),
            **fields,
        )
        self.history.record(event)
        if self.on_event is not None:
            self.on_event(event)

    def _fraction(self, done: int) -> float:
        """Share of the plan's expected work done: finished stages plus this one's batches."""
        total = sum(plan.total_batches * plan.cost for plan in self.plans)
        finished = sum(plan.total_batches * plan.cost for plan in self.plans[: self.index])
        current = min(done, self.plan.total_batches) * self.plan.cost
        return min(1.0, (finished + current) / total) if total > 0 else 0.0

    def _eta(self, done: int, measured: bool) -> float | None:
        """Seconds left over all stages: this stage at its measured pace, later stages at the
        pace measured on image batches scaled by their relative cost.

        Only batches that ran (measured) calibrate: a stage that ends at once because its
        features came from the disk cache says nothing about the base's pace.
        """
        plan = self.plan
        if done > 0:
            seconds_per_batch = self._pace(done)
            # Only image stages calibrate: the head-on-features pace says nothing about images.
            if plan.cost >= 1 and measured:
                self.unit_seconds = seconds_per_batch / plan.cost
        elif self.unit_seconds is not None:
            seconds_per_batch = plan.cost * self.unit_seconds
        else:
            return None
        later = sum(p.total_batches * p.cost for p in self.plans[self.index + 1 :])
        if later and self.unit_seconds is None:
            return None
        current = max(plan.total_batches - done, 0) * seconds_per_batch
        return current + later * (self.unit_seconds or 0.0)

    def _pace(self, done: int) -> float:
        """Seconds per batch in this stage, leaving out the first batch once possible: it also
        pays for tracing the tf.function, which would inflate the early estimates."""
        now = time.perf_counter()
        if self.first_batch is None:
            self.first_batch = (now, done)
        since, done_then = self.first_batch
        if done > done_then:
            return (now - since) / (done - done_then)
        return (now - self.stage_started) / done
