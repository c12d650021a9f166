"""The headline: zero-shot vs trained accuracy on the same test photos, said honestly (the
uncertainty, what zero-shot cannot name, small-sample caveats)."""

from __future__ import annotations

import streamlit as st

from engine.config import TrainConfig
from engine.metrics import Metrics
from engine.run_record import Run
from ui.tables import percent
from ui.text import md

ZERO_SHOT_LABEL = "Off-the-shelf ImageNet model (zero-shot)"


def trained_label(config: TrainConfig) -> str:
    """What the run trained, in the words its recipe deserves."""
    if config.fine_tune_epochs:
        return "Fine-tuned on your photos"
    return "New head trained on your photos"


def interval_text(metrics: Metrics) -> str:
    low, high = metrics.accuracy_interval
    return f"95% interval {low:.0%}–{high:.0%} on {metrics.num_images} photos"


def zero_shot_text(run: Run) -> str:
    """Why zero-shot scores what it scores: which classes ImageNet can name at all."""
    zero_shot = run.zero_shot
    if zero_shot is None:
        return f"No zero-shot baseline: {md(run.zero_shot_error)}"
    classes, named = run.info.class_names, tuple(md(name) for name in zero_shot.named_classes)
    if len(named) == len(classes):
        return f"ImageNet has a label for every class. {interval_text(zero_shot.metrics)}."
    if not named:
        return (
            f"ImageNet has no label for any of the {len(classes)} classes, so zero-shot can "
            "never be right here."
        )
    others = len(classes) - len(named)
    rest = "the other class" if others == 1 else f"the other {others} classes"
    return (
        f"ImageNet has a label for only {len(named)} of {len(classes)} classes "
        f"({', '.join(named)}); photos of {rest} always count as wrong. On the photos of "
        f"{', '.join(named)} alone: **{percent(zero_shot.named_accuracy)}**. "
        f"{interval_text(zero_shot.metrics)}."
    )


def named_only_text(run: Run) -> str | None:
    """Zero-shot accuracy on the classes ImageNet can name, e.g. 'daisy only: 78.0%' (or
    '4 classes only: ...'), for beside the big number; None when it names every class or none."""
    zero_shot = run.zero_shot
    if zero_shot is None or not zero_shot.named_classes:
        return None
    if len(zero_shot.named_classes) == len(run.info.class_names):
        return None
    named = zero_shot.named_classes
    names = ", ".join(md(name) for name in named) if len(named) <= 3 else f"{len(named)} classes"
    return f"{names} only: {percent(zero_shot.named_accuracy)}"


def trained_text(config: TrainConfig, metrics: Metrics) -> str:
    if config.fine_tune_epochs:
        recipe = (
            f"A new head, then the top {config.unfreeze_layers} layers of {config.backbone} "
            "fine-tuned"
        )
    else:
        recipe = f"A new head on the frozen {config.backbone} (its ImageNet features reused)"
    return f"{recipe}. {interval_text(metrics)}."


def render_headline(run: Run) -> None:
    """Two big numbers side by side, each with the sentence that keeps it honest."""
    metrics = run.evaluation.metrics
    zero_shot = run.zero_shot.metrics.accuracy if run.zero_shot else None
    caveat = metrics.caveat()
    delta = None if zero_shot is None else f"{(metrics.accuracy - zero_shot) * 100:+.1f} points"
    left, right = st.columns(2)
    left.metric(
        ZERO_SHOT_LABEL,
        percent(zero_shot),
        # Beside the number, not only in the caption: most of the gap may be classes
        # ImageNet has no word for.
        delta=named_only_text(run),
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    left.caption(zero_shot_text(run))
    right.metric(
        trained_label(run.info.config),
        percent(metrics.accuracy),
        delta=delta,
        # A green arrow on a handful of photos would oversell: grey until the sample is fair.
        delta_color="off" if caveat else "normal",
        border=True,
    )
    right.caption(trained_text(run.info.config, metrics))
    if caveat:
        st.warning(f"Careful: {caveat}.")
    st.caption(f"Both measured on the same {metrics.num_images} held-out test photos.")
