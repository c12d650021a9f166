"""run_experiment wiring, with fakes for scanning, splitting, zero-shot, training and evaluation."""

from __future__ import annotations

import threading
from pathlib import Path

import keras
import pytest

from engine import experiment
from engine.datasets import Dataset, Skipped, Split, Subset
from engine.errors import (
    ConfigError,
    ModelUnavailableError,
    RunNotFoundError,
    RunStoreError,
    TrainingCancelled,
)
from engine.evaluation import Evaluation
from engine.runs import RunStore
from engine.settings import Settings
from engine.training import FineTunedClassifier, ProgressEvent, TrainConfig, TrainResult
from engine.zero_shot import ZeroShotReport

CLASSES = ("cat", "dog")
CANCEL_MESSAGE = "Training stopped because you cancelled it."


def head_event(kind: str, epoch: int = 0, **fields) -> ProgressEvent:
    return ProgressEvent(kind, "head", 1, 1, epoch=epoch, num_epochs=2, **fields)


class Fakes:
    """Stand-ins for the modules run_experiment calls; they record what they were given."""

    def __init__(self, root: Path) -> None:
        paths = tuple(root / name / f"{i}.png" for name in CLASSES for i in range(3))
        self.dataset = Dataset(
            root=root,
            class_names=CLASSES,
            paths=paths,
            labels=(0, 0, 0, 1, 1, 1),
            skipped=(Skipped(str(root / "cat" / "notes.txt"), "not an image"),),
            warnings=("class 'dog' has only 3 images (5 or more recommended)",),
        )
        self.split = Split(
            CLASSES,
            train=Subset(paths[0:2] + paths[3:5], (0, 0, 1, 1)),
            validation=Subset((), ()),
            test=Subset((paths[2], paths[5]), (0, 1)),
        )
        self.report = ZeroShotReport(
            accuracy=0.5,
            predicted=(0, None),
            top_labels=("tabby", "ski"),
            top_probs=(0.9, 0.7),
            mapping={"cat": [282], "dog": []},
            unmapped_classes=("dog",),
        )
        model = keras.Sequential(
            [keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(2, "softmax")]
        )
        self.classifier = FineTunedClassifier(model, CLASSES, 4)
        self.evaluation = Evaluation(
            class_names=CLASSES,
            accuracy=1.0,
            per_class={
                c: {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1} for c in CLASSES
            },
            confusion=[[1, 0], [0, 1]],
            rows=[
                {"path": paths[2], "true": "cat", "predicted": "cat", "zero_shot_label": "tabby"}
            ],
        )
        self.calls: dict[str, tuple] = {}
        self.cancel_after_epoch: int | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("scan_dataset", "split_dataset", "read_split_file", "evaluate_zero_shot"):
            monkeypatch.setattr(experiment, name, getattr(self, name))
        monkeypatch.setattr(experiment, "fit", self.fit)
        monkeypatch.setattr(experiment, "evaluate", self.evaluate)

    def scan_dataset(self, root, max_pixels):
        self.calls["scan_dataset"] = (root, max_pixels)
        return self.dataset

    def split_dataset(self, dataset, validation_fraction, test_fraction, seed):
        self.calls["split_dataset"] = (dataset, validation_fraction, test_fraction, seed)
        return self.split

    def read_split_file(self, dataset, csv_path, validation_fraction, seed):
        self.calls["read_split_file"] = (dataset, csv_path, validation_fraction, seed)
        return self.split

    def evaluate_zero_shot(self, classifier, subset, class_names, mapping=None):
        self.calls["evaluate_zero_shot"] = (classifier, subset, class_names, mapping)
        return self.report

    def fit(self, split, config, settings, on_event=None, cancel=None):
        self.calls["fit"] = (split, config, settings, cancel)
        on_event(head_event("stage_start"))
        for epoch in (1, 2):
            on_event(head_event("batch", epoch, batch=1, num_batches=1, metrics={"loss": 1.0}))
            if epoch == self.cancel_after_epoch:
                raise TrainingCancelled(CANCEL_MESSAGE)
            on_event(head_event("epoch_end", epoch, metrics={"loss": 1 / epoch, "accuracy": 0.5}))
        on_event(head_event("stage_end", 2))
        return TrainResult(
            classifier=self.classifier,
            history={"loss": [1.0, 0.5], "accuracy": [0.5, 0.5]},
            stages=["head", "head"],
            seconds=3.5,
            cached_features=True,
        )

    def evaluate(self, classifier, subset, zero_shot=None, batch_size=32):
        self.calls["evaluate"] = (classifier, subset, zero_shot, batch_size)
        return self.evaluation


