"""AppTest: the Zero-shot page's mapping says why each class maps, offers labels for the classes
no rule maps, keeps edits editor-only, and the Runs table shows zero-shot on nameable classes."""

from __future__ import annotations

import pytest

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
    suggestion = button(at, "zero_shot_map_0")
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
