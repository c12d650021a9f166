"""Keep a dataset's own splits.csv in step with label fixes: a moved photo's row follows it
(new path and class, same part), an excluded photo's row goes; each edit replaces the file
atomically and is idempotent, so finishing a half-done fix twice changes nothing."""

from __future__ import annotations

import csv
import io
import os
import posixpath
import stat
from pathlib import Path

from engine.data.split import MAX_SPLIT_FILE_BYTES, SPLIT_FILE_NAME
from engine.errors import DatasetError, first_line
from engine.store_files import fsync_dir

_TEMP_PREFIX = ".tmp-splits-"


def split_row(root: Path, path: str) -> tuple[int, tuple[str, ...]] | None:
    """(position, all columns) of path's splits.csv row; None without a split file or row."""
    table = _read(root)
    if table is None:
        return None
    _, rows, index = table
    found = _find(rows, index, path)
    return None if found is None else (found, tuple(rows[found]))


def replace_row(root: Path, path: str, row: tuple[str, ...] | None) -> None:
    """Make path's row `row` (None: remove it). No split file, or no row for path: nothing."""
    table = _read(root)
    if table is None:
        return
    header, rows, index = table
    found = _find(rows, index, path)
    if found is None:
        return
    if row is None:
        del rows[found]
    else:
        rows[found] = list(row)
    _write(root, header, rows)


def restore_row(root: Path, current: str, position: int, row: tuple[str, ...]) -> None:
    """Put row back: in place of the row of path `current` (where a fix moved it), else at
    its old position unless the file already lists it. Undone newest first, every row
    returns to where it was."""
    table = _read(root)
    if table is None:
        return
    header, rows, index = table
    found = _find(rows, index, current)
    if found is not None:
        rows[found] = list(row)
    elif _find(rows, index, row[index[0]]) is None:
        rows.insert(min(position, len(rows)), list(row))
    else:
        return
    _write(root, header, rows)


def moved_row(row: tuple[str, ...], root: Path, path: str, label: str) -> tuple[str, ...]:
    """row with its path and label columns changed (its part and other columns kept)."""
    table = _read(root)
    if table is None:
        return row
    path_column, label_column = table[2]
    changed = list(row)
    changed[path_column], changed[label_column] = path, label
    return tuple(changed)


def _normal(path: str) -> str:
    """A split-file path as engine.data.split reads it."""
    return posixpath.normpath(path.strip().replace("\\", "/"))


def _find(rows: list[list[str]], index: tuple[int, int], path: str) -> int | None:
    wanted, column = _normal(path), index[0]
    return next(
        (i for i, row in enumerate(rows) if len(row) > column and _normal(row[column]) == wanted),
        None,
    )


def _read(root: Path) -> tuple[list[str], list[list[str]], tuple[int, int]] | None:
    """(header, rows, (path column, label column)) of root's splits.csv, or None without one.

    Raises:
        DatasetError: the split file is a link, not a regular file, too large or not a CSV.
    """
    path = root / SPLIT_FILE_NAME
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(mode) or os.path.getsize(path) > MAX_SPLIT_FILE_BYTES:
        raise DatasetError(
            f"{SPLIT_FILE_NAME} in {root.name} is a link, not a regular file, or too large; "
            "it is left as it is, so fixes cannot be made here."
        )
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header, *rows = list(csv.reader(handle))
        names = [column.strip().lower() for column in header]
        return header, rows, (names.index("path"), names.index("label"))
    except (OSError, ValueError, csv.Error) as error:  # ValueError: empty file or no column
        raise DatasetError(
            f"{SPLIT_FILE_NAME} in {root.name} cannot be read ({first_line(error)}); fix it "
            "or remove it before moving photos."
        ) from error


def _write(root: Path, header: list[str], rows: list[list[str]]) -> None:
    """Replace root's splits.csv through a temp file and a rename (readers see old or new)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    temp = root / f"{_TEMP_PREFIX}{os.getpid()}.csv"
    try:
        with open(temp, "w", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, root / SPLIT_FILE_NAME)
        fsync_dir(root)
    except OSError as error:
        temp.unlink(missing_ok=True)
        raise DatasetError(
            f"cannot update {SPLIT_FILE_NAME} in {root.name} ({first_line(error)})."
        ) from error
