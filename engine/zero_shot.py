"""Zero-shot baseline: TF Hub ImageNet MobileNetV2, top-k labels, mapping to dataset classes."""

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

from engine import datasets
from engine.datasets import Subset
from engine.errors import ConfigError, ModelUnavailableError
from engine.imagenet_groups import GROUP_ALIASES, GROUPS, NUM_LABELS, SYNONYMS
from engine.settings import Settings

INPUT_SIZE = 224
NETWORK_TIMEOUT_SECONDS = 10.0
_MAX_LABELS_BYTES = 1_000_000  # the real file is ~21 kB; anything far larger is the wrong file
_LABELS_FIX = "Point TLAB_IMAGENET_LABELS at a local ImageNetLabels.txt."
_MODEL_FIX = (
    "Point TLAB_ZERO_SHOT_MODEL at a local TF Hub SavedModel folder "
    "(e.g. .../mobilenet_v2_100_224/classification) or at a reachable tfhub.dev / Kaggle handle."
)
# Plurals the suffix rules in _name_forms get wrong.
_IRREGULAR_PLURALS = {
    "mice": "mouse",
    "geese": "goose",
    "teeth": "tooth",
    "feet": "foot",
    "men": "man",
    "women": "woman",
    "children": "child",
    "people": "person",
    "oxen": "ox",
    "cacti": "cactus",
    "fungi": "fungus",
}


def load_labels(source: str) -> tuple[str, ...]:
    """Read the 1001 ImageNet labels (line 0 'background') from a local path or URL.

    URLs are fetched with a short timeout (NETWORK_TIMEOUT_SECONDS) so an offline machine fails
    fast instead of hanging.

    Raises:
        ModelUnavailableError: cannot download / read, or not 1001 lines; names
            TLAB_IMAGENET_LABELS.
    """
    data = _download_labels(source) if "://" in source else _read_labels_file(source)
    if len(data) > _MAX_LABELS_BYTES:
        raise ModelUnavailableError(
            f"{source} is larger than {_MAX_LABELS_BYTES // 1000} kB, so it is not an ImageNet "
            f"labels file. {_LABELS_FIX}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ModelUnavailableError(f"{source} is not a UTF-8 text file. {_LABELS_FIX}") from err
    labels = [line.strip() for line in text.splitlines()]
    while labels and not labels[-1]:  # blank lines at the end are an editor artefact
        labels.pop()
    if len(labels) != NUM_LABELS or labels[0] != "background":
        first = labels[0] if labels else ""
        raise ModelUnavailableError(
            f"{source} has {len(labels)} lines starting with {first!r}; expected {NUM_LABELS} "
            "ImageNet labels starting with 'background' (the file that matches the Hub "
            f"classifier). {_LABELS_FIX}"
        )
    return tuple(labels)


def _download_labels(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT_SECONDS) as response:
            return response.read(_MAX_LABELS_BYTES + 1)
    except urllib.error.HTTPError as err:
        raise ModelUnavailableError(
            f"Could not download the ImageNet labels from {url} (HTTP {err.code}). {_LABELS_FIX}"
        ) from err
    except (OSError, ValueError, http.client.HTTPException) as err:
        raise ModelUnavailableError(
            f"Could not download the ImageNet labels from {url} (no network?). {_LABELS_FIX}"
        ) from err


def _read_labels_file(source: str) -> bytes:
    path = Path(source).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(
            f"The ImageNet labels file {path} does not exist (TLAB_IMAGENET_LABELS). {_LABELS_FIX}"
        )
    try:
        with path.open("rb") as file:
            return file.read(_MAX_LABELS_BYTES + 1)
    except OSError as err:
        raise ModelUnavailableError(
            f"The ImageNet labels file {path} cannot be read ({err.strerror}). {_LABELS_FIX}"
        ) from err


class ZeroShotClassifier:
    """ImageNet classifier loaded with tensorflow_hub.load; thread-safe predict_proba."""

    input_size = INPUT_SIZE

    def __init__(self, model: object, class_names: tuple[str, ...], source: str) -> None:
        self.model = model
        self.class_names = class_names  # 1001 ImageNet labels, index 0 = background
        self.source = source
        # One graph with a fixed signature: concurrent callers (Streamlit sessions share this
        # object) all reuse it, and no batch size or image count ever triggers a retrace.
        self._probabilities = tf.function(
            self._softmax,
            input_signature=[tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 3], tf.float32)],
            autograph=False,  # straight-line code; nothing for AutoGraph to convert
        )

    def _softmax(self, images: tf.Tensor) -> tf.Tensor:
        return tf.nn.softmax(self.model(images), axis=-1)

    @classmethod
    def load(cls, settings: Settings) -> ZeroShotClassifier:
        """Load settings.zero_shot_model (Hub handle or local SavedModel dir) and its labels.

        Raises:
            ModelUnavailableError: offline / wrong path / corrupt; names TLAB_ZERO_SHOT_MODEL.
        """
        source = settings.zero_shot_model
        labels = load_labels(settings.imagenet_labels)
        classifier = cls(_load_saved_model(source), labels, source)
        classifier._check_output_width()
        return classifier

    def _check_output_width(self) -> None:
        blank = tf.zeros([1, INPUT_SIZE, INPUT_SIZE, 3], tf.float32)
        try:
            width = self._probabilities(blank).shape[-1]
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

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Softmax over 1001 labels for uint8/float images [N,H,W,3] in [0,255] (any H, W).

        Raises:
            ValueError: images is not shaped [N, H, W, 3].
        """
        array = np.asarray(images, dtype=np.float32)
        if array.ndim != 4 or array.shape[-1] != 3:
            raise ValueError(f"Expected images shaped [N, H, W, 3]; got {array.shape}.")
        batch = tf.convert_to_tensor(array)
        if array.shape[1:3] != (INPUT_SIZE, INPUT_SIZE):
            batch = tf.image.resize(batch, (INPUT_SIZE, INPUT_SIZE))
        return self._probabilities(batch / 255.0).numpy()

    def top_k(self, images: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """Best k (label, probability) pairs per image, background excluded."""
        if k < 1:
            raise ValueError(f"k must be at least 1; got {k}.")
        probabilities = self.predict_proba(images)[:, 1:]
        best = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
        return [
            [(self.class_names[index + 1], float(row[index])) for index in indices]
            for row, indices in zip(probabilities, best, strict=True)
        ]


def _load_saved_model(source: str) -> object:
    if source.startswith(("http://", "https://")):
        _check_handle_reachable(source)
    elif "://" not in source:
        path = Path(source).expanduser()
        if not path.is_dir():
            raise ModelUnavailableError(
                f"TLAB_ZERO_SHOT_MODEL={source!r}: there is no folder {path}. {_MODEL_FIX}"
            )
        source = str(path)
    try:
        return hub.load(source)
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
        with urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT_SECONDS):
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
    """First line of an exception, short enough for one line in the UI."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0][:200] if lines else ''}"


