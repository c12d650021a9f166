"""The insight views under AppTest: the flip board (Evaluate, Demo), the calibration section
and its threshold, Classify's 'not sure'."""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from engine.config import TrainConfig
from engine.data.record import record_split
from engine.data.scan import scan_dataset
from engine.data.split import make_split
from engine.insight.calibration import (
    CALIBRATION,
    THRESHOLD,
    NotSure,
    calibrate,
    load_calibration,
    load_threshold,
)
from engine.insight.flips import LOSSES, RecordedLosses
from engine.insight.temperature import Scores
from engine.runs import RunStore
from tests.app.conftest import CLASSES, AppEnv, png_bytes, save_fake_run
from tests.app.test_pages import texts
from tests.support.runs import make_run, prediction

FIXED_PROBABILITIES = (0.9, 0.3, 0.6)  # of the true class, for the three fixed photos


def save_flip_run(env: AppEnv, **extras) -> str:
    """A default-recipe run of the colour photos: red has 1 broken photo, green 3 fixed ones
    (recorded losses), blue has no ImageNet label (12 photos apart)."""
    rows, recorded = [], {}
    for path in sorted(env.data_dir.glob("*/*.png")):
        colour, number = path.parent.name, int(path.stem.split("_")[1])
        zero_shot = {"blue": "", "green": "red" if number < 3 else "green", "red": "red"}[colour]
        wrong = colour == "red" and number == 0
        rows.append(prediction(colour, "green" if wrong else None, zero_shot, path=str(path)))
        if colour == "green" and number < 3:
            recorded[str(path)] = FIXED_PROBABILITIES[number]
    run = make_run(CLASSES, rows, dataset=str(env.data_dir), config=TrainConfig())
    documents = {LOSSES: RecordedLosses(recorded).to_dict(), **extras}
    return RunStore(env.runs_dir).save(dataclasses.replace(run, extras=documents))


def example_calibration():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 60)
    logits = rng.normal(0, 1, (60, 3))
    logits[np.arange(60), labels] += 1.0
    probabilities = np.exp(4 * logits) / np.exp(4 * logits).sum(axis=1, keepdims=True)
    scores = Scores.of_classifier(probabilities, labels)
    return calibrate((scores, scores), None, "the run has no zero-shot baseline")


def button_labels(at) -> dict[str, str]:
    return {button.key: button.label for button in at.button}


def test_the_flip_board_counts_each_box_and_a_box_opens_its_photos_worst_first(app_env: AppEnv):
    save_flip_run(app_env)
    at = app_env.page("evaluate")
    assert not at.exception
    labels = button_labels(at)
    assert labels["evaluate_flip_fixed"] == "Fixed: 3"
    assert labels["evaluate_flip_broken"] == "Broken: 1"
    assert labels["evaluate_flip_both_right"] == "Both right: 20"
    assert labels["evaluate_flip_both_wrong"] == "Both wrong: 0"
    assert labels["evaluate_flip_cannot_name"] == "Zero-shot cannot name: 12"

    at.button(key="evaluate_flip_fixed").click().run()

    assert not at.exception
    shown = texts(at, "markdown")
    assert "**Fixed** (zero-shot wrong, trained model right): 3 photos" in shown
    losses = re.findall(r"loss ([0-9.]+)", shown)
    assert losses == ["1.20", "0.51", "0.11"], "highest loss first"
    at.button(key="evaluate_flip_fixed").click().run()
    assert "3 photos" not in texts(at, "markdown"), "a second click closes the box"


