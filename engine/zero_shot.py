"""Zero-shot baseline: the TF Hub ImageNet MobileNetV2, scored on a dataset's classes."""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub
from tensorflow_hub import resolver as hub_resolver

from engine import imagenet
from engine.classifiers import BaseClassifier
from engine.data.split import Subset
from engine.errors import ModelUnavailableError, first_line
from engine.evaluation import BatchCallback, ZeroShotResult, predict_subset
from engine.imagenet_groups import NUM_LABELS
from engine.mapping import auto_mapping, checked_mapping
from engine.metrics import compute_metrics
from engine.runtime import Forward, Runtime, convert_function, files_digest, tensorflow_forward
from engine.settings import Settings

INPUT_SIZE = 224
_MODEL_FIX = (
    "Point TLAB_ZERO_SHOT_MODEL at a local TF Hub SavedModel folder "
    "(e.g. .../mobilenet_v2_100_224/classification) or at a reachable tfhub.dev / Kaggle handle."
)


class ZeroShotClassifier(BaseClassifier):
    """ImageNet classifier from a TF Hub SavedModel; thread-safe predict_proba.

    class_names are the 1001 ImageNet labels; index 0 ('background') is never an answer.
    """

    input_size = INPUT_SIZE
    first_answer = 1

    def __init__(self, forward: Forward, class_names: tuple[str, ...], source: str) -> None:
        self._forward = forward  # float32 [N,224,224,3] in [0,255] -> softmax [N,1001]
        self.class_names = class_names
        self.source = source

    @classmethod
    def load(cls, settings: Settings) -> ZeroShotClassifier:
        """Load settings.zero_shot_model (Hub handle or local SavedModel dir) and its labels.

        On LiteRT the SavedModel is converted once; later loads read the cached flatbuffer
        and never load the SavedModel itself (well under a second).

        Raises:
            ModelUnavailableError: offline / wrong path / corrupt; names TLAB_ZERO_SHOT_MODEL.
        """
        source = settings.zero_shot_model
        labels = imagenet.load_labels(settings.imagenet_labels)
        runtime = Runtime.from_settings(settings)
        folder = _model_folder(source)
        key = f"zero_shot-{files_digest(folder)}"
        if runtime.has(key):
            forward = runtime.frozen(key, _never, lambda: _saved_model_forward(folder), INPUT_SIZE)
        else:
            model = _load_saved_model(folder, source)
            spec = tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 3], tf.float32)

            def convert() -> bytes:
                function = tf.function(_softmax_of(model)).get_concrete_function(spec)
                return convert_function(function, model)

            forward = runtime.frozen(
                key,
                convert,
                lambda: tensorflow_forward(_softmax_of(model), INPUT_SIZE),
                INPUT_SIZE,
            )
        classifier = cls(forward, labels, source)
        classifier._check_output_width()
        return classifier

    def _check_output_width(self) -> None:
        blank = np.zeros([1, INPUT_SIZE, INPUT_SIZE, 3], np.float32)
        try:
            width = self._forward(blank).shape[-1]
        # Any failure here (no __call__, other input signature, ...) means "not this kind of model".
        except Exception as err:
            raise ModelUnavailableError(
                f"TLAB_ZERO_SHOT_MODEL={self.source!r} cannot classify a batch of "
                f"{INPUT_SIZE}x{INPUT_SIZE} images ({_describe(err)}). {_MODEL_FIX}"
            ) from err
        if width != NUM_LABELS:
            raise ModelUnavailableError(
                f"TLAB_ZERO_SHOT_MODEL={self.source!r} outputs {width} values per image; expected "
                f"{NUM_LABELS} ImageNet logits (a .../classification model, not "
                f".../feature_vector). {_MODEL_FIX}"
            )


