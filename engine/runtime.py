"""Frozen forward passes on the fastest CPU runtime: a Keras model or Hub SavedModel is
converted once to a float32 TFLite flatbuffer (cached on disk by the content of its weights)
and run by LiteRT's XNNPACK delegate on every core; TensorFlow where that cannot be had.

Nothing frozen needs gradients, so nothing frozen needs TensorFlow's executor: on 2 CPU cores
LiteRT runs MobileNetV2 several times faster (bench/runtimes.py). Training still runs in
TensorFlow; only the frozen parts (stage-1 features, the zero-shot model, predictions) move.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from engine import disk, native_notices, priority
from engine.errors import first_line
from engine.settings import Settings

# Bump when the conversion changes what a flatbuffer computes (the cache key includes it).
CONVERSION_VERSION = "2"
MAX_INTERPRETERS_PER_SHAPE = 4  # concurrent callers of one image shape beyond this wait
TOLERANCE = 1e-3  # a conversion must match TensorFlow this closely (float32 rounding: ~1e-5)

logger = logging.getLogger(__name__)

Forward = Callable[[np.ndarray], np.ndarray]  # float32 NHWC batch -> float32 outputs


@dataclass(frozen=True)
class Runtime:
    """Which runtime runs frozen passes, and where converted models are kept."""

    choice: str = "tensorflow"  # 'litert' or 'tensorflow' (resolved from the setting)
    cache_dir: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """TLAB_RUNTIME resolved: 'auto' is LiteRT on a CPU-only machine with ai-edge-litert
        installed, TensorFlow when a GPU is visible (TensorFlow is faster there)."""
        return cls(_resolve(settings.runtime), settings.model_cache)

    @property
    def name(self) -> str:
        return self.choice

    def frozen(
        self,
        key: str,
        convert: Callable[[], bytes],
        tensorflow: Callable[[], Forward],
        size: int,
    ) -> Forward:
        """A forward pass for the model identified by key: LiteRT over the cached (or newly
        converted) flatbuffer when this runtime is LiteRT, else tensorflow() (built only then).

        A new conversion is checked against TensorFlow on a sample batch before it is kept.
        A conversion that fails or disagrees falls back to TensorFlow with one warning line.
        """
        if self.choice != "litert":
            return tensorflow()
        try:
            return _pool(self._flatbuffer(key, lambda: _checked(convert(), tensorflow, size)))
        except Exception as error:  # the converter raises its own ConverterError and others
            logger.warning(
                "Running %s on TensorFlow: it could not be converted for LiteRT (%s).",
                key.split("-")[0],
                first_line(error),
            )
            return tensorflow()

    def has(self, key: str) -> bool:
        """Whether key's flatbuffer is already converted (and this runtime is LiteRT)."""
        return self.choice == "litert" and self._path(key).is_file()

    def _path(self, key: str) -> Path:
        assert self.cache_dir is not None, "a LiteRT runtime needs a cache folder"
        return self.cache_dir / f"{key}-v{CONVERSION_VERSION}.tflite"

    def _flatbuffer(self, key: str, convert: Callable[[], bytes]) -> Path:
        """The cached flatbuffer of key, converted and written atomically on first use."""
        path = self._path(key)
        with _CONVERTING:  # one conversion at a time: each takes seconds and lots of memory
            disk.touch(path)  # in use: kept TLAB_KEEP_DAYS from now
            if not path.is_file():
                data = convert()
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f".{secrets.token_hex(4)}.tmp")
                try:
                    tmp.write_bytes(data)
                    os.replace(tmp, path)
                finally:
                    tmp.unlink(missing_ok=True)
        return path


_CONVERTING = threading.Lock()
_POOLS: dict[tuple[Path, int], _InterpreterPool] = {}
_POOLS_LOCK = threading.Lock()


def _pool(path: Path) -> Forward:
    """The interpreter pool of a flatbuffer for callers of this thread's priority.

    An interpreter's worker threads keep the priority of the thread that made it, so a
    background training (engine.priority) and the app's requests never share interpreters.
    """
    key = (path, priority.current_nice())
    with _POOLS_LOCK:
        if key not in _POOLS:
            _POOLS[key] = _InterpreterPool(path)
        return _POOLS[key]


