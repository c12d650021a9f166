"""Label fixes made on disk: move a photo to another class folder, exclude it, or keep it, each
recorded in the undo journal before any file moves; undo one or all; finish what a killed
process left half done.

Every move is a rename inside the dataset folder (bytes untouched, atomic), planned in the
journal first and marked done after; a given splits.csv follows. Finishing and undoing look at
where the file is now, so doing either twice changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from engine.data.record import file_digest
from engine.errors import DatasetError
from engine.health import split_rows
from engine.health.journal import EXCLUDED_FOLDER, Fix, locked, read_journal, write_journal
from engine.health.places import class_folder, editable_root, free_name, photo_in
from engine.settings import Settings

ACTION = "move or exclude photos"  # what viewer mode refuses


def move_photo(root: str | Path, path: str, to_class: str, settings: Settings) -> Fix:
    """Move the photo at path (under root) into the class folder to_class.

    Raises:
        ReadOnlyError, PathNotAllowedError: see places.editable_root and places.photo_in.
        DatasetError: the photo or class is not there, or the journal cannot be written.
    """

    def plan(folder: Path, number: int) -> Fix:
        photo = photo_in(folder, path)
        destination = class_folder(folder, to_class)
        label = PurePosixPath(path).parts[0]
        if to_class == label:
            raise DatasetError(f"{path} is already in {to_class}.")
        target = f"{to_class}/{free_name(destination, photo.name)}"
        return _planned(folder, number, "move", path, target, label, to_class, photo)

    return _change(root, settings, plan)


def exclude_photo(root: str | Path, path: str, settings: Settings) -> Fix:
    """Take the photo out of the dataset: it waits in the hidden .excluded folder (undo brings
    it back). Raises as move_photo."""

    def plan(folder: Path, number: int) -> Fix:
        photo = photo_in(folder, path)
        parent = PurePosixPath(EXCLUDED_FOLDER, path).parent
        target = (parent / free_name(folder / parent, photo.name)).as_posix()
        label = PurePosixPath(path).parts[0]
        return _planned(folder, number, "exclude", path, target, label, "", photo)

    return _change(root, settings, plan)


def keep_photo(root: str | Path, path: str, settings: Settings) -> Fix:
    """Record that the photo's label is right (it leaves the suspects; nothing moves)."""

    def plan(folder: Path, number: int) -> Fix:
        photo = photo_in(folder, path)
        label = PurePosixPath(path).parts[0]
        return _planned(folder, number, "keep", path, "", label, label, photo)

    return _change(root, settings, plan)


def undo_last(root: str | Path, settings: Settings) -> Fix | None:
    """Undo the newest fix still applied (None when there is none). Raises as move_photo."""
    folder = editable_root(root, settings, ACTION)
    with locked(folder):
        journal = _finished(folder)
        applied = [i for i, fix in enumerate(journal) if fix.applied]
        if not applied:
            return None
        return _undo(folder, journal, applied[-1])


def undo_all(root: str | Path, settings: Settings) -> int:
    """Undo every applied fix, newest first; returns how many. Raises as move_photo."""
    folder = editable_root(root, settings, ACTION)
    with locked(folder):
        journal = _finished(folder)
        applied = [i for i, fix in enumerate(journal) if fix.applied]
        for index in reversed(applied):
            _undo(folder, journal, index)
        return len(applied)


def finish_pending(root: str | Path, settings: Settings) -> int:
    """Finish the fixes (and undos) a killed process left half done; returns how many."""
    folder = editable_root(root, settings, ACTION)
    with locked(folder):
        before = read_journal(folder)
        after = _finished(folder)
        return sum(old.state != new.state for old, new in zip(before, after, strict=True))


def applied_fixes(root: str | Path) -> list[Fix]:
    """The fixes in force in root (done, not undone), oldest first; reading only."""
    return [fix for fix in read_journal(Path(root)) if fix.applied]


