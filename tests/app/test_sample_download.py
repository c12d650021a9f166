"""Download the sample photos from the Demo and Data pages when TLAB_DATA_DIR is unset: from a
local HTTP server, offline (one line naming the setting), and never in viewer mode."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.app.conftest import AppEnv
from tests.app.test_pages import button, texts
from tests.support.http_files import sample_tgz, serve_files

ARCHIVE = "/example_images/flower_photos.tgz"


@pytest.fixture
def no_sample(app_env: AppEnv) -> AppEnv:
    """The app on a fresh machine: no TLAB_DATA_DIR and nothing downloaded yet."""
    app_env.monkeypatch.delenv("TLAB_DATA_DIR")
    return app_env


def test_demo_offline_says_in_one_line_there_is_no_connection(no_sample: AppEnv):
    at = no_sample.app()
    assert not at.exception
    assert "TLAB_DATA_DIR" in texts(at, "info")
    offline = texts(at, "warning")
    assert offline.startswith("No connection to 127.0.0.1") and "TLAB_DATA_DIR" in offline
    assert "\n" not in offline
    button(at, "home_download").click().run()
    assert not at.exception
    assert texts(at, "error").startswith("No connection to 127.0.0.1")
    assert not any(Path(os.environ["KERAS_HOME"]).rglob("*.jpg"))


def test_demo_downloads_the_sample_shows_its_size_and_then_offers_the_demo(no_sample):
    content = sample_tgz(per_class=6)
    with serve_files({ARCHIVE: content}) as base:
        no_sample.monkeypatch.setenv("TLAB_SAMPLE_URL", base + ARCHIVE)
        at = no_sample.app()
        download = button(at, "home_download")
        assert download.label == f"Download the sample photos ({len(content) / 1024:.0f} kB)"
        download.click().run()
    assert not at.exception and not at.error
    keras_home = Path(os.environ["KERAS_HOME"])
    folder = Path(at.session_state["dataset_dir"])
    assert folder.is_relative_to(keras_home / "datasets") and folder.name == "flower_photos"
    assert "Sample photos:" in texts(at, "caption")
    assert [b for b in at.button if b.key == "home_run"], "the Demo is ready to run"
    assert not [b for b in at.button if b.key == "home_download"]
    again = no_sample.app()  # a new session, the server gone: the copy is remembered
    assert "Sample photos:" in texts(again, "caption")
    assert f"**Sample data:** {folder} (downloaded)" in texts(again, "caption")


def test_data_page_downloads_the_sample_and_uses_it(no_sample: AppEnv):
    with serve_files({ARCHIVE: sample_tgz(per_class=6)}) as base:
        no_sample.monkeypatch.setenv("TLAB_SAMPLE_URL", base + ARCHIVE)
        at = no_sample.page("data")
        assert "No sample photos yet" in texts(at, "info")
        button(at, "data_download").click().run()
    assert not at.exception and not at.error
    assert "12 photos in 2 classes" in texts(at, "success")


def test_viewer_mode_offers_no_download(no_sample: AppEnv):
    no_sample.monkeypatch.setenv("TLAB_MODE", "viewer")
    for at in (no_sample.app(), no_sample.page("data")):
        assert not at.exception
        assert not [b for b in at.button if b.key.endswith("_download")]
        assert "viewer mode" in texts(at, "info")
