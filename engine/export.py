"""Export a run's model for use elsewhere: .keras, SavedModel (zipped) or TFLite."""

from __future__ import annotations

import os
import secrets
import shutil
import zipfile
from pathlib import Path

import tensorflow as tf

from engine.classifiers import load_run_classifier
from engine.errors import RunStoreError, first_line
from engine.runs import TMP_PREFIX, RunStore, fsync_file


def export(store: RunStore, run_id: str, fmt: str) -> Path:
    """Write the model as fmt under the run folder and return the single file to download
    (.keras, SavedModel as .zip, .tflite); an export made before is reused.

    Raises:
        ConfigError: unknown format.
        RunNotFoundError: no such run, or it has no model.
        RunStoreError: the file cannot be written or converted.
    """
    target = store.export_path(run_id, fmt)
    if fmt == "keras" or target.is_file():  # exports are written atomically: a file is complete
        return target
    run_id = store.info(run_id).run_id
    model = load_run_classifier(store, run_id).model
    work = target.parent / f"{TMP_PREFIX}{secrets.token_hex(4)}"
    try:
        work.mkdir(parents=True)
        saved_model = work / "savedmodel"
        model.export(str(saved_model), format="tf_saved_model", verbose=False)
        staged = work / target.name
        if fmt == "savedmodel":
            _zip_folder(saved_model, staged)
        else:
            staged.write_bytes(_to_tflite(saved_model, run_id))
        fsync_file(staged)
        os.replace(staged, target)
    except OSError as exc:
        raise RunStoreError(
            f"Could not export run '{run_id}' as {fmt} in {target.parent}: {first_line(exc)}. "
            "Free some space or point TLAB_RUNS_DIR at a writable folder."
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _zip_folder(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, Path(folder.name) / path.relative_to(folder))


def _to_tflite(saved_model: Path, run_id: str) -> bytes:
    try:
        return tf.lite.TFLiteConverter.from_saved_model(str(saved_model)).convert()
    except Exception as exc:  # the converter raises its own ConverterError and others
        raise RunStoreError(
            f"Run '{run_id}' could not be converted to TFLite: {first_line(exc)}. "
            "Export it as keras or savedmodel instead."
        ) from exc