@pytest.fixture
def fakes(tmp_path, monkeypatch) -> Fakes:
    fakes = Fakes(tmp_path / "pets")
    fakes.install(monkeypatch)
    return fakes


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(runs_dir=tmp_path / "runs", max_image_pixels=1234)


def loader_of(classifier):
    return lambda: classifier


def test_a_complete_run_is_saved_with_every_figure(fakes, settings):
    events: list[ProgressEvent] = []
    cancel = threading.Event()
    config = TrainConfig(epochs=2, seed=7, validation_fraction=0.2, test_fraction=0.3)

    info = experiment.run_experiment(
        "pets", config, settings, zero_shot=loader_of("hub"), on_event=events.append, cancel=cancel
    )

    assert fakes.calls["scan_dataset"] == ("pets", 1234)
    assert fakes.calls["split_dataset"][1:] == (0.2, 0.3, 7)
    assert fakes.calls["evaluate_zero_shot"] == ("hub", fakes.split.test, CLASSES, None)
    assert fakes.calls["fit"][3] is cancel
    assert fakes.calls["evaluate"][2] is fakes.report
    run = RunStore(settings.runs_dir).load(info.run_id)
    assert run.info == info
    assert (info.status, info.test_accuracy, info.zero_shot_accuracy) == ("complete", 1.0, 0.5)
    assert info.train_seconds == 3.5
    assert info.dataset == str(fakes.dataset.root)
    assert info.config["seed"] == 7
    metrics = run.metrics
    assert metrics["accuracy"] == 1.0
    assert metrics["confusion"] == [[1, 0], [0, 1]]
    assert metrics["per_class"]["dog"]["support"] == 1
    assert metrics["class_names"] == list(CLASSES)
    assert metrics["dataset"] == str(fakes.dataset.root)
    assert metrics["skipped"] == 1
    assert metrics["skipped_files"][0]["reason"] == "not an image"
    assert metrics["warnings"] == list(fakes.dataset.warnings)
    assert metrics["split"] == {"train": 4, "validation": 0, "test": 2}
    zero_shot = metrics["zero_shot"]
    assert zero_shot["accuracy"] == 0.5
    assert zero_shot["confusion"] == [[1, 0], [0, 0]]  # the unmapped prediction is in no column
    assert zero_shot["per_class"]["cat"]["recall"] == 1.0
    assert zero_shot["mapping"] == {"cat": [282], "dog": []}
    assert zero_shot["unmapped_classes"] == ["dog"]
    assert run.history == {"loss": [1.0, 0.5], "accuracy": [0.5, 0.5], "stage": ["head", "head"]}
    assert run.predictions[0]["path"] == str(fakes.split.test.paths[0])
    assert RunStore(settings.runs_dir).load_model(info.run_id).class_names == CLASSES


def test_events_are_numbered_over_the_whole_experiment(fakes, settings):
    events: list[ProgressEvent] = []
    config = TrainConfig(augment=True)  # one training stage ('head'), like the fake fit

    experiment.run_experiment(
        "pets", config, settings, zero_shot=loader_of("hub"), on_event=events.append
    )

    stages = [(e.kind, e.stage, e.stage_index, e.num_stages) for e in events if "stage" in e.kind]
    assert stages == [
        ("stage_start", "zero_shot", 1, 3),
        ("stage_end", "zero_shot", 1, 3),
        ("stage_start", "head", 2, 3),
        ("stage_end", "head", 2, 3),
        ("stage_start", "evaluate", 3, 3),
        ("stage_end", "evaluate", 3, 3),
    ]
    assert [e.epoch for e in events if e.kind == "epoch_end"] == [1, 2]


