"""Presenter mode under AppTest: every step with a finished run, Back and Next, training while
the talk goes on when there is no run, and viewer mode."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine.config import TrainConfig
from engine.jobs import JobSnapshot
from tests.app.conftest import AppEnv, save_fake_run
from tests.app.test_insight_views import fake_pair
from tests.app.test_pages import button, texts
from ui import models

TITLES = [
    "Your photos",
    "What an ImageNet model says, untrained",
    "Training on your photos",
    "Off-the-shelf vs trained, on the same test photos",
    "Photos training fixed",
    "Where the models look",
    "Photos it still gets wrong",
]


def _present(app_env: AppEnv) -> AppTest:
    at = app_env.page("present")
    assert not at.exception
    return at


def _next(at: AppTest) -> AppTest:
    button(at, "present_next").click().run()
    assert not at.exception and not at.error
    return at


def test_every_step_tells_the_story_of_the_finished_run(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    heatmaps: list = []
    app_env.monkeypatch.setattr(models, "heatmap_pair", fake_pair(heatmaps))
    at = _present(app_env)
    seen = [at.title[0].value]
    assert (
        "36 photos" in texts(at, "markdown") and "Step 1 of 7" in at.get("progress")[0].proto.text
    )
    assert button(at, "present_back").disabled
    assert not [b for b in at.button if b.key == "present_start_early"], "a run is ready"

    _next(at)  # what ImageNet says: its guesses, and the class it has no word for
    seen.append(at.title[0].value)
    assert "no word at all" in texts(at, "markdown") and "blue" in texts(at, "markdown")
    assert "green" in texts(at, "markdown")  # a guess under the green photo

    _next(at)  # training: the run's curves, and a fresh one can start
    seen.append(at.title[0].value)
    assert len(at.get("plotly_chart")) == 2
    assert [b for b in at.button if b.key == "present_start"]

    _next(at)  # the headline, honest about the classes ImageNet cannot name
    seen.append(at.title[0].value)
    zero_shot = next(m for m in at.metric if "zero-shot" in m.label)
    assert (zero_shot.value, zero_shot.delta) == ("33.3%", "red only: 100.0%")
    assert "ImageNet has a label for only 1 of 3 classes" in texts(at, "caption")

    _next(at)  # photos fixed: all but red (zero-shot right) and the one blue error
    seen.append(at.title[0].value)
    assert "the trained model gets 23 of those right" in texts(at, "markdown")
    assert "0 of classes ImageNet names" in texts(at, "markdown")
    assert "23 of classes it has no word for" in texts(at, "markdown")
    assert len(at.get("image")) == 5

    _next(at)  # where both models look in the first photo training fixed
    seen.append(at.title[0].value)
    first_fixed = str(sorted(app_env.data_dir.glob("blue/*.png"))[1])  # the first is an error
    assert heatmaps == [(run_id, first_fixed)]
    assert "Trained on your classes: red (93%)" in texts(at, "markdown")
    assert "Warmer colours" in texts(at, "caption")

    _next(at)  # still wrong: the first blue photo, called green
    seen.append(at.title[0].value)
    assert "1 of the 36 test photos" in texts(at, "markdown")
    assert button(at, "present_next").disabled
    assert seen == TITLES

    button(at, "present_back").click().run()
    assert at.title[0].value == TITLES[-2]
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/present.py").run()
    assert at.title[0].value == TITLES[-2], "the step is kept across pages"


def test_without_a_run_training_starts_with_the_defaults_while_the_talk_goes_on(app_env):
    at = _present(app_env)
    button(at, "present_start_early").click().run()
    assert not at.exception
    [call] = app_env.jobs.started
    assert (Path(call["data_dir"]), call["config"]) == (app_env.data_dir, TrainConfig())

    app_env.jobs.current = JobSnapshot(
        state="running", job_id="job1", stage="head", stage_index=3, num_stages=4, epoch=2,
        num_epochs=30, batch=1, num_batches=4,
    )  # fmt: skip
    for _ in range(2):
        _next(at)
    assert "Training on your photos" == at.title[0].value
    assert "Epoch 2/30" in "\n".join(p.proto.text for p in at.get("progress"))
    assert not [b for b in at.button if b.key == "present_start"], "one job at a time"
    _next(at)
    assert "appears when the training finishes" in texts(at, "info")

    app_env.jobs.current = JobSnapshot(state="idle")
    at.run()
    assert "No finished run yet" in texts(at, "info")


def test_a_start_cut_short_by_the_next_click_still_starts_once(app_env: AppEnv):
    # Protection: the click's run loads TensorFlow for seconds; a Next pressed meanwhile cut
    # it short and the training never started.
    at = _present(app_env)
    at.session_state["present_training"] = True  # what the click left, its run cut short
    _next(at)
    _next(at)
    assert len(app_env.jobs.started) == 1, "started by the next run, and only once"


def test_a_failed_training_says_why_on_the_training_step(app_env: AppEnv):
    app_env.jobs.current = JobSnapshot(state="failed", message="Training failed: disk full")
    at = _present(app_env)
    _next(at)
    button(at, "present_next").click().run()
    assert "disk full" in texts(at, "error")
    assert [b for b in at.button if b.key == "present_start"], "it can be started again"


def test_viewer_mode_presents_but_never_trains(app_env: AppEnv):
    app_env.monkeypatch.setenv("TLAB_MODE", "viewer")
    at = _present(app_env)
    assert "viewer mode" in texts(at, "info")
    _next(at)
    _next(at)
    assert not [b for b in at.button if b.key.startswith("present_start")]
    assert app_env.jobs.started == []

    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = _present(app_env)
    for _ in range(3):
        _next(at)
    assert [m.value for m in at.metric if "zero-shot" in m.label] == ["33.3%"]
    assert not [b for b in at.button if b.key.startswith("present_start")]
