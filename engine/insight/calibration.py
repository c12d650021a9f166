"""Calibrated confidence and 'not sure': temperatures fitted on a run's validation photos, how
well each model's confidence matches its accuracy on the test photos, the chosen threshold.

Saved with the run as two extra documents: 'calibration' (computed, at training or later) and
'threshold' (the user's choice on the Evaluate page).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.access import require_editor
from engine.errors import ConfigError
from engine.insight.temperature import (
    NUM_BINS,
    THRESHOLDS,
    Bin,
    CoveragePoint,
    Scores,
    coverage_curve,
    expected_calibration_error,
    fit_temperature,
    log_of,
    reliability,
    softmax_of,
)
from engine.run_documents import load_document
from engine.runs import RunStore
from engine.schema import Fields, RecordError, versioned
from engine.settings import Settings

CALIBRATION = "calibration"  # the run's calibration.json
THRESHOLD = "threshold"  # the run's threshold.json
FORMAT = 1  # of both documents
# Below this many validation photos a fitted temperature is guesswork: none is fitted.
MIN_VALIDATION = 10


@dataclass(frozen=True)
class ModelCalibration:
    """One model on the test photos, before and after its temperature."""

    temperature: float | None  # None: not fitted (note says why); confidences are raw
    note: str | None
    num_validation: int  # photos the temperature was fitted on
    num_test: int  # photos everything else was measured on
    ece_before: float
    ece_after: float | None
    reliability_before: tuple[Bin, ...]
    reliability_after: tuple[Bin, ...]  # empty without a temperature
    coverage: tuple[CoveragePoint, ...]  # one per THRESHOLDS, of the calibrated confidences

    def at(self, threshold: float) -> CoveragePoint:
        """The coverage point of the highest listed threshold at or below threshold."""
        kept = [point for point in self.coverage if point.threshold <= threshold + 1e-9]
        return kept[-1] if kept else self.coverage[0]

    def to_dict(self) -> dict:
        return {
            "temperature": self.temperature,
            "note": self.note,
            "num_validation": self.num_validation,
            "num_test": self.num_test,
            "ece_before": self.ece_before,
            "ece_after": self.ece_after,
            "reliability_before": [b.to_dict() for b in self.reliability_before],
            "reliability_after": [b.to_dict() for b in self.reliability_after],
            "coverage": [point.to_dict() for point in self.coverage],
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> ModelCalibration:
        fields = Fields(data, where)
        temperature = fields.number("temperature", optional=True)
        if temperature is not None and temperature <= 0:
            raise RecordError(f"{where}: temperature {temperature} is not above 0")
        coverage = tuple(fields.items("coverage", CoveragePoint.from_dict))
        if len(coverage) != len(THRESHOLDS):
            raise RecordError(f"{where}.coverage does not have one point per threshold")
        return cls(
            temperature=temperature,
            note=fields.text("note", optional=True),
            num_validation=fields.count("num_validation"),
            num_test=fields.count("num_test"),
            ece_before=fields.number("ece_before"),
            ece_after=fields.number("ece_after", optional=True),
            reliability_before=tuple(fields.items("reliability_before", Bin.from_dict)),
            reliability_after=tuple(fields.items("reliability_after", Bin.from_dict)),
            coverage=coverage,
        )


def calibrate_model(validation: Scores, test: Scores, photos: str) -> ModelCalibration:
    """Fit a temperature on validation and measure both confidences on test (never used to
    fit anything); `photos` names the validation photos in a note when they are too few."""
    temperature, note = None, None
    if len(validation) < MIN_VALIDATION:
        note = (
            f"only {len(validation)} validation photos{photos}; a temperature needs "
            f"{MIN_VALIDATION} or more, so the confidences are shown as the model gives them"
        )
    else:
        temperature = fit_temperature(validation)
    correct = test.correct()
    before = reliability(test.confidences(), correct)
    after = reliability(test.confidences(temperature), correct) if temperature else ()
    return ModelCalibration(
        temperature=temperature,
        note=note,
        num_validation=len(validation),
        num_test=len(test),
        ece_before=expected_calibration_error(before),
        ece_after=expected_calibration_error(after) if temperature else None,
        reliability_before=before,
        reliability_after=after,
        coverage=coverage_curve(test.confidences(temperature or 1.0), correct),
    )


@dataclass(frozen=True)
class Calibration:
    """Both models' calibration on a run's test photos (the 'calibration' document)."""

    fine_tuned: ModelCalibration
    zero_shot: ModelCalibration | None  # on photos of classes ImageNet can name
    zero_shot_note: str | None  # why there is no zero-shot calibration
    num_bins: int = NUM_BINS

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "num_bins": self.num_bins,
            "fine_tuned": self.fine_tuned.to_dict(),
            "zero_shot": None if self.zero_shot is None else self.zero_shot.to_dict(),
            "zero_shot_note": self.zero_shot_note,
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "calibration.json") -> Calibration:
        """Raises RecordError: a field is missing or wrong, or a newer version wrote it."""
        fields = versioned(data, where, FORMAT)
        fine_tuned = fields.fields("fine_tuned")
        zero_shot = fields.fields("zero_shot", optional=True)
        return cls(
            fine_tuned=ModelCalibration.from_dict(fine_tuned.data, fine_tuned.where),
            zero_shot=None
            if zero_shot is None
            else ModelCalibration.from_dict(zero_shot.data, zero_shot.where),
            zero_shot_note=fields.text("zero_shot_note", optional=True),
            num_bins=fields.count("num_bins"),
        )

    def summary(self) -> dict:
        """Temperatures and errors of both models, for the CLI's JSON."""
        return {
            name: None
            if model is None
            else {
                "temperature": model.temperature,
                "ece_before": model.ece_before,
                "ece_after": model.ece_after,
                "num_validation": model.num_validation,
                "num_test": model.num_test,
                "note": model.note,
            }
            for name, model in (("fine_tuned", self.fine_tuned), ("zero_shot", self.zero_shot))
        }


