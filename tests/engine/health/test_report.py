"""Balance, odd photos, and the health report's checked JSON form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.data.scan import scan_dataset
from engine.data.split import split_dataset
from engine.health.balance import Balance, balance_of, class_weights
from engine.health.check import build_report
from engine.health.fingerprints import fingerprints
from engine.health.report import HealthReport
from engine.schema import RecordError
from tests.engine.health.conftest import write_pattern


def test_a_class_three_times_the_smallest_is_a_warning():
    assert Balance({"a": 30, "b": 11}).warning() is None
    warning = Balance({"a": 30, "b": 10, "c": 20}).warning()
    assert "'a' has 30 photos and 'b' only 10 (3.0x)" in warning and "balanced" in warning
    assert balance_of([0, 0, 1], ("x", "y", "z")).counts == {"x": 2, "y": 1, "z": 0}


def test_balanced_class_weights_even_out_the_classes():
    labels = [0] * 30 + [1] * 10
    assert class_weights(labels, 2, "none") is None
    weights = class_weights(labels, 2, "balanced")
    assert weights == pytest.approx({0: 40 / 60, 1: 40 / 20})
    assert weights[0] * 30 == pytest.approx(weights[1] * 10)


def _save(path: Path, pixels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)


def test_odd_photos_are_listed_with_their_reason(tmp_path: Path):
    root = tmp_path / "odd"
    for i in range(6):
        write_pattern(root / "fine" / f"{i}.jpg", seed=i)
    rng = np.random.default_rng(0)
    _save(root / "odd" / "tiny.png", rng.uniform(0, 255, (40, 50, 3)))
    _save(root / "odd" / "blank.png", np.full((100, 100, 3), 200))
    gray = np.repeat(rng.uniform(0, 255, (100, 120, 1)), 3, axis=2)
    _save(root / "odd" / "gray.png", gray)
    _save(root / "odd" / "strip.png", rng.uniform(0, 255, (70, 400, 3)))
    dataset = scan_dataset(root)

    report = build_report(dataset, split_dataset(dataset), fingerprints(dataset.paths), "seeded")

    reasons = {oddity.photo.path: oddity.reasons for oddity in report.oddities}
    assert set(reasons) == {"odd/tiny.png", "odd/blank.png", "odd/gray.png", "odd/strip.png"}
    assert reasons["odd/tiny.png"] == ("tiny: 50x40 px (under 64 px on a side)",)
    assert reasons["odd/blank.png"] == ("nearly uniform: one colour, almost no detail",)
    assert reasons["odd/gray.png"] == ("grayscale, while most photos are in colour",)
    assert reasons["odd/strip.png"] == (
        "extreme shape: 5.7:1 (squashed to a square for the model)",
    )


def test_the_report_reads_back_what_it_wrote(pattern_folder: Path):
    dataset = scan_dataset(pattern_folder)
    report = build_report(dataset, split_dataset(dataset), fingerprints(dataset.paths), "seeded")
    assert HealthReport.from_dict(report.to_dict()) == report


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("groups"), "lacks 'groups'"),
        (lambda d: d.update(format=99), "newer Transfer Lab"),
        (lambda d: d["balance"].update(counts={"a": -1, "b": 2}), "'a' is the number -1"),
        (lambda d: d.update(groups=[{"kind": "same", "photos": []}]), "kind 'same'"),
    ],
)
def test_a_damaged_report_names_what_is_wrong(pattern_folder: Path, change, message):
    dataset = scan_dataset(pattern_folder)
    data = build_report(
        dataset, split_dataset(dataset), fingerprints(dataset.paths), "seeded"
    ).to_dict()
    change(data)
    with pytest.raises(RecordError, match=message):
        HealthReport.from_dict(data)
