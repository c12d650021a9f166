"""A run as one HTML file people can forward: the data, the settings, the honest headline,
per-class figures, the confusion matrix, the curves, photos fixed and still wrong, a model card.

Built in memory (nothing is written); it opens offline from a file and loads nothing.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from html import escape
from pathlib import Path

from engine.config import TrainConfig, help_text
from engine.data.record import PARTS
from engine.errors import RunNotFoundError
from engine.evaluation import Evaluation, Prediction, round_robin
from engine.events import format_seconds
from engine.figures import METRICS, confusion_figure, curve_figure
from engine.insight.flips import wins_text
from engine.metrics import Metrics
from engine.report_html import Figures, PhotoCard, page, paragraph, photo_grid, section, table
from engine.run_record import Run
from engine.runs import RunStore
from engine.settings import DEFAULT_MAX_IMAGE_PIXELS

MAX_PHOTOS = 12  # per grid: enough to see a pattern, few enough to keep the file small


def run_report(store: RunStore, run_id: str, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> bytes:
    """The report of a saved run as UTF-8 HTML bytes (ready for a download).

    Raises:
        RunNotFoundError: no such run, it is damaged, or it has no model (cancelled).
    """
    return build_report(store.load(run_id), max_pixels).encode("utf-8")


def build_report(run: Run, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> str:
    """The whole self-contained HTML document of one run.

    Raises:
        RunNotFoundError: the run has no evaluation (it was cancelled before it had a model).
    """
    evaluation = run.evaluation
    if evaluation is None:
        raise RunNotFoundError(
            f"Run '{run.info.run_id}' was cancelled before it had a model, so there is nothing "
            "to report; choose a complete run."
        )
    figures = Figures()
    info = run.info
    intro = [
        f"<h1>Transfer Lab report: {escape(_dataset_name(run))}</h1>",
        paragraph(f"Run {info.run_id} · {info.title} · {info.status}", "sub"),
    ]
    if info.notes:
        intro.append(paragraph(f"Notes: {info.notes}"))
    return page(
        f"Transfer Lab report: {info.title}",
        [
            *intro,
            _headline(run, evaluation),
            _data_summary(run),
            _settings(run),
            _per_class(run, evaluation),
            _confusion(run, evaluation, figures),
            _curves(run, figures),
            _photos(evaluation, max_pixels),
            _model_card(run, evaluation),
            paragraph("Made with Transfer Lab. The file loads nothing from the internet.", "note"),
        ],
    )


def _dataset_name(run: Run) -> str:
    return Path(run.info.dataset).name or run.info.dataset


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _interval(metrics: Metrics) -> str:
    low, high = metrics.accuracy_interval
    return f"95% interval {low:.0%}–{high:.0%} on {metrics.num_images} test photos"


def _recipe(config: TrainConfig) -> str:
    if config.fine_tune_epochs:
        return (
            f"A new head, then the top {config.unfreeze_layers} layers of {config.backbone} "
            "fine-tuned"
        )
    return f"A new head on the frozen {config.backbone} (its ImageNet features reused)"


def _trained_label(config: TrainConfig) -> str:
    if config.fine_tune_epochs:
        return "Fine-tuned on these photos"
    return "New head trained on these photos"


def _zero_shot_sentence(run: Run) -> str:
    """Which classes ImageNet can name at all, and zero-shot's accuracy on those alone."""
    zero_shot = run.zero_shot
    if zero_shot is None:
        return f"No zero-shot baseline: {run.zero_shot_error}"
    classes, named = run.info.class_names, zero_shot.named_classes
    if len(named) == len(classes):
        return f"ImageNet has a label for every class. {_interval(zero_shot.metrics)}."
    if not named:
        return (
            f"ImageNet has no label for any of the {len(classes)} classes, so zero-shot can "
            f"never be right here. {_interval(zero_shot.metrics)}."
        )
    others = len(classes) - len(named)
    rest = "the other class" if others == 1 else f"the other {others} classes"
    names = ", ".join(named)
    return (
        f"ImageNet has a label for only {len(named)} of {len(classes)} classes ({names}); "
        f"photos of {rest} always count as wrong. On the photos of {names} alone: "
        f"{_percent(zero_shot.named_accuracy)}. {_interval(zero_shot.metrics)}."
    )


