"""run_experiment wiring, with fakes for scanning, splitting, zero-shot, training and evaluation."""

from __future__ import annotations

import threading
from pathlib import Path

import keras
import pytest

from engine import experiment
from engine.classifiers import FineTunedClassifier, load_run_classifier
from engine.config import TrainConfig
from engine.data.scan import Dataset, Skipped
from engine.data.split import Split, Subset
from engine.errors import (
    ConfigError,
    ModelUnavailableError,
    RunNotFoundError,
    RunStoreError,
    TrainingCancelled,
)
from engine.evaluation import Evaluation, Prediction, ZeroShotResult
from engine.events import ProgressEvent
from engine.metrics import compute_metrics
from engine.runs import RunStore
from engine.settings import Settings
from engine.training import TrainResult
from engine.zero_shot import ZeroShotReport

CLASSES = ("cat", "dog")
CANCEL_MESSAGE = "Training stopped because you cancelled it."


class Fakes:
    """Stand-ins for the modules run_experiment calls; they record what they were given."""

    def __init__(self, root: Path) -> None:
        paths = tuple(root / name / f"{i}.png" for name in CLASSES for i in range(3))
        for path in paths:  # the split record hashes the files (never decoded here)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(path.name.encode() + path.parent.name.encode())
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
        zero_shot = ZeroShotResult(
            metrics=compute_metrics((0, 1), (0, None), CLASSES),
            mapping={"cat": [282], "dog": []},
            unmapped_classes=("dog",),
        )
        self.report = ZeroShotReport(
            result=zero_shot, predicted=(0, None), top_labels=("tabby", "ski"), top_probs=(0.9, 0.7)
        )
        model = keras.Sequential(
            [keras.Input((4, 4, 3)), keras.layers.Flatten(), keras.layers.Dense(2, "softmax")]
        )
        self.classifier = FineTunedClassifier(model, CLASSES, 4)
        self.evaluation = Evaluation(
            metrics=compute_metrics((0, 1), (0, 1), CLASSES),
            predictions=(
                Prediction(str(paths[2]), "cat", "cat", 0.9, "tabby", "cat"),
                Prediction(str(paths[5]), "dog", "dog", 0.8, "ski", None),
            ),
            zero_shot=zero_shot,
        )
        self.calls: dict[str, tuple] = {}
        self.cancel_after_epoch: int | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("scan_dataset", "make_split", "evaluate_zero_shot", "evaluate"):
            monkeypatch.setattr(experiment, name, getattr(self, name))
        monkeypatch.setattr(experiment.training, "fit", self.fit)

    def scan_dataset(self, root, max_pixels):
        self.calls["scan_dataset"] = (root, max_pixels)
        return self.dataset

    def make_split(self, dataset, config, split_file=None):
        self.calls["make_split"] = (dataset, config, split_file)
        return self.split

    def evaluate_zero_shot(self, classifier, subset, class_names, mapping=None, **kwargs):
        # The loader's model reaches the evaluation wrapped in a recording of its answers.
        self.calls["evaluate_zero_shot"] = (classifier.model, subset, class_names, mapping)
        kwargs["on_batch"](1)
        return self.report

    def fit(self, split, config, settings, progress):
        self.calls["fit"] = (split, config, settings, progress.cancel)
        progress.start_stage("head")
        for epoch in (1, 2):
            progress.batch(epoch, 1, {"loss": 1.0})
            if epoch == self.cancel_after_epoch:
                raise TrainingCancelled(CANCEL_MESSAGE)
            progress.epoch_end(epoch, {"loss": 1 / epoch, "accuracy": 0.5})
        progress.end_stage()
        return TrainResult(
            classifier=self.classifier,
            history=progress.history.copy(),
            seconds=3.5,
            cached_features=True,
        )

    def evaluate(self, classifier, subset, zero_shot=None, batch_size=32, on_batch=None):
        self.calls["evaluate"] = (classifier, subset, zero_shot, batch_size)
        on_batch(1)
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
    assert fakes.calls["make_split"] == (fakes.dataset, config, None)
    assert fakes.calls["evaluate_zero_shot"] == ("hub", fakes.split.test, CLASSES, None)
    assert fakes.calls["fit"][3] is cancel
    assert fakes.calls["evaluate"][2] is fakes.report
    run = RunStore(settings.runs_dir).load(info.run_id)
    assert run.info == info
    assert (info.status, info.test_accuracy, info.zero_shot_accuracy) == ("complete", 1.0, 0.5)
    assert info.train_seconds == 3.5
    assert info.dataset == str(fakes.dataset.root)
    assert info.config.seed == 7
    metrics = run.evaluation.metrics
    assert metrics.accuracy == 1.0
    assert metrics.confusion == ((1, 0), (0, 1))
    assert metrics.per_class["dog"].support == 1
    assert run.data.dataset == str(fakes.dataset.root)
    assert run.data.skipped_files[0].reason == "not an image"
    assert run.data.warnings == fakes.dataset.warnings
    assert (run.data.num_train, run.data.num_validation, run.data.num_test) == (4, 0, 2)
    zero_shot = run.zero_shot
    assert zero_shot.metrics.accuracy == 0.5
    assert zero_shot.metrics.confusion == ((1, 0), (0, 0))  # the unmapped answer is in no column
    assert zero_shot.metrics.per_class["cat"].recall == 1.0
    assert zero_shot.mapping == {"cat": [282], "dog": []}
    assert zero_shot.unmapped_classes == ("dog",)
    assert run.history.values == {
        "loss": [1.0, 0.5],
        "accuracy": [0.5, 0.5],
        "stage": ["head", "head"],
    }
    assert run.evaluation.predictions[0].path == str(fakes.split.test.paths[0])
    assert run.split.counts() == {"train": 4, "validation": 0, "test": 2}
    assert [photo.path for photo in run.split.parts["test"]] == ["cat/2.png", "dog/2.png"]
    assert run.info.mapping_source == "automatic" and run.info.uses_defaults is False
    assert load_run_classifier(RunStore(settings.runs_dir), info.run_id).class_names == CLASSES