def _softmax_of(model: object):
    """The Hub contract: inputs in [0, 1], logits out; pages want probabilities."""

    def call(images: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax(model(images / 255.0), axis=-1)

    return call


def _saved_model_forward(folder: Path) -> Forward:
    return tensorflow_forward(_softmax_of(_load_saved_model(folder, str(folder))), INPUT_SIZE)


def _never() -> bytes:
    raise AssertionError("the flatbuffer is cached; nothing to convert")


def _model_folder(source: str) -> Path:
    """The local folder of the SavedModel: the path given, or Hub's download of a handle.

    Raises:
        ModelUnavailableError: no such folder, or the handle cannot be downloaded.
    """
    if source.startswith(("http://", "https://")):
        _check_handle_reachable(source)
        try:
            return Path(hub.resolve(source))
        except Exception as err:  # download and unpacking errors of every kind
            raise ModelUnavailableError(
                f"Could not download TLAB_ZERO_SHOT_MODEL={source!r} ({_describe(err)}). "
                f"{_MODEL_FIX}"
            ) from err
    if "://" in source:  # gs:// and other schemes Hub understands: no local copy to hash
        raise ModelUnavailableError(
            f"TLAB_ZERO_SHOT_MODEL={source!r}: only https handles and local folders are "
            f"supported. {_MODEL_FIX}"
        )
    path = Path(source).expanduser()
    if not path.is_dir():
        raise ModelUnavailableError(
            f"TLAB_ZERO_SHOT_MODEL={source!r}: there is no folder {path}. {_MODEL_FIX}"
        )
    return path


def _load_saved_model(folder: Path, source: str) -> object:
    try:
        return hub.load(str(folder))
    # hub.load raises OSError, protobuf and TF errors alike; each means "cannot use this model".
    except Exception as err:
        raise ModelUnavailableError(
            f"TLAB_ZERO_SHOT_MODEL={source!r} could not be loaded as a TF Hub SavedModel "
            f"({_describe(err)}). {_MODEL_FIX}"
        ) from err


def _check_handle_reachable(handle: str) -> None:
    """Fail fast when offline: hub.load itself downloads with no timeout at all."""
    # Where tensorflow_hub keeps a downloaded handle; a cached copy loads with no network.
    cache_key = hashlib.sha1(handle.encode("utf8")).hexdigest()
    cached = Path(hub_resolver.tfhub_cache_dir(use_temp=True)) / cache_key
    if cached.is_dir() and any(cached.iterdir()):
        return
    request = urllib.request.Request(handle, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=imagenet.NETWORK_TIMEOUT_SECONDS):
            return
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise ModelUnavailableError(
                f"TLAB_ZERO_SHOT_MODEL={handle!r} does not exist (HTTP 404). {_MODEL_FIX}"
            ) from err
        # Any other HTTP answer (405 for HEAD, 403 from a CDN) proves the network works.
    except (OSError, ValueError, http.client.HTTPException) as err:
        raise ModelUnavailableError(
            f"Could not download TLAB_ZERO_SHOT_MODEL={handle!r} (no network?). {_MODEL_FIX}"
        ) from err


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {first_line(err)}"


@dataclass(frozen=True)
class ZeroShotReport:
    """Zero-shot results on one subset: the saved summary plus the per-photo answers."""

    result: ZeroShotResult
    predicted: tuple[int | None, ...]  # dataset class index of the top-1 label, None if unmapped
    top_labels: tuple[str, ...]  # top-1 ImageNet label per image
    top_probs: tuple[float, ...]
    labels: tuple[str, ...] = ()  # the classifier's ImageNet labels (the mapping's indices)

    @property
    def accuracy(self) -> float:
        return self.result.metrics.accuracy

    @property
    def mapping(self) -> dict[str, list[int]]:
        return self.result.mapping

    @property
    def unmapped_classes(self) -> tuple[str, ...]:
        return self.result.unmapped_classes


def evaluate_zero_shot(
    classifier: ZeroShotClassifier,
    subset: Subset,
    class_names: tuple[str, ...],
    mapping: dict[str, list[int]] | None = None,
    batch_size: int = 32,
    on_batch: BatchCallback | None = None,
) -> ZeroShotReport:
    """Zero-shot accuracy on subset; unmapped predictions count as wrong.

    The prediction for an image is the class whose mapping holds its top-1 (non-background)
    ImageNet label. mapping defaults to auto_mapping; a given mapping is checked and an index
    listed under two classes goes to the first. The report's mapping is the one applied.
    Accuracy is 0.0 for an empty subset.

    Raises:
        ConfigError: mapping names a class not in class_names or an index out of range.
    """
    if mapping is None:
        mapping = auto_mapping(class_names, classifier.class_names)
    else:
        mapping = checked_mapping(mapping, class_names, len(classifier.class_names))
    class_of = {
        index: class_names.index(name) for name, indices in mapping.items() for index in indices
    }
    # Background is never an answer.
    probabilities = predict_subset(classifier, subset, batch_size, on_batch)[:, 1:]
    best = probabilities.argmax(axis=1)
    top_indices = [int(index) + 1 for index in best]
    predicted = tuple(class_of.get(index) for index in top_indices)
    result = ZeroShotResult(
        metrics=compute_metrics(list(subset.labels), list(predicted), class_names),
        mapping=mapping,
        unmapped_classes=tuple(name for name in class_names if not mapping[name]),
    )
    return ZeroShotReport(
        result=result,
        predicted=predicted,
        top_labels=tuple(classifier.class_names[index] for index in top_indices),
        top_probs=tuple(float(p) for p in probabilities[np.arange(len(best)), best]),
        labels=tuple(classifier.class_names),
    )