def _headline(run: Run, evaluation: Evaluation) -> str:
    metrics = evaluation.metrics
    zero_shot = run.zero_shot.metrics.accuracy if run.zero_shot else None
    delta = (
        ""
        if zero_shot is None
        else f'<div class="delta">{(metrics.accuracy - zero_shot) * 100:+.1f} points</div>'
    )
    cards = (
        '<div class="cards">'
        f'<div class="card"><div>Off-the-shelf ImageNet model (zero-shot)</div>'
        f'<div class="big">{_percent(zero_shot)}</div>{paragraph(_zero_shot_sentence(run))}</div>'
        f'<div class="card"><div>{escape(_trained_label(run.info.config))}</div>'
        f'<div class="big">{_percent(metrics.accuracy)}</div>{delta}'
        f"{paragraph(f'{_recipe(run.info.config)}. {_interval(metrics)}.')}</div></div>"
    )
    parts = [
        paragraph(
            "How often each model names the right class on the same held-out test photos, "
            "which neither model learned from."
        ),
        cards,
    ]
    caveat = metrics.caveat()
    if caveat:
        parts.append(paragraph(f"Careful: {caveat}.", "warn"))
    return section("headline", "The headline: zero-shot vs trained", *parts)


def _data_summary(run: Run) -> str:
    """Photos per class in each part of the split (totals only for runs saved before splits
    were recorded), and what was skipped."""
    facts = run.data
    lines = [
        paragraph(
            f"Folder {_dataset_name(run)}: {len(run.info.class_names)} classes, "
            f"{facts.num_train} photos to train, {facts.num_validation} to decide when to stop, "
            f"{facts.num_test} held out for the test. "
            + (
                "The split comes from the folder's split file."
                if facts.split_file
                else f"The split is random, seeded ({run.info.config.seed})."
            )
        )
    ]
    if run.split is not None:
        counts = {part: Counter(p.label for p in run.split.parts[part]) for part in PARTS}
        rows = [(name, *(counts[part][name] for part in PARTS)) for name in run.info.class_names]
        rows.append(("all classes", *(sum(counts[part].values()) for part in PARTS)))
        lines.append(table(("class", "train", "validation", "test"), rows))
    if facts.skipped_files:
        lines.append(
            paragraph(f"{len(facts.skipped_files)} files were skipped (not usable photos).")
        )
    return section("data", "The photos", *lines)


def _settings(run: Run) -> str:
    info = run.info
    rows = [
        (option.name, getattr(info.config, option.name), help_text(option.name))
        for option in dataclasses.fields(TrainConfig)
    ]
    rows.append(("zero-shot mapping", info.mapping_source, "how ImageNet labels map to classes"))
    if info.train_seconds is not None:
        rows.append(("training time", format_seconds(info.train_seconds), "on the machine used"))
    return section("settings", "Training settings", table(("setting", "value", "meaning"), rows, 3))


def _per_class(run: Run, evaluation: Evaluation) -> str:
    zero_shot = run.zero_shot
    header = ["class", "test photos", "precision", "recall", "F1"]
    if zero_shot is not None:
        header += ["zero-shot recall", "zero-shot F1"]
    rows = []
    for name, values in evaluation.metrics.per_class.items():
        row = [name, values.support, *map(_percent, (values.precision, values.recall, values.f1))]
        if zero_shot is not None:
            named, theirs = name in zero_shot.named_classes, zero_shot.metrics.per_class[name]
            row += [_percent(theirs.recall), _percent(theirs.f1)] if named else ["n/a", "n/a"]
        rows.append(row)
    return section(
        "per-class",
        "Per class",
        paragraph(
            "Recall: the share of a class's photos the model finds. Precision: how often it is "
            "right when it names the class. F1 combines both. n/a: ImageNet has no label for "
            "the class, so zero-shot cannot name it."
        ),
        table(header, rows),
    )


