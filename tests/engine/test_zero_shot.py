"""Tests for engine.zero_shot: labels, Hub loading, thread-safe inference, class mapping."""

from __future__ import annotations

import csv
import functools
import hashlib
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from engine import zero_shot
from engine.data.split import Subset
from engine.errors import ConfigError, ImageError, ModelUnavailableError
from engine.imagenet import load_labels
from engine.imagenet_groups import NUM_LABELS
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier, evaluate_zero_shot
from tests.engine.test_mapping import LABELS

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


class ColourModel(tf.Module):
    """A stand-in Hub classifier: logits favour label 1/2/3 for red/green/blue images."""

    def __init__(self, width: int) -> None:
        super().__init__()
        weights = np.zeros((3, width), np.float32)
        weights[0, 1] = weights[1, 2] = weights[2, 3] = 20.0
        self.weights = tf.Variable(weights)

    @tf.function(input_signature=[tf.TensorSpec([None, 224, 224, 3], tf.float32)])
    def __call__(self, images: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(images, axis=[1, 2]) @ self.weights


def write_png(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.fromarray(np.full((20, 30, 3), colour, np.uint8)).save(path)
    return path


def colour_images(size: int, dtype: type = np.uint8) -> np.ndarray:
    """One flat red, green and blue image, [3, size, size, 3] in [0, 255]."""
    return np.stack([np.full((size, size, 3), c, dtype) for c in COLOURS.values()])


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A saved 1001-wide and 10-wide colour model and a matching labels file."""
    root = tmp_path_factory.mktemp("hub")
    tf.saved_model.save(ColourModel(NUM_LABELS), str(root / "classifier"))
    tf.saved_model.save(ColourModel(10), str(root / "narrow"))
    (root / "labels.txt").write_text("\n".join(LABELS) + "\n\n")
    return {"model": root / "classifier", "narrow": root / "narrow", "labels": root / "labels.txt"}


@pytest.fixture(scope="module")
def classifier(model_files: dict[str, Path]) -> ZeroShotClassifier:
    settings = Settings(
        zero_shot_model=str(model_files["model"]), imagenet_labels=str(model_files["labels"])
    )
    return ZeroShotClassifier.load(settings)


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Talk to 127.0.0.1 directly even where CI sets a proxy."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def http_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    """A local web server: (base URL, path -> body it serves); any other path is a 404."""
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            if self.command == "GET" and body is not None:
                self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, *args: object) -> None:
            pass  # keep pytest output clean

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", files
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on a port nobody listens on: fails at once like an offline machine."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/google/mobilenet_v2/classification/4"


# --- labels -------------------------------------------------------------------------------


def test_load_labels_reads_1001_lines_and_ignores_trailing_blank_lines(model_files):
    labels = load_labels(str(model_files["labels"]))
    assert len(labels) == NUM_LABELS
    assert labels[0] == "background" and labels[986] == "daisy"


def test_load_labels_rejects_a_file_with_10_lines(tmp_path):
    short = tmp_path / "labels.txt"
    short.write_text("\n".join(["background"] + [f"thing {i}" for i in range(1, 10)]))
    with pytest.raises(ModelUnavailableError, match="has 10 lines.*TLAB_IMAGENET_LABELS"):
        load_labels(str(short))


def test_load_labels_names_the_missing_file_and_the_setting(tmp_path):
    with pytest.raises(ModelUnavailableError, match="missing.txt does not exist.*TLAB_IMAGENET"):
        load_labels(str(tmp_path / "missing.txt"))


def test_load_labels_downloads_a_url(http_server, no_proxy):
    base, files = http_server
    files["/ImageNetLabels.txt"] = "\n".join(LABELS).encode()
    assert load_labels(f"{base}/ImageNetLabels.txt") == LABELS


def test_load_labels_reports_a_404(http_server, no_proxy):
    base, _ = http_server
    with pytest.raises(ModelUnavailableError, match="HTTP 404.*TLAB_IMAGENET_LABELS"):
        load_labels(f"{base}/nothing-here.txt")


def test_load_labels_offline_says_no_network(closed_port_url, no_proxy):
    with pytest.raises(ModelUnavailableError) as caught:
        load_labels(closed_port_url)
    assert str(caught.value) == (
        f"Could not download the ImageNet labels from {closed_port_url} (no network?). "
        "Point TLAB_IMAGENET_LABELS at a local ImageNetLabels.txt."
    )


# --- loading the classifier ---------------------------------------------------------------


def test_load_gives_a_classifier_with_labels_and_source(classifier, model_files):
    assert classifier.class_names == LABELS
    assert classifier.source == str(model_files["model"])
    assert classifier.input_size == 224


def test_load_rejects_a_model_that_is_not_1001_wide(model_files):
    settings = Settings(
        zero_shot_model=str(model_files["narrow"]), imagenet_labels=str(model_files["labels"])
    )
    with pytest.raises(ModelUnavailableError, match="outputs 10 values.*TLAB_ZERO_SHOT_MODEL"):
        ZeroShotClassifier.load(settings)


def test_load_checks_a_missing_folder_before_calling_hub(model_files, tmp_path, monkeypatch):
    monkeypatch.setattr(zero_shot.hub, "load", pytest.fail)
    settings = Settings(
        zero_shot_model=str(tmp_path / "nowhere"), imagenet_labels=str(model_files["labels"])
    )
    with pytest.raises(ModelUnavailableError, match="TLAB_ZERO_SHOT_MODEL=.*no folder.*nowhere"):
        ZeroShotClassifier.load(settings)


@pytest.mark.parametrize("content", [None, b"not a protocol buffer"])
def test_load_rejects_an_empty_or_corrupt_saved_model(model_files, tmp_path, content):
    folder = tmp_path / "broken"
    folder.mkdir()
    if content is not None:
        (folder / "saved_model.pb").write_bytes(content)
    settings = Settings(zero_shot_model=str(folder), imagenet_labels=str(model_files["labels"]))
    with pytest.raises(ModelUnavailableError, match="could not be loaded.*TLAB_ZERO_SHOT_MODEL"):
        ZeroShotClassifier.load(settings)


def test_load_fails_fast_on_an_unreachable_handle(model_files, closed_port_url, no_proxy):
    settings = Settings(zero_shot_model=closed_port_url, imagenet_labels=str(model_files["labels"]))
    with pytest.raises(ModelUnavailableError, match="no network.*TLAB_ZERO_SHOT_MODEL"):
        ZeroShotClassifier.load(settings)


def test_load_reports_a_handle_that_does_not_exist(model_files, http_server, no_proxy):
    base, _ = http_server
    settings = Settings(
        zero_shot_model=f"{base}/google/bogus/1", imagenet_labels=str(model_files["labels"])
    )
    with pytest.raises(ModelUnavailableError, match="bogus/1.*does not exist.*HTTP 404"):
        ZeroShotClassifier.load(settings)


def test_load_uses_the_hub_cache_when_offline(
    model_files, closed_port_url, tmp_path, monkeypatch, no_proxy
):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
    cache_key = hashlib.sha1(closed_port_url.encode("utf8")).hexdigest()
    shutil.copytree(model_files["model"], tmp_path / cache_key)
    settings = Settings(zero_shot_model=closed_port_url, imagenet_labels=str(model_files["labels"]))
    assert ZeroShotClassifier.load(settings).class_names == LABELS


# --- inference ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 224])
def test_predict_proba_resizes_and_returns_float32_softmax(classifier, size):
    probabilities = classifier.predict_proba(colour_images(size))
    assert probabilities.shape == (3, NUM_LABELS) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert probabilities.argmax(axis=1).tolist() == [1, 2, 3]


def test_predict_proba_treats_uint8_and_float_alike(classifier):
    np.testing.assert_allclose(
        classifier.predict_proba(colour_images(40, np.uint8)),
        classifier.predict_proba(colour_images(40, np.float32)),
        rtol=1e-6,
    )


def test_predict_proba_rejects_a_single_image_without_batch_axis(classifier):
    with pytest.raises(ImageError, match=r"\[N, height, width, 3\]"):
        classifier.predict_proba(np.zeros((32, 32, 3), np.uint8))


def test_predict_proba_is_thread_safe(classifier):
    images = np.random.default_rng(0).integers(0, 256, (4, 50, 60, 3), dtype=np.uint8)
    expected = classifier.predict_proba(images)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: classifier.predict_proba(images), range(8)))
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_top_k_excludes_background_and_sorts(classifier):
    best = classifier.top_k(colour_images(32), k=2)
    assert [pairs[0][0] for pairs in best] == ["red thing", "green thing", "blue thing"]
    assert all(len(pairs) == 2 and pairs[0][1] >= pairs[1][1] for pairs in best)
    assert all(label != "background" for pairs in best for label, _ in pairs)


# --- evaluate_zero_shot --------------------------------------------------------------------


class ScriptedClassifier:
    """Gives each image's pixel value as its top ImageNet label, behind a likelier background."""

    input_size = 224
    class_names = LABELS

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        probabilities = np.full((len(images), NUM_LABELS), 0.05 / NUM_LABELS, np.float32)
        probabilities[:, 0] = 0.5
        probabilities[np.arange(len(images)), images[:, 0, 0, 0].astype(int)] = 0.45
        return probabilities


FLOWER_CLASSES = ("daisy", "roses", "tulips")
# (top-1 ImageNet index, true class): right, daisy for a rose, rose hip, unrelated, unrelated
FLOWER_SUBSET = Subset(
    paths=tuple(Path(f"/photos/{i}/{index}.jpg") for i, index in enumerate([986, 986, 990, 5, 7])),
    labels=(0, 1, 1, 2, 0),
)


def test_evaluate_zero_shot_streams_batches_and_scores_unmapped_as_wrong(pipeline_calls):
    report = evaluate_zero_shot(ScriptedClassifier(), FLOWER_SUBSET, FLOWER_CLASSES, batch_size=2)
    assert pipeline_calls == [(224, 2)]
    assert report.predicted == (0, 0, None, None, None)
    assert report.accuracy == pytest.approx(1 / 5)
    assert report.top_labels == ("daisy", "daisy", "hip, rose hip, rosehip", "thing 5", "thing 7")
    assert report.top_probs == pytest.approx((0.45,) * 5)
    assert report.mapping == {"daisy": [986], "roses": [], "tulips": []}
    assert report.unmapped_classes == ("roses", "tulips")


def test_evaluate_zero_shot_applies_a_given_mapping_first_class_wins(pipeline_calls):
    mapping = {"daisy": [986], "roses": [986, 990]}
    report = evaluate_zero_shot(ScriptedClassifier(), FLOWER_SUBSET, FLOWER_CLASSES, mapping)
    assert report.mapping == {"daisy": [986], "roses": [990], "tulips": []}
    assert report.predicted == (0, 0, 1, None, None)
    assert report.accuracy == pytest.approx(2 / 5)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [({"lilies": [1]}, "'lilies'.*does not have"), ({"daisy": [0]}, "valid indices are 1")],
)
def test_evaluate_zero_shot_rejects_a_bad_mapping(pipeline_calls, mapping, message):
    with pytest.raises(ConfigError, match=message):
        evaluate_zero_shot(ScriptedClassifier(), FLOWER_SUBSET, FLOWER_CLASSES, mapping)


def test_evaluate_zero_shot_on_an_empty_subset(pipeline_calls):
    report = evaluate_zero_shot(ScriptedClassifier(), Subset((), ()), FLOWER_CLASSES)
    assert report.accuracy == 0.0 and report.predicted == () and pipeline_calls == []


def test_evaluate_zero_shot_with_a_loaded_hub_model(classifier, tmp_path):
    """A loaded (tiny) Hub model on real PNG files through the real make_pipeline."""
    paths = tuple(write_png(tmp_path / f"{name}.png", colour) for name, colour in COLOURS.items())
    subset = Subset(paths, (0, 1, 2))
    mapping = {"red": [1], "green": [2], "blue": [3]}
    report = evaluate_zero_shot(classifier, subset, ("red", "green", "blue"), mapping)
    assert report.accuracy == 1.0
    assert report.top_labels == ("red thing", "green thing", "blue thing")


# --- integration: the real MobileNetV2 and ImageNet labels in ../shared -------------------


@functools.cache
def real_classifier(model: str, labels: str) -> ZeroShotClassifier:
    """Load the real Hub model once per test session (several seconds)."""
    return ZeroShotClassifier.load(Settings(zero_shot_model=model, imagenet_labels=labels))


def flowers_test_rows(flowers: Path) -> list[tuple[Path, str]]:
    with (flowers / "splits.csv").open(newline="") as file:
        return [
            (flowers / r["path"], r["label"]) for r in csv.DictReader(file) if r["split"] == "test"
        ]


@pytest.mark.integration
def test_real_feature_vector_model_is_refused_as_not_1001_wide(offline_settings, shared_dir):
    settings = Settings(
        zero_shot_model=str(shared_dir / "models/mobilenet_v2_100_224/feature_vector"),
        imagenet_labels=offline_settings.imagenet_labels,
    )
    with pytest.raises(ModelUnavailableError, match="outputs 1280 values"):
        ZeroShotClassifier.load(settings)


@pytest.mark.integration
def test_real_classifier_calls_most_daisy_photos_daisy(offline_settings):
    classifier = real_classifier(offline_settings.zero_shot_model, offline_settings.imagenet_labels)
    flowers = Path(offline_settings.data_dir)
    daisies = [path for path, label in flowers_test_rows(flowers) if label == "daisy"]
    assert len(daisies) == 40
    images = np.stack(
        [
            np.asarray(Image.open(p).convert("RGB").resize((224, 224), Image.BILINEAR))
            for p in daisies
        ]
    )
    top_labels = [pairs[0][0] for pairs in classifier.top_k(images, k=1)]
    share = top_labels.count("daisy") / len(top_labels)
    print(f"daisy top-1 on {len(daisies)} daisy photos: {share:.0%}")
    assert share >= 0.7


@pytest.mark.integration
def test_real_zero_shot_accuracy_on_the_flowers_test_split(offline_settings):
    classifier = real_classifier(offline_settings.zero_shot_model, offline_settings.imagenet_labels)
    rows = flowers_test_rows(Path(offline_settings.data_dir))
    class_names = tuple(sorted({label for _, label in rows}))
    subset = Subset(
        tuple(path for path, _ in rows), tuple(class_names.index(label) for _, label in rows)
    )
    report = evaluate_zero_shot(classifier, subset, class_names)
    print(f"zero-shot accuracy on the flowers test split: {report.accuracy:.3f}")
    assert report.unmapped_classes == ("dandelion", "roses", "sunflowers", "tulips")
    assert 0.1 <= report.accuracy <= 0.35
