"""Run store on disk: one folder per run, written atomically; list, load, delete, export."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import secrets
import shutil
import time
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

# Imported for its side effect too: it registers the custom layers (Preprocess) that
# safe-mode loading must resolve.
from engine import backbones
from engine.errors import ConfigError, ModelUnavailableError, RunNotFoundError, RunStoreError
from engine.training import FineTunedClassifier

EXPORT_FORMATS = ("keras", "savedmodel", "tflite")

RUN_FILE = "run.json"
MODEL_FILE = "model.keras"
EXPORT_DIR = "export"
TMP_PREFIX = ".tmp-"
STALE_TMP_SECONDS = 3600  # a save takes seconds; an hour-old temp folder is from a killed process

# Ids come from users (URLs, CLI); one safe path component that cannot name a hidden/temp folder.
_RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_EXPORT_FILES = {"savedmodel": "savedmodel.zip", "tflite": "model.tflite"}
# What reading a half-written, hand-edited or foreign run folder raises.
_DAMAGED = (OSError, ValueError, KeyError, TypeError)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    """Headline facts of one run, as listed on the Runs page."""

    run_id: str
    created: str  # ISO 8601, UTC
    status: str  # 'complete' | 'cancelled'
    dataset: str
    class_names: tuple[str, ...]
    config: dict
    test_accuracy: float | None
    zero_shot_accuracy: float | None
    train_seconds: float | None


@dataclass(frozen=True)
class Run:
    """Everything saved for one run except the model."""

    info: RunInfo
    history: dict  # {'loss': [...], ..., 'stage': [...]}
    # accuracy, per_class, confusion, class_names,
    # zero_shot {accuracy, per_class, confusion, mapping, unmapped_classes} or {error}
    metrics: dict
    predictions: list[dict]  # per-image rows (engine.evaluation.Evaluation.rows)


def utc_now() -> str:
    """The current time as ISO 8601 UTC with microseconds (sorts like the runs it stamps)."""
    return datetime.now(UTC).isoformat()


def new_run_id() -> str:
    """A sortable, filesystem-safe id: UTC timestamp plus a short random suffix."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class RunStore:
    """Runs under one folder; a run is visible only once completely written (temp dir + rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def save(
        self,
        classifier: FineTunedClassifier | None,
        info: RunInfo,
        history: dict,
        metrics: dict,
        predictions: list[dict],
    ) -> str:
        """Write a run (model as model.keras when given) and return its id. Raises RunStoreError.

        The run gets a new id (info.run_id is ignored) and info.created is filled in when empty.
        """
        run_id = self._unused_id()
        info = dataclasses.replace(info, run_id=run_id, created=info.created or utc_now())
        tmp = self.root / f"{TMP_PREFIX}{run_id}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
        except OSError as exc:
            raise self._save_error(exc) from exc
        try:
            _write_json(tmp / "config.json", info.config)
            _write_json(tmp / "history.json", history)
            _write_json(tmp / "metrics.json", metrics)
            _write_json(tmp / "predictions.json", predictions)
            if classifier is not None:
                classifier.model.save(tmp / MODEL_FILE)
                _fsync_file(tmp / MODEL_FILE)
            # run.json last: a folder holding it has every other file complete.
            _write_json(tmp / RUN_FILE, dataclasses.asdict(info))
            _fsync_dir(tmp)
            os.rename(tmp, self.root / run_id)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError):
                raise self._save_error(exc) from exc
            raise
        with contextlib.suppress(OSError):  # the run is saved; this only hastens durability
            _fsync_dir(self.root)
        return run_id

    def list(self) -> list[RunInfo]:
        """All readable runs, newest first; temp folders and damaged runs are ignored."""
        if not self.root.is_dir():
            return []
        self._remove_stale_temp_dirs()
        try:
            folders = list(self.root.iterdir())
        except OSError as exc:
            raise RunStoreError(
                f"Could not read the runs folder {self.root}: {_reason(exc)}. "
                "Check its permissions or point TLAB_RUNS_DIR at another folder."
            ) from exc
        runs = []
        for folder in folders:
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            try:
                runs.append(_read_info(folder))
            except _DAMAGED as exc:
                logger.warning("Ignoring damaged run folder %s: %s", folder, exc)
        return sorted(runs, key=lambda info: (info.created, info.run_id), reverse=True)

    def load(self, run_id: str) -> Run:
        """Read a run ('latest' = newest complete). Raises RunNotFoundError."""
        folder = self._folder(run_id)
        try:
            return Run(
                info=_read_info(folder),
                history=_read_json(folder / "history.json"),
                metrics=_read_json(folder / "metrics.json"),
                predictions=_read_json(folder / "predictions.json"),
            )
        except _DAMAGED as exc:
            raise self._damaged_error(folder, exc) from exc

    def load_model(self, run_id: str) -> FineTunedClassifier:
        """Load the run's model with Keras safe mode.

        Raises:
            RunNotFoundError: no such run, or it has no model (cancelled).
            ModelUnavailableError: model.keras exists but cannot be loaded.
        """
        folder = self._folder(run_id)
        info = self._info_or_not_found(folder)
        path = self._model_path(folder, info)
        try:
            model = keras.saving.load_model(path, safe_mode=True)
        except Exception as exc:  # Keras raises ValueError, OSError, zip errors... for bad files
            raise ModelUnavailableError(
                f"The model of run '{info.run_id}' ({path}) cannot be loaded: {_reason(exc)}. "
                "Delete the run and train again."
            ) from exc
        input_size = model.input_shape[1]
        if input_size is None:
            input_size = backbones.get_backbone(info.config.get("backbone", "")).input_size
        return FineTunedClassifier(model, info.class_names, int(input_size))

    def delete(self, run_id: str) -> None:
        """Remove a run folder. Raises RunNotFoundError (and RunStoreError if not removable)."""
        folder = self._folder(run_id)
        # Rename first so readers never see a half-deleted run.
        doomed = self.root / f"{TMP_PREFIX}del-{folder.name}-{secrets.token_hex(2)}"
        try:
            os.rename(folder, doomed)
        except OSError as exc:
            raise RunStoreError(
                f"Could not delete run '{folder.name}' in {self.root}: {_reason(exc)}. "
                "Check that the runs folder is writable."
            ) from exc
        shutil.rmtree(doomed, ignore_errors=True)

    def export(self, run_id: str, fmt: str) -> Path:
        """Write the model as fmt under the run folder and return a single file to download
        (.keras, SavedModel as .zip, .tflite). Raises RunNotFoundError, ConfigError.

        Also raises RunStoreError when the file cannot be written or converted.
        """
        if fmt not in EXPORT_FORMATS:
            raise ConfigError(
                f"Unknown export format '{fmt}'; choose one of {', '.join(EXPORT_FORMATS)}."
            )
        folder = self._folder(run_id)
        model_path = self._model_path(folder, self._info_or_not_found(folder))
        if fmt == "keras":
            return model_path
        target = folder / EXPORT_DIR / _EXPORT_FILES[fmt]
        if target.is_file():  # written atomically, so an existing file is complete
            return target
        model = self.load_model(folder.name).model
        work = folder / EXPORT_DIR / f"{TMP_PREFIX}{secrets.token_hex(4)}"
        try:
            work.mkdir(parents=True)
            saved_model = work / "savedmodel"
            model.export(str(saved_model), format="tf_saved_model", verbose=False)
            staged = work / target.name
            if fmt == "savedmodel":
                _zip_folder(saved_model, staged)
            else:
                staged.write_bytes(_to_tflite(saved_model, folder.name))
            _fsync_file(staged)
            os.replace(staged, target)
        except OSError as exc:
            raise RunStoreError(
                f"Could not export run '{folder.name}' as {fmt} in {folder}: {_reason(exc)}. "
                "Free some space or point TLAB_RUNS_DIR at a writable folder."
            ) from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return target

    def _save_error(self, exc: OSError) -> RunStoreError:
        return RunStoreError(
            f"Could not save the run in {self.root}: {_reason(exc)}. "
            "Free some space or point TLAB_RUNS_DIR at a writable folder."
        )

    def _unused_id(self) -> str:
        while True:
            run_id = new_run_id()
            if (
                not (self.root / run_id).exists()
                and not (self.root / f"{TMP_PREFIX}{run_id}").exists()
            ):
                return run_id

    def _folder(self, run_id: str) -> Path:
        """The folder of an existing run; 'latest' resolves to the newest complete one."""
        if run_id == "latest":
            complete = [info for info in self.list() if info.status == "complete"]
            if not complete:
                raise RunNotFoundError(
                    f"There is no complete run in {self.root} yet; train one first "
                    "(Train page or `python -m engine train --data DIR`)."
                )
            run_id = complete[0].run_id
        if not _RUN_ID_PATTERN.fullmatch(run_id) or ".." in run_id:
            raise RunNotFoundError(
                f"'{run_id}' is not a run id; ids look like 20261123-181500-a1b2 "
                "(see the Runs page or `python -m engine runs`)."
            )
        folder = self.root / run_id
        if not (folder / RUN_FILE).is_file():
            raise RunNotFoundError(
                f"No run '{run_id}' in {self.root}; see the Runs page or `python -m engine runs` "
                "for the saved ids."
            )
        return folder

    def _info_or_not_found(self, folder: Path) -> RunInfo:
        try:
            return _read_info(folder)
        except _DAMAGED as exc:
            raise self._damaged_error(folder, exc) from exc

    def _damaged_error(self, folder: Path, exc: Exception) -> RunNotFoundError:
        return RunNotFoundError(
            f"Run '{folder.name}' in {self.root} is damaged ({_reason(exc)}); "
            "delete it and train again."
        )

    def _model_path(self, folder: Path, info: RunInfo) -> Path:
        path = folder / MODEL_FILE
        if not path.is_file():
            raise RunNotFoundError(
                f"Run '{info.run_id}' has no model (its status is '{info.status}'); "
                "choose a complete run."
            )
        return path

    def _remove_stale_temp_dirs(self) -> None:
        """Delete temp folders a killed save or delete left behind over an hour ago."""
        cutoff = time.time() - STALE_TMP_SECONDS
        for folder in self.root.glob(f"{TMP_PREFIX}*"):
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue  # vanished meanwhile, or not ours to inspect


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _read_info(folder: Path) -> RunInfo:
    data = _read_json(folder / RUN_FILE)
    if not isinstance(data, dict):
        raise ValueError(f"{RUN_FILE} does not hold an object")
    info = RunInfo(**{f.name: data[f.name] for f in dataclasses.fields(RunInfo)})
    if not all(isinstance(text, str) for text in (info.created, info.status, info.dataset)):
        raise ValueError(f"{RUN_FILE} has a non-text created, status or dataset")
    # The folder name is the id users see and pass back, even if the folder was renamed.
    return dataclasses.replace(info, run_id=folder.name, class_names=tuple(info.class_names))


def _json_default(value: Any) -> Any:
    """Serialise what metrics and prediction rows may hold besides plain JSON types."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=1, default=_json_default)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    """Make a rename or new entry durable (a directory's entries live in the directory)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _zip_folder(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, Path(folder.name) / path.relative_to(folder))


def _to_tflite(saved_model: Path, run_id: str) -> bytes:
    try:
        return tf.lite.TFLiteConverter.from_saved_model(str(saved_model)).convert()
    except Exception as exc:  # the converter raises its own ConverterError and others
        raise RunStoreError(
            f"Run '{run_id}' could not be converted to TFLite: {_reason(exc)}. "
            "Export it as keras or savedmodel instead."
        ) from exc


def _reason(exc: BaseException) -> str:
    """The human part of an exception (OSError's strerror, else its text), without a final dot."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return (text or type(exc).__name__).strip().rstrip(".")
