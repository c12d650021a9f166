"""Sharing a run (issue 12): the report button on Evaluate and Runs, and exports checked on the
Runs page (the table of checks, its warnings, viewer mode)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from engine.export_record import DOCUMENT, ExportCheck, ExportChecks
from engine.runs import RunStore
from tests.app.conftest import AppEnv, save_fake_run
from tests.app.test_pages import button, texts
from ui import models

INT8 = ExportCheck("tflite-int8", 2_740_256, 2_121_302, 36, 0.80, 0.97, 0.24, 3.6, 5.3, "t")
FLOAT = ExportCheck("tflite", 8_914_204, 2_821_908, 36, 0.97, 0.97, 1e-6, 4.8, 5.3, "t")


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> list:
    """The callables download buttons register to build their file on click."""
    registered = []
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, *args, **kwargs):
        registered.append(data_callable)
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return registered


def report_buttons(at) -> list:
    return [b for b in at.get("download_button") if b.proto.label == "Download report"]


@pytest.mark.parametrize("page", ["evaluate", "runs"])
def test_report_button_builds_the_runs_report_on_click_only(app_env: AppEnv, deferred, page):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page(page)
    assert not at.exception
    [report] = report_buttons(at)
    assert report.proto.deferred_file_id and not report.proto.url  # nothing built yet
    document = deferred[-1]()
    assert document.startswith(b"<!DOCTYPE html>") and run_id.encode() in document
    assert "opens without internet" in texts(at, "caption")


def test_viewers_may_download_the_report_but_not_prepare_exports(app_env: AppEnv, monkeypatch):
    monkeypatch.setenv("TLAB_MODE", "viewer")
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("runs")
    assert not at.exception
    assert report_buttons(at)
    assert not [b for b in at.button if b.key == "runs_export"]
    assert "Viewer mode" in texts(at, "caption") + texts(at, "info")


def test_prepare_download_checks_the_export_and_shows_the_table(app_env: AppEnv, monkeypatch):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    store = RunStore(app_env.runs_dir)
    calls = []

    def export_checked(settings, asked_run, fmt):
        calls.append((asked_run, fmt))
        bundle = app_env.runs_dir / asked_run / "export" / f"{asked_run}-{fmt}.zip"
        bundle.parent.mkdir(exist_ok=True)
        bundle.write_bytes(b"zip")
        store.save_extra(asked_run, DOCUMENT, ExportChecks({fmt: INT8}).to_dict())
        return bundle, INT8

    monkeypatch.setattr(models, "export_checked", export_checked)
    at = app_env.page("runs")
    assert "Exports checked" not in texts(at, "subheader")  # nothing checked yet
    at.radio(key="runs_export_format").set_value("tflite-int8").run()
    button(at, "runs_export").click().run()

    assert not at.exception
    assert calls == [(run_id, "tflite-int8")]
    assert f"Download {run_id}-tflite-int8.zip" in [
        b.proto.label for b in at.get("download_button")
    ]
    assert "Exports checked" in texts(at, "subheader")
    table = at.table[-1].value
    assert table.loc["tflite-int8", "accuracy"] == "80.0%"
    assert table.loc["tflite-int8", "app's accuracy"] == "97.0%"
    assert table.loc["tflite-int8", "model size"] == "2.7 MB"
    assert table.loc["tflite-int8", "one photo"] == "3.6 ms"
    assert "17.0 points below the app's model" in texts(at, "warning")
    assert "opened again and run on the same test photos" in texts(at, "caption")


def test_every_saved_check_is_a_row_and_a_damaged_document_is_a_message(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    store = RunStore(app_env.runs_dir)
    store.save_extra(
        run_id, DOCUMENT, ExportChecks({}).with_check(FLOAT).with_check(INT8).to_dict()
    )
    at = app_env.page("runs")
    assert list(at.table[-1].value.index) == ["tflite", "tflite-int8"]

    store.save_extra(run_id, DOCUMENT, {"format": 1, "checks": "every one"})
    at = app_env.page("runs")
    assert not at.exception
    error = texts(at, "error")
    assert "export_checks.json is damaged" in error and "prepare an export again" in error
    assert report_buttons(at), "the rest of the page still works"


def test_a_cancelled_run_offers_no_report(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir, status="cancelled")
    at = app_env.page("runs")
    assert not at.exception
    assert not report_buttons(at)
    assert Path(app_env.runs_dir).is_dir()
