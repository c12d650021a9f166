"""Export you can trust: reload an exported file, score it on the run's test photos beside the
model the app uses, time one photo, and keep the result with the run (export_checks.json)."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import statistics
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from engine.access import require_editor
from engine.classifiers import MAX_MODEL_BYTES, load_run_classifier
from engine.data.batches import decode_batches
from engine.errors import DatasetError, ModelUnavailableError, RunNotFoundError, first_line
from engine.evaluation import Predicts
from engine.export import MODEL_FILES, export
from engine.export_record import DOCUMENT, ExportCheck, ExportChecks, saved_checks
from engine.run_record import Run
from engine.runs import TMP_PREFIX, RunStore, utc_now
from engine.runtime import Forward, Runtime, tensorflow_forward
from engine.settings import Settings

LATENCY_REPEATS = 10  # median of this many single-photo calls, after one warm-up call


def prepare_export(
    settings: Settings,
    store: RunStore,
    run_id: str,
    fmt: str,
    check: bool = True,
    reference: Predicts | None = None,
) -> tuple[Path, ExportCheck | None]:
    """Export the run in fmt (editors only) and, when check, measure the exported file and save
    the measure with the run.

    reference is the model the app runs (default: the run's model on the runtime of settings).

    Raises:
        ReadOnlyError: viewer mode.
        TransferLabError: the export or its check failed; the message says why.
    """
    require_editor(settings, "export a model")
    path = export(store, run_id, fmt, settings.max_image_pixels)
    if not check:
        return path, None
    run = store.load(run_id)
    if reference is None:
        reference = load_run_classifier(store, run.info.run_id, Runtime.from_settings(settings))
    result = check_export(run, path, fmt, reference, settings.max_image_pixels)
    try:
        checks = saved_checks(store, run.info.run_id)
    except RunNotFoundError:  # a damaged document: this measure starts a new one
        checks = ExportChecks({})
    store.save_extra(run.info.run_id, DOCUMENT, checks.with_check(result).to_dict())
    return path, result


def check_export(
    run: Run, bundle: Path, fmt: str, reference: Predicts, max_pixels: int
) -> ExportCheck:
    """Score the model inside an export bundle and the reference on the run's test photos.

    Raises:
        DatasetError: the run's test photos are unknown (saved before splits) or gone.
        ModelUnavailableError: the exported model does not load or does not run.
    """
    if run.split is None:
        raise DatasetError(
            f"Run '{run.info.run_id}' was saved before runs recorded their split, so its test "
            "photos are unknown and the export cannot be checked; train it again to check "
            "its exports."
        )
    test = run.split.subset("test", run.info.class_names)
    if not len(test):
        raise DatasetError(f"Run '{run.info.run_id}' has no test photos to check an export on.")
    size = reference.input_size
    with _unpacked(bundle, fmt) as (model_path, model_bytes):
        forward = _load(model_path, fmt, size, run.info.run_id)
        exported, app = [], []
        for batch in decode_batches(test, size, 32, max_pixels):
            app.append(reference.predict_proba(batch))
            exported.append(_run(forward, batch.astype(np.float32), fmt, run.info.run_id))
            photo = batch[:1].astype(np.float32)  # the last batch's first: timed below
        latency, app_latency = _latency(forward, photo), _latency(reference.predict_proba, photo)
    labels = np.asarray(test.labels)
    exported_probs, app_probs = np.concatenate(exported), np.concatenate(app)
    return ExportCheck(
        export_format=fmt,
        model_bytes=model_bytes,
        download_bytes=bundle.stat().st_size,
        num_photos=len(test),
        accuracy=float((exported_probs.argmax(axis=1) == labels).mean()),
        app_accuracy=float((app_probs.argmax(axis=1) == labels).mean()),
        max_probability_difference=float(np.abs(exported_probs - app_probs).max()),
        latency_ms=latency,
        app_latency_ms=app_latency,
        checked=utc_now(),
    )


@contextlib.contextmanager
def _unpacked(bundle: Path, fmt: str) -> Iterator[tuple[Path, int]]:
    """(path of the bundle's model, its size in bytes), unpacked into a temp folder beside the
    bundle (inside the run folder) that is removed afterwards."""
    top = bundle.stem
    model_name = f"{top}/{MODEL_FILES[fmt]}"
    work = bundle.parent / f"{TMP_PREFIX}check-{secrets.token_hex(4)}"
    try:
        try:
            with zipfile.ZipFile(bundle) as archive:
                members = [
                    m
                    for m in archive.infolist()
                    if m.filename == model_name or m.filename.startswith(model_name + "/")
                ]
                if sum(m.file_size for m in members) > MAX_MODEL_BYTES:
                    raise ModelUnavailableError(
                        f"{bundle.name} holds a model too large for this product; delete it "
                        "and export again."
                    )
                work.mkdir()
                for member in members:  # names export() made; extract() also drops '..'
                    archive.extract(member, work)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ModelUnavailableError(
                f"The {fmt} export {bundle.name} cannot be opened ({first_line(exc)}); delete "
                "it and export again."
            ) from exc
        if not members:
            raise ModelUnavailableError(
                f"{bundle.name} holds no {MODEL_FILES[fmt]}; delete it and export again."
            )
        yield work / model_name, sum(m.file_size for m in members)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load(path: Path, fmt: str, size: int, run_id: str) -> Forward:
    """The exported model's forward pass, loaded the way its README tells a user to.

    Raises:
        ModelUnavailableError: it does not load.
    """
    try:
        if fmt == "keras":
            model = keras.saving.load_model(path, safe_mode=True)
            return tensorflow_forward(lambda images: model(images, training=False), size)
        if fmt == "savedmodel":
            # The loaded object owns the variables: keep it, not only its function.
            loaded = tf.saved_model.load(str(path))
            return lambda batch: loaded.serve(tf.constant(batch)).numpy()
        return _interpreter_forward(path.read_bytes())
    except Exception as exc:  # Keras, TensorFlow and LiteRT raise many kinds for bad files
        raise ModelUnavailableError(
            f"The {fmt} export of run '{run_id}' does not load: {first_line(exc)}. Delete its "
            "export folder and export again, or choose another format."
        ) from exc


def _interpreter_forward(flatbuffer: bytes) -> Forward:
    """One photo per invoke on every core, as the app runs its own flatbuffers."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer, num_threads=os.cpu_count() or 1)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]

    def forward(batch: np.ndarray) -> np.ndarray:
        rows = []
        for image in batch:
            interpreter.set_tensor(source, image[None])
            interpreter.invoke()
            rows.append(interpreter.get_tensor(target)[0].copy())
        return np.stack(rows)

    return forward


def _run(forward: Forward, batch: np.ndarray, fmt: str, run_id: str) -> np.ndarray:
    try:
        return np.asarray(forward(batch), np.float32)
    except Exception as exc:  # a model that loads but cannot take the run's photos
        raise ModelUnavailableError(
            f"The {fmt} export of run '{run_id}' loads but fails on a test photo: "
            f"{first_line(exc)}. Delete its export folder and export again."
        ) from exc


def _latency(forward: Callable[[np.ndarray], np.ndarray], photo: np.ndarray) -> float:
    """Median milliseconds of one photo through forward, after a warm-up call."""
    with contextlib.redirect_stdout(io.StringIO()):  # Keras may print progress
        forward(photo)
        times = []
        for _ in range(LATENCY_REPEATS):
            started = time.perf_counter()
            forward(photo)
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000
