"""CLI: exit codes, one-line user errors, machine-readable --json output, progress on stderr."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from engine import cli
from engine.classifiers import FineTunedClassifier
from engine.cli import evaluate as cli_evaluate
from engine.cli import predict as cli_predict
from engine.cli import train as cli_train
from engine.config import TrainConfig
from engine.data.record import record_split
from engine.data.scan import Skipped, scan_dataset
from engine.data.split import Split, make_split
from engine.errors import ModelUnavailableError
from engine.events import ProgressEvent
from engine.mapping_record import DOCUMENT as MAPPING_DOCUMENT
from engine.mapping_record import mapping_record
from engine.runs import RunStore
from tests.conftest import CLASS_COLORS, offline_env, write_image
from tests.support.paths import FLOWERS
from tests.support.runs import make_run, prediction

ROOT = Path(__file__).resolve().parents[2]
MAPPING_LABELS = ("background",) + tuple(f"label {i}" for i in range(1, 1001))
COLORS = tuple(sorted(CLASS_COLORS))  # the image_folder fixture's classes
# Per class 4 test photos, the first one wrong: 75% fine-tuned. Zero-shot cannot name green.
PREDICTIONS = [
    prediction(
        c, ("blue" if c == "red" else "red") if i == 0 else None, zero_shot=c * (c != "green")
    )
    for c in COLORS
    for i in range(4)
]


@pytest.fixture
def runs_dir(tmp_path) -> Path:
    return tmp_path / "runs"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_user_error(result: tuple[int, str, str], match: str) -> None:
    code, out, err = result
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert match in err
    assert "Traceback" not in err


def tiny_classifier(size: int = 8) -> FineTunedClassifier:
    model = keras.Sequential(
        [keras.Input((size, size, 3)), keras.layers.Flatten(), keras.layers.Dense(3, "softmax")]
    )
    return FineTunedClassifier(model, COLORS, size)


def save_run(runs_dir: Path, classifier: FineTunedClassifier | None = None, **changes) -> str:
    config = TrainConfig(seed=0, validation_fraction=0.1, test_fraction=0.25, batch_size=8)
    run = make_run(
        COLORS, PREDICTIONS, config=config, dataset="/data/colors", train_seconds=65.0, **changes
    )
    skipped = (Skipped("red/a.txt", "not an image"), Skipped("red/b.txt", "not an image"))
    run = dataclasses.replace(run, data=dataclasses.replace(run.data, skipped_files=skipped))
    return RunStore(runs_dir).save(run, classifier)


class FakeExperiment:
    """Stands in for run_experiment: chatty on stdout like Keras, then saves a run."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, data_dir, config, settings, split_file=None, on_event=None, **kwargs):
        self.calls.append({"data_dir": data_dir, "config": config, "split_file": split_file})
        print("Epoch 1/2 - noise that Keras would print")
        if on_event is not None:
            on_event(ProgressEvent("stage_start", "head", 2, 3, num_epochs=2))
            on_event(ProgressEvent("batch", "head", 2, 3, 1, 2, 1, 4, {"loss": 0.7}))
            on_event(ProgressEvent("epoch_end", "head", 2, 3, 1, 2, 4, 4, {"loss": 0.5}, 3.0))
        run_id = save_run(settings.runs_dir)
        return RunStore(settings.runs_dir).load(run_id).info


@pytest.fixture
def fake_experiment(monkeypatch) -> FakeExperiment:
    fake = FakeExperiment()
    monkeypatch.setattr(cli_train, "run_experiment", fake)
    return fake


def test_train_json_prints_exactly_one_json_object(capsys, runs_dir, fake_experiment):
    code, out, err = run_cli(
        capsys, "train", "--data", "pets", "--runs-dir", str(runs_dir), "--json"
    )

    assert code == 0
    assert out.count("\n") == 1
    result = json.loads(out)
    assert result["run_id"] == RunStore(runs_dir).list()[0].run_id
    saved = RunStore(runs_dir).load(result["run_id"])
    assert result["test_accuracy"] == 0.75
    assert result["zero_shot_accuracy"] == pytest.approx(2 / 3)
    assert result["classes"] == list(COLORS)
    assert result["per_class"] == {
        name: values.to_dict() for name, values in saved.evaluation.metrics.per_class.items()
    }
    assert result["train_seconds"] == 65.0
    assert result["unmapped_classes"] == ["green"]
    assert result["skipped"] == 2
    assert result["status"] == "complete"
    assert "noise that Keras would print" in err
    assert "head epoch 1/2" in err, "progress goes to stderr in --json mode too"


