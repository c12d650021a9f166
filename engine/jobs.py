"""Background training job: one at a time per process, progress snapshot, cooperative cancel."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import priority, train_lock
from engine.access import require_editor
from engine.config import TrainConfig
from engine.errors import JobBusyError, TrainingCancelled, TransferLabError
from engine.events import History, ProgressEvent, format_seconds
from engine.run_record import RunInfo
from engine.settings import Settings

FAILED_PREFIX = "Training failed: "
SUMMARY_CHARS = 90  # a failure's reason in the sidebar; the Train page shows all of it

logger = logging.getLogger(__name__)

Runner = Callable[..., RunInfo]  # called like engine.experiment.run_experiment


def _run_experiment(*args: Any, **kwargs: Any) -> RunInfo:
    """engine.experiment.run_experiment, imported when a training starts: the sidebar of every
    page creates the job manager, and TensorFlow need not load until something trains."""
    from engine.experiment import run_experiment

    return run_experiment(*args, **kwargs)


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of the job's progress for any number of readers (tabs, sidebar)."""

    state: str  # 'idle' | 'running' | 'done' | 'failed' | 'cancelled'
    job_id: str = ""
    stage: str = ""
    stage_index: int = 0
    num_stages: int = 0
    epoch: int = 0
    num_epochs: int = 0
    batch: int = 0
    num_batches: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    history: History = field(default_factory=History)  # per epoch so far, all stages
    eta_seconds: float | None = None
    fraction: float = 0.0  # of the whole job done (by expected time)
    elapsed_seconds: float = 0.0
    message: str = ""  # error text when failed, note when done
    run_id: str = ""  # set when done
    run_title: str = ""  # the run's name, as every page shows it
    train_seconds: float | None = None  # of the elapsed time, the training itself
    config: TrainConfig | None = None  # what the job trains with (shown beside its progress)
    kept_model: bool = False  # cancelled, but the run kept the model trained before the cancel
    data_dir: str = ""

    def summary(self) -> str:
        """One line for the sidebar, e.g. 'Training: head epoch 3/30, batch 5/23, ETA 12 s'."""
        if self.state == "idle":
            return "No training running"  # this process's jobs only; saved runs are on Runs
        if self.state == "done":
            return (
                f"Training done: {self.run_title or self.run_id}"
                if self.run_id
                else "Training done"
            )
        if self.state == "cancelled":
            return "Training cancelled"
        if self.state == "failed":
            # One short line: the whole message is on the Train page.
            reason = self.message.removeprefix(FAILED_PREFIX).strip().splitlines() or [""]
            short = (
                reason[0] if len(reason[0]) <= SUMMARY_CHARS else reason[0][:SUMMARY_CHARS] + "…"
            )
            return f"{FAILED_PREFIX}{short}"
        # Stage names are identifiers (zero_shot, fine_tune); the sidebar shows them as words.
        parts = [(self.stage or "starting").replace("_", "-")]
        if self.num_epochs:
            parts.append(f"epoch {self.epoch}/{self.num_epochs}")
        text = f"Training: {' '.join(parts)}"
        if self.num_batches:
            text += f", batch {self.batch}/{self.num_batches}"
        if self.eta_seconds is not None:
            text += f", ETA {format_seconds(self.eta_seconds)}"
        return f"{text} ({self.message})" if self.message else text