def test_a_run_saved_before_the_flip_board_opens_with_a_note(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("evaluate")
    at.button(key="evaluate_flip_cannot_name").click().run()
    assert not at.exception
    assert "saved before losses were recorded" in texts(at, "caption")


def test_the_demo_shows_the_counts_and_the_fixed_photos(app_env: AppEnv):
    save_flip_run(app_env)
    at = app_env.app()
    at.button(key="home_run").click().run()
    assert not at.exception
    counts = {metric.label: metric.value for metric in at.metric}
    assert (counts["Fixed"], counts["Broken"], counts["Zero-shot cannot name"]) == ("3", "1", "12")
    assert "Zero-shot wrong, trained model right" in texts(at, "subheader")
    assert texts(at, "markdown").count("true: **green**") == 3


def test_the_calibration_section_shows_both_errors_and_saves_the_threshold(app_env: AppEnv):
    calibration = example_calibration()
    run_id = save_flip_run(app_env, **{CALIBRATION: calibration.to_dict()})
    at = app_env.page("evaluate")
    assert not at.exception
    metric = next(m for m in at.metric if m.label == "Trained model: calibration error")
    assert metric.value == f"{calibration.fine_tuned.ece_after:.1%}"
    assert "the run has no zero-shot baseline" in texts(at, "info")

    at.slider(key=f"evaluate_threshold_{run_id}").set_value(80).run()
    point = calibration.fine_tuned.at(0.8)
    assert f"it answers **{point.coverage:.0%}** of the 60 test photos" in texts(at, "markdown")
    at.button(key="evaluate_save_threshold").click().run()

    assert not at.exception
    assert load_threshold(RunStore(app_env.runs_dir), run_id) == 0.8
    assert "Saved with the run: 'not sure' below 80%" in texts(at, "caption")


def test_an_older_run_can_be_calibrated_from_the_page(app_env: AppEnv):
    config = TrainConfig(validation_fraction=0.4)
    split = make_split(scan_dataset(app_env.data_dir), config)
    run = make_run(CLASSES, [prediction(name) for name in CLASSES], config=config)
    store = RunStore(app_env.runs_dir)
    run_id = store.save(dataclasses.replace(run, split=record_split(split, app_env.data_dir)))
    at = app_env.page("evaluate")
    assert "has no calibration" in texts(at, "info")

    at.button(key="evaluate_calibrate").click().run()

    assert not at.exception and not at.error
    assert load_calibration(store, run_id).fine_tuned.num_test == len(split.test)
    assert any(m.label == "Trained model: calibration error" for m in at.metric)


def test_viewer_mode_shows_the_calibration_but_changes_nothing(app_env: AppEnv):
    app_env.monkeypatch.setenv("TLAB_MODE", "viewer")
    run_id = save_flip_run(app_env)
    at = app_env.page("evaluate")
    assert not at.exception
    assert "viewer mode" in texts(at, "caption")
    assert "evaluate_calibrate" not in button_labels(at)

    RunStore(app_env.runs_dir).save_extra(run_id, CALIBRATION, example_calibration().to_dict())
    at.run()
    assert any(m.label == "Trained model: calibration error" for m in at.metric)
    assert "evaluate_save_threshold" not in button_labels(at)


def test_a_damaged_calibration_is_a_warning_not_a_crash(app_env: AppEnv):
    save_flip_run(app_env, **{CALIBRATION: {"format": 1, "fine_tuned": "broken"}})
    at = app_env.page("evaluate")
    assert not at.exception
    assert "damaged" in texts(at, "warning")
    assert "evaluate_calibrate" in button_labels(at), "it can be computed again"


def test_classify_says_not_sure_below_the_runs_threshold_and_still_shows_the_guesses(
    app_env: AppEnv,
):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    RunStore(app_env.runs_dir).save_extra(
        run_id, THRESHOLD, NotSure(0.95, None, 0.7, 0.99).to_dict()
    )
    at = app_env.page("classify")
    at.file_uploader(key="classify_upload").set_value(
        ("red.png", png_bytes((230, 20, 20)), "image/png")
    )
    at.run()

    assert not at.exception
    shown = texts(at, "markdown")
    assert "**Not sure**: the best guess, **red** (85%), is below the 95%" in shown
    assert "Best guess: **red**" in shown, "the zero-shot answer is unchanged"
    assert len(at.get("plotly_chart")) == 2, "the trained model's bars are still shown"
    assert "says 'not sure' (chosen on the Evaluate page)" in texts(at, "caption")