def calibrate(
    fine_tuned: tuple[Scores, Scores],
    zero_shot: tuple[Scores, Scores] | None,
    zero_shot_note: str | None = None,
) -> Calibration:
    """Calibration of both models from their (validation, test) scores."""
    zero_shot_result = None
    if zero_shot is not None:
        zero_shot_result = calibrate_model(*zero_shot, " of classes ImageNet can name")
    return Calibration(
        fine_tuned=calibrate_model(*fine_tuned, ""),
        zero_shot=zero_shot_result,
        zero_shot_note=zero_shot_note,
    )


def load_calibration(store: RunStore, run_id: str) -> Calibration | None:
    """The run's calibration, None when it has none (saved before calibration existed).

    Raises:
        RunNotFoundError: no such run, or its calibration.json is damaged.
    """
    return load_document(store, run_id, CALIBRATION, Calibration.from_dict, "compute it again")


def save_calibration(
    store: RunStore, settings: Settings, run_id: str, calibration: Calibration
) -> None:
    """Save (or replace) the run's calibration.

    Raises:
        ReadOnlyError: viewer mode. RunNotFoundError, RunStoreError: as RunStore.save_extra.
    """
    require_editor(settings, "save a calibration")
    store.save_extra(run_id, CALIBRATION, calibration.to_dict())


@dataclass(frozen=True)
class NotSure:
    """The chosen confidence threshold (the 'threshold' document): below it Classify and
    `predict` answer 'not sure', still showing their best guesses."""

    threshold: float  # compared with the calibrated probability of the top answer
    temperature: float | None  # the fine-tuned temperature it was chosen with (None: raw)
    coverage: float  # share of the test photos answered when it was chosen
    accuracy: float | None  # share of those answered right

    def calibrated(self, probabilities: np.ndarray) -> np.ndarray:
        """The fine-tuned model's probabilities [N, classes] at this temperature."""
        if self.temperature is None:
            return np.asarray(probabilities, np.float32)
        return softmax_of(log_of(probabilities), self.temperature).astype(np.float32)

    def is_sure(self, probability: float) -> bool:
        return probability >= self.threshold

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "threshold": self.threshold,
            "temperature": self.temperature,
            "coverage": self.coverage,
            "accuracy": self.accuracy,
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "threshold.json") -> NotSure:
        """Raises RecordError: a field is missing or wrong, or a newer version wrote it."""
        fields = versioned(data, where, FORMAT)
        threshold = fields.number("threshold")
        temperature = fields.number("temperature", optional=True)
        if not 0 <= threshold < 1 or (temperature is not None and temperature <= 0):
            raise RecordError(f"{where}: threshold or temperature out of range")
        return cls(
            threshold=threshold,
            temperature=temperature,
            coverage=fields.number("coverage"),
            accuracy=fields.number("accuracy", optional=True),
        )


def save_threshold(
    store: RunStore, settings: Settings, run_id: str, threshold: float, calibration: Calibration
) -> NotSure:
    """Save the threshold chosen on calibration's coverage curve; returns what was saved.

    Raises:
        ConfigError: threshold is not in [0, 1). ReadOnlyError: viewer mode.
        RunNotFoundError, RunStoreError: as RunStore.save_extra.
    """
    require_editor(settings, "save a confidence threshold")
    if not 0 <= threshold < 1:
        raise ConfigError(f"A confidence threshold is between 0% and 99%; got {threshold:.0%}.")
    point = calibration.fine_tuned.at(threshold)
    rule = NotSure(
        threshold=float(threshold),
        temperature=calibration.fine_tuned.temperature,
        coverage=point.coverage,
        accuracy=point.accuracy,
    )
    store.save_extra(run_id, THRESHOLD, rule.to_dict())
    return rule


def load_not_sure(store: RunStore, run_id: str) -> NotSure | None:
    """The run's threshold and the temperature to apply before it; None when none was chosen.

    Raises:
        RunNotFoundError: no such run, or its threshold.json is damaged.
    """
    return load_document(
        store,
        run_id,
        THRESHOLD,
        NotSure.from_dict,
        "choose the threshold again on the Evaluate page",
    )


def load_threshold(store: RunStore, run_id: str) -> float | None:
    """The run's confidence threshold in [0, 1), None when none was chosen. It applies to the
    calibrated probabilities: load_not_sure gives the temperature and applies both."""
    rule = load_not_sure(store, run_id)
    return None if rule is None else rule.threshold
