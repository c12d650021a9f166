"""Run store on disk: one folder per run, written atomically; list, load, delete, file paths.

Nothing in the store is followed through a symbolic link, and only what the store itself
created (its temp folders, marked) is ever cleaned up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from engine.access import can_change, read_only_error
from engine.errors import ConfigError, RunNotFoundError, RunStoreError, first_line
from engine.run_ids import is_run_id, reserve_id
from engine.run_record import Run, RunInfo
from engine.schema import Fields, RecordError
from engine.settings import Settings
from engine.store_files import (
    fsync_dir,
    fsync_file,
    is_link_or_missing,
    read_json,
    remove_stale_dirs,
    replace_json,
    write_json,
)

EXPORT_FORMATS = ("keras", "savedmodel", "tflite", "tflite-float16", "tflite-int8")

RUN_FILE = "run.json"
SPLIT_FILE = "split.json"
MODEL_FILE = "model.keras"
DEMO_PIN_FILE = ".demo-pin.json"  # the run the presenter chose for the Demo page
STORE_MARKER = ".transfer-lab-runs"  # says the folder is a run store (written on first save)
TMP_MARKER = ".transfer-lab-tmp"  # inside every temp folder the store makes
EXPORT_DIR = "export"
TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 3600  # a save takes seconds; an hour-old temp folder is from a killed process

# Documents later features add to a run (insight.json, calibration.json, ...): plain names.
_EXTRA_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
_CORE_FILES = {"run", "config", "history", "metrics", "predictions", "split"}
# What reading a half-written, hand-edited or foreign run folder raises.
_DAMAGED = (OSError, ValueError, RecordError)

logger = logging.getLogger(__name__)


class SavesModel(Protocol):
    """A classifier whose Keras model can be written to a .keras file."""

    @property
    def model(self) -> Any: ...


@dataclass(frozen=True)
class DamagedRun:
    """A run folder that cannot be read, and why (listed so the user can delete it)."""

    run_id: str
    reason: str


def utc_now() -> str:
    """The current time as ISO 8601 UTC with microseconds (sorts like the runs it stamps)."""
    return datetime.now(UTC).isoformat()


class RunStore:
    """Runs under one folder; a run is visible only once completely written (temp dir + rename)."""

    def __init__(self, root: str | Path, read_only: bool = False) -> None:
        self.root = Path(root)
        self.read_only = read_only  # viewer mode: every change raises ReadOnlyError

    @classmethod
    def for_settings(cls, settings: Settings) -> RunStore:
        """The store of settings.runs_dir, read-only in viewer mode (TLAB_MODE=viewer)."""
        return cls(settings.runs_dir, read_only=not can_change(settings))

    def save(self, run: Run, classifier: SavesModel | None = None) -> str:
        """Write a run (its model as model.keras when given) and return its id.

        The run gets a new id (run.info.run_id is ignored) and info.created is filled in when
        empty.

        Raises:
            RunStoreError: the folder cannot be written (read-only, disk full, ...).
        """
        self._writable("save a run")
        tmp = self._make_temp_dir(secrets.token_hex(6))
        run_id = ""
        try:
            run_id = reserve_id(self.root)  # its empty folder, replaced by the rename
            created = run.info.created or utc_now()
            info = dataclasses.replace(run.info, run_id=run_id, created=created)
            write_json(tmp / "config.json", dataclasses.asdict(info.config))
            write_json(tmp / "history.json", run.history.values)
            write_json(tmp / "metrics.json", run.metrics_dict())
            write_json(tmp / "predictions.json", run.predictions_list())
            if run.split is not None:
                write_json(tmp / SPLIT_FILE, run.split.to_dict())
            for name, document in run.extras.items():
                write_json(tmp / _extra_file(name), document)
            if classifier is not None:
                classifier.model.save(tmp / MODEL_FILE)
                fsync_file(tmp / MODEL_FILE)
            (tmp / TMP_MARKER).unlink()
            # run.json last: a folder holding it has every other file complete.
            write_json(tmp / RUN_FILE, info.to_dict())
            fsync_dir(tmp)
            os.rename(tmp, self.root / run_id)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if run_id:
                with contextlib.suppress(OSError):
                    (self.root / run_id).rmdir()  # the reservation, if the rename never happened
            if isinstance(exc, OSError):
                raise self._save_error(exc) from exc
            raise
        with contextlib.suppress(OSError):  # the run is saved; this only hastens durability
            fsync_dir(self.root)
        return run_id

    def list(self, status: str | None = None) -> list[RunInfo]:
        """Readable runs (of one status, when given), newest first; see damaged() for the rest."""
        runs = [info for info in self._read_all()[0] if status is None or info.status == status]
        return sorted(runs, key=lambda info: (info.created, info.run_id), reverse=True)

    def damaged(self) -> list[DamagedRun]:
        """Run folders whose run.json cannot be read, with the reason (every other run works)."""
        return self._read_all()[1]

    def info(self, run_id: str) -> RunInfo:
        """The headline facts of a run ('latest' = newest complete). Raises RunNotFoundError."""
        folder = self._folder(run_id)
        try:
            return _read_info(folder)
        except _DAMAGED as exc:
            raise self._damaged_error(folder, exc) from exc

    def load(self, run_id: str) -> Run:
        """Read a run ('latest' = newest complete), every file checked against the schema.

        Raises:
            RunNotFoundError: no such run, or it is damaged (the message says which file and
                field).
        """
        folder = self._folder(run_id)
        split_file = folder / SPLIT_FILE
        try:
            return Run.from_files(
                _read_info(folder),
                history=read_json(folder / "history.json"),
                metrics=read_json(folder / "metrics.json"),
                predictions=read_json(folder / "predictions.json"),
                split=read_json(split_file) if split_file.exists() else None,
            )
        except _DAMAGED as exc:
            raise self._damaged_error(folder, exc) from exc

    def set_notes(self, run_id: str, notes: str) -> RunInfo:
        """Replace the run's notes (run.json is rewritten atomically). Raises RunStoreError."""
        self._writable("change a run's notes")
        info = dataclasses.replace(self.info(run_id), notes=notes.strip())
        self._replace_json(self.root / info.run_id / RUN_FILE, info.to_dict())
        return info

    def save_extra(self, run_id: str, name: str, document: Any) -> None:
        """Write (or replace) the run's <name>.json atomically: what a feature computed later
        (e.g. a calibration). Its owner reads it back with load_extra and checks its fields.

        Raises:
            RunNotFoundError: no such run. RunStoreError: the folder cannot be written.
        """
        self._writable("save to a run")
        folder = self._folder(run_id)
        self._replace_json(folder / _extra_file(name), document)

    def load_extra(self, run_id: str, name: str) -> Any | None:
        """The parsed <name>.json of a run, None when the run has none.

        Raises:
            RunNotFoundError: no such run, or the file is not a regular JSON file of ours.
        """
        folder = self._folder(run_id)
        path = folder / _extra_file(name)
        if not path.exists() and not path.is_symlink():
            return None
        try:
            return read_json(path)
        except _DAMAGED as exc:
            raise self._damaged_error(folder, exc) from exc

    def pin_demo(self, run_id: str | None) -> None:
        """Make the Demo page show this run (None: back to the newest default-recipe run)."""
        self._writable("pin a run for the Demo")
        pin = self.root / DEMO_PIN_FILE
        if run_id is None:
            pin.unlink(missing_ok=True)
            return
        info = self.info(run_id)
        if not info.has_model:
            raise RunNotFoundError(f"Run '{info.run_id}' has no model to show in the Demo.")
        self.root.mkdir(parents=True, exist_ok=True)
        self._replace_json(pin, {"run_id": info.run_id})

    def demo_pin(self) -> str | None:
        """The pinned Demo run's id, if it still exists with a model."""
        try:
            run_id = Fields(read_json(self.root / DEMO_PIN_FILE), DEMO_PIN_FILE).text("run_id")
            return run_id if self.info(run_id).has_model else None
        except (*_DAMAGED, RunNotFoundError):
            return None

    def model_path(self, run_id: str) -> Path:
        """The run's model.keras (a regular file, never a link). Raises RunNotFoundError when the
        run has none (cancelled) or it is not a plain file."""
        folder = self._folder(run_id)
        path = folder / MODEL_FILE
        if is_link_or_missing(path) or not path.is_file():
            status = self.info(folder.name).status
            raise RunNotFoundError(
                f"Run '{folder.name}' has no model (its status is '{status}'); "
                "choose a complete run."
            )
        return path

    def export_path(self, run_id: str, fmt: str) -> Path:
        """Where the run's export bundle in format fmt is written (engine.export makes it).

        Raises:
            ConfigError: fmt is not one of EXPORT_FORMATS.
            RunNotFoundError: no such run, it has no model, or its export folder is a link.
            ReadOnlyError: viewer mode.
        """
        self._writable("export a run")
        if fmt not in EXPORT_FORMATS:
            raise ConfigError(
                f"Unknown export format '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}."
            )
        folder = self.model_path(run_id).parent
        exports = folder / EXPORT_DIR
        if exports.is_symlink():
            raise RunNotFoundError(
                f"Run '{folder.name}' has a symbolic link as its export folder; exports are "
                "only written inside the run folder. Delete the link."
            )
        return exports / f"{folder.name}-{fmt}.zip"

    def delete(self, run_id: str) -> None:
        """Remove a run folder, damaged ones too. Raises RunNotFoundError, RunStoreError."""
        self._writable("delete a run")
        folder = self._folder(run_id, must_be_readable=False)
        # Rename first so readers never see a half-deleted run.
        doomed = self.root / f"{TMP_PREFIX}del-{folder.name}-{secrets.token_hex(4)}"
        try:
            os.rename(folder, doomed)
            (doomed / TMP_MARKER).touch()
        except FileNotFoundError as exc:
            raise _deleted_meanwhile(folder.name) from exc
        except OSError as exc:
            raise RunStoreError(
                f"Could not delete run '{folder.name}' in {self.root}: {first_line(exc)}. "
                "Check that the runs folder is writable."
            ) from exc
        shutil.rmtree(doomed, ignore_errors=True)

    def _read_all(self) -> tuple[list[RunInfo], list[DamagedRun]]:
        if not self.root.is_dir():
            return [], []
        self._remove_stale_temp_dirs()
        try:
            folders = sorted(self.root.iterdir())
        except OSError as exc:
            raise RunStoreError(
                f"Could not read the runs folder {self.root}: {first_line(exc)}. "
                "Check its permissions or point TLAB_RUNS_DIR at another folder."
            ) from exc
        runs, damaged = [], []
        for folder in folders:
            if folder.name.startswith(".") or not is_run_id(folder.name):
                continue
            if folder.is_symlink():
                damaged.append(DamagedRun(folder.name, "the run folder is a symbolic link"))
                continue
            if not (folder / RUN_FILE).exists():
                continue  # not a run (a stray folder someone put there)
            try:
                runs.append(_read_info(folder))
            except _DAMAGED as exc:
                if not folder.exists():
                    continue  # deleted by another process while we listed
                logger.warning("Damaged run folder %s: %s", folder, exc)
                damaged.append(DamagedRun(folder.name, first_line(exc)))
        return runs, damaged

    def _make_temp_dir(self, run_id: str) -> Path:
        tmp = self.root / f"{TMP_PREFIX}{run_id}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / STORE_MARKER).touch()
            tmp.mkdir()
            (tmp / TMP_MARKER).touch()
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise self._save_error(exc) from exc
        return tmp

    def _replace_json(self, path: Path, data: Any) -> None:
        try:
            replace_json(path, data, TMP_PREFIX)
        except OSError as exc:
            raise self._save_error(exc) from exc

    def _save_error(self, exc: OSError) -> RunStoreError:
        return RunStoreError(
            f"Could not save the run in {self.root}: {first_line(exc)}. "
            "Free some space or point TLAB_RUNS_DIR at a writable folder."
        )

    def _writable(self, action: str) -> None:
        if self.read_only:
            raise read_only_error(action)

    def _folder(self, run_id: str, must_be_readable: bool = True) -> Path:
        """The folder of an existing run; 'latest' resolves to the newest complete one."""
        if run_id == "latest":
            complete = self.list(status="complete")
            if not complete:
                raise RunNotFoundError(
                    f"There is no complete run in {self.root} yet; train one first "
                    "(Train page or `python -m engine train --data DIR`)."
                )
            run_id = complete[0].run_id
        if not is_run_id(run_id):
            raise RunNotFoundError(
                f"'{run_id}' is not a run id; ids look like 20261123-181500-a1b2 "
                "(see the Runs page or `python -m engine runs`)."
            )
        folder = self.root / run_id
        if folder.is_symlink():
            raise RunNotFoundError(
                f"Run '{run_id}' in {self.root} is a symbolic link; runs are never read through "
                "links. Delete it."
            )
        if not folder.is_dir() or (must_be_readable and not (folder / RUN_FILE).exists()):
            raise RunNotFoundError(
                f"No run '{run_id}' in {self.root}; see the Runs page or `python -m engine runs` "
                "for the saved ids."
            )
        return folder

    def _damaged_error(self, folder: Path, exc: Exception) -> RunNotFoundError:
        if not folder.exists():
            return _deleted_meanwhile(folder.name)
        return RunNotFoundError(
            f"Run '{folder.name}' in {self.root} is damaged ({first_line(exc)}); "
            "delete it and train again."
        )

    def _remove_stale_temp_dirs(self) -> None:
        """Delete what killed saves and deletes left over an hour ago: temp folders marked as
        the store's own, and empty folders that reserved an id; only in a marked run store."""
        if not (self.root / STORE_MARKER).is_file():
            return
        with contextlib.suppress(OSError):  # unreadable now: the listing will say so
            reserved = [
                folder
                for folder in self.root.iterdir()
                if is_run_id(folder.name) and not (folder / RUN_FILE).exists()
            ]
            remove_stale_dirs(reserved, STALE_TMP_SECONDS, marker=None)
            remove_stale_dirs(self.root.glob(f"{TMP_PREFIX}*"), STALE_TMP_SECONDS, TMP_MARKER)


def _deleted_meanwhile(run_id: str) -> RunNotFoundError:
    return RunNotFoundError(f"Run '{run_id}' was deleted meanwhile (by another tab or process).")


def _extra_file(name: str) -> str:
    if not _EXTRA_PATTERN.fullmatch(name) or name in _CORE_FILES:
        raise ValueError(f"{name!r} cannot name an extra run document")
    return f"{name}.json"


def _read_info(folder: Path) -> RunInfo:
    return RunInfo.from_dict(read_json(folder / RUN_FILE), run_id=folder.name)
