"""Viewer mode (TLAB_MODE=viewer): every page opens, nothing that changes things is offered."""

from __future__ import annotations

import pytest

from tests.app.conftest import AppEnv, save_fake_run
from tests.app.test_pages import PAGES, texts


@pytest.fixture
def viewer(app_env: AppEnv) -> AppEnv:
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    app_env.monkeypatch.setenv("TLAB_MODE", "viewer")
    return app_env


@pytest.mark.parametrize("name", PAGES)
def test_every_page_opens_in_viewer_mode_and_says_so(viewer: AppEnv, name: str):
    at = viewer.page(name)
    assert not at.exception
    assert any("Viewer mode" in caption.value for caption in at.sidebar.caption)


def test_viewers_cannot_start_upload_export_or_delete(viewer: AppEnv):
    labels = {name: [button.label for button in viewer.page(name).button] for name in PAGES}
    assert "Start training" not in labels["train"]
    assert "Train a fresh one with the defaults" not in labels["home"]
    assert not {"Prepare download", "Delete this run", "Save notes"} & set(labels["runs"])
    data = viewer.page("data")
    assert "Upload a .zip" not in data.radio(key="data_source").options
    assert "Viewer mode" in texts(viewer.page("train"), "info")
