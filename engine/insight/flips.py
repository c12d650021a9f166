"""The flip board: each test photo by whether the zero-shot and the fine-tuned model got it right
(fixed, broken, both right, both wrong; photos of classes ImageNet cannot name apart), each
group ordered by the fine-tuned model's loss, worst first (fastai's plot_top_losses)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from engine.data.split import Subset
from engine.errors import RunNotFoundError, first_line
from engine.evaluation import Evaluation, Prediction
from engine.run_record import Run
from engine.runs import RunStore
from engine.schema import Fields, RecordError, versioned

FIXED, BROKEN, BOTH_RIGHT, BOTH_WRONG = "fixed", "broken", "both_right", "both_wrong"
CANNOT_NAME = "cannot_name"  # the photo's class has no ImageNet label: zero-shot is always wrong
GROUPS = (FIXED, BROKEN, BOTH_RIGHT, BOTH_WRONG, CANNOT_NAME)
LOSSES = "flips"  # the run's flips.json: the true class's probability per test photo
FORMAT = 1
_FLOOR = 1e-30  # a probability that underflowed to 0 still gets a finite loss
_EPSILON = 1e-7  # float32 rounds a confidence this close to 1 up to 1.0


@dataclass(frozen=True)
class FlipPhoto:
    """One test photo on the board, with the fine-tuned model's loss on it."""

    prediction: Prediction
    loss: float  # cross-entropy: -log(probability of the true class)
    exact: bool  # False: a lower bound from the saved confidence (the run lacks flips.json)


@dataclass(frozen=True)
class FlipBoard:
    """The test photos in GROUPS, each group worst first."""

    groups: Mapping[str, tuple[FlipPhoto, ...]]
    note: str | None = None  # why the order is approximate, when it is

    def photos(self, group: str) -> tuple[FlipPhoto, ...]:
        return self.groups[group]

    def counts(self) -> dict[str, int]:
        """{group: number of photos} (the JSON the CLI prints)."""
        return {group: len(self.groups[group]) for group in GROUPS}


@dataclass(frozen=True)
class RecordedLosses:
    """What the flip board needs beyond predictions.json: the fine-tuned model's probability
    of each test photo's true class (the 'flips' document)."""

    true_probabilities: Mapping[str, float]  # photo path (as in predictions.json) -> probability

    @classmethod
    def of(cls, subset: Subset, probabilities: np.ndarray) -> RecordedLosses:
        """From the fine-tuned probabilities [N, classes] of subset's photos."""
        rows = np.arange(len(subset))
        truth = np.asarray(probabilities)[rows, np.asarray(subset.labels, int)]
        return cls({str(path): float(p) for path, p in zip(subset.paths, truth, strict=True)})

    def to_dict(self) -> dict:
        photos = [
            {"path": path, "true_probability": probability}
            for path, probability in self.true_probabilities.items()
        ]
        return {"format": FORMAT, "photos": photos}

    @classmethod
    def from_dict(cls, data: object, where: str = "flips.json") -> RecordedLosses:
        """Raises RecordError: a field is missing or wrong, or a newer version wrote it."""
        fields = versioned(data, where, FORMAT)
        return cls(dict(fields.items("photos", _photo)))


def _photo(data: object, where: str) -> tuple[str, float]:
    fields = Fields(data, where)
    probability = fields.number("true_probability")
    if not 0 <= probability <= 1:
        raise RecordError(f"{where}: true_probability {probability} is not a probability")
    return fields.text("path"), probability


def group_of(row: Prediction, named: frozenset[str]) -> str | None:
    """The row's group; None when the run has no zero-shot answer for it."""
    if row.zero_shot_correct is None:
        return None
    if row.true not in named:
        return CANNOT_NAME
    if row.correct:
        return BOTH_RIGHT if row.zero_shot_correct else FIXED
    return BROKEN if row.zero_shot_correct else BOTH_WRONG


def wins_text(evaluation: Evaluation) -> str:
    """How many test photos zero-shot got wrong and how many of those training put right,
    split by the board's own rule (classes ImageNet names: 'fixed'; the others apart)."""
    wrong = sum(row.zero_shot_correct is False for row in evaluation.predictions)
    wins = evaluation.wins()
    named = frozenset(evaluation.zero_shot.named_classes if evaluation.zero_shot else ())
    cannot_name = sum(group_of(row, named) == CANNOT_NAME for row in wins)
    text = (
        f"The ImageNet model got {wrong} of the {len(evaluation.predictions)} test photos "
        f"wrong; the trained model gets {len(wins)} of those right"
    )
    if not cannot_name:
        return text + "."
    return (
        f"{text}: {len(wins) - cannot_name} of classes ImageNet names (the flip board's "
        f"'fixed') and {cannot_name} of classes it has no word for."
    )


def flip_board(
    evaluation: Evaluation, losses: RecordedLosses | None = None, note: str | None = None
) -> FlipBoard | None:
    """The board of an evaluation; None when it has no zero-shot baseline to compare with.

    A photo missing from losses gets its loss from its saved confidence: exact when the
    answer is right (then the confidence is the true class's probability), otherwise the
    lower bound -log(1 - confidence).
    """
    if evaluation.zero_shot is None:
        return None
    named = frozenset(evaluation.zero_shot.named_classes)
    known = losses.true_probabilities if losses is not None else {}
    groups: dict[str, list[FlipPhoto]] = {group: [] for group in GROUPS}
    for row in evaluation.predictions:
        group = group_of(row, named)
        if group is not None:
            groups[group].append(_scored(row, known.get(row.path)))
    if note is None and any(not photo.exact for rows in groups.values() for photo in rows):
        note = (
            "this run was saved before losses were recorded, so wrong answers are ordered by "
            "their confidence (a lower bound of their loss)"
        )
    ordered = {group: tuple(sorted(rows, key=lambda p: -p.loss)) for group, rows in groups.items()}
    return FlipBoard(ordered, note)


def _scored(row: Prediction, true_probability: float | None) -> FlipPhoto:
    if true_probability is not None:
        return FlipPhoto(row, -math.log(max(true_probability, _FLOOR)), exact=True)
    if row.correct:
        return FlipPhoto(row, -math.log(max(row.confidence, _FLOOR)), exact=True)
    return FlipPhoto(row, -math.log(max(1.0 - row.confidence, _EPSILON)), exact=False)


def load_flip_board(store: RunStore, run: Run) -> FlipBoard | None:
    """The saved run's board with its recorded losses; None without an evaluation or a
    zero-shot baseline. A damaged flips.json only makes the order approximate (noted)."""
    if run.evaluation is None:
        return None
    note = None
    try:
        data = store.load_extra(run.info.run_id, LOSSES)
        losses = None if data is None else RecordedLosses.from_dict(data)
    except (RunNotFoundError, RecordError) as error:
        losses = None
        note = (
            f"the run's flips.json is damaged ({first_line(error)}), so wrong answers are "
            "ordered by their confidence instead of their loss"
        )
    return flip_board(run.evaluation, losses, note)
