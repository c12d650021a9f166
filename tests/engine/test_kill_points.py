"""What the newer features write survives a SIGKILL mid-write, as the run store does: a
converted model, a run's extra documents (calibration, export checks, mappings...) and a file
written through store_files.replace_bytes (reports, batch CSVs) are whole or absent."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.engine.test_faults import python_env
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow

BIG = 8 * 1024 * 1024  # bytes per write: long enough to be caught in the middle

PREAMBLE = (
    "import sys\nfrom pathlib import Path\nfolder, BIG = Path(sys.argv[1]), int(sys.argv[2])\n"
)
# Each child writes forever into argv[1]; the parent kills it when a temp file shows up.
WRITERS = {
    "converted model": """
        from engine.runtime import Runtime
        runtime, number = Runtime("litert", folder), 0
        while True:
            number += 1
            runtime._flatbuffer(f"model{number}", lambda: bytes([number % 256]) * BIG)
        """,
    "run extra document": """
        from engine.runs import RunStore
        from tests.support.runs import make_run
        store = RunStore(folder)
        run_id, number = store.save(make_run(("cat", "dog"))), 0
        while True:
            number += 1
            store.save_extra(run_id, "export_checks", {"n": number, "pad": "x" * BIG})
        """,
    "report file": """
        from engine.store_files import replace_bytes
        number = 0
        while True:
            number += 1
            replace_bytes(folder / "report.html", (f"<!-- {number} -->" + "x" * BIG).encode())
        """,
}


def whole(path: Path) -> bool:
    """Whether a file one of the writers made is complete."""
    data = path.read_bytes()
    if path.suffix == ".tflite":
        return len(data) == BIG and len(set(data)) == 1
    if path.suffix == ".json":
        return len(json.loads(data)["pad"]) == BIG
    return len(data) - data.index(b"-->") - 3 == BIG


def finals(folder: Path) -> list[Path]:
    """The files readers would take: every visible non-temp file the writers make."""
    names = ("*.tflite", "*/export_checks.json", "report.html")
    return [path for name in names for path in folder.glob(name)]


@pytest.mark.parametrize("what", sorted(WRITERS))
def test_a_kill_mid_write_leaves_every_visible_file_whole(tmp_path, what):
    folder = tmp_path / "out"
    folder.mkdir()
    script = (
        "import sys\nfrom pathlib import Path\nfolder, BIG = Path(sys.argv[1]), int(sys.argv[2])\n"
    )
    script += textwrap.dedent(WRITERS[what])
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(folder), str(BIG)], cwd=ROOT, env=python_env()
    )
    try:
        deadline = time.monotonic() + 120
        while len(finals(folder)) < 1 or not list(folder.rglob("*tmp*")):
            assert child.poll() is None, f"the {what} writer died"
            assert time.monotonic() < deadline, f"never caught the {what} writer mid-write"
            time.sleep(0.001)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()

    assert finals(folder), f"the {what} writer wrote nothing whole before the kill"
    assert all(whole(path) for path in finals(folder)), f"a torn {what} is visible"
