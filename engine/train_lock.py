"""One training at a time per runs folder, across processes (apps and the CLI sharing a folder).

The lock is an flock on `<runs>/.training.lock`: the kernel drops it when its holder exits,
however it dies, so a killed training never blocks the folder. The file also says who holds
it (pid, host, command, start), for the message others get and to notice a takeover.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from engine.errors import JobBusyError, RunStoreError, first_line

try:
    import fcntl
except ImportError:  # Windows: one process per runs folder is then the user's to ensure
    fcntl = None

LOCK_FILE = ".training.lock"

logger = logging.getLogger(__name__)


def holder(runs_dir: Path) -> str | None:
    """Who trains into runs_dir right now ('pid 4242 on host, python -m engine train, since
    11:02'), or None when nobody does."""
    path = runs_dir / LOCK_FILE
    if fcntl is None or not path.is_file() or path.is_symlink():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe(path)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


@contextlib.contextmanager
def training_lock(runs_dir: Path, what: str) -> Iterator[None]:
    """Hold the runs folder's training lock while the block runs.

    Raises:
        JobBusyError: another process (or job) trains into this folder; says who.
        RunStoreError: the lock file cannot be created (read-only folder, ...).
    """
    if fcntl is None:
        yield
        return
    path = runs_dir / LOCK_FILE
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()  # never write through a link someone put in its place
        handle = open(path, "a+")
    except OSError as error:
        raise RunStoreError(
            f"Could not create the training lock in {runs_dir}: {first_line(error)}. "
            "Check that the runs folder is writable."
        ) from error
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JobBusyError(
                f"A training is already running into {runs_dir} ({_describe(path)}); "
                "wait for it to finish, or use another runs folder (TLAB_RUNS_DIR)."
            ) from None
        previous = _read(path)
        if previous:  # a clean release empties the file
            logger.warning(
                "Took over the training lock of %s, which ended without releasing it "
                "(killed or crashed); its run, if any, was not saved.",
                _owner_text(previous),
            )
        _write(handle, what)
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()  # released cleanly: nothing to report to the next holder
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write(handle, what: str) -> None:
    owner = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "what": what,
        "command": " ".join(os.path.basename(arg) for arg in sys.argv[:3]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(owner))
    handle.flush()


def _read(path: Path) -> dict | None:
    try:
        with open(path) as handle:
            data = json.loads(handle.read(4096) or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe(path: Path) -> str:
    owner = _read(path)
    return _owner_text(owner) if owner else "another process"


def _owner_text(owner: dict) -> str:
    return (
        f"pid {owner.get('pid', '?')} on {owner.get('host', '?')}, "
        f"{owner.get('what', 'a training')}, since {owner.get('started', '?')}"
    )