def _planned(
    folder: Path,
    number: int,
    action: str,
    source: str,
    target: str,
    label: str,
    new_label: str,
    photo: Path,
) -> Fix:
    position, row = split_rows.split_row(folder, source) or (0, None)
    return Fix(
        number=number,
        action=action,
        source=source,
        target=target,
        label=label,
        new_label=new_label,
        sha1=file_digest(photo),
        state="planned",
        split_row=row,
        split_position=position,
    )


def _change(root: str | Path, settings: Settings, plan: Callable[[Path, int], Fix]) -> Fix:
    """Check the folder, finish pending work, journal the planned fix, apply it, mark it done."""
    folder = editable_root(root, settings, ACTION)
    with locked(folder):
        journal = _finished(folder)
        fix = plan(folder, len(journal) + 1)
        journal.append(fix)
        write_journal(folder, journal)  # before anything moves
        _forward(folder, fix)
        journal[-1] = fix.to("done")
        write_journal(folder, journal)
        return journal[-1]


def _undo(folder: Path, journal: list[Fix], index: int) -> Fix:
    journal[index] = journal[index].to("undoing")
    write_journal(folder, journal)
    _backward(folder, journal[index])
    journal[index] = journal[index].to("undone")
    write_journal(folder, journal)
    return journal[index]


def _finished(folder: Path) -> list[Fix]:
    """The journal with every half-done fix finished and every half-done undo completed."""
    journal = read_journal(folder)
    changed = False
    for index, fix in enumerate(journal):
        if fix.state == "planned":
            try:
                _forward(folder, fix)
                journal[index] = fix.to("done")
            except _Vanished:  # killed before the move, and the photo is gone since
                journal[index] = fix.to("undone")
            changed = True
        elif fix.state == "undoing":
            _backward(folder, fix)
            journal[index] = fix.to("undone")
            changed = True
    if changed:
        write_journal(folder, journal)
    return journal


class _Vanished(DatasetError):
    """A planned fix's photo is neither where it was nor where it was going."""


def _forward(folder: Path, fix: Fix) -> None:
    """Apply fix (idempotent: a photo already at its target stays there)."""
    if fix.action == "keep":
        return
    source, target = folder / fix.source, folder / fix.target
    if os.path.lexists(source) and not os.path.lexists(target):
        _make_parents(folder, target)
        os.rename(source, target)
    elif not os.path.lexists(target):
        raise _Vanished(f"{fix.source} is no longer in the dataset; nothing was moved.")
    if fix.split_row is not None:
        new_row = None
        if fix.action == "move":
            new_row = split_rows.moved_row(fix.split_row, folder, fix.target, fix.new_label)
        split_rows.replace_row(folder, fix.source, new_row)


def _backward(folder: Path, fix: Fix) -> None:
    """Undo fix (idempotent: a photo already back stays there); the photo must be unchanged.

    Raises:
        DatasetError: the moved photo is gone or was changed since.
    """
    if fix.action == "keep":
        return
    source, target = folder / fix.source, folder / fix.target
    if os.path.lexists(target) and not os.path.lexists(source):
        if target.is_symlink() or file_digest(target) != fix.sha1:
            raise DatasetError(
                f"{fix.target} changed since it was moved there; it is left where it is."
            )
        _make_parents(folder, source)
        os.rename(target, source)
    elif not os.path.lexists(source):
        raise DatasetError(f"{fix.target} is gone; {fix.source} cannot be brought back.")
    if fix.split_row is not None:
        split_rows.restore_row(folder, fix.target, fix.split_position, fix.split_row)


def _make_parents(folder: Path, path: Path) -> None:
    """Create path's missing parent folders under folder, refusing any that is a link."""
    current = folder
    for part in path.relative_to(folder).parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise DatasetError(f"{current.relative_to(folder)} is a symbolic link; not moved.")
        current.mkdir(exist_ok=True)
