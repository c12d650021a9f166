"""Classify a folder's photos with both models, streamed in batches (memory stays flat)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import images, priority
from engine.batch.photos import Photos
from engine.batch.result import Answer, BatchResult, PhotoAnswer
from engine.classifiers import top_k
from engine.data import batches
from engine.data.scan import Skipped
from engine.data.split import Subset
from engine.errors import ImageError, ModelUnavailableError, RunNotFoundError
from engine.evaluation import Predicts
from engine.insight.calibration import NotSure, load_not_sure
from engine.runs import RunStore
from engine.settings import DEFAULT_MAX_IMAGE_PIXELS

# Small batches: a model call holds one pooled interpreter for about a second at most, so
# other sessions' requests never wait long for one (bench/batch_classify.py: no slower).
BATCH_SIZE = 16

ProgressCallback = Callable[[int, int], None]  # (photos done, photos in all)


@dataclass(frozen=True)
class BatchModels:
    """The models a batch runs (either may be missing) and the fine-tuned run's 'not sure'
    rule (its threshold on calibrated probabilities, as Classify and `predict` apply it)."""

    zero_shot: Predicts | None
    fine_tuned: Predicts | None
    run_id: str | None = None
    rule: NotSure | None = None
    notes: tuple[str, ...] = ()

    @property
    def threshold(self) -> float | None:
        return None if self.rule is None else self.rule.threshold


def batch_models(
    load_zero_shot: Callable[[], Predicts],
    fine_tuned: Predicts | None = None,
    store: RunStore | None = None,
    run_id: str | None = None,
) -> BatchModels:
    """The zero-shot model (when it loads) beside the run's fine-tuned model and threshold.

    Raises:
        ModelUnavailableError: the zero-shot model cannot be loaded and there is no run.
    """
    notes = []
    try:
        zero_shot: Predicts | None = load_zero_shot()
    except ModelUnavailableError as error:
        if fine_tuned is None:
            raise
        zero_shot = None
        notes.append(f"Zero-shot answers are missing: {error}")
    rule = None
    if fine_tuned is not None and store is not None and run_id is not None:
        try:
            rule = load_not_sure(store, run_id)
        except RunNotFoundError as error:
            notes.append(
                f"The run's confidence threshold could not be read ({error}), so no photo is "
                "marked 'not sure'."
            )
    return BatchModels(zero_shot, fine_tuned, run_id, rule, tuple(notes))


def classify_photos(
    photos: Photos,
    models: BatchModels,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    *,
    batch_size: int = BATCH_SIZE,
    on_batch: ProgressCallback | None = None,
    background: bool = False,
) -> BatchResult:
    """Both models' top-1 for every photo; unreadable files are listed, never fatal.

    Each batch is decoded once per input size (engine.data.batches) and given to both
    models; only the answers are kept. `background` runs the work in a low-priority thread
    (engine.priority) while on_batch is still called in this thread (e.g. a page's progress
    bar), so a long batch leaves the cores to other people's requests first.

    Raises:
        ModelUnavailableError: models holds neither model.
    """
    if models.zero_shot is None and models.fine_tuned is None:
        raise ModelUnavailableError("No model to classify with; train a run or load zero-shot.")
    chunks = _answers(photos, models, max_pixels, batch_size)
    if background:
        chunks = priority.in_background(chunks)
    rows: list[PhotoAnswer] = []
    unreadable: list[Skipped] = []
    # Closed at once when on_batch raises (a page left mid-batch): the work stops with it.
    with contextlib.closing(chunks):
        for answers, problems in chunks:
            rows.extend(answers)
            unreadable.extend(problems)
            if on_batch is not None:
                on_batch(len(rows) + len(unreadable), len(photos.files))
    return BatchResult(
        rows=tuple(rows),
        skipped=photos.skipped + tuple(unreadable),
        zero_shot=models.zero_shot is not None,
        run_id=models.run_id if models.fine_tuned is not None else None,
        threshold=models.threshold,
        notes=models.notes,
    )


def _answers(
    photos: Photos, models: BatchModels, max_pixels: int, batch_size: int
) -> Iterator[tuple[list[PhotoAnswer], list[Skipped]]]:
    """Per batch: the answers for its readable photos and its unreadable files with why."""
    zero_shot, fine_tuned = models.zero_shot, models.fine_tuned
    sizes = tuple(sorted({m.input_size for m in (zero_shot, fine_tuned) if m is not None}))
    for files, pixels, problems in _decoded(photos.files, sizes, batch_size, max_pixels):
        count = len(files)
        zero_shot_top = [None] * count
        fine_tuned_top = [None] * count
        if count and zero_shot is not None:
            # Index 0 of the ImageNet labels is 'background', never an answer.
            probabilities = zero_shot.predict_proba(pixels[zero_shot.input_size])[:, 1:]
            zero_shot_top = _top1(probabilities, tuple(zero_shot.class_names[1:]))
        if count and fine_tuned is not None:
            probabilities = fine_tuned.predict_proba(pixels[fine_tuned.input_size])
            if models.rule is not None:
                probabilities = models.rule.calibrated(probabilities)
            fine_tuned_top = _top1(probabilities, tuple(fine_tuned.class_names))
        answers = [
            PhotoAnswer(photos.name(path), zs, ft, _not_sure(ft, models.rule))
            for path, zs, ft in zip(files, zero_shot_top, fine_tuned_top, strict=True)
        ]
        yield answers, [Skipped(photos.name(path), reason) for path, reason in problems]


def _top1(probabilities: np.ndarray, class_names: tuple[str, ...]) -> list[Answer]:
    return [Answer(*best[0]) for best in top_k(probabilities, class_names, 1)]


def _not_sure(answer: Answer | None, rule: NotSure | None) -> bool | None:
    if answer is None or rule is None:
        return None
    return not rule.is_sure(answer.probability)


Decoded = tuple[tuple[Path, ...], dict[int, np.ndarray], list[tuple[Path, str]]]


def _decoded(
    files: tuple[Path, ...], sizes: tuple[int, ...], batch_size: int, max_pixels: int
) -> Iterator[Decoded]:
    """(readable files, their uint8 pixels per input size, unreadable files with why), per batch.

    Batches stream through decode_batches. It stops at the first unreadable file: that
    batch is then decoded file by file, and streaming resumes after it.
    """
    start = 0
    while start < len(files):
        rest = Subset(files[start:], (0,) * (len(files) - start))
        streams = [batches.decode_batches(rest, size, batch_size, max_pixels) for size in sizes]
        try:
            for decoded in zip(*streams, strict=True):
                count = len(decoded[0])
                yield files[start : start + count], dict(zip(sizes, decoded, strict=True)), []
                start += count
        except ImageError:
            end = min(start + batch_size, len(files))
            yield _one_by_one(files[start:end], sizes, max_pixels)
            start = end
        finally:
            for stream in streams:
                stream.close()


def _one_by_one(files: tuple[Path, ...], sizes: tuple[int, ...], max_pixels: int) -> Decoded:
    """A batch decoded file by file, so each unreadable file is told apart with its reason."""
    readable: list[Path] = []
    pixels: dict[int, list[np.ndarray]] = {size: [] for size in sizes}
    problems: list[tuple[Path, str]] = []
    for path in files:
        try:
            decoded = [images.load_array(path, size, max_pixels) for size in sizes]
        except ImageError as error:
            problems.append((path, str(error)))
            continue
        readable.append(path)
        for size, array in zip(sizes, decoded, strict=True):
            pixels[size].append(array)
    stacked = {
        size: np.stack(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)
        for size, arrays in pixels.items()
    }
    return tuple(readable), stacked, problems
