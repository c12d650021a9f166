"""Smoke test: the cheapest benchmarks run end to end and the report renders (no timing checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import main
from tests.conftest import offline_env


@pytest.mark.integration
@pytest.mark.slow
def test_quick_benchmarks_write_a_report(
    shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in offline_env(tmp_path / "runs").items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "results" / "latest.md"

    assert main(["--only", "scaling,decode,large_dataset", "--quick", "--out", str(out)]) == 0

    report = out.read_text(encoding="utf-8")
    assert "| benchmark | measured | baseline | ratio | target | met? |" in report
    assert "Feature extraction, batch 8, 2 vs 1 threads" in report
    assert "| batch | 1 thread | 2 threads | 2 vs 1 |" in report
    assert "Decode+resize 2 12-MP JPEGs" in report
    assert "Default training, 120 photos in 10 classes, time per photo" in report
    assert "failed" not in report
    assert "CPUs (nproc)" in report and "TensorFlow" in report
    assert not (tmp_path / "results" / "latest.md.tmp").exists()
