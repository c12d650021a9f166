"""`python -m engine health` and `python -m engine labels`: JSON, text, user errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.health import features
from tests.engine.health.conftest import pattern_features
from tests.engine.test_cli import assert_user_error, run_cli


@pytest.fixture
def fake_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """photo_features without MobileNetV2: the photos' own gray patterns."""

    def photo_features(paths, sha1s, settings, on_photos=None):
        if on_photos:
            on_photos(1, 1)
        return pattern_features(paths)

    monkeypatch.setattr(features, "photo_features", photo_features)


def test_health_json_reports_copies_across_the_split(capsys, pattern_folder: Path, fake_features):
    shutil.copyfile(pattern_folder / "ants" / "ants_00.jpg", pattern_folder / "ants" / "twin.jpg")
    rows = ["path,label,split", "ants/ants_00.jpg,ants,train", "ants/twin.jpg,ants,test"]
    rows += [f"{p.parent.name}/{p.name},{p.parent.name},train" for p in pattern_folder.glob("b*/*")]
    (pattern_folder / "splits.csv").write_text("\n".join(rows) + "\n")

    code, out, err = run_cli(capsys, "health", "--data", str(pattern_folder), "--json")

    assert code == 0 and "features: 1/1 photos" in err
    report = json.loads(out)
    assert (report["leaking_groups"], report["test_photos_leaked"]) == (1, 1)
    assert report["split_source"] == "splits.csv" and report["features_checked"] is True
    assert "1 test photo has a copy" in report["warnings"][0]


def test_health_text_without_features(capsys, pattern_folder: Path):
    code, out, _ = run_cli(capsys, "health", "--data", str(pattern_folder), "--no-features")
    assert code == 0
    assert "30 photos in" in out and "(hashes only)" in out
    assert "0 groups of copies, 0 across the split" in out


def test_health_of_a_missing_folder_is_one_line(capsys, tmp_path: Path):
    assert_user_error(run_cli(capsys, "health", "--data", str(tmp_path / "nope")), "nope")


def test_labels_lists_suspects_and_fixes_one(
    capsys, pattern_folder: Path, fake_features, tmp_path: Path, monkeypatch
):
    uploads = tmp_path / "uploads"
    folder = uploads / "patterns-1"
    shutil.copytree(pattern_folder, folder)
    monkeypatch.setenv("TLAB_UPLOADS_DIR", str(uploads))
    monkeypatch.setenv("TLAB_RUNS_DIR", str(tmp_path / "runs"))

    code, out, _ = run_cli(capsys, "labels", "--data", str(folder), "--json")
    assert code == 0
    review = json.loads(out)
    assert review["num_photos"] == 24 and review["folds"] == 5
    assert all(np.isfinite(s["score"]) for s in review["suspects"])

    code, out, _ = run_cli(
        capsys, "labels", "--data", str(folder), "--move", "ants/ants_00.jpg", "--to", "bees"
    )
    assert code == 0 and "move: ants/ants_00.jpg -> bees/ants_00.jpg" in out
    assert run_cli(capsys, "labels", "--data", str(folder), "--undo")[0] == 0
    assert (folder / "ants" / "ants_00.jpg").is_file()


def test_labels_refuses_the_sample_and_bad_arguments(capsys, pattern_folder: Path, monkeypatch):
    monkeypatch.setenv("TLAB_DATA_DIR", str(pattern_folder))
    data = ["labels", "--data", str(pattern_folder)]
    assert_user_error(run_cli(capsys, *data, "--exclude", "ants/ants_00.jpg"), "sample")
    assert_user_error(run_cli(capsys, *data, "--move", "ants/ants_00.jpg"), "--to CLASS")
    assert_user_error(run_cli(capsys, *data, "--folds", "1"), "--folds 1")