def test_events_are_numbered_over_the_whole_experiment(fakes, settings):
    events: list[ProgressEvent] = []
    config = TrainConfig(augment=True)  # one training stage ('head'), like the fake fit

    experiment.run_experiment(
        "pets", config, settings, zero_shot=loader_of("hub"), on_event=events.append
    )

    stages = [(e.kind, e.stage, e.stage_index, e.num_stages) for e in events if "stage" in e.kind]
    # The zero-shot and evaluation stages count their batches like the training stages.
    assert [(e.stage, e.batch) for e in events if e.kind == "batch" and e.epoch == 0] == [
        ("zero_shot", 1),
        ("evaluate", 1),
    ]
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
    assert fakes.calls["make_split"] == (fakes.dataset, config, "splits.csv")


def test_a_mapping_is_passed_to_the_zero_shot_evaluation(fakes, settings):
    mapping = {"cat": [281, 282], "dog": [207]}
    experiment.run_experiment(
        "pets", TrainConfig(), settings, mapping=mapping, zero_shot=loader_of("hub")
    )
    assert fakes.calls["evaluate_zero_shot"][3] == mapping
    assert RunStore(settings.runs_dir).list()[0].mapping_source == "edited"


def test_a_missing_zero_shot_model_is_noted_not_fatal(fakes, settings):
    message = "No zero-shot model at /nope; set TLAB_ZERO_SHOT_MODEL to a SavedModel folder."

    def unavailable():
        raise ModelUnavailableError(message)

    info = experiment.run_experiment("pets", TrainConfig(), settings, zero_shot=unavailable)

    assert info.status == "complete"
    assert info.zero_shot_accuracy is None
    assert fakes.calls["evaluate"][2] is None
    run = RunStore(settings.runs_dir).load(info.run_id)
    assert (run.zero_shot, run.zero_shot_error) == (None, message)


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
    assert run.history.values == {"loss": [1.0], "accuracy": [0.5], "stage": ["head"]}
    assert run.evaluation is None
    assert run.zero_shot.metrics.accuracy == 0.5
    assert "evaluate" not in fakes.calls
    with pytest.raises(RunNotFoundError, match="no model"):
        load_run_classifier(store, info.run_id)


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
