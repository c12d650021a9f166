"""Split a Dataset into train / validation / test: stratified and seeded, or from a split file."""

from __future__ import annotations

import csv
import os
import posixpath
import stat
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from engine import images
from engine.config import TrainConfig
from engine.data.scan import Dataset, relative_path
from engine.errors import DatasetError

SPLIT_FILE_NAME = "splits.csv"  # a dataset folder's own split, used when present
MAX_SPLIT_FILE_BYTES = 64 * 2**20
MAX_SPLIT_LINE = 8192
_SPLIT_NAMES = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}


@dataclass(frozen=True)
class Subset:
    """Paths and integer labels of one split part."""

    paths: tuple[Path, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class Split:
    """Train / validation / test parts of one dataset; test is never used for any choice."""

    class_names: tuple[str, ...]
    train: Subset
    validation: Subset
    test: Subset
    notes: tuple[str, ...] = ()  # how the split was made, e.g. "3 rows name missing files"

    def counts(self) -> dict[str, dict[str, int]]:
        """Photos per class in each part: {class: {'train': n, 'validation': n, 'test': n}}."""
        counts = {
            name: dict.fromkeys(("train", "validation", "test"), 0) for name in self.class_names
        }
        for part in ("train", "validation", "test"):
            for label in getattr(self, part).labels:
                counts[self.class_names[label]][part] += 1
        return counts


def split_dataset(
    dataset: Dataset,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
    groups: Sequence[Sequence[int]] = (),
) -> Split:
    """Stratified, seeded split; every class keeps at least one training image.

    Each class gives round(n * fraction) images to test and validation, at least one each
    when the fraction is above 0 and the class has images to spare (test comes first).
    groups (indices into dataset.paths, e.g. copies of one photo) each go whole into one
    part, so no photo is tested on its own copy; without groups the split is as before.

    Raises:
        DatasetError: a fraction is negative or the two add up to 1 or more.
    """
    _check_fractions(validation_fraction, test_fraction)
    fractions = (test_fraction, validation_fraction)
    notes: tuple[str, ...] = ()
    if groups:
        train, test, validation = _grouped_parts(dataset.labels, groups, fractions, seed)
        notes = (
            f"{sum(map(len, groups))} photos are copies of one another ({len(groups)} "
            f"group{'s' if len(groups) > 1 else ''} of equal or near-identical pictures); each "
            "group was kept in one part of the split.",
        )
    else:
        train, test, validation = _stratified_parts(dataset.labels, fractions, seed)
    return Split(
        class_names=dataset.class_names,
        train=_take(dataset, train),
        validation=_take(dataset, validation),
        test=_take(dataset, test),
        notes=notes,
    )


def read_split_file(
    dataset: Dataset, csv_path: str | Path, validation_fraction: float = 0.1, seed: int = 0
) -> Split:
    """Split from a `path,label,split` CSV (paths relative to dataset.root).

    split values: train, validation (or val), test. With no validation rows, a stratified,
    seeded validation part is carved out of train. Rows naming skipped files are dropped.
    Rows naming files that do not exist are ignored and counted in Split.notes. A label
    that differs from the file's folder is used when it is one of the classes.

    Raises:
        DatasetError: unreadable CSV, missing columns, unknown split value or label, no test rows.
    """
    _check_fractions(validation_fraction, 0.0)
    csv_path = Path(csv_path)
    csv_name = images.printable(csv_path.name)
    chosen, tally = _assign_rows(dataset, _read_split_rows(csv_path), csv_name)
    for part in ("train", "test"):
        if not chosen[part]:
            raise DatasetError(
                f"{csv_name} has no {part} rows for images of this dataset; add rows with "
                f"split={part} or use a random split instead."
            )
    notes = _split_file_notes(csv_name, tally, unlisted=len(dataset.paths) - tally["listed"])
    train = _subset_from(dataset, chosen["train"])
    validation = _subset_from(dataset, chosen["validation"])
    if not validation:
        kept, carved = _stratified_parts(train.labels, (validation_fraction,), seed)
        train, validation = _take(train, kept), _take(train, carved)
        notes.append(
            f"{csv_name} has no validation rows: {len(validation)} training images were set "
            f"aside for validation ({validation_fraction:.0%} of each class, seed {seed})."
        )
    return Split(
        class_names=dataset.class_names,
        train=train,
        validation=validation,
        test=_subset_from(dataset, chosen["test"]),
        notes=tuple(notes),
    )


def make_split(
    dataset: Dataset, config: TrainConfig, split_file: str | Path | None = None
) -> Split:
    """An experiment's split recipe: the split file when given, else config's seeded split."""
    if split_file is not None:
        return read_split_file(dataset, split_file, config.validation_fraction, config.seed)
    # Imported here: engine.health reads photos through engine.data.record, which imports this.
    from engine.health.duplicates import copy_groups
    from engine.health.fingerprints import fingerprints

    groups = copy_groups(fingerprints(dataset.paths))
    return split_dataset(
        dataset, config.validation_fraction, config.test_fraction, config.seed, groups
    )


def find_split_file(root: Path) -> Path | None:
    """The folder's splits.csv when it has one (then trainings and pages use that split)."""
    candidate = Path(root) / SPLIT_FILE_NAME
    return candidate if candidate.is_file() else None


def _assign_rows(
    dataset: Dataset, rows: list[tuple[int, dict[str, str]]], csv_name: str
) -> tuple[dict[str, dict[int, int]], Counter[str]]:
    """{part: {dataset index: label}} from the CSV rows, and counts of rows per outcome."""
    index_of = {relative_path(path, dataset.root): i for i, path in enumerate(dataset.paths)}
    class_index = {name: i for i, name in enumerate(dataset.class_names)}
    chosen: dict[str, dict[int, int]] = {"train": {}, "validation": {}, "test": {}}
    first_line: dict[int, int] = {}
    tally: Counter[str] = Counter()
    for line, row in rows:
        part = _SPLIT_NAMES.get(row["split"].strip().lower())
        if part is None:
            raise DatasetError(
                f"{csv_name} line {line}: split {row['split']!r} is not train, validation "
                "(or val) or test; fix the value."
            )
        key = posixpath.normpath(row["path"].strip().replace("\\", "/"))
        index = index_of.get(key)
        if index is None:
            tally["unusable" if (dataset.root / key).exists() else "missing"] += 1
            continue
        label = row["label"].strip()
        if label not in class_index:
            raise DatasetError(
                f"{csv_name} line {line}: label {label!r} is not one of the classes "
                f"({', '.join(dataset.class_names)}); fix the label or the folder names."
            )
        if index in first_line:
            raise DatasetError(
                f"{csv_name} line {line}: {key} is listed twice (first on line "
                f"{first_line[index]}); each photo belongs to exactly one split."
            )
        first_line[index] = line
        tally["listed"] += 1
        tally["relabelled"] += class_index[label] != dataset.labels[index]
        chosen[part][index] = class_index[label]
    return chosen, tally


def _check_fractions(validation_fraction: float, test_fraction: float) -> None:
    if validation_fraction < 0 or test_fraction < 0 or validation_fraction + test_fraction >= 1:
        raise DatasetError(
            f"validation fraction {validation_fraction} and test fraction {test_fraction} must "
            "each be 0 or more and add up to less than 1 (e.g. 0.1 and 0.2)."
        )


def _stratified_parts(
    labels: Sequence[int], fractions: tuple[float, ...], seed: int
) -> list[np.ndarray]:
    """Indices of [rest, part 1, part 2, ...] per fraction, stratified by label, seeded.

    Every class keeps at least one index in rest; a part with a fraction above 0 gets at
    least one index of each class that can spare it, earlier parts first.
    """
    rng = np.random.default_rng(seed)
    label_array = np.asarray(labels, dtype=np.int64)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for label in np.unique(label_array):
        members = rng.permutation(np.flatnonzero(label_array == label))
        start = 0
        for number, fraction in enumerate(fractions, start=1):
            wanted = int(len(members) * fraction + 0.5)
            if fraction > 0:
                wanted = max(wanted, 1)
            taken = min(wanted, len(members) - 1 - start)
            parts[number].append(members[start : start + taken])
            start += taken
        parts[0].append(members[start:])
    return [np.sort(np.concatenate(chunks)) if chunks else np.array([], int) for chunks in parts]


def _grouped_parts(
    labels: Sequence[int],
    groups: Sequence[Sequence[int]],
    fractions: tuple[float, ...],
    seed: int,
) -> list[np.ndarray]:
    """_stratified_parts with each group of indices kept whole in one part.

    A group counts for the class of its first photo. Per class the photos and groups are
    shuffled (seeded) and each part takes those that fit its share, earlier parts first; a
    part that nothing fits takes the smallest, and one unit always stays in training.
    """
    rng = np.random.default_rng(seed)
    grouped = {index for group in groups for index in group}
    units = [sorted(group) for group in groups]
    units += [[index] for index in range(len(labels)) if index not in grouped]
    parts: list[list[int]] = [[] for _ in range(len(fractions) + 1)]
    for label in sorted(set(labels)):
        mine = sorted((unit for unit in units if labels[unit[0]] == label), key=lambda u: u[0])
        remaining = [mine[i] for i in rng.permutation(len(mine))]
        size = sum(map(len, remaining))
        for number, fraction in enumerate(fractions, start=1):
            wanted = max(int(size * fraction + 0.5), 1 if fraction > 0 else 0)
            chosen, taken = [], 0
            for unit in remaining:
                if len(remaining) - len(chosen) <= 1:
                    break
                if taken + len(unit) <= wanted:
                    chosen.append(unit)
                    taken += len(unit)
            if not chosen and wanted and len(remaining) > 1:
                chosen = [min(remaining, key=len)]
            parts[number].extend(index for unit in chosen for index in unit)
            taken_ids = {id(unit) for unit in chosen}
            remaining = [unit for unit in remaining if id(unit) not in taken_ids]
        parts[0].extend(index for unit in remaining for index in unit)
    return [np.array(sorted(part), dtype=np.int64) for part in parts]


def _take(source: Dataset | Subset, indices: np.ndarray) -> Subset:
    """The images of source (a dataset or a subset) at the given positions."""
    return Subset(
        paths=tuple(source.paths[i] for i in indices),
        labels=tuple(source.labels[i] for i in indices),
    )


def _subset_from(dataset: Dataset, labels_by_index: dict[int, int]) -> Subset:
    """Subset in dataset order from {dataset index: label} (labels may come from a CSV)."""
    ordered = sorted(labels_by_index)
    return Subset(
        paths=tuple(dataset.paths[i] for i in ordered),
        labels=tuple(labels_by_index[i] for i in ordered),
    )


def _read_split_rows(csv_path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, {path, label, split}) per data row; DatasetError when unreadable."""
    shown = images.printable(csv_path)
    columns = ("path", "label", "split")
    try:
        _check_split_file(csv_path, shown)
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(_bounded_lines(handle, shown))
            header = {(column or "").strip().lower(): column for column in reader.fieldnames or []}
            absent = [column for column in columns if column not in header]
            if absent:
                raise DatasetError(
                    f"split file {shown} lacks the column(s) {', '.join(absent)}; its first "
                    "line must be the header path,label,split."
                )
            return [
                (reader.line_num, {column: row[header[column]] or "" for column in columns})
                for row in reader
            ]
    except FileNotFoundError as error:
        raise DatasetError(f"split file {shown} does not exist; check the path.") from error
    except (OSError, ValueError, csv.Error) as error:  # UnicodeDecodeError is a ValueError
        raise DatasetError(
            f"cannot read split file {shown} ({error}); expected a UTF-8 CSV with the header "
            "path,label,split."
        ) from error


def _check_split_file(csv_path: Path, shown: str) -> None:
    """Only a regular file of sane size: /dev/zero or a 2 GB one-line CSV never end well."""
    mode = os.stat(csv_path)
    if not stat.S_ISREG(mode.st_mode):
        raise DatasetError(f"split file {shown} is not a regular file (a pipe or device?).")
    if mode.st_size > MAX_SPLIT_FILE_BYTES:
        raise DatasetError(
            f"split file {shown} is {mode.st_size / 2**20:.0f} MB; a split file is at most "
            f"{MAX_SPLIT_FILE_BYTES // 2**20} MB (one short line per photo)."
        )


def _bounded_lines(handle: TextIO, shown: str) -> Iterator[str]:
    """The file's lines, refusing any longer than MAX_SPLIT_LINE characters (read in pieces,
    so one enormous line never sits in memory)."""
    while line := handle.readline(MAX_SPLIT_LINE + 1):
        if len(line) > MAX_SPLIT_LINE and not line.endswith("\n"):
            raise DatasetError(
                f"split file {shown} has a line over {MAX_SPLIT_LINE} characters; each line is "
                "path,label,split for one photo."
            )
        yield line


def _split_file_notes(csv_name: str, tally: Counter[str], unlisted: int) -> list[str]:
    """What the user should know about rows that were ignored or changed a label."""
    notes = []
    if tally["missing"]:
        notes.append(
            f"{tally['missing']} rows of {csv_name} name files that do not exist; ignored."
        )
    if tally["unusable"]:
        notes.append(
            f"{tally['unusable']} rows of {csv_name} name files skipped while scanning "
            "(unreadable or not images); ignored."
        )
    if tally["relabelled"]:
        notes.append(
            f"{tally['relabelled']} rows of {csv_name} give a label different from the "
            "file's folder; the CSV label was used."
        )
    if unlisted:
        notes.append(f"{unlisted} images of the folder are not in {csv_name}; left out.")
    return notes
