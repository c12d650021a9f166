"""AppTest: the Zero-shot page's mapping says why each class maps, offers labels for the classes
no rule maps, keeps edits editor-only, and the Runs table shows zero-shot on nameable classes."""

from __future__ import annotations

import dataclasses

import pytest

from engine.mapping_record import DOCUMENT, mapping_record
from engine.runs import RunStore
from tests.app.conftest import AppEnv, save_fake_run
from tests.app.test_pages import button, texts

# 'blue' has no label of its own; 'blue jay' shares a word with it.
LABELS = ("background", "green", "red", "blue jay")


@pytest.fixture
def env(app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    monkeypatch.setattr(app_env.zero_shot, "class_names", LABELS, raising=False)
    return app_env


def test_each_class_says_why_and_zero_shot_is_shown_on_nameable_classes(env: AppEnv):
    at = env.page("zero_shot")
    assert not at.exception
    table = at.data_editor[0].value.set_index("class")
    assert table.loc["red", "ImageNet labels"] == ["2: red"]
    assert table.loc["red", "why"] == "name: 'red' is a name of the label red."
    assert table.loc["blue", "why"].startswith("none: No ImageNet label matches")
    named = next(m for m in at.metric if m.label == "On the 2 classes ImageNet can name")
    overall = next(m for m in at.metric if m.label.startswith("Zero-shot accuracy"))
    assert float(named.value.rstrip("%")) > float(overall.value.rstrip("%"))


def test_a_suggested_label_is_accepted_in_one_click(env: AppEnv):
    at = env.page("zero_shot")
    suggestion = button(at, "zero_shot_map_0_3")
    assert suggestion.label == "Use blue jay"
    suggestion.click().run()
    assert not at.exception
    assert at.session_state["zero_shot_mapping"][str(env.data_dir)]["blue"] == [3]
    table = at.data_editor[0].value.set_index("class")
    assert table.loc["blue", "ImageNet labels"] == ["3: blue jay"]
    assert table.loc["blue", "why"].startswith("edited:")
    assert not any(b.key.startswith("zero_shot_map_") for b in at.button)


def test_viewer_mode_shows_the_mapping_read_only(env: AppEnv, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TLAB_MODE", "viewer")
    at = env.page("zero_shot")
    assert not at.exception
    assert "viewer mode" in texts(at, "caption")
    assert at.data_editor[0].proto.disabled
    assert not any(b.key.startswith("zero_shot_map_") for b in at.button)
    assert not at.session_state["zero_shot_mapping"]  # nothing saved for trainings


def test_the_runs_table_shows_zero_shot_on_the_classes_imagenet_can_name(env: AppEnv):
    save_fake_run(env.runs_dir, env.data_dir)
    at = env.page("runs")
    assert not at.exception
    row = at.dataframe[0].value.iloc[0]
    assert row["zero-shot, nameable classes"] == "100.0%"  # red photos, the only named class


def evaluate_mapping_table(env: AppEnv):
    """(the Evaluate page, the table of its mapping expander)."""
    at = env.page("evaluate")
    assert not at.exception
    return at, next(df.value for df in at.dataframe if "class" in df.value.columns)


def test_evaluate_shows_the_saved_mapping_with_its_reasons(env: AppEnv):
    run_id = save_fake_run(env.runs_dir, env.data_dir)
    result = RunStore(env.runs_dir).load(run_id).zero_shot
    result = dataclasses.replace(result, mapping={"blue": [], "green": [1], "red": [2]})
    record = mapping_record(result, LABELS, edited=False)
    RunStore(env.runs_dir).save_extra(run_id, DOCUMENT, record.to_dict())
    at, table = evaluate_mapping_table(env)
    red = table.set_index("class").loc["red"]
    assert (red["ImageNet labels"], red["rule"]) == ("red", "name")
    assert "'red' is a name of the label red" in red["why"]


def test_evaluate_shows_label_numbers_for_runs_saved_before_reasons(env: AppEnv):
    save_fake_run(env.runs_dir, env.data_dir)
    at, table = evaluate_mapping_table(env)
    assert "saved before runs recorded why" in texts(at, "caption")
    assert table.set_index("class").loc["blue", "ImageNet label numbers"] == "none"


def test_evaluate_says_what_is_wrong_with_a_damaged_record(env: AppEnv):
    run_id = save_fake_run(env.runs_dir, env.data_dir)
    RunStore(env.runs_dir).save_extra(run_id, DOCUMENT, {"format": 1, "source": "magic"})
    at, table = evaluate_mapping_table(env)
    assert "zero_shot_mapping.json is damaged" in texts(at, "warning")
    assert "source 'magic'" in texts(at, "warning")
    assert list(table["class"]) == ["blue", "green", "red"]  # the labels still show