def test_a_split_file_replaces_the_random_split(fakes, settings):
    config = TrainConfig(validation_fraction=0.25, seed=3)
    experiment.run_experiment(
        "pets", config, settings, split_file="splits.csv", zero_shot=loader_of("hub")
    )
    assert fakes.calls["read_split_file"] == (fakes.dataset, "splits.csv", 0.25, 3)
    assert "split_dataset" not in fakes.calls


def test_a_mapping_is_passed_to_the_zero_shot_evaluation(fakes, settings):
    mapping = {"cat": [281, 282], "dog": [207]}
    experiment.run_experiment(
        "pets", TrainConfig(), settings, mapping=mapping, zero_shot=loader_of("hub")
    )
    assert fakes.calls["evaluate_zero_shot"][3] == mapping


def test_a_missing_zero_shot_model_is_noted_not_fatal(fakes, settings):
    message = "No zero-shot model at /nope; set TLAB_ZERO_SHOT_MODEL to a SavedModel folder."

    def unavailable():
        raise ModelUnavailableError(message)

    info = experiment.run_experiment("pets", TrainConfig(), settings, zero_shot=unavailable)

    assert info.status == "complete"
    assert info.zero_shot_accuracy is None
    assert fakes.calls["evaluate"][2] is None
    assert RunStore(settings.runs_dir).load(info.run_id).metrics["zero_shot"] == {"error": message}


def test_the_default_zero_shot_loader_reads_the_settings(fakes, settings, monkeypatch):
    loaded_with = []
    monkeypatch.setattr(
        experiment.ZeroShotClassifier, "load", lambda s: loaded_with.append(s) or "hub"
    )
    experiment.run_experiment("pets", TrainConfig(), settings)
    assert loaded_with == [settings]
    assert fakes.calls["evaluate_zero_shot"][0] == "hub"


def test_a_cancelled_training_saves_a_cancelled_run_and_reraises(fakes, settings):
    fakes.cancel_after_epoch = 2

    with pytest.raises(TrainingCancelled, match=CANCEL_MESSAGE):
        experiment.run_experiment("pets", TrainConfig(), settings, zero_shot=loader_of("hub"))

    store = RunStore(settings.runs_dir)
    [info] = store.list()
    assert (info.status, info.test_accuracy, info.zero_shot_accuracy) == ("cancelled", None, 0.5)
    assert info.train_seconds is not None
    run = store.load(info.run_id)
    assert run.history == {"loss": [1.0], "accuracy": [0.5], "stage": ["head"]}
    assert run.predictions == []
    assert "accuracy" not in run.metrics
    assert run.metrics["zero_shot"]["accuracy"] == 0.5
    assert "evaluate" not in fakes.calls
    with pytest.raises(RunNotFoundError, match="no model"):
        store.load_model(info.run_id)


def test_cancel_still_wins_when_the_cancelled_run_cannot_be_saved(
    fakes, settings, monkeypatch, caplog
):
    fakes.cancel_after_epoch = 1

    def store_broken(*args, **kwargs):
        raise RunStoreError("Could not save the run in runs: No space left on device.")

    monkeypatch.setattr(experiment.RunStore, "save", store_broken)
    with pytest.raises(TrainingCancelled):
        experiment.run_experiment("pets", TrainConfig(), settings, zero_shot=loader_of("hub"))
    assert "No space left on device" in caplog.text


def test_an_invalid_config_fails_before_any_work(fakes, settings):
    with pytest.raises(ConfigError, match="batch_size"):
        experiment.run_experiment("pets", TrainConfig(batch_size=0), settings)
    assert fakes.calls == {}