def test_train_shows_progress_on_stderr_and_a_summary_on_stdout(capsys, runs_dir, fake_experiment):
    code, out, err = run_cli(capsys, "train", "--data", "pets", "--runs-dir", str(runs_dir))

    assert code == 0
    assert "[2/3] Training the new head" in err
    assert "head epoch 1/2  loss 0.500  ETA 3 s" in err
    assert "\r" not in err, "plain lines when stderr is not a terminal"
    assert "Test accuracy: 75.0% (95% CI " in out and "12 photos" in out
    assert "fine-tuned, 66.7% zero-shot" in out
    assert "only 12 test photos" in out, "a small test set is said beside the number"
    assert "precision" in out and "green" in out
    assert "Trained in 1 min 05 s; 2 file(s) skipped." in out
    assert "No ImageNet label for: green." in out
    assert "noise" not in out


def test_train_options_build_the_config(capsys, runs_dir, fake_experiment):
    argv = ["train", "--data", "d", "--runs-dir", str(runs_dir), "--split-file", "s.csv"]
    argv += ["--epochs", "4", "--fine-tune-epochs", "2", "--unfreeze", "7", "--batch-size", "16"]
    argv += ["--learning-rate", "0.01", "--augment", "--backbone", "resnet50", "--seed", "9"]
    assert run_cli(capsys, *argv)[0] == 0
    assert (
        run_cli(capsys, "train", "--data", "d", "--runs-dir", str(runs_dir), "--no-augment")[0] == 0
    )

    first, second = fake_experiment.calls
    assert first["split_file"] == Path("s.csv")
    config = first["config"]
    assert (config.epochs, config.fine_tune_epochs, config.unfreeze_layers) == (4, 2, 7)
    assert (config.batch_size, config.learning_rate, config.augment) == (16, 0.01, True)
    assert (config.backbone, config.seed) == ("resnet50", 9)
    assert second["config"].augment is False
    assert second["config"].epochs == 30, "unset options keep the TrainConfig defaults"


def test_progress_bar_is_redrawn_in_place_on_a_terminal():
    class Terminal:
        def __init__(self) -> None:
            self.text = ""

        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> None:
            self.text += text

        def flush(self) -> None:
            pass

    terminal = Terminal()
    printer = cli_train.ProgressPrinter(terminal)
    printer(ProgressEvent("stage_start", "features", 1, 2))
    for batch in (1, 2):
        printer(ProgressEvent("batch", "features", 1, 2, batch=batch, num_batches=2))
    printer(ProgressEvent("stage_end", "features", 1, 2))

    assert terminal.text.startswith("[1/2] Computing features with the frozen base\n")
    assert "\r  features [############............] 1/2" in terminal.text
    assert terminal.text.endswith("\r  features [########################] 2/2\x1b[K\n")


def test_missing_data_folder_is_one_line_on_stderr(capsys, tmp_path, runs_dir):
    result = run_cli(capsys, "train", "--data", str(tmp_path / "nope"), "--runs-dir", str(runs_dir))
    assert_user_error(result, "does not exist")


def test_a_single_class_is_a_user_error(capsys, tmp_path, runs_dir):
    for i in range(6):
        write_image(tmp_path / "only" / "red" / f"{i}.png", (200, 0, 0), seed=i)
    result = run_cli(capsys, "train", "--data", str(tmp_path / "only"), "--runs-dir", str(runs_dir))
    assert_user_error(result, "class")


def test_a_bad_split_file_is_a_user_error(capsys, tmp_path, image_folder, runs_dir):
    split_file = tmp_path / "splits.csv"
    with split_file.open("w", newline="") as file:
        csv.writer(file).writerows([["path", "label", "split"], ["red/red_00.png", "red", "later"]])
    argv = ["train", "--data", str(image_folder), "--split-file", str(split_file)]
    assert_user_error(run_cli(capsys, *argv, "--runs-dir", str(runs_dir)), "'later'")