class JobManager:
    """Runs engine.experiment.run_experiment in a daemon thread; thread-safe."""

    def __init__(self, settings: Settings, *, runner: Runner = _run_experiment) -> None:
        self.settings = settings
        self._runner = runner
        self._lock = threading.Lock()
        self._record = _as_record(JobSnapshot(state="idle"))  # JobSnapshot fields; under _lock
        self._started = 0.0  # time.monotonic() at start
        self._eta_at = 0.0  # time.monotonic() of the last event (its ETA counts from then)
        self._started_text = ""
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(
        self,
        data_dir: str | Path,
        config: TrainConfig,
        split_file: str | Path | None = None,
        mapping: dict[str, list[int]] | None = None,
        *,
        zero_shot: Callable[[], Any] | None = None,
    ) -> str:
        """Start a training and return its job id at once. Raises JobBusyError while one runs.

        zero_shot: optional loader of the zero-shot model (e.g. a cached one), passed to the runner.
        """
        require_editor(self.settings, "start a training")
        with self._lock:
            if self._record["state"] == "running":
                raise JobBusyError(
                    f"A training is already running (started {self._started_text}); "
                    "wait for it or cancel it."
                )
            elsewhere = train_lock.holder(self.settings.runs_dir)
            if elsewhere is not None:
                raise JobBusyError(
                    f"A training is already running into {self.settings.runs_dir} ({elsewhere}); "
                    "wait for it to finish."
                )
            job_id = uuid.uuid4().hex[:8]
            self._record = _as_record(
                JobSnapshot(state="running", job_id=job_id, config=config, data_dir=str(data_dir))
            )
            self._started = time.monotonic()
            self._eta_at = self._started
            self._started_text = time.strftime("%H:%M:%S")
            self._cancel = threading.Event()
            kwargs = {
                "split_file": split_file,
                "mapping": mapping,
                "zero_shot": zero_shot,
                "on_event": self._on_event,
                "cancel": self._cancel,
            }
            self._thread = threading.Thread(
                target=self._run,
                args=(data_dir, config, kwargs),
                name=f"training-{job_id}",
                daemon=True,
            )
            self._thread.start()
        return job_id

    def snapshot(self) -> JobSnapshot:
        """Current progress (state 'idle' before the first job)."""
        with self._lock:
            record = self._record
            elapsed, eta = record["elapsed_seconds"], record["eta_seconds"]
            if record["state"] == "running":
                now = time.monotonic()
                elapsed = now - self._started
                # Counts down between events: a long first batch (tracing) or a validation
                # pass sends none, and a frozen number would look stalled.
                if eta is not None:
                    eta = max(0.0, eta - (now - self._eta_at))
            # Copies, so a reader never sees the job thread change them.
            return JobSnapshot(
                **{
                    **record,
                    "metrics": dict(record["metrics"]),
                    "history": record["history"].copy(),
                    "elapsed_seconds": elapsed,
                    "eta_seconds": eta,
                }
            )

    def cancel(self) -> None:
        """Ask the running job to stop; it stops at the next batch."""
        with self._lock:
            if self._record["state"] == "running":
                self._cancel.set()
                self._record["message"] = "cancelling"

    def wait(self, timeout: float | None = None) -> JobSnapshot:
        """Block until the current job ends (or timeout) and return the snapshot."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.snapshot()

    def _on_event(self, event: ProgressEvent) -> None:
        with self._lock:
            record = self._record
            record.update(
                stage=event.stage,
                stage_index=event.stage_index,
                num_stages=event.num_stages,
                epoch=event.epoch,
                num_epochs=event.num_epochs,
                batch=event.batch,
                num_batches=event.num_batches,
                eta_seconds=event.eta_seconds,
                fraction=max(record["fraction"], event.fraction),  # never backwards
            )
            self._eta_at = time.monotonic()
            if event.metrics:  # stage events carry none; keep the last figures on show
                record["metrics"] = dict(event.metrics)
            record["history"].record(event)

    def _run(self, data_dir: str | Path, config: TrainConfig, kwargs: dict) -> None:
        """Thread body: run the experiment and record how it ended (never raises)."""
        run_id, state, message, kept_model = "", "failed", "", False
        title, train_seconds = "", None
        try:
            self._yield_to_requests()
            what = f"the app's training of {Path(data_dir).name}"
            with train_lock.training_lock(self.settings.runs_dir, what):
                info = self._runner(data_dir, config, self.settings, **kwargs)
            run_id, state, title = info.run_id, "done", info.title
            train_seconds = info.train_seconds
            if info.test_accuracy is not None:
                message = f"Test accuracy {info.test_accuracy:.1%}"
        except TrainingCancelled as exc:
            state, message, kept_model = "cancelled", str(exc), exc.kept_model
        except TransferLabError as exc:
            message = str(exc)
        except Exception as exc:
            logger.exception("Training job crashed")
            message = f"{FAILED_PREFIX}{type(exc).__name__}: {exc}"
        with self._lock:
            self._record.update(
                state=state,
                run_id=run_id,
                message=message,
                kept_model=kept_model,
                run_title=title,
                train_seconds=train_seconds,
                fraction=1.0 if state == "done" else self._record["fraction"],
                eta_seconds=None,
                elapsed_seconds=time.monotonic() - self._started,
            )

    def _yield_to_requests(self) -> None:
        """Train at background priority (engine.priority): pages stay responsive meanwhile."""
        from engine.runtime import Runtime  # loads TensorFlow: only once a training starts

        on_litert = Runtime.from_settings(self.settings).choice == "litert"
        priority.lower_this_thread(tensorflow_pools=on_litert)


def _as_record(snapshot: JobSnapshot) -> dict[str, Any]:
    """A mutable progress record holding a snapshot's fields (with its own history)."""
    record = {f.name: getattr(snapshot, f.name) for f in dataclasses.fields(snapshot)}
    return {**record, "metrics": dict(snapshot.metrics), "history": snapshot.history.copy()}
