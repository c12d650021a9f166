"""JobManager: one background job at a time, consistent snapshots, cancel, failures."""

from __future__ import annotations

import threading
import time

import pytest

from engine.config import TrainConfig
from engine.errors import DatasetError, JobBusyError, TrainingCancelled
from engine.events import ProgressEvent, format_seconds
from engine.jobs import JobManager, JobSnapshot
from engine.run_record import RunInfo
from engine.settings import Settings

WAIT = 30  # seconds; generous upper bound on a shared machine, never a timing assertion


class FakeRunner:
    """Emits head-stage events like run_experiment and sleeps in small steps, watching cancel.

    It keeps running until `release` is set (or cancel), so tests control when it ends.
    """

    def __init__(self, num_epochs: int = 3, error: Exception | None = None) -> None:
        self.num_epochs = num_epochs
        self.error = error
        self.release = threading.Event()
        self.reached_last_epoch = threading.Event()
        self.kwargs: dict = {}

    def __call__(self, data_dir, config, settings, **kwargs) -> RunInfo:
        self.kwargs = kwargs
        on_event, cancel = kwargs["on_event"], kwargs["cancel"]
        num_epochs = self.num_epochs
        on_event(ProgressEvent("stage_start", "head", 1, 1, num_epochs=num_epochs))
        for epoch in range(1, num_epochs + 1):
            for batch in (1, 2):
                on_event(ProgressEvent("batch", "head", 1, 1, epoch, num_epochs, batch, 2))
                self._step(cancel)
            metrics = {"loss": 1.0 / epoch, "val_loss": 2.0 / epoch}
            on_event(ProgressEvent("epoch_end", "head", 1, 1, epoch, num_epochs, 2, 2, metrics))
        self.reached_last_epoch.set()
        while not self.release.wait(0.005):
            self._step(cancel)
        if self.error is not None:
            raise self.error
        return RunInfo(
            "20260101-000000-abcd",
            "",
            "complete",
            str(data_dir),
            ("a", "b"),
            config,
            0.75,
            None,
            1.0,
        )

    @staticmethod
    def _step(cancel: threading.Event) -> None:
        time.sleep(0.001)
        if cancel.is_set():
            raise TrainingCancelled("Training stopped because you cancelled it.")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(runs_dir=tmp_path / "runs")


def started(runner: FakeRunner, settings: Settings) -> JobManager:
    jobs = JobManager(settings, runner=runner)
    jobs.start("data", TrainConfig())
    assert runner.reached_last_epoch.wait(WAIT)
    return jobs


def test_before_any_job_the_state_is_idle(settings):
    snapshot = JobManager(settings).snapshot()
    assert snapshot == JobSnapshot(state="idle")
    assert snapshot.summary() == "No training running"


def test_a_job_runs_in_the_background_and_ends_done(settings):
    runner = FakeRunner()
    jobs = JobManager(settings, runner=runner)

    job_id = jobs.start("data", TrainConfig(), split_file="s.csv", mapping={"a": [1]})
    running = jobs.snapshot()
    assert (running.state, running.job_id) == ("running", job_id)
    assert runner.reached_last_epoch.wait(WAIT)
    progress = jobs.snapshot()
    runner.release.set()
    done = jobs.wait(WAIT)

    assert (progress.stage, progress.epoch, progress.num_epochs) == ("head", 3, 3)
    assert (progress.batch, progress.num_batches) == (2, 2)
    assert progress.metrics == {"loss": pytest.approx(1 / 3), "val_loss": pytest.approx(2 / 3)}
    assert progress.history.values == {
        "loss": [1.0, 0.5, pytest.approx(1 / 3)],
        "val_loss": [2.0, 1.0, pytest.approx(2 / 3)],
        "stage": ["head", "head", "head"],
    }
    assert (done.state, done.run_id, done.job_id) == ("done", "20260101-000000-abcd", job_id)
    assert done.message == "Test accuracy 75.0%"
    assert done.summary() == f"Training done: {done.run_title}"
    assert done.run_title.startswith("data · 75.0% · ")
    assert done.elapsed_seconds > 0
    assert runner.kwargs["split_file"] == "s.csv"
    assert runner.kwargs["mapping"] == {"a": [1]}
    assert runner.kwargs["zero_shot"] is None


def test_only_one_job_runs_at_a_time(settings):
    runner = FakeRunner()
    jobs = started(runner, settings)

    with pytest.raises(JobBusyError, match=r"already running \(started \d\d:\d\d:\d\d\); wait"):
        jobs.start("data", TrainConfig())

    runner.release.set()
    assert jobs.wait(WAIT).state == "done"
    jobs.start("data", TrainConfig())  # free again once the first one ended
    assert jobs.wait(WAIT).state == "done"


