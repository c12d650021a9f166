"""The fine-tuned model's answers with 'not sure': below the run's chosen threshold (on the
calibrated probabilities) it says so, and still gives its best guesses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.classifiers import Classifier, top_k
from engine.insight.calibration import NotSure


@dataclass(frozen=True)
class Answer:
    """The best guesses for one photo, most probable first, and whether they fall short."""

    top: list[tuple[str, float]]  # (class, probability), calibrated when the run has a threshold
    not_sure: bool  # the best guess is below the run's threshold


def answers(model: Classifier, images: np.ndarray, rule: NotSure | None, k: int) -> list[Answer]:
    """model's top-k per image; with a rule, of the calibrated probabilities, and 'not sure'
    where the best one is below its threshold. Without one, never 'not sure'.

    Raises:
        ImageError: images is not a batch of RGB images.
    """
    probabilities = model.predict_proba(images)
    if rule is not None:
        probabilities = rule.calibrated(probabilities)
    return [
        Answer(pairs, rule is not None and not rule.is_sure(pairs[0][1]))
        for pairs in top_k(probabilities, model.class_names, k)
    ]
