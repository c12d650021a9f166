"""The pages under hostile input: injected names, damaged runs, mismatched models."""

from __future__ import annotations

import json

from engine.runs import RunStore
from tests.app.conftest import AppEnv, save_fake_run
from tests.app.test_pages import texts
from tests.conftest import write_image

HOSTILE = "[click me](http://evil.example) ![x](http://evil.example/x.png) :red[boo]"


def test_user_supplied_names_are_shown_as_plain_text(app_env: AppEnv):
    # Protection: ui.text.md escapes class names, paths and messages before markdown;
    # before, a folder name became a live link (or an image fetched from anywhere).
    for i in range(6):
        write_image(app_env.data_dir / HOSTILE / f"{i}.png", (90, 90, 90), seed=i)
    at = app_env.page("data")
    assert not at.exception
    shown = "\n".join(m.value for m in at.markdown)
    assert "\\[click me\\]\\(http\\:" in shown
    assert "](http://evil.example)" not in shown


def test_a_damaged_run_is_listed_with_its_reason_and_the_rest_keep_working(app_env: AppEnv):
    good = save_fake_run(app_env.runs_dir, app_env.data_dir)
    bad = save_fake_run(app_env.runs_dir, app_env.data_dir)
    run_file = app_env.runs_dir / bad / "run.json"
    run_file.write_text(json.dumps({**json.loads(run_file.read_text()), "test_accuracy": "0.9"}))

    runs = app_env.page("runs")
    assert not runs.exception
    assert f"Run {bad} is damaged" in texts(runs, "warning")
    assert list(runs.dataframe[0].value["id"]) == [good]
    evaluate = app_env.page("evaluate")
    assert not evaluate.exception and not evaluate.error
    classify = app_env.page("classify")
    assert not classify.exception and classify.file_uploader

    next(b for b in runs.button if b.key == f"runs_delete_damaged_{bad}").click().run()
    assert RunStore(app_env.runs_dir).damaged() == []


def test_damaged_metrics_show_the_engine_message_on_evaluate(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    (app_env.runs_dir / run_id / "metrics.json").write_text("{}")
    at = app_env.page("evaluate")
    assert not at.exception
    assert "is damaged" in texts(at, "error")