def test_an_invalid_option_value_is_a_user_error(capsys, image_folder, runs_dir):
    argv = ["train", "--data", str(image_folder), "--epochs", "0", "--runs-dir", str(runs_dir)]
    assert_user_error(run_cli(capsys, *argv), "epochs")


def test_a_bad_setting_is_a_user_error(capsys, monkeypatch, runs_dir):
    monkeypatch.setenv("TLAB_DISTRIBUTE", "everywhere")
    assert_user_error(run_cli(capsys, "runs", "--runs-dir", str(runs_dir)), "TLAB_DISTRIBUTE")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["train"],
        ["fly"],
        ["predict"],
        ["runs", "--top-k", "2"],
        ["predict", "x", "--top-k", "0"],
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    assert cli.main(argv) == 2
    assert capsys.readouterr().out == ""


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    assert "train" in capsys.readouterr().out


def test_interrupt_exits_130_without_a_traceback(capsys, monkeypatch, runs_dir):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_train, "run_experiment", interrupted)
    code, out, err = run_cli(capsys, "train", "--data", "d", "--runs-dir", str(runs_dir))
    assert (code, out, err) == (130, "", "error: interrupted\n")


def test_runs_json_parses(capsys, runs_dir):
    code, out, _ = run_cli(capsys, "runs", "--json", "--runs-dir", str(runs_dir))
    assert (code, json.loads(out)) == (0, [])

    older = save_run(runs_dir)
    newer = save_run(runs_dir, status="cancelled", test_accuracy=None)
    code, out, _ = run_cli(capsys, "runs", "--json", "--runs-dir", str(runs_dir))

    listed = json.loads(out)
    assert [run["run_id"] for run in listed] == [newer, older]
    assert listed[1]["class_names"] == list(COLORS)
    assert listed[1]["zero_shot_named_accuracy"] == 1.0  # red and blue, not green


def test_runs_table(capsys, runs_dir):
    assert "No runs in" in run_cli(capsys, "runs", "--runs-dir", str(runs_dir))[1]
    run_id = save_run(runs_dir)
    code, out, _ = run_cli(capsys, "runs", "--runs-dir", str(runs_dir))
    header, row, note = out.splitlines()
    assert header.split()[:3] == ["run", "id", "status"]
    assert "zs named" in header and note.startswith("zs named: zero-shot accuracy on the classes")
    assert row.split() == [
        run_id,
        "complete",
        "3",
        "75.0%",
        "66.7%",
        "100.0%",
        "1",
        "min",
        "05",
        "s",
        "colors",
    ]


class FakeZeroShot:
    input_size = 8

    def top_k(self, images, k=5):
        return [[("daisy", 0.9), ("bee", 0.05), ("vase", 0.01)][:k] for _ in images]


@pytest.fixture
def zero_shot(monkeypatch) -> None:
    monkeypatch.setattr(cli_predict.ZeroShotClassifier, "load", lambda settings: FakeZeroShot())


@pytest.fixture
def no_zero_shot(monkeypatch) -> None:
    def unavailable(settings):
        raise ModelUnavailableError("No zero-shot model; set TLAB_ZERO_SHOT_MODEL.")

    monkeypatch.setattr(cli_predict.ZeroShotClassifier, "load", unavailable)


def test_predict_a_bad_file_is_one_line_and_exit_1(capsys, tmp_path, runs_dir, zero_shot):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    assert_user_error(
        run_cli(capsys, "predict", str(bad), "--runs-dir", str(runs_dir)), "notes.jpg"
    )


