"""Model files fetched ahead of first use land where TF Hub and Keras look for them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine import model_files
from engine.backbones import DEFAULT_BACKBONE, get_backbone
from engine.errors import DownloadError, ReadOnlyError
from engine.settings import DEFAULT_ZERO_SHOT_MODEL, Settings
from tests.support.http_files import serve_files, tgz
from tests.support.server import free_port

HANDLE_PATH = "/google/tf2-preview/mobilenet_v2/classification/4"
SAVED_MODEL = {"saved_model.pb": b"graph", "variables/variables.index": b"index"}


@pytest.fixture
def caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Empty Keras and TF Hub caches (KERAS_HOME, TFHUB_CACHE_DIR), as on a fresh machine."""
    keras_home, hub_cache = tmp_path / "keras", tmp_path / "hub"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(hub_cache))
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)
    return keras_home, hub_cache


def test_defaults_need_the_hub_model_and_the_backbone_weights(caches) -> None:
    keras_home, hub_cache = caches
    missing = model_files.missing_model_files(Settings())
    assert [(item.setting, item.archive) for item in missing] == [
        ("TLAB_ZERO_SHOT_MODEL", True),
        ("TLAB_BACKBONE_WEIGHTS", False),
        ("TLAB_ZERO_SHOT_KERAS_WEIGHTS", False),
    ]
    hub, weights, heatmaps = missing
    assert hub.url == DEFAULT_ZERO_SHOT_MODEL + "?tf-hub-format=compressed"
    assert hub.target.parent == hub_cache
    assert weights.target == keras_home / "models" / get_backbone(DEFAULT_BACKBONE).keras_file
    # The names Keras itself downloads to, so keras.applications finds them there.
    assert heatmaps.target.name == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
    assert heatmaps.url.endswith("keras-applications/mobilenet_v2/" + heatmaps.target.name)


def test_local_copies_need_nothing(caches, tmp_path: Path) -> None:
    local = str(tmp_path / "w.h5")
    settings = Settings(
        zero_shot_model=str(tmp_path), backbone_weights=local, zero_shot_keras_weights=local
    )
    assert model_files.missing_model_files(settings) == []


def test_the_hub_archive_lands_where_tensorflow_hub_loads_it_without_network(caches) -> None:
    hub = pytest.importorskip("tensorflow_hub")
    files = {HANDLE_PATH + "?tf-hub-format=compressed": tgz(SAVED_MODEL)}
    seen: list[tuple[int, int | None]] = []
    with serve_files(files) as base:
        settings = Settings(
            zero_shot_model=base + HANDLE_PATH,
            backbone_weights="/local.h5",
            zero_shot_keras_weights="/local.h5",
        )
        [item] = model_files.missing_model_files(settings)
        folder = model_files.fetch_model_file(settings, item, lambda *p: seen.append(p))
    assert sorted(p.name for p in folder.iterdir()) == ["saved_model.pb", "variables"]
    assert seen[-1][0] == seen[-1][1] == len(files[HANDLE_PATH + "?tf-hub-format=compressed"])
    assert model_files.missing_model_files(settings) == []
    # The server is gone: tensorflow_hub finds the handle in its cache.
    assert Path(hub.resolve(base + HANDLE_PATH)) == folder
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")], "no staging left"


def test_backbone_weights_land_in_keras_cache(caches) -> None:
    keras_home, _ = caches
    name = get_backbone(DEFAULT_BACKBONE).keras_file
    with serve_files({f"/{name}": b"h5 weights"}) as base:
        settings = Settings(zero_shot_model="/local", zero_shot_keras_weights="/local.h5")
        [item] = model_files.missing_model_files(settings)
        item = dataclasses.replace(item, url=f"{base}/{name}")
        assert model_files.fetch_model_file(settings, item).read_bytes() == b"h5 weights"
    assert (keras_home / "models" / name).is_file()
    assert model_files.missing_model_files(settings) == []


def test_offline_and_viewer_mode_fetch_nothing(caches) -> None:
    url = f"http://127.0.0.1:{free_port()}{HANDLE_PATH}"
    settings = Settings(
        zero_shot_model=url, backbone_weights="/local.h5", zero_shot_keras_weights="/local.h5"
    )
    [item] = model_files.missing_model_files(settings)
    with pytest.raises(DownloadError, match="No connection to 127.0.0.1.*TLAB_ZERO_SHOT_MODEL"):
        model_files.fetch_model_file(settings, item)
    with pytest.raises(ReadOnlyError):
        model_files.fetch_model_file(dataclasses.replace(settings, mode="viewer"), item)
    assert model_files.missing_model_files(settings) == [item]
    _, hub_cache = caches
    assert not hub_cache.exists() or not any(hub_cache.iterdir())


def test_a_download_that_is_not_a_model_archive_is_refused(caches) -> None:
    with serve_files({HANDLE_PATH + "?tf-hub-format=compressed": b"<html>login</html>"}) as base:
        settings = Settings(
            zero_shot_model=base + HANDLE_PATH,
            backbone_weights="/local.h5",
            zero_shot_keras_weights="/local.h5",
        )
        [item] = model_files.missing_model_files(settings)
        with pytest.raises(DownloadError, match="not a usable model archive"):
            model_files.fetch_model_file(settings, item)
    assert model_files.missing_model_files(settings) == [item]


@pytest.mark.integration
def test_the_real_hub_model_fetched_ahead_loads_with_no_network(caches, shared_dir: Path):
    # The real classifier as TF Hub serves it (a .tar.gz of the SavedModel) from 127.0.0.1;
    # once fetched, ZeroShotClassifier loads the handle from Hub's cache with the server gone.
    from engine import images
    from engine.zero_shot import ZeroShotClassifier
    from tests.support.paths import FLOWERS, MODELS

    saved_model = MODELS / "classification"
    archive = tgz(
        {
            path.relative_to(saved_model).as_posix(): path.read_bytes()
            for path in sorted(saved_model.rglob("*"))
            if path.is_file()
        }
    )
    with serve_files({HANDLE_PATH + "?tf-hub-format=compressed": archive}) as base:
        settings = Settings(
            zero_shot_model=base + HANDLE_PATH,
            imagenet_labels=str(MODELS / "ImageNetLabels.txt"),
            backbone_weights="/local.h5",
            zero_shot_keras_weights="/local.h5",
            runtime="tensorflow",
        )
        [item] = model_files.missing_model_files(settings)
        model_files.fetch_model_file(settings, item)
    classifier = ZeroShotClassifier.load(settings)
    photo = sorted((FLOWERS / "daisy").glob("*.jpg"))[0]
    batch = images.load_array(photo, classifier.input_size)[None]
    assert classifier.top_k(batch, 1)[0][0][0] == "daisy"
