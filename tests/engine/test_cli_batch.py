"""`python -m engine predict DIR_OR_ZIP [--csv OUT]`: every photo, both models, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine.batch.result import CSV_COLUMNS
from engine.insight.calibration import THRESHOLD, NotSure
from engine.runs import RunStore
from engine.zero_shot import ZeroShotClassifier
from tests.conftest import CLASS_COLORS, write_image
from tests.engine import badfiles
from tests.engine.batch.fakes import zero_shot
from tests.engine.test_cli import assert_user_error, run_cli, save_run, tiny_classifier


@pytest.fixture
def env(tmp_path, monkeypatch) -> Path:
    """A fake zero-shot model; runs and uploads under tmp_path (returned)."""
    monkeypatch.setattr(ZeroShotClassifier, "load", lambda settings: zero_shot())
    monkeypatch.setenv("TLAB_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("TLAB_UPLOADS_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("TLAB_MODE", "editor")
    return tmp_path


def uniform_classifier():
    """The CLI tests' tiny model with zero weights: 1/3 for each colour, so 'blue' wins ties."""
    classifier = tiny_classifier()
    dense = classifier.model.layers[-1]
    dense.set_weights([np.zeros_like(weights) for weights in dense.get_weights()])
    return classifier


@pytest.fixture
def photos(tmp_path) -> Path:
    root = tmp_path / "photos"
    for name, colour in CLASS_COLORS.items():
        write_image(root / "day 1" / f"{name}.png", colour, 8)
    (root / "notes.txt").write_text("hello")
    return root


def test_a_folder_is_a_table_of_both_answers_with_the_files_left_out(capsys, env, photos):
    run_id = save_run(env / "runs", uniform_classifier())

    code, out, err = run_cli(capsys, "predict", str(photos))

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["file", "zero-shot", "fine-tuned"]
    for line, colour in zip(lines[1:4], ("blue", "green", "red"), strict=True):
        _, name, zero_shot_label, _, percent, fine_tuned_label, fine_tuned_percent = line.split()
        assert (name, zero_shot_label) == (f"1/{colour}.png", colour)
        assert percent.endswith("%") and (fine_tuned_label, fine_tuned_percent) == ("blue", "33.3%")
    assert lines[4:6] == [
        "Left out (1):",
        "  notes.txt: not a supported image type "
        "(supported: .jpg, .jpeg, .png, .bmp, .gif, .webp, .tif, .tiff)",
    ]
    assert lines[6] == f"3 photos of {photos} classified with run {run_id}"


def test_csv_writes_every_photo_and_prints_a_summary(capsys, env, photos):
    store = RunStore(env / "runs")
    run_id = save_run(env / "runs", uniform_classifier())
    store.save_extra(run_id, THRESHOLD, NotSure(0.5, None, coverage=0.5, accuracy=1.0).to_dict())
    out_file = env / "answers.csv"

    code, out, _ = run_cli(capsys, "predict", str(photos), "--csv", str(out_file))

    assert code == 0
    assert out.splitlines()[-1] == (
        f"3 photos of {photos} classified with run {run_id}; 3 not sure (below 50%); "
        f"CSV written to {out_file}"
    )
    rows = list(csv.DictReader(io.StringIO(out_file.read_text("utf-8"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [row["file"] for row in rows] == [
        "day 1/blue.png",
        "day 1/green.png",
        "day 1/red.png",
        "notes.txt",
    ]
    assert [row["zero_shot"] for row in rows[:3]] == ["blue thing", "green thing", "red thing"]
    assert [row["fine_tuned_probability"] for row in rows[:3]] == ["0.3333"] * 3
    assert [row["not_sure"] for row in rows] == ["yes", "yes", "yes", ""]
    assert rows[3]["problem"].startswith("not a supported image type")
    assert not [p for p in env.iterdir() if p.name.startswith(".tmp-")]


def test_json_is_one_object_naming_the_csv(capsys, env, photos):
    out_file = env / "answers.csv"
    code, out, err = run_cli(capsys, "predict", str(photos), "--csv", str(out_file), "--json")
    assert code == 0
    document = json.loads(out)
    assert document["csv"] == str(out_file) and document["run_id"] is None
    assert [photo["zero_shot"]["label"] for photo in document["photos"]] == [
        "blue thing",
        "green thing",
        "red thing",
    ]
    assert document["photos"][0]["fine_tuned"] is None
    assert document["skipped"][0]["file"] == "notes.txt"


def test_a_zip_is_extracted_into_the_uploads_and_classified(capsys, env):
    archive = env / "trip.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("a.png", badfiles.image_bytes(badfiles.RED))
        bundle.writestr("b.png", badfiles.image_bytes(badfiles.BLUE))
    code, out, _ = run_cli(capsys, "predict", str(archive), "--json")
    assert code == 0
    assert [photo["file"] for photo in json.loads(out)["photos"]] == ["a.png", "b.png"]
    assert len(list((env / "uploads").iterdir())) == 1


def test_the_csv_replaces_a_link_never_writing_through_it(capsys, env, photos):
    target = env / "precious.txt"
    target.write_text("keep me")
    link = env / "answers.csv"
    os.symlink(target, link)
    assert run_cli(capsys, "predict", str(photos), "--csv", str(link))[0] == 0
    assert target.read_text() == "keep me"
    assert not link.is_symlink() and link.read_text().startswith("file,")


def test_no_readable_photo_is_exit_1_with_every_reason(capsys, env, tmp_path):
    folder = tmp_path / "broken"
    badfiles.refused_photos(folder)
    code, out, err = run_cli(capsys, "predict", str(folder))
    assert code == 1
    assert "Left out (5):" in out
    assert err.splitlines()[-1] == f"error: none of the photos in {folder} could be read."


def test_a_bad_zip_is_one_line(capsys, env):
    archive = badfiles.traversal_zip(env / "evil.zip")
    assert_user_error(run_cli(capsys, "predict", str(archive)), "climbs out of the folder")
    assert_user_error(
        run_cli(capsys, "predict", str(env / "missing.zip")), "does not exist or is not a file"
    )


def test_a_folder_without_photos_is_one_line(capsys, env, tmp_path):
    (tmp_path / "empty").mkdir()
    assert_user_error(run_cli(capsys, "predict", str(tmp_path / "empty")), "holds no photos")


def test_csv_needs_one_folder_or_zip(capsys, env, tmp_path):
    one = write_image(tmp_path / "a.png", (0, 0, 0), 8)
    result = run_cli(capsys, "predict", str(one), str(one), "--csv", str(tmp_path / "o.csv"))
    assert_user_error(result, "--csv writes the answers for one folder or .zip")


def test_a_csv_that_cannot_be_written_is_one_line(capsys, env, photos, tmp_path):
    result = run_cli(capsys, "predict", str(photos), "--csv", str(tmp_path / "nowhere" / "o.csv"))
    assert_user_error(result, "No such file or directory")


def test_viewer_mode_refuses_to_extract_a_zip(capsys, env, monkeypatch):
    monkeypatch.setenv("TLAB_MODE", "viewer")
    archive = badfiles.dataset_zip(env / "pets.zip")
    assert_user_error(run_cli(capsys, "predict", str(archive)), "viewer mode")
    assert not (env / "uploads").exists()