def test_predict_reports_good_images_and_fails_at_the_end(capsys, tmp_path, runs_dir, zero_shot):
    good = write_image(tmp_path / "flower.png", (200, 200, 0))
    missing = tmp_path / "missing.png"
    argv = ["predict", str(good), str(missing), "--top-k", "2", "--runs-dir", str(runs_dir)]

    code, out, err = run_cli(capsys, *argv, "--json")

    assert code == 1
    result = json.loads(out)
    assert result["run_id"] is None
    first, second = result["images"]
    assert first == {
        "image": str(good),
        "zero_shot": [
            {"label": "daisy", "probability": 0.9},
            {"label": "bee", "probability": 0.05},
        ],
    }
    assert second["image"] == str(missing) and "missing.png" in second["error"]
    assert err.startswith("error: ") and "missing.png" in err

    code, out, _ = run_cli(capsys, *argv)
    assert code == 1
    assert out.splitlines() == [str(good), "  zero-shot   daisy 90.0%, bee 5.0%"]


def test_predict_uses_the_latest_run_and_survives_without_zero_shot(
    capsys, tmp_path, runs_dir, no_zero_shot
):
    run_id = save_run(runs_dir, tiny_classifier())
    image = write_image(tmp_path / "x.png", (0, 0, 200))

    code, out, err = run_cli(capsys, "predict", str(image), "--runs-dir", str(runs_dir), "--json")

    assert code == 0
    result = json.loads(out)
    assert result["run_id"] == run_id
    assert "TLAB_ZERO_SHOT_MODEL" in result["zero_shot_error"]
    [entry] = result["images"]
    probabilities = [pair["probability"] for pair in entry["fine_tuned"]]
    assert sorted(pair["label"] for pair in entry["fine_tuned"]) == list(COLORS)
    assert probabilities == sorted(probabilities, reverse=True)
    assert "zero_shot" not in entry
    assert err.startswith("warning: zero-shot skipped")


def test_predict_without_any_model_is_a_user_error(capsys, tmp_path, runs_dir, no_zero_shot):
    image = write_image(tmp_path / "x.png", (0, 0, 200))
    result = run_cli(capsys, "predict", str(image), "--runs-dir", str(runs_dir))
    assert_user_error(result, "TLAB_ZERO_SHOT_MODEL")


def test_predict_with_an_unknown_run_is_a_user_error(capsys, tmp_path, runs_dir, zero_shot):
    image = write_image(tmp_path / "x.png", (0, 0, 200))
    result = run_cli(capsys, "predict", str(image), "--run", "nope", "--runs-dir", str(runs_dir))
    assert_user_error(result, "No run 'nope'")


def test_evaluate_a_saved_run_on_the_test_split(capsys, image_folder, runs_dir):
    run_id = save_run(runs_dir, tiny_classifier())
    argv = ["evaluate", "--run", run_id, "--data", str(image_folder), "--runs-dir", str(runs_dir)]

    code, out, _ = run_cli(capsys, *argv, "--json")

    assert code == 0
    result = json.loads(out)
    assert result["run_id"] == run_id
    assert result["num_images"] == 9  # test_fraction 0.25 of 3 classes x 12 images
    assert 0 <= result["accuracy"] <= 1
    assert result["class_names"] == list(COLORS)
    assert sum(map(sum, result["confusion"])) == 9
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and "Accuracy:" in out and "Confusion" in out


def test_evaluate_refuses_a_folder_with_other_classes(capsys, tmp_path, runs_dir):
    run_id = save_run(runs_dir, tiny_classifier())
    for name in ("cats", "dogs"):
        for i in range(5):
            write_image(tmp_path / "pets" / name / f"{i}.png", (i * 40, 90, 90), seed=i)
    argv = ["evaluate", "--run", run_id, "--data", str(tmp_path / "pets")]
    assert_user_error(run_cli(capsys, *argv, "--runs-dir", str(runs_dir)), "same class")


def test_evaluate_an_unknown_run_is_a_user_error(capsys, image_folder, runs_dir):
    argv = ["evaluate", "--run", "../etc", "--data", str(image_folder), "--runs-dir", str(runs_dir)]
    assert_user_error(run_cli(capsys, *argv), "not a run id")


def python_m_engine(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=1800,
    )


def test_python_m_engine_keeps_stdout_clean_and_errors_short(tmp_path):
    listed = python_m_engine("runs", "--json", "--runs-dir", str(tmp_path / "runs"))
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []

    failed = python_m_engine("train", "--data", str(tmp_path / "nope"), "--json")
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert failed.stderr.splitlines()[-1].startswith("error: ")
    assert "Traceback" not in failed.stderr


