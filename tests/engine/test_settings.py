"""Settings come from TLAB_* variables, with defaults that use the real online handles."""

from pathlib import Path

import pytest

from engine.errors import SettingsError
from engine.settings import DEFAULT_ZERO_SHOT_MODEL, Settings


def test_defaults_use_online_handles_and_local_runs():
    settings = Settings.from_env({})
    assert settings.zero_shot_model == DEFAULT_ZERO_SHOT_MODEL
    assert settings.imagenet_labels.startswith("https://")
    assert settings.backbone_weights == "imagenet"
    assert settings.runs_dir == Path("runs")
    assert settings.data_dir is None


def test_environment_overrides_every_path(tmp_path):
    env = {
        "TLAB_ZERO_SHOT_MODEL": str(tmp_path / "hub"),
        "TLAB_IMAGENET_LABELS": str(tmp_path / "labels.txt"),
        "TLAB_BACKBONE_WEIGHTS": str(tmp_path / "w.h5"),
        "TLAB_DATA_DIR": str(tmp_path / "data"),
        "TLAB_RUNS_DIR": str(tmp_path / "runs"),
        "TLAB_MAX_UPLOAD_MB": "5",
    }
    settings = Settings.from_env(env)
    assert settings.zero_shot_model == env["TLAB_ZERO_SHOT_MODEL"]
    assert settings.backbone_weights == env["TLAB_BACKBONE_WEIGHTS"]
    assert settings.data_dir == tmp_path / "data"
    assert settings.runs_dir == tmp_path / "runs"
    assert settings.max_upload_mb == 5
    assert (tmp_path / "data").resolve() in settings.typed_roots


@pytest.mark.parametrize(
    "env",
    [{"TLAB_MAX_UPLOAD_MB": "lots"}, {"TLAB_MAX_IMAGE_PIXELS": "-1"}, {"TLAB_DISTRIBUTE": "tpu"}],
)
def test_bad_values_name_the_variable(env):
    with pytest.raises(SettingsError, match=next(iter(env))):
        Settings.from_env(env)


def test_frozen():
    with pytest.raises(AttributeError):
        Settings().runs_dir = Path("x")  # type: ignore[misc]


def test_the_cache_folder_defaults_to_the_runs_folder_and_can_move(tmp_path):
    assert Settings.from_env({"TLAB_RUNS_DIR": "r"}).cache_root == Path("r") / ".cache"
    moved = Settings.from_env({"TLAB_CACHE_DIR": str(tmp_path / "cache")})
    assert moved.cache_root == tmp_path / "cache"


def test_the_zero_shot_heatmap_weights_download_unless_set(tmp_path):
    assert Settings.from_env({}).zero_shot_keras_weights == "imagenet"
    weights = str(tmp_path / "mobilenet_v2_1.0_224_imagenet.weights.h5")
    settings = Settings.from_env({"TLAB_ZERO_SHOT_KERAS_WEIGHTS": weights})
    assert settings.zero_shot_keras_weights == weights
    assert settings.describe()["Zero-shot heatmap weights"] == weights
