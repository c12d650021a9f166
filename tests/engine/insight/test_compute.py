"""The passes behind the insight documents: recorded test answers, validation passes that never
touch the test photos, cached features reused, a saved run calibrated later."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest

from engine.backbones import BACKBONES, register_backbone
from engine.classifiers import load_run_classifier
from engine.config import TrainConfig
from engine.data.record import record_split
from engine.data.scan import scan_dataset
from engine.data.split import Split, Subset, make_split
from engine.errors import DatasetError, ReadOnlyError
from engine.evaluation import predict_subset
from engine.experiment import run_experiment
from engine.insight import compute
from engine.insight.calibration import Calibration, load_calibration
from engine.insight.compute import (
    Recording,
    calibrate_saved_run,
    calibration_stages,
    fine_tuned_validation,
    run_documents,
)
from engine.insight.flips import LOSSES, RecordedLosses, load_flip_board
from engine.progress import Progress
from engine.runs import RunStore
from engine.runtime import Runtime
from engine.settings import Settings
from tests.support.runs import make_run, prediction
from tests.support.tiny import QUICK, TINY, TINY_SIZE, tiny_base

CLASSES = ("cat", "dog")
# Outputs of the planted ImageNet model: background, two cat labels, a dog label, a fox label.
LABELS = ("background", "tabby", "tiger cat", "beagle", "fox")
MAPPING = {"cat": [1, 2], "dog": [3]}


class Planted:
    """Answers each photo as planted for its number (the pipeline_calls fixture makes an
    image's pixels hold the number in its file name) and records the numbers it saw."""

    input_size = 4

    def __init__(self, class_names: tuple[str, ...], answers: dict[int, list[float]]) -> None:
        self.class_names = class_names
        self.answers = answers
        self.seen: list[int] = []

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        numbers = [int(value) for value in images[:, 0, 0, 0]]
        self.seen += numbers
        return np.array([self.answers[n] for n in numbers], np.float32)


def photos(start: int, labels: list[int]) -> Subset:
    return Subset(
        tuple(Path(f"/photos/{start + i}.png") for i in range(len(labels))), tuple(labels)
    )


def planted_answers(subset: Subset, right: float, sure: float, other: bool) -> dict:
    """Right on the first `right` share of the photos, each answer `sure` confident; the
    zero-shot shape (other=True) spreads them over LABELS."""
    answers = {}
    for i, (path, label) in enumerate(zip(subset.paths, subset.labels, strict=True)):
        guess = label if i < right * len(subset) else 1 - label
        if other:
            row = [0.0, 0.0, 0.0, 0.0, 1 - sure]
            row[1 if guess == 0 else 3] = sure
        else:
            row = [sure if c == guess else 1 - sure for c in range(2)]
        answers[int(path.stem)] = row
    return answers


@pytest.fixture
def planted_split() -> Split:
    validation = photos(100, [0, 1] * 15)
    test = photos(200, [0, 1] * 20)
    return Split(CLASSES, train=Subset((), ()), validation=validation, test=test)


def test_calibration_fits_on_validation_photos_and_measures_on_the_recorded_test_answers(
    planted_split, pipeline_calls, tmp_path
):
    split = planted_split
    # Over-confident on validation (60% right at 97%), under-confident on test (95% at 60%):
    # a fit that read the test photos would sharpen, not soften.
    answers = {
        **planted_answers(split.validation, 0.6, 0.97, other=False),
        **planted_answers(split.test, 0.95, 0.6, other=False),
    }
    zero_shot_answers = {
        **planted_answers(split.validation, 0.6, 0.97, other=True),
        **planted_answers(split.test, 0.95, 0.6, other=True),
    }
    fine_tuned = Recording(Planted(CLASSES, answers))
    zero_shot = Recording(Planted(LABELS, zero_shot_answers))
    predict_subset(fine_tuned, split.test)  # what the evaluation does
    predict_subset(zero_shot, split.test)
    config = TrainConfig(augment=True, batch_size=8)  # no cached features: a validation pass
    events = []
    progress = Progress(calibration_stages(split, config), events.append)

    documents = run_documents(
        split, config, Settings(runs_dir=tmp_path), fine_tuned, zero_shot, MAPPING, progress
    )

    validation_numbers = [int(path.stem) for path in split.validation.paths]
    assert fine_tuned.model.seen[len(split.test) :] == validation_numbers
    assert zero_shot.model.seen[len(split.test) :] == validation_numbers
    calibration = Calibration.from_dict(documents["calibration"])
    for model in (calibration.fine_tuned, calibration.zero_shot):
        assert model.temperature > 1, "fitted on the over-confident validation photos"
        assert (model.num_validation, model.num_test) == (30, 40)
    assert calibration.fine_tuned.ece_before == pytest.approx(0.35, abs=1e-6)  # 95% right at 60%
    losses = RecordedLosses.from_dict(documents[LOSSES]).true_probabilities
    assert losses[str(split.test.paths[0])] == pytest.approx(0.6)
    assert {e.stage for e in events} == {"calibrate"}
    assert max(e.batch for e in events if e.kind == "batch") == 8  # 4 batches per model


def test_nothing_is_computed_when_the_recording_does_not_cover_the_test_photos(
    planted_split, tmp_path
):
    stand_in = Recording(Planted(CLASSES, {}))  # a model that never ran (a fake evaluation)
    progress = Progress(calibration_stages(planted_split, TrainConfig()))
    settings = Settings(runs_dir=tmp_path)
    assert (
        run_documents(planted_split, TrainConfig(), settings, stand_in, None, None, progress) == {}
    )


# --- a real (tiny) training ------------------------------------------------------------------


class ColourZeroShot:
    """An 'ImageNet' that knows green and red (blue has no label) by the dominant colour."""

    input_size = 16
    class_names = ("background", "green", "red", "tabby cat")

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        means = np.asarray(images, np.float32).mean(axis=(1, 2)) + 1.0
        red, green, _ = (means / means.sum(axis=1, keepdims=True)).T
        return np.stack([np.full_like(red, 0.01), green, red, np.full_like(red, 0.02)], axis=1)


@pytest.fixture
def tiny_with_weights(tmp_path: Path):
    """The tiny backbone with a weights file, so its features are cached."""
    keras.utils.set_random_seed(7)
    weights = tmp_path / "tiny.weights.h5"
    tiny_base((TINY_SIZE, TINY_SIZE, 3)).save_weights(weights)
    spec = register_backbone(dataclasses.replace(TINY, weights=str(weights)))
    yield spec
    BACKBONES.pop(spec.name, None)


@pytest.mark.slow
def test_a_trained_run_saves_its_flips_and_calibration_from_cached_features(
    image_folder, tmp_path, tiny_with_weights, monkeypatch
):
    settings = Settings(runs_dir=tmp_path / "runs")
    config = dataclasses.replace(QUICK, validation_fraction=0.3)
    passes = []
    real_predict = compute.predict_subset

    def recorded(model, subset, *args, **kwargs):
        passes.append((type(model).__name__, len(subset)))
        return real_predict(model, subset, *args, **kwargs)

    monkeypatch.setattr(compute, "predict_subset", recorded)
    events = []

    info = run_experiment(
        image_folder, config, settings, zero_shot=ColourZeroShot, on_event=events.append
    )

    store = RunStore(settings.runs_dir)
    run = store.load(info.run_id)
    split = make_split(scan_dataset(image_folder), config)
    # The fine-tuned model reused the cached validation features: only zero-shot ran, on the
    # validation photos of the classes it can name (green and red).
    named = sum(split.class_names[label] != "blue" for label in split.validation.labels)
    assert passes == [("ColourZeroShot", named)]
    assert "calibrate" in [e.stage for e in events if e.kind == "stage_start"]
    calibration = load_calibration(store, info.run_id)
    assert calibration.fine_tuned.num_validation == len(split.validation) >= 10
    assert calibration.fine_tuned.temperature is not None
    assert calibration.zero_shot.num_test == sum(
        split.class_names[label] != "blue" for label in split.test.labels
    )
    board = load_flip_board(store, run)
    assert board.note is None, "every test photo's loss was recorded"
    assert board.counts()["cannot_name"] == split.test.labels.count(split.class_names.index("blue"))

    classifier = load_run_classifier(store, info.run_id, Runtime.from_settings(settings))
    np.testing.assert_allclose(
        fine_tuned_validation(classifier, split, config, settings),
        real_predict(classifier, split.validation),
        atol=1e-5,
    )


# --- a saved run calibrated later ------------------------------------------------------------


class ColourClassifier:
    """A fine-tuned stand-in on the colour classes (blue, green, red)."""

    input_size = 16
    class_names = ("blue", "green", "red")

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        means = np.asarray(images, np.float32).mean(axis=(1, 2)) + 1.0
        red, green, blue = (means / means.sum(axis=1, keepdims=True)).T
        return np.stack([blue, green, red], axis=1)


def save_run_with_split(store: RunStore, folder: Path) -> tuple[str, Split]:
    """A run of the colour folder that recorded its split, saved before calibration existed."""
    config = TrainConfig(validation_fraction=0.4, test_fraction=0.2)
    split = make_split(scan_dataset(folder), config)
    names = split.class_names
    rows = [
        prediction(
            names[label], zero_shot=names[label] if names[label] != "blue" else "", path=str(path)
        )
        for path, label in zip(split.test.paths, split.test.labels, strict=True)
    ]
    run = make_run(names, rows, config=config, dataset=str(folder))
    return store.save(dataclasses.replace(run, split=record_split(split, folder))), split


def test_a_saved_run_is_calibrated_on_its_recorded_photos_and_gets_its_losses(
    image_folder, tmp_path
):
    store = RunStore(tmp_path / "runs")
    run_id, split = save_run_with_split(store, image_folder)

    calibration = calibrate_saved_run(
        store, Settings(runs_dir=store.root), run_id, ColourClassifier(), ColourZeroShot()
    )

    assert load_calibration(store, run_id) == calibration
    assert calibration.fine_tuned.num_validation == len(split.validation)
    assert calibration.fine_tuned.num_test == len(split.test)
    assert calibration.zero_shot.num_validation == sum(
        label != 0 for label in split.validation.labels
    )
    assert load_flip_board(store, store.load(run_id)).note is None


def test_calibrating_a_saved_run_is_refused_in_viewer_mode_and_without_a_split(
    image_folder, tmp_path
):
    store = RunStore(tmp_path / "runs")
    run_id, _ = save_run_with_split(store, image_folder)
    viewer = Settings(runs_dir=store.root, mode="viewer")
    with pytest.raises(ReadOnlyError):
        calibrate_saved_run(store, viewer, run_id, ColourClassifier(), None)
    assert load_calibration(store, run_id) is None

    old = store.save(make_run(("blue", "green", "red")))
    with pytest.raises(DatasetError, match="train it again"):
        calibrate_saved_run(store, Settings(runs_dir=store.root), old, ColourClassifier(), None)


def test_without_a_zero_shot_model_the_trained_model_is_still_calibrated(image_folder, tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id, _ = save_run_with_split(store, image_folder)
    why = "No zero-shot model; set TLAB_ZERO_SHOT_MODEL."

    calibration = calibrate_saved_run(
        store, Settings(runs_dir=store.root), run_id, ColourClassifier(), None, why
    )

    assert calibration.zero_shot is None and calibration.zero_shot_note == why
    assert calibration.fine_tuned.num_test > 0