def auto_mapping(class_names: tuple[str, ...], labels: tuple[str, ...]) -> dict[str, list[int]]:
    """Map each dataset class to ImageNet label indices (names, synonyms, plural/singular,
    superclass groups such as every dog breed -> 'dog'); a class with no match maps to [].

    A class name is normalised (lower case, '_' and '-' as spaces) and its last word is also
    tried in singular form (roses -> rose, daisies -> daisy, boxes -> box, knives -> knife).
    Each form is matched, in this order:

    1. specific: a curated synonym (imagenet_groups.SYNONYMS, e.g. 'airplane' -> airliner,
       warplane) when there is one, else every label one of whose comma-separated synonyms
       equals the form ('daisy' -> daisy, 'crane' -> both the bird and the machine);
    2. group: every member of a superclass (imagenet_groups.GROUPS / GROUP_ALIASES, e.g. 'dog'
       -> all 118 breeds); only for the 1001-label file the groups were written for;
    3. head noun, only when 1 and 2 found nothing: labels with a multi-word synonym ending in
       the form ('ball' -> golf ball, soccer ball ...). The head is the last word, so
       'rose' does not match 'rose hip' (a fruit) and flowers ImageNet lacks map to [].

    Background (index 0) is never mapped. An index claimed by two classes goes to the more
    specific match (tier 1 before 3 before 2: 'golden_retriever' keeps its breed from 'dogs');
    within a tier the first class in class_names wins.
    """
    exact, heads = _synonym_index(labels)
    candidates = []
    for name in class_names:
        forms = _name_forms(_normalise(name))
        curated = [SYNONYMS[form] for form in forms if form in SYNONYMS]
        lookups = [_normalise(synonym) for group in curated for synonym in group] or forms
        specific = {index for form in lookups for index in exact.get(form, ())}
        group = set()
        if len(labels) == NUM_LABELS:
            group = {i for form in forms for i in GROUPS.get(GROUP_ALIASES.get(form, form), ())}
        head = set()
        if not specific and not group:
            head = {index for form in forms for index in heads.get(form, ())}
        candidates.append((specific, head, group))
    return _claim(class_names, candidates)


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def _name_forms(name: str) -> tuple[str, ...]:
    """The name plus guesses at its singular (wrong guesses simply match nothing)."""
    prefix, _, last = name.rpartition(" ")
    prefix = f"{prefix} " if prefix else ""
    forms = [last]
    if last in _IRREGULAR_PLURALS:
        forms.append(_IRREGULAR_PLURALS[last])
    elif last.endswith("ies") and len(last) > 4:
        forms.append(last[:-3] + "y")  # daisies
    elif last.endswith("ves"):
        forms += [last[:-3] + "f", last[:-3] + "fe", last[:-1]]  # wolves, knives, gloves
    elif last.endswith(("ses", "xes", "zes", "ches", "shes", "oes")):
        forms += [last[:-1], last[:-2]]  # roses or buses, boxes, peaches, tomatoes
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")):
        forms.append(last[:-1])  # cats, but not glass, bus, iris
    return tuple(prefix + form for form in forms)


