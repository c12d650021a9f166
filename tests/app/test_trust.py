"""What a new user hit (issue 13): the Demo's run, honest headlines, kept choices, exports."""

from __future__ import annotations

from pathlib import Path

from engine.config import TrainConfig
from engine.jobs import JobSnapshot
from engine.runs import RunStore
from tests.app.conftest import AppEnv, save_fake_run, upload_colors_zip
from tests.app.test_pages import button, texts


def test_demo_ignores_a_run_with_another_recipe_and_trains_with_the_defaults(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir, config=TrainConfig(epochs=1))
    at = app_env.app()
    button(at, "home_run").click().run()
    assert not at.exception
    assert [call["config"] for call in app_env.jobs.started] == [TrainConfig()]


def test_demo_names_the_run_it_shows_and_a_pinned_run_wins(app_env: AppEnv):
    default = save_fake_run(app_env.runs_dir, app_env.data_dir)
    other = save_fake_run(app_env.runs_dir, app_env.data_dir, config=TrainConfig(epochs=3))
    at = app_env.app()
    button(at, "home_run").click().run()
    assert "the newest made with the default recipe" in texts(at, "caption")
    assert RunStore(app_env.runs_dir).info(default).title in texts(at, "caption")

    RunStore(app_env.runs_dir).pin_demo(other)
    at.run()
    assert "pinned on the Runs page" in texts(at, "caption")
    assert RunStore(app_env.runs_dir).info(other).title in texts(at, "caption")


def test_demo_headline_says_which_classes_imagenet_can_name(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.app()
    button(at, "home_run").click().run()
    captions = texts(at, "caption")
    assert "ImageNet has a label for only 1 of 3 classes (red)" in captions
    assert "On the photos of red alone: **100.0%**" in captions
    assert "95% interval" in captions


def test_a_handful_of_test_photos_gets_a_caveat_not_a_green_delta(app_env: AppEnv):
    for path in sorted(app_env.data_dir.glob("*/*.png"))[2:]:
        if path.name.split("_")[1] not in ("00.png", "01.png"):
            path.unlink()  # 2 photos per class left: 6 test photos
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("evaluate")
    assert not at.exception
    assert "only 6 test photos" in texts(at, "warning")
    trained = next(m for m in at.metric if m.label == "New head trained on your photos")
    gray = type(trained.proto).MetricColor.Value("GRAY")
    assert trained.proto.color == gray, "no green arrow on six photos"


def test_the_data_page_remembers_an_uploaded_dataset_across_pages(app_env: AppEnv):
    at = upload_colors_zip(app_env)
    uploaded = at.session_state["dataset_dir"]

    at.switch_page("pages/train.py").run()
    at.switch_page("pages/data.py").run()

    assert not at.exception
    assert at.radio(key="data_source").value == "Upload a .zip"
    assert at.session_state["dataset_dir"] == uploaded
    assert "uploaded before" in texts(at, "caption")


def test_the_data_page_shows_each_class_per_part_of_the_split(app_env: AppEnv):
    at = app_env.page("data")
    split = next(f.value for f in at.dataframe if "validation" in f.value.columns)
    assert list(split.columns) == ["train", "validation", "test"]
    assert split.loc["all classes"].sum() == 36


def test_the_train_form_keeps_its_values_and_the_job_shows_its_own(app_env: AppEnv):
    at = app_env.page("train")
    at.number_input(key="train_epochs").set_value(7)
    button(at, "train_start").click().run()
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/train.py").run()
    assert at.number_input(key="train_epochs").value == 7

    app_env.jobs.current = JobSnapshot(
        state="running", stage="head", num_stages=4, stage_index=2, config=TrainConfig(epochs=9)
    )
    at.run()
    assert "up to 9 head epochs" in texts(at, "caption")


def test_an_unavailable_backbone_is_marked_and_refused_before_training(app_env: AppEnv):
    at = app_env.page("train")  # offline: only mobilenet_v2 has local weights
    at.selectbox(key="train_backbone").set_value("resnet50")
    button(at, "train_start").click().run()
    assert "resnet50 cannot be used here" in texts(at, "error")
    assert app_env.jobs.started == []


def test_runs_page_saves_notes_and_pins_the_demo(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("runs")
    at.text_area(key=f"runs_notes_{run_id}").input("first try, augment off")
    button(at, "runs_save_notes").click().run()
    button(at, "runs_pin").click().run()
    assert not at.exception
    store = RunStore(app_env.runs_dir)
    assert store.info(run_id).notes == "first try, augment off"
    assert store.demo_pin() == run_id
    assert "first try" in at.dataframe[0].value.to_string()


def test_evaluate_offers_the_predictions_as_csv_and_a_normalised_matrix(app_env: AppEnv):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("evaluate")
    at.toggle(key="gallery_normalised").set_value(True).run()
    assert not at.exception
    assert [b for b in at.get("download_button")]
    at.selectbox(key="gallery_true").select("blue").run()
    button(at, "gallery_reset").click().run()
    assert at.selectbox(key="gallery_true").value == "(any)"
    assert "36 of 36 test photos" in texts(at, "caption")


def test_sidebar_links_a_running_job_to_the_train_page(app_env: AppEnv):
    app_env.jobs.current = JobSnapshot(state="failed", message="x" * 300)
    at = app_env.app()
    assert "train" in [link.proto.page for link in at.sidebar.get("page_link")]
    line = next(c.value for c in at.sidebar.caption if c.value.startswith("Training failed"))
    assert len(line) < 130 and line.endswith("…")


def test_exports_say_what_the_model_expects(app_env: AppEnv, monkeypatch):
    save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("runs")
    spec = next(t.value for t in at.table if "model input / output" in t.value.index.names)
    assert "RGB" in spec.to_string() and "blue, green, red" in spec.to_string()
    assert Path(app_env.runs_dir).is_dir()
