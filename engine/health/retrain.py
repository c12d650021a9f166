"""Retraining after label fixes, measured fairly: the new run trains on the earlier run's own
split with the fixes applied (moved photos under their new class, excluded ones left out) and
is tested on exactly the same test photos; the comparison is saved with the new run."""

from __future__ import annotations

import csv
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.access import require_editor
from engine.data.record import PARTS, SplitRecord
from engine.errors import DatasetError
from engine.health.journal import ACTIONS, Fix
from engine.health.places import copied_from
from engine.run_documents import load_document
from engine.run_record import RunInfo
from engine.runs import RunStore
from engine.schema import Fields, RecordError
from engine.settings import Settings

FORMAT = 1
DOCUMENT = "label_fixes"  # <run>/label_fixes.json of a run retrained after fixes


@dataclass(frozen=True)
class LabelFixes:
    """How a retrained run came about: the run before, and the fixes in force."""

    before_run: str
    before_accuracy: float | None
    moved: int
    excluded: int
    kept: int
    same_test_photos: bool  # tested on the before run's test photos (always, unless missing)

    def to_dict(self) -> dict:
        return {"format": FORMAT, **self.__dict__}

    @classmethod
    def from_dict(cls, data: object, where: str = f"{DOCUMENT}.json") -> LabelFixes:
        fields = Fields(data, where)
        if fields.count("format") > FORMAT:
            raise RecordError(f"{where} was written by a newer Transfer Lab; update to read it")
        return cls(
            before_run=fields.text("before_run"),
            before_accuracy=fields.number("before_accuracy", optional=True),
            moved=fields.count("moved"),
            excluded=fields.count("excluded"),
            kept=fields.count("kept"),
            same_test_photos=fields.flag("same_test_photos"),
        )


def comparable_runs(store: RunStore, root: Path, class_names: Sequence[str]) -> list[RunInfo]:
    """Complete runs on this dataset (or on the folder it was copied from), newest first:
    the runs a retrain after fixes can be compared with."""
    homes = {str(Path(root).resolve()), copied_from(root)}
    return [
        info
        for info in store.list(status="complete")
        if info.dataset in homes and tuple(info.class_names) == tuple(class_names)
    ]


def fixed_split_file(
    record: SplitRecord, fixes: Sequence[Fix], settings: Settings
) -> tuple[Path, int]:
    """Write the run's split with the fixes applied as a path,label,split CSV in the cache
    folder (the dataset folder is left alone); returns it and how many recorded photos were
    excluded. Photos gone from the folder since are left to the split file's reader (it
    ignores and counts them).

    Raises:
        ReadOnlyError: viewer mode.
        DatasetError: no test photo is left, or the file cannot be written.
    """
    require_editor(settings, "retrain after label fixes")
    # Where each recorded photo is now: the fixes in the order they were made.
    now: dict[str, tuple[str, str] | None] = {
        photo.path: (photo.path, photo.label) for part in PARTS for photo in record.parts[part]
    }
    recorded_at = {path: path for path in now}  # current path -> recorded path
    for fix in sorted(fixes, key=lambda fix: fix.number):
        if not fix.applied or fix.action == "keep" or fix.source not in recorded_at:
            continue
        original = recorded_at.pop(fix.source)
        if fix.action == "move":
            now[original] = (fix.target, fix.new_label)
            recorded_at[fix.target] = original
        else:
            now[original] = None
    rows, dropped = [], 0
    for part in PARTS:
        for photo in record.parts[part]:
            if now[photo.path] is None:
                dropped += 1
            else:
                rows.append((*now[photo.path], part))
    if not any(part == "test" for _, _, part in rows):
        raise DatasetError("none of the earlier run's test photos is left to compare on.")
    folder = settings.cache_root / "label-fixes"
    target = folder / f"split-{secrets.token_hex(6)}.csv"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(target, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(("path", "label", "split"))
            writer.writerows(rows)
    except OSError as error:
        raise DatasetError(f"cannot write the split for the retraining ({error}).") from error
    return target, dropped


def fix_counts(fixes: Sequence[Fix]) -> tuple[int, int, int]:
    """(moved, excluded, kept) among the fixes in force."""
    applied = [fix for fix in fixes if fix.applied]
    return tuple(sum(fix.action == action for fix in applied) for action in ACTIONS)


def save_comparison(
    store: RunStore,
    settings: Settings,
    before_run: str,
    after_run: str,
    counts: tuple[int, int, int],
) -> LabelFixes:
    """Save with after_run how it came about (once; a saved one is returned as it is).

    Raises:
        ReadOnlyError: viewer mode.
        RunNotFoundError: a run is missing or damaged.
        RunStoreError: the run folder cannot be written.
    """
    require_editor(settings, "save the comparison with the run")
    saved = label_fixes_of(store, after_run)
    if saved is not None:
        return saved
    before, after = store.load(before_run), store.load(after_run)
    tested = [
        {photo.sha1 for photo in run.split.parts["test"]} if run.split else None
        for run in (before, after)
    ]
    moved, excluded, kept = counts
    document = LabelFixes(
        before_run=before.info.run_id,
        before_accuracy=before.info.test_accuracy,
        moved=moved,
        excluded=excluded,
        kept=kept,
        same_test_photos=tested[0] is not None and tested[0] == tested[1],
    )
    store.save_extra(after_run, DOCUMENT, document.to_dict())
    return document


def label_fixes_of(store: RunStore, run_id: str) -> LabelFixes | None:
    """The LabelFixes saved with a run, None when it has none.

    Raises:
        RunNotFoundError: the run is missing, or its document is damaged (the message says so).
    """
    return load_document(
        store, run_id, DOCUMENT, LabelFixes.from_dict, "the run itself still opens"
    )