def _synonym_index(labels: tuple[str, ...]) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """(whole synonym -> indices, trailing words of multi-word synonyms -> indices)."""
    exact: dict[str, set[int]] = {}
    heads: dict[str, set[int]] = {}
    for index, label in enumerate(labels[1:], start=1):
        for synonym in label.split(","):
            words = _normalise(synonym).split()
            if words:
                exact.setdefault(" ".join(words), set()).add(index)
            for start in range(1, len(words)):
                heads.setdefault(" ".join(words[start:]), set()).add(index)
    return exact, heads


def _claim(
    class_names: tuple[str, ...], candidates: list[tuple[set[int], ...]]
) -> dict[str, list[int]]:
    """Give each index to one class: earlier tiers first, then earlier classes."""
    owner: dict[int, str] = {}
    for tier in range(len(candidates[0]) if candidates else 0):
        for name, tiers in zip(class_names, candidates, strict=True):
            for index in sorted(tiers[tier]):
                owner.setdefault(index, name)
    mapping: dict[str, list[int]] = {name: [] for name in class_names}
    for index, name in sorted(owner.items()):
        mapping[name].append(index)
    return mapping


def _checked_mapping(
    mapping: dict[str, list[int]], class_names: tuple[str, ...], num_labels: int
) -> dict[str, list[int]]:
    """A user's mapping, validated, with overlaps resolved like auto_mapping (first class wins)."""
    unknown = sorted(set(mapping) - set(class_names))
    if unknown:
        raise ConfigError(
            f"The class mapping names {', '.join(map(repr, unknown))}, which the dataset does not "
            f"have ({', '.join(class_names)}); remove or rename those entries."
        )
    for name, indices in mapping.items():
        bad = [index for index in indices if not 1 <= index < num_labels]
        if bad:
            raise ConfigError(
                f"The class mapping gives {name!r} ImageNet indices {bad}; valid indices are 1 "
                f"to {num_labels - 1} (0 is 'background')."
            )
    candidates = [({int(index) for index in mapping.get(name, ())},) for name in class_names]
    return _claim(class_names, candidates)


@dataclass(frozen=True)
class ZeroShotReport:
    """Zero-shot results on one subset, with the mapping that produced them."""

    accuracy: float
    predicted: tuple[int | None, ...]  # dataset class index of the top-1 label, None if unmapped
    top_labels: tuple[str, ...]  # top-1 ImageNet label per image
    top_probs: tuple[float, ...]
    mapping: dict[str, list[int]]
    unmapped_classes: tuple[str, ...]  # classes with no ImageNet counterpart


def evaluate_zero_shot(
    classifier: ZeroShotClassifier,
    subset: Subset,
    class_names: tuple[str, ...],
    mapping: dict[str, list[int]] | None = None,
    batch_size: int = 32,
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
        mapping = _checked_mapping(mapping, class_names, len(classifier.class_names))
    class_of = {
        index: class_names.index(name) for name, indices in mapping.items() for index in indices
    }

    top_indices: list[int] = []
    top_probs: list[float] = []
    batches = datasets.decode_batches(subset, classifier.input_size, batch_size) if subset else ()
    for images in batches:
        probabilities = classifier.predict_proba(images)[:, 1:]  # background is never an answer
        best = probabilities.argmax(axis=1)
        top_indices += [int(index) + 1 for index in best]
        top_probs += [float(p) for p in probabilities[np.arange(len(best)), best]]

    predicted = tuple(class_of.get(index) for index in top_indices)
    num_correct = sum(guess == truth for guess, truth in zip(predicted, subset.labels, strict=True))
    return ZeroShotReport(
        accuracy=num_correct / len(subset) if len(subset) else 0.0,
        predicted=predicted,
        top_labels=tuple(classifier.class_names[index] for index in top_indices),
        top_probs=tuple(top_probs),
        mapping=mapping,
        unmapped_classes=tuple(name for name in class_names if not mapping[name]),
    )