@pytest.mark.integration
def test_train_evaluate_predict_on_flowers(shared_dir, tmp_path):
    env = offline_env(tmp_path / "runs")
    split_file = str(FLOWERS / "splits.csv")

    data = ["--data", str(FLOWERS), "--split-file", split_file, "--json"]
    trained = python_m_engine("train", *data, env=env)

    assert trained.returncode == 0, trained.stderr[-3000:]
    result = json.loads(trained.stdout)
    assert result["status"] == "complete"
    assert result["test_accuracy"] >= 0.82
    assert isinstance(result["zero_shot_accuracy"], float)
    assert result["classes"] == ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
    assert sum(m["support"] for m in result["per_class"].values()) == 200

    evaluated = python_m_engine("evaluate", "--run", "latest", *data, env=env)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(result["test_accuracy"])

    photo = next((FLOWERS / "daisy").iterdir())
    predicted = python_m_engine("predict", str(photo), "--json", env=env)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    [entry] = json.loads(predicted.stdout)["images"]
    assert len(entry["zero_shot"]) == 3
    assert entry["fine_tuned"][0]["label"] == "daisy"


def test_every_train_config_field_is_a_train_flag(capsys, runs_dir, fake_experiment):
    argv = ["train", "--data", "d", "--runs-dir", str(runs_dir)]
    argv += ["--dropout", "0.3", "--fine-tune-learning-rate", "0.0002", "--test-fraction", "0.3"]
    argv += ["--validation-fraction", "0.15", "--early-stopping-patience", "2"]
    assert run_cli(capsys, *argv)[0] == 0
    config = fake_experiment.calls[0]["config"]
    assert (config.dropout, config.fine_tune_learning_rate) == (0.3, 0.0002)
    assert (config.test_fraction, config.validation_fraction) == (0.3, 0.15)
    assert config.early_stopping_patience == 2
    help_text = run_cli(capsys, "train", "--help")[1]
    for option in dataclasses.fields(TrainConfig):
        assert "--" + option.name.replace("_", "-") in help_text, option.name


def save_run_with_split(runs_dir: Path, image_folder: Path) -> tuple[str, Split]:
    """A run that recorded its split of image_folder (as every new run does)."""
    config = TrainConfig(seed=0, validation_fraction=0.1, test_fraction=0.25, batch_size=8)
    split = make_split(scan_dataset(image_folder), config)
    run = make_run(COLORS, PREDICTIONS, config=config, dataset=str(image_folder))
    run = dataclasses.replace(run, split=record_split(split, image_folder))
    return RunStore(runs_dir).save(run, tiny_classifier()), split


def write_split_file(path: Path, root: Path, test_of) -> Path:
    """A splits.csv over every photo of root; test_of(index) says which go to test."""
    photos = sorted(root.glob("*/*.png"))
    with path.open("w", newline="") as file:
        rows = [["path", "label", "split"]]
        rows += [
            [f"{p.parent.name}/{p.name}", p.parent.name, "test" if test_of(i) else "train"]
            for i, p in enumerate(photos)
        ]
        csv.writer(file).writerows(rows)
    return path


def test_evaluate_uses_the_runs_own_test_photos_by_default(capsys, image_folder, runs_dir):
    # Protection: the run's split.json; without it evaluate drew a new random split whose test
    # part held training photos (96% instead of the run's 84% on the flowers).
    run_id, split = save_run_with_split(runs_dir, image_folder)
    write_split_file(image_folder / "splits.csv", image_folder, lambda i: i % 2 == 0)
    argv = ["evaluate", "--run", run_id, "--runs-dir", str(runs_dir), "--json"]

    code, out, _ = run_cli(capsys, *argv)

    result = json.loads(out)
    assert (code, result["test_photos"], result["overlap"]) == (0, "run", 0)
    assert result["num_images"] == len(split.test)
    assert result["data"] == str(image_folder), "the run's own folder by default"


