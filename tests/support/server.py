"""`streamlit run app.py` on 127.0.0.1 for browser tests and benchmarks, and Chromium's flags."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.paths import ROOT

CHROMIUM = Path("/usr/bin/chromium")
# The machine's network is closed: without the background-networking flags Chromium keeps
# trying Google's hosts at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answers(url: str, deadline: float) -> None:
    """Poll url until it answers 200; TimeoutError at the deadline (time.monotonic())."""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in time")


@contextmanager
def streamlit_server(
    port: int, workdir: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """`streamlit run app.py` on 127.0.0.1:port with runs/uploads in workdir; stopped on exit.

    env is added to this process's environment; its log is workdir/streamlit.log.
    """
    env = {**os.environ, **(env or {}), "TLAB_RUNS_DIR": str(workdir / "runs")}
    env["TLAB_UPLOADS_DIR"] = str(workdir / "uploads")
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true"]
    command += ["--server.address=127.0.0.1", f"--server.port={port}"]
    with open(workdir / "streamlit.log", "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
