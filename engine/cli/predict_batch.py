"""`python -m engine predict DIR_OR_ZIP [--csv OUT]`: every photo of a folder or .zip."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.batch.classify import batch_models, classify_photos
from engine.batch.photos import Photos, list_photos, open_zip
from engine.batch.result import BatchResult
from engine.classifiers import FineTunedClassifier
from engine.cli.text import percent, table, to_json
from engine.data.paths import checked_path
from engine.errors import DatasetError
from engine.images import printable
from engine.runs import RunStore
from engine.runtime import Runtime
from engine.settings import Settings
from engine.store_files import replace_text
from engine.zero_shot import ZeroShotClassifier

# predict._fine_tuned: (run id, model) of --run, else of the latest run, else (None, None)
FineTunedOf = Callable[
    [RunStore, str | None, Runtime], tuple[str | None, FineTunedClassifier | None]
]


def wants_batch(args: argparse.Namespace) -> bool:
    """Whether predict was given one folder or .zip (else photos, one by one).

    Raises:
        DatasetError: --csv with photos instead of one folder or .zip.
    """
    sources = args.images
    batch = len(sources) == 1 and (Path(sources[0]).is_dir() or sources[0].lower().endswith(".zip"))
    if args.csv is not None and not batch:
        raise DatasetError(
            "--csv writes the answers for one folder or .zip of photos; give one (or leave "
            "--csv out to classify single photos)."
        )
    return batch


def run(
    args: argparse.Namespace, settings: Settings, fine_tuned_of: FineTunedOf
) -> tuple[str, int]:
    """Classify every photo of the folder or .zip; exit 1 when none could be read."""
    source = checked_path(args.images[0], "the folder or .zip")
    out = checked_path(args.csv, "--csv") if args.csv is not None else None
    photos = _photos(source, settings)
    store = RunStore.for_settings(settings)
    run_id, fine_tuned = fine_tuned_of(store, args.run, Runtime.from_settings(settings))
    models = batch_models(lambda: ZeroShotClassifier.load(settings), fine_tuned, store, run_id)
    for note in models.notes:
        print(f"warning: {note}", file=sys.stderr)
    result = classify_photos(photos, models, settings.max_image_pixels, on_batch=_progress)
    if out is not None:
        replace_text(out, result.to_csv())
    code = 0
    if not result.rows:
        print(f"error: none of the photos in {printable(source)} could be read.", file=sys.stderr)
        code = 1
    if args.json:
        document = {"source": str(source), "csv": None if out is None else str(out)}
        return to_json({**document, **result.to_dict()}), code
    return "\n".join(_lines(result, source, out)), code


def _photos(source: Path, settings: Settings) -> Photos:
    if source.is_dir():
        return list_photos(source, settings)
    return open_zip(source, settings)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        end = "\n" if done == total else ""
        print(f"\rclassified {done} of {total} photos", end=end, file=sys.stderr, flush=True)


def _lines(result: BatchResult, source: Path, out: Path | None) -> Iterator[str]:
    """Every photo's answers as an aligned table (a summary only when a CSV was written)."""
    if out is None:
        rows = [("file", "zero-shot", "", "fine-tuned", "", "")]
        for row in result.rows:
            rows.append(
                (
                    row.file,
                    row.zero_shot.label if row.zero_shot else "-",
                    percent(row.zero_shot.probability if row.zero_shot else None),
                    row.fine_tuned.label if row.fine_tuned else "-",
                    percent(row.fine_tuned.probability if row.fine_tuned else None),
                    "not sure" if row.not_sure else "",
                )
            )
        yield from table(rows)
    if result.skipped:
        yield f"Left out ({len(result.skipped)}):"
        yield from (f"  {item.path}: {item.reason}" for item in result.skipped)
    model = f"run {result.run_id}" if result.run_id else "zero-shot only (no run)"
    summary = f"{len(result.rows)} photos of {printable(source)} classified with {model}"
    if result.threshold is not None:
        summary += f"; {result.num_not_sure()} not sure (below {result.threshold:.0%})"
    yield summary + (f"; CSV written to {printable(out)}" if out is not None else "")
