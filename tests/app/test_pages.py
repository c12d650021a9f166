"""Every page under AppTest: renders without exceptions, shows its figures, reports errors."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engine.config import TrainConfig
from engine.events import History
from engine.jobs import JobSnapshot
from engine.runs import RunStore
from tests.app.conftest import AppEnv, png_bytes, save_fake_run, upload_colors_zip
from tests.support.paths import ROOT
from ui import navigation

PAGES = tuple(Path(path).stem for path, _, _ in navigation.PAGES)  # every page


def texts(at: AppTest, kind: str) -> str:
    """All values of one element kind (error, warning, info, markdown, ...) as one string, as
    a reader sees them (markdown escapes of user text removed)."""
    shown = "\n".join(str(element.value) for element in getattr(at, kind))
    return re.sub(r"\\(.)", r"\1", shown)


def button(at: AppTest, key: str):
    """The button with this key (fails loudly when it is missing)."""
    return next(b for b in at.button if b.key == key)


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_with_a_saved_run(app_env: AppEnv, name: str):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page(name)
    assert not at.exception
    assert not at.error


def test_home_reuses_the_complete_demo_run_and_tells_the_story(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.app()
    button(at, "home_run").click().run()
    assert not at.exception
    assert app_env.jobs.started == []
    fine_tuned = next(m for m in at.metric if m.label == "New head trained on your photos")
    assert fine_tuned.value == "97.2%"
    assert fine_tuned.delta == "+63.9 points"
    assert [m.value for m in at.metric if "zero-shot" in m.label] == ["33.3%"]
    assert "Zero-shot wrong, trained model right" in texts(at, "subheader")


def test_home_starts_the_demo_with_default_config_when_no_run_exists(app_env: AppEnv):
    at = app_env.app()
    button(at, "home_run").click().run()
    assert not at.exception
    assert len(app_env.jobs.started) == 1
    call = app_env.jobs.started[0]
    assert (Path(call["data_dir"]), call["config"], call["split_file"]) == (
        app_env.data_dir,
        TrainConfig(),
        None,
    )


def test_home_without_sample_folder_says_how_to_set_it(app_env: AppEnv, monkeypatch):
    monkeypatch.delenv("TLAB_DATA_DIR")
    at = app_env.app()
    assert not at.exception
    assert "TLAB_DATA_DIR" in texts(at, "info")


def test_data_shows_classes_and_sets_the_dataset_for_other_pages(app_env: AppEnv):
    at = app_env.page("data")
    assert not at.exception
    assert "36 photos in 3 classes" in texts(at, "success")
    assert at.session_state["dataset_dir"] == str(app_env.data_dir)
    assert len(at.get("image")) == 18  # 6 samples for each of the 3 classes


def test_data_lists_skipped_files_with_their_reason(app_env: AppEnv):
    (app_env.data_dir / "red" / "broken.png").write_bytes(b"not a picture")
    at = app_env.page("data")
    assert not at.exception
    assert "Skipped files (1)" in texts(at, "subheader")
    assert any("broken.png" in frame.value.to_string() for frame in at.dataframe)


def test_data_refuses_a_path_outside_the_allowed_roots(app_env: AppEnv):
    at = app_env.page("data")
    at.radio(key="data_source").set_value("Folder path").run()
    at.text_input(key="data_path").input("/etc").run()
    assert not at.exception
    assert "outside the allowed data folders" in texts(at, "error")


def test_data_reports_a_bad_upload_with_the_engine_message(app_env: AppEnv):
    at = app_env.page("data")
    at.radio(key="data_source").set_value("Upload a .zip").run()
    at.file_uploader(key="data_zip_0").set_value(("photos.zip", b"no zip", "application/zip")).run()
    assert not at.exception
    assert "photos.zip" in texts(at, "error")


def test_data_refuses_a_zip_over_the_upload_limit_before_extracting(app_env: AppEnv):
    app_env.monkeypatch.setenv("TLAB_MAX_UPLOAD_MB", "1")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("cats/big.png", np.random.default_rng(0).bytes(2**20 + 1))
        archive.writestr("dogs/big.png", b"x")
    at = app_env.page("data")
    at.radio(key="data_source").set_value("Upload a .zip").run()
    at.file_uploader(key="data_zip_0").set_value(("big.zip", buffer.getvalue(), "application/zip"))
    at.run()
    assert not at.exception
    assert "TLAB_MAX_UPLOAD_MB" in texts(at, "error")
    assert not any(app_env.uploads_dir.rglob("*.png"))


def test_data_imports_an_uploaded_zip(app_env: AppEnv):
    at = upload_colors_zip(app_env)
    assert not at.exception
    assert Path(at.session_state["dataset_dir"]).is_relative_to(app_env.uploads_dir)
    assert "36 photos in 3 classes" in texts(at, "success")


def test_an_uploaded_dataset_can_be_deleted_and_the_sample_comes_back(app_env: AppEnv):
    at = upload_colors_zip(app_env)
    assert any(app_env.uploads_dir.rglob("*.png"))

    at.button(key="data_delete_upload").click().run()
    assert not at.exception
    assert not any(app_env.uploads_dir.rglob("*.png")), "the extracted photos are gone"
    assert Path(at.session_state["dataset_dir"]) == app_env.data_dir
    assert not at.file_uploader(key="data_zip_1").value, "the uploader is empty again"


def test_zero_shot_shows_accuracy_mapping_and_unmapped_classes(app_env: AppEnv):
    at = app_env.page("zero_shot")
    assert not at.exception
    accuracy = next(m for m in at.metric if m.label.startswith("Zero-shot accuracy"))
    assert re.fullmatch(r"\d+\.\d%", accuracy.value)
    assert list(at.data_editor[0].value["class"]) == ["blue", "green", "red"]
    assert "blue" in texts(at, "warning")


def test_zero_shot_shows_the_model_error_when_it_cannot_load(app_env: AppEnv):
    app_env.use_real_zero_shot_loader()
    at = app_env.page("zero_shot")
    assert not at.exception
    assert "TLAB_ZERO_SHOT_MODEL" in texts(at, "error")


def test_train_form_starts_the_job_with_the_chosen_config(app_env: AppEnv):
    at = app_env.page("train")
    at.number_input(key="train_epochs").set_value(3)
    at.number_input(key="train_fine_tune_epochs").set_value(1)
    at.checkbox(key="train_augment").check()
    button(at, "train_start").click().run()
    assert not at.exception
    [call] = app_env.jobs.started
    assert call["config"] == TrainConfig(epochs=3, fine_tune_epochs=1, augment=True)
    assert Path(call["data_dir"]) == app_env.data_dir
    assert call["zero_shot"] is app_env.zero_shot  # the job reuses the pages' model


def test_train_passes_the_mapping_edited_on_the_zero_shot_page(app_env: AppEnv):
    at = app_env.app()
    edited = {"blue": [3], "green": [1], "red": [2]}
    at.session_state["zero_shot_mapping"] = {str(app_env.data_dir): edited}
    at.switch_page("pages/train.py").run()
    assert "zero-shot mapping: edited" in texts(at, "caption")
    button(at, "train_start").click().run()
    assert app_env.jobs.started[0]["mapping"] == edited


def test_train_second_start_shows_the_busy_warning(app_env: AppEnv):
    app_env.jobs.busy = True
    at = app_env.page("train")
    button(at, "train_start").click().run()
    assert not at.exception
    assert "A job is running" in texts(at, "warning")


def test_train_shows_progress_and_cancel_calls_the_manager(app_env: AppEnv):
    app_env.jobs.current = JobSnapshot(
        state="running",
        job_id="job1",
        stage="head",
        stage_index=2,
        num_stages=4,
        epoch=3,
        num_epochs=10,
        batch=5,
        num_batches=20,
        eta_seconds=75,
        history=History({"loss": [0.9, 0.5], "val_loss": [0.8, 0.6], "accuracy": [0.5, 0.7]}),
    )
    at = app_env.page("train")
    assert not at.exception
    bars = texts(at, "markdown") + "\n".join(str(p.proto.text) for p in at.get("progress"))
    assert "Epoch 3/10" in bars and "Batch 5/20" in bars and "1 min 15 s" in bars
    button(at, "train_cancel").click().run()
    assert app_env.jobs.cancelled == 1


def test_train_when_done_links_to_evaluate(app_env: AppEnv):
    app_env.jobs.current = JobSnapshot(state="done", run_id="r1", message="Test accuracy 90.0%")
    at = app_env.page("train")
    assert not at.exception
    assert "Training finished" in texts(at, "success")
    assert "evaluate" in [link.proto.page for link in at.page_link]


def test_evaluate_filters_the_gallery_by_confusion_cell(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("evaluate")
    assert "36 of 36 test photos" in texts(at, "caption")
    at.selectbox(key="gallery_true").select("blue")
    at.selectbox(key="gallery_predicted").select("green").run()
    assert not at.exception
    assert "1 of 36 test photos" in texts(at, "caption")
    assert "✗ green" in texts(at, "markdown")


def test_evaluate_only_errors_and_table(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("evaluate")
    at.toggle(key="gallery_errors").set_value(True).run()
    assert "1 of 36 test photos" in texts(at, "caption")
    assert "zero-shot f1" in at.dataframe[0].value.columns


def test_evaluate_without_runs_points_to_train(app_env: AppEnv):
    at = app_env.page("evaluate")
    assert not at.exception
    assert "No finished training run" in texts(at, "info")


def test_classify_shows_both_models_side_by_side(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("classify")
    at.file_uploader(key="classify_upload").set_value(
        ("red.png", png_bytes((230, 20, 20)), "image/png")
    )
    at.run()
    assert not at.exception
    guesses = texts(at, "markdown")
    assert guesses.count("Best guess: **red**") == 2


def test_classify_picks_up_a_run_finished_while_the_page_was_open(app_env: AppEnv):
    at = app_env.page("classify")
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at.file_uploader(key="classify_upload").set_value(
        ("red.png", png_bytes((230, 20, 20)), "image/png")
    )
    at.run()
    assert not at.exception
    assert texts(at, "markdown").count("Best guess: **red**") == 2


def test_classify_works_without_a_run_and_shows_a_note(app_env: AppEnv):
    at = app_env.page("classify")
    at.file_uploader(key="classify_upload").set_value(
        ("g.png", png_bytes((20, 230, 20)), "image/png")
    )
    at.run()
    assert not at.exception
    assert "Best guess: **green**" in texts(at, "markdown")
    assert "only the zero-shot answer" in texts(at, "info")


def test_classify_bad_image_shows_the_engine_message(app_env: AppEnv):
    at = app_env.page("classify")
    at.file_uploader(key="classify_upload").set_value(("bad.png", b"garbage", "image/png")).run()
    assert not at.exception
    assert "bad.png: not an image" in texts(at, "error")


def test_classify_missing_model_is_an_error_while_data_still_works(app_env: AppEnv):
    app_env.use_real_zero_shot_loader()
    at = app_env.page("classify")
    at.file_uploader(key="classify_upload").set_value(
        ("r.png", png_bytes((230, 20, 20)), "image/png")
    )
    at.run()
    assert not at.exception
    assert "TLAB_ZERO_SHOT_MODEL" in texts(at, "error")
    data = app_env.page("data")
    assert not data.exception and not data.error


def test_runs_lists_compares_and_deletes_after_confirmation(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("runs")
    assert not at.exception
    assert list(at.dataframe[0].value["id"]) == [run_id]
    assert at.multiselect(key="runs_compare").value == [run_id]
    button(at, "runs_delete").click().run()
    assert RunStore(app_env.runs_dir).list()  # not yet: a confirmation comes first
    button(at, "runs_delete_confirm").click().run()
    assert not at.exception
    assert RunStore(app_env.runs_dir).list() == []
    assert "No runs yet" in texts(at, "info")


def test_runs_export_of_a_run_without_model_shows_the_engine_error(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("runs")
    button(at, "runs_export").click().run()
    assert not at.exception
    assert at.error


def test_runs_offers_no_export_for_a_cancelled_run_and_selects_a_complete_one(app_env: AppEnv):
    complete = save_fake_run(app_env.runs_dir, app_env.data_dir)
    cancelled = save_fake_run(app_env.runs_dir, app_env.data_dir, status="cancelled")  # newest
    at = app_env.page("runs")
    assert at.selectbox(key="runs_selected").value == complete
    at.selectbox(key="runs_selected").set_value(cancelled).run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "runs_export"]
    assert "nothing to export" in texts(at, "info")


def test_sidebar_shows_the_running_job_in_one_line(app_env: AppEnv):
    # Checked on the default page: AppTest 1.67 drops app.py's sidebar after switch_page.
    app_env.jobs.current = JobSnapshot(state="running", stage="head", epoch=2, num_epochs=5)
    at = app_env.app()
    assert "Training: head epoch 2/5" in texts(at.sidebar, "caption")


IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.MULTILINE)


def _top_level_imports(paths: list[Path]) -> dict[str, set[str]]:
    return {path.name: set(IMPORT.findall(path.read_text())) for path in paths}


def test_pages_and_ui_never_import_tensorflow_and_engine_never_imports_streamlit():
    ui_files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    for name, modules in _top_level_imports(ui_files).items():
        assert not modules & {"tensorflow", "keras", "tf_keras", "tensorflow_hub"}, name
    for name, modules in _top_level_imports(list((ROOT / "engine").rglob("*.py"))).items():
        assert "streamlit" not in modules, name
