"""Export a run's model as one zip that works without Transfer Lab: the model (.keras,
SavedModel, or TFLite at float32, float16 or int8), labels.txt, input.json (what the model
expects) and a README."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import zipfile
from pathlib import Path

from engine.backbones import get_backbone
from engine.classifiers import load_run_classifier
from engine.errors import RunStoreError, first_line
from engine.quantize import TFLITE_FORMATS, calibration, calibration_photos, to_tflite
from engine.run_record import RunInfo
from engine.runs import TMP_PREFIX, RunStore
from engine.settings import DEFAULT_MAX_IMAGE_PIXELS
from engine.store_files import fsync_file

MODEL_FILES = {
    "keras": "model.keras",
    "savedmodel": "savedmodel",
    "tflite": "model.tflite",
    "tflite-float16": "model-float16.tflite",
    "tflite-int8": "model-int8.tflite",
}
_PRECISION = {
    "tflite-float16": "Weights stored as float16 (half the size); it computes in float32.\n",
    "tflite-int8": (
        "Weights and activations are 8-bit integers, calibrated on the run's training photos; "
        "inputs and outputs stay float32.\n"
    ),
}
_HOW_TO_LOAD = {
    "keras": (
        "import keras\n"
        'model = keras.saving.load_model("model.keras")  # plain Keras layers, no custom code\n'
        "probabilities = model.predict(images)"
    ),
    "savedmodel": (
        "import tensorflow as tf\n"
        'model = tf.saved_model.load("savedmodel")\n'
        "probabilities = model.serve(tf.constant(images)).numpy()"
    ),
    "tflite": (
        "from ai_edge_litert.interpreter import Interpreter  # or tf.lite.Interpreter\n"
        'interpreter = Interpreter(model_path="{file}")\n'
        "interpreter.allocate_tensors()\n"
        'interpreter.set_tensor(interpreter.get_input_details()[0]["index"], images)\n'
        "interpreter.invoke()\n"
        'probabilities = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])'
    ),
}


def export(
    store: RunStore, run_id: str, fmt: str, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
) -> Path:
    """Write the run's export bundle for fmt once (under the run folder) and return the zip.

    tflite-int8 is calibrated on the run's training photos (decoded within max_pixels).

    Raises:
        ConfigError: unknown format.
        RunNotFoundError: no such run, or it has no model.
        RunStoreError: the file cannot be written or converted.
        DatasetError: tflite-int8 of a run whose training photos are unknown or gone.
    """
    target = store.export_path(run_id, fmt)
    if target.is_file() and not target.is_symlink():  # written atomically: complete
        return target
    info = store.info(run_id)
    _check_inside(target, store)
    work = target.parent / f"{TMP_PREFIX}{secrets.token_hex(4)}"
    try:
        work.mkdir(parents=True)
        bundle = work / "bundle"
        bundle.mkdir()
        _write_model(store, info, fmt, bundle, max_pixels)
        (bundle / "labels.txt").write_text("\n".join(info.class_names) + "\n", encoding="utf-8")
        spec = json.dumps(info.input_spec(), indent=1)
        (bundle / "input.json").write_text(spec + "\n", encoding="utf-8")
        (bundle / "README.txt").write_text(_readme(info, fmt), encoding="utf-8")
        staged = work / target.name
        _zip_folder(bundle, staged, f"{info.run_id}-{fmt}")
        fsync_file(staged)
        os.replace(staged, target)
    except OSError as exc:
        raise RunStoreError(
            f"Could not export run '{info.run_id}' as {fmt} in {target.parent}: "
            f"{first_line(exc)}. Free some space or point TLAB_RUNS_DIR at a writable folder."
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _check_inside(target: Path, store: RunStore) -> None:
    """Refuse to write anywhere but the run's own folder, whatever links lie on the way."""
    run_folder = (store.root / target.parent.parent.name).resolve()
    if not target.parent.resolve().is_relative_to(run_folder) or target.is_symlink():
        raise RunStoreError(
            f"Run '{run_folder.name}': {target} resolves outside its run folder; remove the "
            "link and export again."
        )


def _write_model(store: RunStore, info: RunInfo, fmt: str, bundle: Path, max_pixels: int) -> None:
    if fmt == "keras":
        shutil.copyfile(store.model_path(info.run_id), bundle / MODEL_FILES["keras"])
        return
    classifier = load_run_classifier(store, info.run_id)
    representative = None
    if fmt == "tflite-int8":  # before the slow SavedModel export: fail fast without photos
        photos = calibration_photos(store.load(info.run_id))
        representative = calibration(photos, classifier.input_size, max_pixels)
    saved_model = bundle / MODEL_FILES["savedmodel"]
    classifier.model.export(str(saved_model), format="tf_saved_model", verbose=False)
    if fmt in TFLITE_FORMATS:
        flatbuffer = to_tflite(saved_model, info.run_id, fmt, representative)
        (bundle / MODEL_FILES[fmt]).write_bytes(flatbuffer)
        shutil.rmtree(saved_model)


def _readme(info: RunInfo, fmt: str) -> str:
    size = get_backbone(info.config.backbone).input_size
    return (
        f"Transfer Lab run {info.run_id}: {info.title}\n\n"
        f"Classes (labels.txt): {', '.join(info.class_names)}\n"
        f"Input: float32 RGB pixels in [0, 255], shape [N, {size}, {size}, 3]; resize each photo "
        f"to {size}x{size}. Preprocessing is inside the model. Output: one probability per "
        "class, in the order of labels.txt. Details in input.json.\n"
        f"{_PRECISION.get(fmt, '')}\n"
        f"Load it:\n\n{_how_to_load(fmt)}\n"
    )


def _how_to_load(fmt: str) -> str:
    if fmt in TFLITE_FORMATS:
        return _HOW_TO_LOAD["tflite"].replace("{file}", MODEL_FILES[fmt])
    return _HOW_TO_LOAD[fmt]


def _zip_folder(folder: Path, archive: Path, top: str) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, Path(top) / path.relative_to(folder))
