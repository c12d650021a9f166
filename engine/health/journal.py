"""The undo journal of label fixes: one JSON file in the dataset folder, replaced atomically
before and after every file move, so a process killed at any point leaves a journal that says
what to finish (or undo), and a lock so two sessions never move at once."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.errors import DatasetError, first_line
from engine.schema import Fields, RecordError
from engine.store_files import fsync_dir, read_json, replace_json

JOURNAL_FILE = ".transfer-lab-fixes.json"
LOCK_FILE = ".transfer-lab-fixes.lock"
EXCLUDED_FOLDER = ".excluded"  # excluded photos wait here (hidden: scans leave it out)
FORMAT = 1
ACTIONS = ("move", "exclude", "keep")
# planned -> done (the move made) -> undoing -> undone; planned and undoing are half-way
# states a killed process leaves, finished by the next change.
STATES = ("planned", "done", "undoing", "undone")
_TEMP_PREFIX = ".tmp-fixes-"


@dataclass(frozen=True)
class Fix:
    """One decision about a suspected photo."""

    number: int
    action: str  # one of ACTIONS
    source: str  # path under the dataset folder before the fix
    target: str  # after the fix ("" for keep)
    label: str  # the class the photo had before the fix
    new_label: str  # the class it has after ("" when excluded)
    sha1: str  # its content, checked before it is moved back
    state: str  # one of STATES
    split_row: tuple[str, ...] | None = None  # its splits.csv row before the fix, if any
    split_position: int = 0  # that row's place among the data rows

    @property
    def applied(self) -> bool:
        return self.state == "done"

    def to(self, state: str) -> Fix:
        return dataclasses.replace(self, state=state)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["split_row"] = None if self.split_row is None else list(self.split_row)
        return data

    @classmethod
    def from_dict(cls, data: object, where: str) -> Fix:
        fields = Fields(data, where)
        action, state = fields.text("action"), fields.text("state")
        if action not in ACTIONS or state not in STATES:
            raise RecordError(f"{where}: unknown action {action!r} or state {state!r}")
        return cls(
            number=fields.count("number"),
            action=action,
            source=fields.text("source"),
            target=fields.text("target"),
            label=fields.text("label"),
            new_label=fields.text("new_label"),
            sha1=fields.text("sha1"),
            state=state,
            split_row=fields.texts("split_row", optional=True),
            split_position=fields.count("split_position", optional=True) or 0,
        )


def read_journal(root: Path) -> list[Fix]:
    """The fixes recorded in root, oldest first ([] when none were made).

    Raises:
        DatasetError: the journal is damaged or a link (the message says how to recover).
    """
    path = root / JOURNAL_FILE
    if not os.path.lexists(path):
        return []
    try:
        fields = Fields(read_json(path), JOURNAL_FILE)
        if fields.count("format") > FORMAT:
            raise RecordError("written by a newer Transfer Lab")
        return list(fields.items("fixes", Fix.from_dict))
    except (OSError, RecordError) as error:
        raise DatasetError(
            f"the fixes journal {JOURNAL_FILE} in {root.name} cannot be read "
            f"({first_line(error)}); move it away to start a new one."
        ) from error


def write_journal(root: Path, fixes: list[Fix]) -> None:
    """Replace the journal atomically and make the rename durable before anything moves.

    Raises:
        DatasetError: the folder is not writable or the disk is full.
    """
    try:
        replace_json(
            root / JOURNAL_FILE,
            {"format": FORMAT, "fixes": [fix.to_dict() for fix in fixes]},
            _TEMP_PREFIX,
        )
        fsync_dir(root)
    except OSError as error:
        raise DatasetError(
            f"cannot write the fixes journal in {root.name} ({first_line(error)}); nothing was "
            "moved. Check that the folder is writable and the disk has space."
        ) from error


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold root's fixes lock (blocking): one change at a time across sessions and processes."""
    try:
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        raise DatasetError(
            f"cannot lock {root.name} for changes ({first_line(error)}); check its permissions."
        ) from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
