"""CLI of the insight views: flip counts in train and evaluate, 'not sure' in predict, calibrate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from engine.cli import calibrate as cli_calibrate
from engine.cli import evaluate as cli_evaluate
from engine.cli import predict as cli_predict
from engine.cli import train as cli_train
from engine.insight.calibration import THRESHOLD, NotSure, load_calibration
from engine.insight.temperature import log_of, softmax_of
from engine.runs import RunStore
from tests.engine.test_cli import (
    FakeExperiment,
    assert_user_error,
    run_cli,
    save_run,
    save_run_with_split,
    tiny_classifier,
)

# save_run's predictions: per colour 4 test photos, the first one wrong; zero-shot is right on
# blue and red and cannot name green.
FLIPS = {"fixed": 0, "broken": 2, "both_right": 6, "both_wrong": 0, "cannot_name": 4}


class ColourZeroShot:
    """An 'ImageNet' of four labels: index 1 is blue, 3 red (save_run's mapping)."""

    input_size = 8
    class_names = ("background", "blue-ish", "green-ish", "red-ish")

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        means = np.asarray(images, np.float32).mean(axis=(1, 2)) + 1.0
        red, green, blue = (means / means.sum(axis=1, keepdims=True)).T
        return np.stack([np.full_like(red, 0.01), blue, green, red], axis=1)

    def top_k(self, images: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        return [[("daisy", 0.9)] for _ in images]


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


@pytest.fixture
def fake_experiment(monkeypatch) -> FakeExperiment:
    fake = FakeExperiment()
    monkeypatch.setattr(cli_train, "run_experiment", fake)
    return fake


@pytest.fixture
def zero_shot(monkeypatch):
    for module in (cli_evaluate, cli_predict, cli_calibrate):
        monkeypatch.setattr(module.ZeroShotClassifier, "load", lambda settings: ColourZeroShot())


def test_train_json_reports_the_flip_counts(capsys, runs_dir, fake_experiment):
    code, out, _ = run_cli(capsys, "train", "--data", "pets", "--runs-dir", str(runs_dir), "--json")

    result = json.loads(out)
    assert code == 0
    assert result["flips"] == FLIPS
    assert result["calibration"] is None, "the fake experiment saved none"
    code, out, _ = run_cli(capsys, "train", "--data", "pets", "--runs-dir", str(runs_dir))
    assert "broken 2, both right 6" in out and "4 more are of classes zero-shot cannot name" in out


def test_evaluate_json_runs_zero_shot_on_the_same_photos_for_the_flip_counts(
    capsys, image_folder, runs_dir, zero_shot
):
    run_id, split = save_run_with_split(runs_dir, image_folder)

    code, out, _ = run_cli(
        capsys, "evaluate", "--run", run_id, "--runs-dir", str(runs_dir), "--json"
    )

    result = json.loads(out)
    flips = result["flips"]
    assert code == 0 and sum(flips.values()) == result["num_images"] == len(split.test)
    green = split.class_names.index("green")
    assert flips["cannot_name"] == split.test.labels.count(green)
    assert 0 <= result["zero_shot_accuracy"] <= 1 and result["zero_shot_error"] is None


def test_evaluate_without_the_zero_shot_model_still_scores_the_run(
    capsys, image_folder, runs_dir, monkeypatch
):
    def unavailable(settings):
        raise cli_evaluate.ModelUnavailableError("No zero-shot model; set TLAB_ZERO_SHOT_MODEL.")

    monkeypatch.setattr(cli_evaluate.ZeroShotClassifier, "load", unavailable)
    run_id, _ = save_run_with_split(runs_dir, image_folder)

    code, out, err = run_cli(
        capsys, "evaluate", "--run", run_id, "--runs-dir", str(runs_dir), "--json"
    )

    result = json.loads(out)
    assert code == 0 and result["flips"] is None
    assert "TLAB_ZERO_SHOT_MODEL" in result["zero_shot_error"] and "warning" in err


def test_predict_says_not_sure_below_the_runs_threshold_and_shows_the_guesses(
    capsys, tmp_path, runs_dir, zero_shot
):
    run_id = save_run(runs_dir, tiny_classifier())
    image = tmp_path / "dim.png"  # dark pixels keep the untrained model's answers unsure
    Image.new("RGB", (8, 8), (1, 1, 1)).save(image)
    argv = ["predict", str(image), "--run", run_id, "--runs-dir", str(runs_dir), "--top-k", "3"]
    before = json.loads(run_cli(capsys, *argv, "--json")[1])
    assert before["threshold"] is None and before["images"][0]["not_sure"] is False
    raw = [pair["probability"] for pair in before["images"][0]["fine_tuned"]]

    store = RunStore(runs_dir)
    store.save_extra(run_id, THRESHOLD, NotSure(0.9, 2.0, 0.5, 0.9).to_dict())
    code, out, _ = run_cli(capsys, *argv, "--json")

    result = json.loads(out)
    [entry] = result["images"]
    assert code == 0 and entry["not_sure"] is True
    assert result["threshold"] == {"threshold": 0.9, "calibrated": True}
    calibrated = [pair["probability"] for pair in entry["fine_tuned"]]
    assert calibrated == pytest.approx(softmax_of(log_of(np.array(raw)), 2.0), rel=1e-4)
    assert len(entry["fine_tuned"]) == 3, "the best guesses are still shown"

    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and "fine-tuned  not sure (below 90%); best guesses " in out

    store.save_extra(run_id, THRESHOLD, NotSure(0.0, None, 1.0, 0.75).to_dict())
    assert json.loads(run_cli(capsys, *argv, "--json")[1])["images"][0]["not_sure"] is False


def test_calibrate_saves_the_calibration_of_an_older_run(capsys, image_folder, runs_dir, zero_shot):
    run_id, split = save_run_with_split(runs_dir, image_folder)
    argv = ["calibrate", "--run", run_id, "--runs-dir", str(runs_dir)]

    code, out, _ = run_cli(capsys, *argv, "--json")

    result = json.loads(out)
    saved = load_calibration(RunStore(runs_dir), run_id)
    assert code == 0 and result["run_id"] == run_id
    assert {key: value for key, value in result.items() if key != "run_id"} == saved.to_dict()
    assert saved.fine_tuned.num_test == len(split.test)
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and "trained model: calibration error" in out


def test_calibrate_is_refused_in_viewer_mode_and_for_runs_without_a_split(
    capsys, image_folder, runs_dir, zero_shot, monkeypatch
):
    run_id, _ = save_run_with_split(runs_dir, image_folder)
    old = save_run(runs_dir, tiny_classifier())
    assert_user_error(
        run_cli(capsys, "calibrate", "--run", old, "--runs-dir", str(runs_dir)), "train it again"
    )
    monkeypatch.setenv("TLAB_MODE", "viewer")
    assert_user_error(
        run_cli(capsys, "calibrate", "--run", run_id, "--runs-dir", str(runs_dir)), "viewer mode"
    )
    assert load_calibration(RunStore(runs_dir), run_id) is None
