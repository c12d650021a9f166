"""Export checks: every format reloaded from its file and scored on the run's test photos beside
the app's model; saved with the run; viewer mode, missing photos and broken files refused."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import pytest

from engine import cli
from engine.errors import DatasetError, ModelUnavailableError, ReadOnlyError, RunNotFoundError
from engine.export_check import check_export, prepare_export
from engine.export_record import DOCUMENT, ExportCheck, ExportChecks, saved_checks
from engine.runs import EXPORT_FORMATS, RunStore
from engine.schema import RecordError
from engine.settings import Settings
from tests.support.photo_run import save_photo_run, trained_classifier, write_photos
from tests.support.runs import make_run

# How far each export's probabilities may stray from the app's float32 model.
TOLERANCE = {
    "keras": 1e-5,
    "savedmodel": 1e-5,
    "tflite": 1e-5,
    "tflite-float16": 0.05,
    "tflite-int8": 0.5,
}


@dataclasses.dataclass(frozen=True)
class Exported:
    settings: Settings
    store: RunStore
    run_id: str
    classifier: object


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """One run of real photos and a trained model, shared by the format tests."""
    folder = tmp_path_factory.mktemp("export-check")
    root = write_photos(folder / "colors")
    classifier = trained_classifier(root)
    store = RunStore(folder / "runs")
    run_id = save_photo_run(store, root, classifier)
    settings = Settings(runs_dir=store.root, model_cache=folder / "cache")
    return Exported(settings, store, run_id, classifier)


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_each_format_is_reloaded_scored_beside_the_app_model_and_saved(exported, fmt):
    path, check = prepare_export(
        exported.settings, exported.store, exported.run_id, fmt, reference=exported.classifier
    )

    run = exported.store.load(exported.run_id)
    assert check.export_format == fmt and check.num_photos == 6
    assert check.app_accuracy == pytest.approx(run.evaluation.accuracy)
    assert check.max_probability_difference <= TOLERANCE[fmt]
    if fmt != "tflite-int8":
        assert check.accuracy == check.app_accuracy
    assert check.download_bytes == path.stat().st_size
    assert 0 < check.model_bytes and 0 < check.latency_ms and 0 < check.app_latency_ms
    assert saved_checks(exported.store, exported.run_id).by_format[fmt] == check
    export_folder = exported.store.root / exported.run_id / "export"
    assert [p.name for p in export_folder.iterdir()] == [
        p.name for p in export_folder.glob("*.zip")
    ]


def test_int8_keeps_float_inputs_and_says_how_it_was_made(exported):
    path, _ = prepare_export(
        exported.settings, exported.store, exported.run_id, "tflite-int8", False
    )
    top = path.stem
    with zipfile.ZipFile(path) as archive:
        readme = archive.read(f"{top}/README.txt").decode()
        flatbuffer = archive.read(f"{top}/model-int8.tflite")
    assert "calibrated on the run's training photos" in readme
    assert 'Interpreter(model_path="model-int8.tflite")' in readme
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    assert interpreter.get_input_details()[0]["dtype"].__name__ == "float32"
    assert interpreter.get_output_details()[0]["dtype"].__name__ == "float32"


def test_the_check_without_a_reference_loads_the_runs_own_model(exported):
    _, check = prepare_export(exported.settings, exported.store, exported.run_id, "keras")
    assert check.max_probability_difference < 1e-4


def test_viewer_mode_refuses_to_export_and_writes_nothing(tmp_path, exported):
    viewer = dataclasses.replace(exported.settings, mode="viewer")
    before = sorted(exported.store.root.rglob("*"))
    with pytest.raises(ReadOnlyError, match="cannot export a model"):
        prepare_export(viewer, exported.store, exported.run_id, "tflite")
    assert sorted(exported.store.root.rglob("*")) == before


def test_an_export_that_does_not_load_is_a_clear_message(exported, tmp_path):
    run = exported.store.load(exported.run_id)
    fake = tmp_path / f"{exported.run_id}-tflite.zip"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr(f"{fake.stem}/model.tflite", b"not a flatbuffer")
    with pytest.raises(ModelUnavailableError, match="does not load.*export again"):
        check_export(run, fake, "tflite", exported.classifier, 10**6)
    fake.write_bytes(b"not a zip")
    with pytest.raises(ModelUnavailableError, match="cannot be opened"):
        check_export(run, fake, "tflite", exported.classifier, 10**6)


def test_a_run_without_its_split_cannot_be_checked_or_calibrated(exported, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.save(make_run(exported.classifier.class_names), exported.classifier)
    settings = dataclasses.replace(exported.settings, runs_dir=store.root)
    with pytest.raises(DatasetError, match="int8 cannot be calibrated"):
        prepare_export(settings, store, run_id, "tflite-int8", check=False)
    with pytest.raises(DatasetError, match="test photos are unknown"):
        prepare_export(settings, store, run_id, "keras", reference=exported.classifier)


def test_damaged_checks_are_named_and_the_next_check_starts_afresh(exported):
    store, run_id = exported.store, exported.run_id
    store.save_extra(run_id, DOCUMENT, {"format": 1, "checks": [{"export_format": "keras"}]})
    with pytest.raises(RunNotFoundError, match="lacks 'model_bytes'.*prepare an export again"):
        saved_checks(store, run_id)
    prepare_export(exported.settings, store, run_id, "keras", reference=exported.classifier)
    assert list(saved_checks(store, run_id).by_format) == ["keras"]


def test_saved_checks_round_trip_and_refuse_what_this_version_cannot_read():
    check = ExportCheck("tflite-int8", 10, 8, 6, 0.5, 0.8, 0.3, 1.5, 2.0, "2026-12-01T00:00:00")
    checks = ExportChecks({}).with_check(check)
    assert ExportChecks.from_dict(json.loads(json.dumps(checks.to_dict())), "x") == checks
    assert (
        check.warning()
        == "the tflite-int8 export scores 30.0 points below the app's model on 6 test photos"
    )
    with pytest.raises(RecordError, match="newer version"):
        ExportChecks.from_dict({"format": 2, "checks": []}, "x")
    with pytest.raises(RecordError, match="'accuracy' is the text"):
        ExportChecks.from_dict({"format": 1, "checks": [{**check.to_dict(), "accuracy": "x"}]}, "x")


def test_runs_saved_before_checks_have_none(exported, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.save(make_run(("a", "b")))
    assert saved_checks(store, run_id).by_format == {}


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_cli_export_check_json_prints_the_table(exported, capsys, monkeypatch):
    monkeypatch.setenv("TLAB_MODEL_CACHE", str(exported.settings.model_cache))
    code = cli.main(
        ["export", "--run", exported.run_id, "--format", "tflite", "--check", "--json",
         "--runs-dir", str(exported.store.root)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out)
    assert result["format"] == "tflite" and Path(result["path"]).is_file()
    check = result["check"]
    assert check["num_photos"] == 6 and check["max_probability_difference"] < 1e-4
    assert set(check) >= {"accuracy", "app_accuracy", "model_bytes", "latency_ms"}

    code = cli.main(
        ["export", "--run", exported.run_id, "--format", "tflite", "--check",
         "--runs-dir", str(exported.store.root)]
    )  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0 and "scored on the run's 6 test photos" in text and "one photo" in text


def test_cli_export_in_viewer_mode_is_one_error_line(exported, capsys, monkeypatch):
    monkeypatch.setenv("TLAB_MODE", "viewer")
    code = cli.main(["export", "--run", exported.run_id, "--format", "keras",
                     "--runs-dir", str(exported.store.root)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: ") and "viewer mode" in err


@pytest.mark.integration
@pytest.mark.slow
def test_int8_stays_within_2_points_of_float32_on_the_flowers(flowers_run):
    # The app's model is the float32 flatbuffer (LiteRT): one conversion gives both figures.
    store = RunStore(flowers_run.settings.runs_dir)
    _, check = prepare_export(flowers_run.settings, store, flowers_run.run_id, "tflite-int8")
    assert check.num_photos == 200
    assert abs(check.accuracy - check.app_accuracy) <= 0.02
    assert check.model_bytes < 0.4 * store.model_path(flowers_run.run_id).stat().st_size
