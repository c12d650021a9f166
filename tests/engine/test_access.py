"""Viewer mode: every change is refused in the engine with a message that says why."""

import pytest

from engine.access import can_change, require_editor
from engine.errors import ReadOnlyError, SettingsError
from engine.settings import Settings


def test_editor_mode_is_the_default_and_may_change_things():
    settings = Settings.from_env({})
    assert settings.mode == "editor" and can_change(settings)
    require_editor(settings, "delete a run")


def test_viewer_mode_refuses_changes_naming_the_action_and_the_setting():
    settings = Settings.from_env({"TLAB_MODE": "Viewer"})
    assert not can_change(settings)
    with pytest.raises(ReadOnlyError, match=r"viewer mode \(TLAB_MODE=viewer\).*delete a run"):
        require_editor(settings, "delete a run")


def test_an_unknown_mode_is_a_settings_error():
    with pytest.raises(SettingsError, match="TLAB_MODE='admin' is not one of editor, viewer"):
        Settings.from_env({"TLAB_MODE": "admin"})