def test_cancel_stops_the_job(settings):
    jobs = started(FakeRunner(), settings)

    jobs.cancel()
    assert "cancelling" in jobs.snapshot().summary()
    snapshot = jobs.wait(WAIT)

    assert snapshot.state == "cancelled"
    assert snapshot.message == "Training stopped because you cancelled it."
    assert snapshot.summary() == "Training cancelled"
    assert snapshot.history.get("stage") == ["head"] * 3, "the curves so far are kept"


def test_cancel_without_a_job_does_nothing(settings):
    jobs = JobManager(settings, runner=FakeRunner())
    jobs.cancel()
    assert jobs.snapshot().state == "idle"
    assert jobs.wait(0).state == "idle"


def test_a_user_error_fails_with_its_own_message(settings):
    runner = FakeRunner(error=DatasetError("The folder /x does not exist; pick another folder."))
    jobs = started(runner, settings)
    runner.release.set()

    snapshot = jobs.wait(WAIT)

    assert snapshot.state == "failed"
    assert snapshot.message == "The folder /x does not exist; pick another folder."
    assert snapshot.summary() == (
        "Training failed: The folder /x does not exist; pick another folder."
    )


def test_an_unexpected_error_fails_with_its_type_and_logs_the_traceback(settings, caplog):
    runner = FakeRunner(error=ValueError("boom"))
    jobs = started(runner, settings)
    runner.release.set()

    snapshot = jobs.wait(WAIT)

    assert snapshot.state == "failed"
    assert snapshot.message == "Training failed: ValueError: boom"
    assert snapshot.summary() == "Training failed: ValueError: boom"
    [record] = [r for r in caplog.records if r.name == "engine.jobs"]
    assert record.exc_info is not None and record.exc_info[0] is ValueError


def test_readers_in_other_threads_always_see_consistent_snapshots(settings):
    runner = FakeRunner(num_epochs=40)
    jobs = JobManager(settings, runner=runner)
    problems: list[str] = []
    stop = threading.Event()

    def read() -> None:
        last_epochs = 0
        while not stop.is_set():
            snapshot = jobs.snapshot()
            epochs = snapshot.history.num_epochs
            if any(len(values) != epochs for values in snapshot.history.values.values()):
                problems.append(f"ragged history {snapshot.history}")
            if epochs < last_epochs:
                problems.append("history went backwards")
            last_epochs = epochs
            snapshot.history.values.setdefault("loss", []).append(-1.0)  # a reader's own copy
            snapshot.summary()

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    jobs.start("data", TrainConfig())
    assert runner.reached_last_epoch.wait(WAIT)
    runner.release.set()
    final = jobs.wait(WAIT)
    stop.set()
    for reader in readers:
        reader.join(WAIT)

    assert problems == []
    assert final.state == "done"
    assert len(final.history.get("loss")) == 40
    assert -1.0 not in final.history.get("loss")


def test_summary_of_a_running_job():
    snapshot = JobSnapshot(
        state="running",
        stage="head",
        epoch=3,
        num_epochs=30,
        batch=5,
        num_batches=23,
        eta_seconds=12.4,
    )
    assert snapshot.summary() == "Training: head epoch 3/30, batch 5/23, ETA 12 s"
    features = JobSnapshot(state="running", stage="features", batch=2, num_batches=9)
    assert features.summary() == "Training: features, batch 2/9"
    assert JobSnapshot(state="running").summary() == "Training: starting"


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0 s"), (12.4, "12 s"), (59.6, "1 min 00 s"), (185, "3 min 05 s")]
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text


def test_the_eta_counts_down_between_events_and_the_job_shows_its_config(settings, monkeypatch):
    # Protection: a long first batch (graph tracing) or a validation pass sends no event; the
    # ETA then counted nothing down and looked stalled.
    runner = FakeRunner()
    jobs = JobManager(settings, runner=runner)
    config = TrainConfig(epochs=4)
    jobs.start("data", config)
    assert runner.reached_last_epoch.wait(WAIT)
    jobs._on_event(ProgressEvent("batch", "fine_tune", 3, 4, 1, 2, 1, 9, eta_seconds=60.0))
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 25)
    snapshot = jobs.snapshot()
    monkeypatch.undo()
    runner.release.set()
    jobs.wait(WAIT)

    assert 34 <= snapshot.eta_seconds <= 35.5
    assert (snapshot.config, snapshot.data_dir) == (config, "data")


def test_a_long_failure_is_one_short_line_in_the_summary():
    snapshot = JobSnapshot(state="failed", message="Weights file /x is corrupt\n" + "y" * 500)
    assert snapshot.summary() == "Training failed: Weights file /x is corrupt"
    long = JobSnapshot(state="failed", message="z" * 500).summary()
    assert len(long) < 120 and long.endswith("…")
