"""Background training yields the CPU: its threads run at a lower priority, requests do not."""

from __future__ import annotations

import threading

import pytest

from engine import priority, runtime
from engine.jobs import JobManager
from engine.settings import Settings
from tests.engine.test_jobs import WAIT

pytestmark = pytest.mark.skipif(not priority.supported(), reason="per-thread nice is Linux's")


def in_thread(function):
    """function() run in a new thread; its result."""
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join(WAIT)
    return result[0]


def test_a_lowered_thread_and_the_threads_it_starts_run_at_background_priority():
    def lowered() -> tuple[int, int]:
        priority.lower_this_thread(tensorflow_pools=False)
        return priority.current_nice(), in_thread(priority.current_nice)

    mine = priority.current_nice()
    assert in_thread(lowered) == (priority.BACKGROUND_NICE, priority.BACKGROUND_NICE)
    assert priority.current_nice() == mine  # the caller keeps its own


def test_a_training_job_runs_at_background_priority(tmp_path):
    seen = []

    def runner(data_dir, config, settings, **kwargs):
        seen.append(priority.current_nice())
        raise RuntimeError("stop here")

    jobs = JobManager(Settings(runs_dir=tmp_path / "runs"), runner=runner)
    jobs.start(tmp_path, None)
    jobs.wait(WAIT)
    assert seen == [priority.BACKGROUND_NICE]


def test_requests_and_a_background_training_never_share_interpreters(tmp_path):
    # XNNPACK's workers keep the priority of the thread that made the interpreter.
    flatbuffer = tmp_path / "model.tflite"
    flatbuffer.write_bytes(b"")

    def background_pool():
        priority.lower_this_thread(tensorflow_pools=False)
        return runtime._pool(flatbuffer)

    assert in_thread(background_pool) is not runtime._pool(flatbuffer)
    assert in_thread(lambda: runtime._pool(flatbuffer)) is runtime._pool(flatbuffer)


def test_in_background_hands_over_items_in_order_and_raises_its_errors_here():
    def items():
        yield priority.current_nice()
        yield 2
        raise ValueError("item 3 failed")

    mine, got = priority.current_nice(), []
    with pytest.raises(ValueError, match="item 3 failed"):
        for item in priority.in_background(items()):
            got.append(item)
    assert got == [priority.BACKGROUND_NICE, 2]
    assert priority.current_nice() == mine  # the caller keeps its own