class _InterpreterPool:
    """Interpreters over one flatbuffer, one per concurrent caller and image shape: a LiteRT
    interpreter is not thread-safe, and resizing its input re-plans the whole graph.

    Each runs one image per invoke: XNNPACK on MobileNetV2 gives ~1.2x the images/s of
    batch 8-32 (python -m bench runtimes), its working set fitting the CPU caches.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: dict[tuple[int, ...], queue.LifoQueue] = {}
        self._made: dict[tuple[int, ...], int] = {}
        self._lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        shape = (1, *batch.shape[1:])
        interpreter = self._take(shape)
        try:
            index = interpreter.get_input_details()[0]["index"]
            output = interpreter.get_output_details()[0]["index"]
            rows = []
            for row in range(len(batch)):
                interpreter.set_tensor(index, batch[row : row + 1])
                interpreter.invoke()
                rows.append(interpreter.get_tensor(output)[0].copy())
            return (
                np.stack(rows)
                if rows
                else np.zeros((0, *interpreter.get_tensor(output).shape[1:]), np.float32)
            )
        finally:
            self._idle[shape].put(interpreter)

    def _take(self, shape: tuple[int, ...]):
        with self._lock:
            idle = self._idle.setdefault(shape, queue.LifoQueue())
            if idle.empty() and self._made.get(shape, 0) < MAX_INTERPRETERS_PER_SHAPE:
                self._made[shape] = self._made.get(shape, 0) + 1
                return _interpreter(shape, model_path=str(self.path))
        return idle.get()


def _interpreter(shape: tuple[int, ...], **source):
    """A LiteRT interpreter over source (model_path= or model_content=), sized for shape.

    Raises:
        ValueError: LiteRT cannot read the flatbuffer.
    """
    from ai_edge_litert.interpreter import Interpreter

    with native_notices.without_litert_notice():  # printed once, on the first delegate
        interpreter = Interpreter(**source, num_threads=os.cpu_count() or 1)
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, list(shape), strict=False)
        interpreter.allocate_tensors()
    return interpreter


def _checked(flatbuffer: bytes, tensorflow: Callable[[], Forward], size: int) -> bytes:
    """flatbuffer, once it computes what TensorFlow computes (a converter can silently keep
    variables it cannot run, which then give NaN).

    Raises:
        ConversionMismatch: the outputs differ by more than TOLERANCE, or are not finite.
    """
    sample = np.random.default_rng(0).uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    interpreter = _interpreter(sample.shape, model_content=flatbuffer)
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], sample)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    expected = tensorflow()(sample)
    if got.shape != expected.shape or not np.allclose(
        got, expected, atol=TOLERANCE, rtol=TOLERANCE
    ):
        difference = np.nanmax(np.abs(got - expected)) if got.shape == expected.shape else "shape"
        raise ConversionMismatch(f"the converted model differs from TensorFlow ({difference})")
    return flatbuffer


class ConversionMismatch(ValueError):
    """A converted model does not compute what the original computes."""


def _resolve(setting: str) -> str:
    if setting == "tensorflow":
        return "tensorflow"
    if setting == "auto" and tf.config.list_physical_devices("GPU"):
        return "tensorflow"
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        if setting == "litert":
            logger.warning("TLAB_RUNTIME=litert, but ai-edge-litert is not installed: TensorFlow.")
        return "tensorflow"
    return "litert"


def weights_digest(weights: list[np.ndarray]) -> str:
    """A short hash of a model's weights: equal weights, equal flatbuffer."""
    digest = hashlib.sha256()
    for array in weights:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:20]


def files_digest(folder: Path) -> str:
    """A short hash of every file under folder (a SavedModel), names and contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        with open(path, "rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:20]


def convert_function(function: tf.types.experimental.ConcreteFunction, holder: object) -> bytes:
    """A float32 TFLite flatbuffer of one concrete function (no quantization)."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function], holder)
    return converter.convert()


def tensorflow_forward(function: Callable[[tf.Tensor], tf.Tensor], size: int) -> Forward:
    """A thread-safe TensorFlow forward pass: one tf.function with a fixed signature (it
    traces once, under TensorFlow's own lock; concurrent sessions never retrace)."""
    spec = tf.TensorSpec([None, size, size, 3], tf.float32)
    compiled = tf.function(function, input_signature=[spec], autograph=False)
    return lambda batch: compiled(tf.convert_to_tensor(batch, tf.float32)).numpy()


def keras_forward(model: keras.Model, size: int, runtime: Runtime, name: str) -> Forward:
    """A frozen Keras model's forward pass on the runtime; its flatbuffer is keyed by the
    model's weights, so models with equal weights (every frozen base) share one."""

    def call(images: tf.Tensor) -> tf.Tensor:
        return model(images, training=False)

    if runtime.choice != "litert":  # no key needed: skip hashing the weights
        return tensorflow_forward(call, size)

    def convert() -> bytes:
        # From the Keras model, not a concrete function: that path can keep variables
        # (BatchNormalization statistics) as ops LiteRT cannot run. Keras prints the
        # SavedModel it exports on the way; stdout is the CLI's result channel.
        with contextlib.redirect_stdout(io.StringIO()):
            return tf.lite.TFLiteConverter.from_keras_model(model).convert()

    return runtime.frozen(
        f"{name}-{weights_digest(model.get_weights())}",
        convert,
        lambda: tensorflow_forward(call, size),
        size,
    )