def _confusion(run: Run, evaluation: Evaluation, figures: Figures) -> str:
    mistakes = evaluation.most_confused(3)
    parts = [
        paragraph(
            "Each row is a true class and each column what the trained model said; the "
            "diagonal holds the right answers."
        ),
        figures.html(confusion_figure(evaluation.metrics.confusion, run.info.class_names)),
    ]
    if mistakes:
        said = ", ".join(f"{true} taken for {predicted} ({n})" for true, predicted, n in mistakes)
        parts.append(paragraph(f"Most confused: {said}."))
    return section("confusion", "Confusion matrix", *parts)


def _curves(run: Run, figures: Figures) -> str:
    if not run.history.get("loss"):
        return section("curves", "How training went", paragraph("No epoch was recorded."))
    charts = "".join(
        f"<div>{figures.html(curve_figure(run.history, metric))}</div>" for metric in METRICS
    )
    return section(
        "curves",
        "How training went",
        paragraph(
            "Per pass over the training photos (epoch): the error (loss) and the accuracy on "
            "the training photos and on the validation photos set aside to decide when to stop."
        ),
        f'<div class="figures">{charts}</div>',
    )


def _card(row: Prediction) -> PhotoCard:
    lines: list[tuple[str, bool | None]] = [
        (f"{row.predicted} ({row.confidence:.0%})", row.correct),
        (f"true: {row.true}", None),
    ]
    if row.zero_shot_label:
        lines.append((f"zero-shot: {row.zero_shot_label}", row.zero_shot_correct))
    return PhotoCard(row.path, tuple(lines), row.correct)


def _photos(evaluation: Evaluation, max_pixels: int) -> str:
    parts = []
    errors = evaluation.errors()
    for anchor, heading, rows, summary in (
        ("fixed", "Photos training fixed", evaluation.wins(), wins_text(evaluation)),
        (
            "wrong",
            "Photos it still gets wrong",
            errors,
            f"{len(errors)} test photos: the trained model's errors.",
        ),
    ):
        shown = round_robin(rows, MAX_PHOTOS)  # every class in turn, not the first in file order
        if len(rows) > len(shown):
            summary += f" {len(shown)} of them shown, taking each class in turn."
        grid = photo_grid([_card(row) for row in shown], max_pixels) if shown else ""
        parts.append(section(anchor, heading, paragraph(summary), grid))
    return "\n".join(parts)


def _model_card(run: Run, evaluation: Evaluation) -> str:
    info, facts, metrics = run.info, run.data, evaluation.metrics
    weakest = min(metrics.per_class.items(), key=lambda item: item[1].recall)
    rows = [
        ("model", f"{_recipe(info.config)}; it answers one of {len(info.class_names)} classes"),
        ("classes", ", ".join(info.class_names)),
        (
            "data",
            f"{facts.num_train} training and {facts.num_validation} validation photos from "
            f"the folder {_dataset_name(run)}",
        ),
        (
            "test",
            f"{metrics.num_images} held-out photos, used once for these figures: accuracy "
            f"{_percent(metrics.accuracy)} ({_interval(metrics)})",
        ),
        (
            "intended use",
            "sorting or triaging photos like the training ones into these classes, with a "
            "person checking the answers; showing what transfer learning does",
        ),
        (
            "limits",
            "it always answers one of its classes, even for a photo of something else; photos "
            "unlike the training ones (other cameras, light, drawings) may score lower than the "
            f"test; its weakest class here is {weakest[0]} (recall {_percent(weakest[1].recall)})"
            + (f"; {metrics.caveat()}" if metrics.caveat() else ""),
        ),
        ("not for", "decisions about people, health or safety without review"),
    ]
    return section("model-card", "Model card", table(("", ""), rows, numeric_from=2))