def test_evaluate_refuses_a_split_whose_test_photos_were_trained_on(
    capsys, image_folder, runs_dir, tmp_path
):
    run_id, split = save_run_with_split(runs_dir, image_folder)
    everything = write_split_file(tmp_path / "all.csv", image_folder, lambda i: i > 0)
    argv = ["evaluate", "--run", run_id, "--split-file", str(everything)]
    argv += ["--runs-dir", str(runs_dir)]

    assert_user_error(run_cli(capsys, *argv), "were used to train or tune run")
    code, out, err = run_cli(capsys, *argv, "--allow-overlap", "--json")

    result = json.loads(out)
    trained = len(split.train) + len(split.validation)
    assert code == 0 and result["overlap"] == trained - 1  # photo 0 is train in all.csv
    assert "inflated" in err and "inflated" in " ".join(result["notes"])


def test_train_picks_up_the_folders_split_file_like_the_app(
    capsys, image_folder, runs_dir, fake_experiment
):
    split_file = write_split_file(image_folder / "splits.csv", image_folder, lambda i: i % 4 == 0)
    data = ["--data", str(image_folder), "--runs-dir", str(runs_dir)]

    assert run_cli(capsys, "train", *data)[0] == 0
    assert run_cli(capsys, "train", *data, "--no-split-file")[0] == 0

    assert [Path(call["split_file"] or "") for call in fake_experiment.calls] == [
        split_file,
        Path(""),
    ]


def test_train_and_evaluate_report_the_mapping_and_zero_shot_on_named_classes(
    capsys, runs_dir, monkeypatch, image_folder
):
    def experiment(data_dir, config, settings, split_file=None, on_event=None, **kwargs):
        run = make_run(COLORS, PREDICTIONS, config=TrainConfig(batch_size=8))
        record = mapping_record(run.zero_shot, MAPPING_LABELS, edited=False)
        run = dataclasses.replace(run, extras={MAPPING_DOCUMENT: record.to_dict()})
        run_id = RunStore(settings.runs_dir).save(run, tiny_classifier())
        return RunStore(settings.runs_dir).load(run_id).info

    monkeypatch.setattr(cli_train, "run_experiment", experiment)
    argv = ("--data", str(image_folder), "--runs-dir", str(runs_dir))
    code, out, _ = run_cli(capsys, "train", *argv, "--json")
    result = json.loads(out)
    assert result["zero_shot_named_accuracy"] == 1.0
    assert result["zero_shot_mapping"]["red"] == {
        "labels": ["label 3"],
        "indices": [3],
        "rule": "edited",  # make_run's mapping is not what the names would map to
        "why": "Chosen by hand on the Zero-shot page.",
    }
    assert result["zero_shot_mapping"]["green"]["labels"] == []
    code, out, _ = run_cli(capsys, "train", *argv)
    assert "zero-shot (ImageNet; 100.0% on the classes it can name)" in out
    assert "  red: label 3 (edited: Chosen by hand on the Zero-shot page.)" in out

    def unavailable(settings):
        raise ModelUnavailableError("no zero-shot model here")

    # Without the zero-shot model, evaluate reports the run's saved figures.
    monkeypatch.setattr(cli_evaluate.ZeroShotClassifier, "load", unavailable)
    code, out, _ = run_cli(capsys, "evaluate", "--run", result["run_id"], *argv, "--json")
    evaluated = json.loads(out)
    assert evaluated["zero_shot_error"] == "no zero-shot model here"
    assert evaluated["zero_shot_accuracy"] == pytest.approx(2 / 3)
    assert evaluated["zero_shot_named_accuracy"] == 1.0
    assert evaluated["zero_shot_named_classes"] == ["blue", "red"]


def test_evaluate_notes_a_damaged_mapping_record_and_still_evaluates(
    capsys, image_folder, runs_dir
):
    run_id = save_run(runs_dir, tiny_classifier())
    RunStore(runs_dir).save_extra(run_id, MAPPING_DOCUMENT, {"format": 1})
    argv = ["evaluate", "--run", run_id, "--data", str(image_folder), "--runs-dir", str(runs_dir)]
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0 and json.loads(out)["zero_shot_mapping"] == {}
    assert "note: Run" in err and "zero_shot_mapping.json is damaged" in err
