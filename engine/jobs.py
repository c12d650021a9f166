"""Background training job: one at a time per process, progress snapshot, cooperative cancel."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.settings import Settings
from engine.training import TrainConfig


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
    history: dict[str, list[float]] = field(default_factory=dict)
    eta_seconds: float | None = None
    elapsed_seconds: float = 0.0
    message: str = ""  # error text when failed, note when done
    run_id: str = ""  # set when done

    def summary(self) -> str:
        """One line for the sidebar, e.g. 'Training: head epoch 3/30, batch 5/23, ETA 12 s'."""
        raise NotImplementedError


class JobManager:
    """Runs engine.experiment.run_experiment in a daemon thread; thread-safe."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def start(
        self,
        data_dir: str | Path,
        config: TrainConfig,
        split_file: str | Path | None = None,
        mapping: dict[str, list[int]] | None = None,
    ) -> str:
        """Start a training and return its job id at once. Raises JobBusyError while one runs."""
        raise NotImplementedError

    def snapshot(self) -> JobSnapshot:
        """Current progress (state 'idle' before the first job)."""
        raise NotImplementedError

    def cancel(self) -> None:
        """Ask the running job to stop; it stops at the next batch."""
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> JobSnapshot:
        """Block until the current job ends (or timeout) and return the snapshot."""
        raise NotImplementedError
