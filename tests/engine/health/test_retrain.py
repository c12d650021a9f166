"""Retraining after fixes: the earlier run's split with the fixes applied, same test photos."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from engine.data.record import record_split
from engine.data.scan import scan_dataset
from engine.data.split import read_split_file
from engine.errors import ReadOnlyError, RunNotFoundError
from engine.health import fixes
from engine.health.places import copy_to_uploads
from engine.health.retrain import (
    DOCUMENT,
    LabelFixes,
    comparable_runs,
    fixed_split_file,
    label_fixes_of,
    save_comparison,
)
from engine.runs import RunStore
from engine.settings import Settings
from tests.engine.health.test_fixes import make_dataset
from tests.support.runs import make_run


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "sample", uploads_dir=tmp_path / "uploads", runs_dir=tmp_path / "runs"
    )


def test_the_retrain_split_is_the_runs_split_with_the_fixes(settings: Settings):
    sample = make_dataset(settings.data_dir)
    record = record_split(read_split_file(scan_dataset(sample), sample / "splits.csv"), sample)
    copy = copy_to_uploads(scan_dataset(sample), settings)
    fixes.move_photo(copy, "red/red_0.png", "blue", settings)
    fixes.move_photo(copy, "blue/red_0.png", "green", settings)  # moved on again
    fixes.exclude_photo(copy, "green/green_1.png", settings)
    fixes.keep_photo(copy, "blue/blue_0.png", settings)
    fixes.move_photo(copy, "red/red_1.png", "blue", settings)
    fixes.undo_last(copy, settings)  # undone: red_1 stays red

    csv_path, excluded = fixed_split_file(record, fixes.applied_fixes(copy), settings)

    assert excluded == 1 and csv_path.is_relative_to(settings.cache_root)
    with open(csv_path, newline="") as handle:
        rows = {row["path"]: (row["label"], row["split"]) for row in csv.DictReader(handle)}
    assert rows["green/red_0.png"] == ("green", "train")
    assert rows["red/red_1.png"] == ("red", "train")
    assert "green/green_1.png" not in rows and "red/red_0.png" not in rows
    with pytest.raises(ReadOnlyError):
        fixed_split_file(record, fixes.applied_fixes(copy), Settings(mode="viewer"))
    split = read_split_file(scan_dataset(copy), csv_path)
    old_test = {photo.path for photo in record.parts["test"]}
    assert {p.relative_to(copy).as_posix() for p in split.test.paths} == old_test


def test_runs_on_the_folder_or_its_origin_are_comparable(settings: Settings):
    sample = make_dataset(settings.data_dir)
    copy = copy_to_uploads(scan_dataset(sample), settings)
    store = RunStore(settings.runs_dir)
    classes = ("blue", "green", "red")
    on_sample = store.save(make_run(classes, dataset=str(sample.resolve())))
    on_copy = store.save(make_run(classes, dataset=str(copy)))
    store.save(make_run(("blue", "red"), dataset=str(copy)))  # other classes
    store.save(make_run(classes, dataset="/elsewhere"))

    found = [info.run_id for info in comparable_runs(store, copy, classes)]
    assert sorted(found) == sorted([on_sample, on_copy])


def test_the_comparison_is_saved_with_the_new_run(settings: Settings):
    sample = make_dataset(settings.data_dir)
    record = record_split(read_split_file(scan_dataset(sample), sample / "splits.csv"), sample)
    store = RunStore(settings.runs_dir)
    classes = ("blue", "green", "red")
    before = store.save(dataclasses.replace(make_run(classes), split=record))
    after = store.save(dataclasses.replace(make_run(classes), split=record))
    assert label_fixes_of(store, after) is None

    saved = save_comparison(store, settings, before, after, (2, 1, 0))

    assert label_fixes_of(store, after) == saved
    assert (saved.before_run, saved.moved, saved.excluded, saved.kept) == (before, 2, 1, 0)
    assert saved.before_accuracy == store.info(before).test_accuracy
    assert saved.same_test_photos
    with pytest.raises(ReadOnlyError):
        save_comparison(store, Settings(mode="viewer"), before, after, (0, 0, 0))
    store.save_extra(after, DOCUMENT, {"format": 1, "before_run": 3})
    with pytest.raises(RunNotFoundError, match="damaged"):
        label_fixes_of(store, after)
    assert LabelFixes.from_dict(saved.to_dict()) == saved
