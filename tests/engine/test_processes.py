"""Several processes on one runs folder: one training at a time, a killed holder's lock taken
over, and readers, deleters and a writer racing without errors or half-written runs."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.errors import JobBusyError
from engine.jobs import JobManager
from engine.runs import RunStore
from engine.settings import Settings
from engine.train_lock import holder, training_lock
from tests.conftest import write_class
from tests.engine.test_faults import python_env, wait_for
from tests.support.paths import ROOT, SHARED_MISSING, offline_defaults, shared_present

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the lock uses flock")

# Holds the training lock of argv[1] until killed, after saying so on stdout.
HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from engine.train_lock import training_lock
    with training_lock(Path(sys.argv[1]), "a test holder"):
        print("holding", flush=True)
        time.sleep(600)
    """
)


def start_holder(runs: Path) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(runs)],
        cwd=ROOT,
        env=python_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "holding"
    return child


def test_a_second_process_is_told_who_holds_the_lock_and_a_killed_holder_frees_it(tmp_path, caplog):
    runs = tmp_path / "runs"
    child = start_holder(runs)
    try:
        assert f"pid {child.pid}" in holder(runs)
        with pytest.raises(JobBusyError, match=rf"pid {child.pid} on .*a test holder"):
            with training_lock(runs, "a second training"):
                pass
        jobs = JobManager(Settings(runs_dir=runs))
        with pytest.raises(JobBusyError, match=f"pid {child.pid}"):
            jobs.start(tmp_path, None)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()

    with caplog.at_level(logging.WARNING), training_lock(runs, "the next training"):
        assert holder(runs) is not None  # held by this process now
    assert f"Took over the training lock of pid {child.pid}" in caplog.text
    assert holder(runs) is None


def test_a_clean_release_leaves_nothing_to_take_over(tmp_path, caplog):
    runs = tmp_path / "runs"
    with training_lock(runs, "first"):
        pass
    with caplog.at_level(logging.WARNING), training_lock(runs, "second"):
        pass
    assert "Took over" not in caplog.text


@pytest.mark.integration
@pytest.mark.slow
def test_two_cli_trainings_into_one_folder_at_once_train_exactly_once(tmp_path):
    if not shared_present():
        pytest.skip(SHARED_MISSING)
    data = tmp_path / "photos"
    for name in ("red", "blue"):
        write_class(data, name, 6)
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "engine", "train", "--data", str(data), "--json"]
    command += ["--epochs", "1", "--runs-dir", str(runs)]
    env = python_env(**offline_defaults())  # whatever the shell sets: ../shared's models
    children = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [(child.wait(timeout=600), *child.communicate()) for child in children]

    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    refused = next(err.decode() for code, _, err in results if code == 1)
    assert "A training is already running into" in refused and "pid " in refused
    assert [info.status for info in RunStore(runs).list()] == ["complete"]


# Saves runs as fast as it can, then prints how many (argv: runs folder, count).
WRITER = textwrap.dedent(
    """
    import sys
    from engine.runs import RunStore
    from tests.support.runs import make_run
    store = RunStore(sys.argv[1])
    for _ in range(int(sys.argv[2])):
        store.save(make_run(("cat", "dog")))
    print(int(sys.argv[2]))
    """
)
# Lists, loads and deletes (every other run it sees) until the writer is done; prints a JSON
# summary of what went wrong (argv: runs folder, a file that appears when the writer ends).
RACER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from engine.errors import RunNotFoundError
    from engine.runs import RunStore
    store, done = RunStore(sys.argv[1]), Path(sys.argv[2])
    errors, loads, deletes, passes = [], 0, 0, 0
    while not done.exists() or passes < 3:
        passes += 1
        for number, info in enumerate(store.list()):
            try:
                run = store.load(info.run_id)
                assert run.info.run_id == info.run_id and len(run.evaluation.predictions) == 2
                loads += 1
                if number % 2:
                    store.delete(info.run_id)
                    deletes += 1
            except RunNotFoundError as error:
                if "deleted meanwhile" not in str(error) and "No run" not in str(error):
                    errors.append(str(error))
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
        errors += [f"damaged: {d}" for d in store.damaged()]
    print(json.dumps({"errors": errors, "loads": loads, "deletes": deletes}))
    """
)


@pytest.mark.slow
def test_readers_and_deleters_race_a_writer_without_errors_or_half_written_runs(tmp_path):
    runs, done = tmp_path / "runs", tmp_path / "writer-done"
    runs.mkdir()

    def spawn(script: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", script, *map(str, args)],
            cwd=ROOT,
            env=python_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    racers = [spawn(RACER, runs, done) for _ in range(3)]
    writer = spawn(WRITER, runs, 60)
    written, writer_err = writer.communicate(timeout=300)
    done.touch()
    summaries = []
    for racer in racers:
        out, err = racer.communicate(timeout=300)
        assert racer.returncode == 0, err
        summaries.append(json.loads(out))

    assert writer.returncode == 0 and written.strip() == "60", writer_err
    assert [error for summary in summaries for error in summary["errors"]] == []
    assert sum(summary["loads"] for summary in summaries) > 0
    store = RunStore(runs)
    assert store.damaged() == []
    deleted = sum(summary["deletes"] for summary in summaries)
    assert len(store.list()) == 60 - deleted, "a delete removed exactly its own run"
    wait_for(lambda: not any(runs.glob(".tmp-*")), "the deleters' temp folders to go")
    assert all((folder / "run.json").is_file() for folder in runs.iterdir() if folder.is_dir())
    assert os.listdir(runs)  # the store marker and the surviving runs
