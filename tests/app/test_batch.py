"""The Batch classify page under AppTest: folder or zip, both models, the CSV, left-out files."""

from __future__ import annotations

import io
import zipfile

from streamlit.testing.v1 import AppTest

from engine.insight.calibration import THRESHOLD, NotSure
from engine.runs import RunStore
from tests.app.conftest import AppEnv, save_fake_run
from tests.app.test_pages import button, texts


def classify(at: AppTest) -> AppTest:
    return button(at, "batch_start").click().run()


def answers(at: AppTest):
    return next(frame.value for frame in at.dataframe if "file" in frame.value.columns)


def test_the_sample_folder_is_classified_by_both_models(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("batch")
    assert not at.exception
    assert "36 photos found in colors" in texts(at, "caption")

    at = classify(at)

    assert not at.exception and not at.error
    table = answers(at)
    assert len(table) == 36
    assert list(table.columns) == [
        "file",
        "zero-shot (ImageNet)",
        "zero-shot sure",
        "trained model",
        "trained sure",
    ]
    first = table.iloc[0]
    assert (first["file"], first["trained model"]) == ("blue/blue_00.png", "blue")
    assert first["zero-shot (ImageNet)"] in ("green", "red")  # the fake never says background
    assert at.session_state["batch_result"][0][1] == run_id
    [download] = at.get("download_button")
    assert download.proto.label.startswith("Download every photo's answers")


def test_the_answers_stay_after_a_rerun_such_as_the_download(app_env: AppEnv):
    at = classify(app_env.page("batch"))
    at.run()
    assert len(answers(at)) == 36


def test_without_a_run_only_zero_shot_answers(app_env: AppEnv):
    at = classify(app_env.page("batch"))
    assert not at.exception
    assert "No trained run yet" in texts(at, "info")
    assert list(answers(at).columns) == ["file", "zero-shot (ImageNet)", "zero-shot sure"]


def test_files_left_out_are_listed_with_their_reason(app_env: AppEnv):
    (app_env.data_dir / "red" / "broken.png").write_bytes(b"not a picture")
    (app_env.data_dir / "readme.txt").write_text("hello")
    at = classify(app_env.page("batch"))
    assert not at.exception
    assert "Left out (2)" in texts(at, "subheader")
    left_out = next(frame.value for frame in at.dataframe if "reason" in frame.value.columns)
    reasons = dict(zip(left_out["file"], left_out["reason"], strict=True))
    assert "not an image" in reasons["red/broken.png"]
    assert "not a supported image type" in reasons["readme.txt"]


def test_a_run_with_a_threshold_marks_unsure_answers(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    rule = NotSure(0.99, None, coverage=0.1, accuracy=1.0)
    RunStore(app_env.runs_dir).save_extra(run_id, THRESHOLD, rule.to_dict())
    at = classify(app_env.page("batch"))
    assert not at.exception
    assert answers(at)["not sure"].all()
    assert "less than 99% sure" in texts(at, "caption")


def test_a_damaged_threshold_is_a_warning_not_a_crash(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    (app_env.runs_dir / run_id / f"{THRESHOLD}.json").write_text("{oops")
    at = classify(app_env.page("batch"))
    assert not at.exception
    assert "threshold could not be read" in texts(at, "warning")
    assert "not sure" not in answers(at).columns


def test_a_missing_zero_shot_model_leaves_the_trained_answers(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    app_env.use_real_zero_shot_loader()
    at = classify(app_env.page("batch"))
    assert not at.exception
    assert "TLAB_ZERO_SHOT_MODEL" in texts(at, "warning")
    assert list(answers(at).columns) == ["file", "trained model", "trained sure"]


def test_a_folder_outside_the_allowed_roots_is_refused(app_env: AppEnv):
    at = app_env.page("batch")
    at.text_input(key="batch_path").input("/etc").run()
    assert not at.exception
    assert "outside the allowed data folders" in texts(at, "error")


def test_an_uploaded_zip_of_loose_photos_is_classified(app_env: AppEnv):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(app_env.data_dir.glob("red/*.png"))[:3]:
            archive.write(path, f"trip/{path.name}")
    at = app_env.page("batch")
    at.radio(key="batch_source").set_value("Upload a .zip").run()
    at.file_uploader(key="batch_zip").set_value(("trip.zip", buffer.getvalue(), "application/zip"))
    at = classify(at.run())
    assert not at.exception
    assert list(answers(at)["file"]) == [f"trip/red_{i:02d}.png" for i in range(3)]
    assert any(app_env.uploads_dir.iterdir())


def test_viewer_mode_offers_no_upload(app_env: AppEnv):
    app_env.monkeypatch.setenv("TLAB_MODE", "viewer")
    at = app_env.page("batch")
    assert not at.exception
    assert at.radio(key="batch_source").options == ["Folder path"]


def test_names_from_users_are_shown_as_written(app_env: AppEnv, tmp_path):
    odd = tmp_path / "[click](javascript:x) **bold**"
    (odd / "a").mkdir(parents=True)
    (app_env.data_dir / "red" / "red_00.png").rename(odd / "a" / "=1+1.png")
    app_env.monkeypatch.setenv("TLAB_DATA_ROOTS", str(tmp_path))
    at = app_env.page("batch")
    at.text_input(key="batch_path").input(str(odd)).run()
    at = classify(at)
    assert not at.exception
    assert "1 photo found in [click](javascript:x) **bold**." in texts(at, "caption")
    assert not any("<a" in str(element.value) for element in at.markdown)
    assert list(answers(at)["file"]) == ["a/=1+1.png"]  # the table shows text, never formulas
