"""A run's curve and feature map: computed from its own photos' cached features, saved with the
run, refused in viewer mode; and their CLI commands (with gradcam's)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import pytest

from engine import cli
from engine.backbones import BACKBONES, register_backbone
from engine.data import batches
from engine.errors import DatasetError, ModelUnavailableError, ReadOnlyError
from engine.experiment import run_experiment
from engine.insight import analyses
from engine.insight.curve import load_curve
from engine.insight.projection import load_projection
from engine.runs import RunStore
from engine.settings import Settings
from tests.support.runs import make_run
from tests.support.tiny import QUICK, TINY, TINY_SIZE, tiny_base


def no_zero_shot():
    raise ModelUnavailableError("No zero-shot model here (TLAB_ZERO_SHOT_MODEL).")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """(settings, run id, dataset folder): one quick run of the tiny backbone (with a weights
    file, so its features are cached) on a generated 3-colour dataset."""
    from tests.conftest import CLASS_COLORS, write_image

    root = tmp_path_factory.mktemp("insight")
    for name, colour in CLASS_COLORS.items():
        for i in range(12):
            write_image(root / "colors" / name / f"{name}_{i:02d}.png", colour, seed=i)
    keras.utils.set_random_seed(7)
    weights = root / "tiny.weights.h5"
    tiny_base((TINY_SIZE, TINY_SIZE, 3)).save_weights(weights)
    register_backbone(dataclasses.replace(TINY, weights=str(weights)))
    settings = Settings(runs_dir=root / "runs", runtime="tensorflow")
    info = run_experiment(root / "colors", QUICK, settings, zero_shot=no_zero_shot)
    yield settings, info.run_id, root / "colors"
    BACKBONES.pop(TINY.name, None)


def decoded_paths(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every photo decoded from now on."""
    seen: list[Path] = []
    real = batches.decode_batches

    def recording(subset, *args, **kwargs):
        seen.extend(subset.paths)
        return real(subset, *args, **kwargs)

    monkeypatch.setattr(batches, "decode_batches", recording)
    return seen


def test_the_curve_of_a_run_uses_its_photos_cached_features_and_is_saved(trained, monkeypatch):
    settings, run_id, _ = trained
    store = RunStore(settings.runs_dir)
    run = store.load(run_id)
    seen = decoded_paths(monkeypatch)
    progress: list[float] = []

    curve = analyses.curve_of_run(store, run_id, settings, None, lambda f, _: progress.append(f))

    # Training cached the train and validation features: only the test photos were decoded.
    assert sorted(seen) == sorted(analyses.run_split(run).test.paths)
    assert load_curve(store, run_id) == curve
    assert [p.per_class for p in curve.points] == [1, 2, 5, 9]
    assert curve.run_accuracy == run.info.test_accuracy and curve.zero_shot_accuracy is None
    assert curve.num_test == run.data.num_test
    assert progress == sorted(progress) and progress[-1] == 1.0
    seen.clear()
    analyses.curve_of_run(store, run_id, settings)
    assert seen == []  # the test photos' features are cached now too


def test_the_feature_map_of_a_run_is_saved_and_skips_photos_gone_since(trained, tmp_path):
    settings, run_id, _ = trained
    store = RunStore(settings.runs_dir)
    rows = store.load(run_id).evaluation.predictions
    result = analyses.projection_of_run(store, run_id, settings)
    assert [point.path for point in result.points] == [row.path for row in rows]
    assert load_projection(store, run_id) == result
    assert {p.predicted for p in result.points} <= set(result.class_names)


def test_viewer_mode_refuses_to_save_either(trained):
    settings, run_id, _ = trained
    viewer = dataclasses.replace(settings, mode="viewer")
    store = RunStore(settings.runs_dir)
    before = sorted(p.name for p in (settings.runs_dir / run_id).iterdir())
    with pytest.raises(ReadOnlyError, match="viewer mode"):
        analyses.curve_of_run(store, run_id, viewer)
    with pytest.raises(ReadOnlyError, match="viewer mode"):
        analyses.projection_of_run(store, run_id, viewer)
    assert sorted(p.name for p in (settings.runs_dir / run_id).iterdir()) == before


def test_a_run_without_a_recorded_split_says_how_to_get_a_curve(tmp_path):
    store = RunStore(tmp_path)
    run = store.load(store.save(make_run(("a", "b"))))
    with pytest.raises(DatasetError, match="--split-file"):
        analyses.run_split(run)


def cli_json(capsys, *argv: str) -> tuple[int, dict, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else {}, captured.err


def test_curve_and_projection_commands_print_one_json_object(trained, capsys):
    settings, run_id, folder = trained
    common = ("--runs-dir", str(settings.runs_dir), "--json")
    code, result, err = cli_json(capsys, "curve", "--run", run_id, *common)  # its own folder
    assert code == 0 and result["saved"] and result["run_id"] == run_id
    assert [p["per_class"] for p in result["points"]] == [1, 2, 5, 9]
    assert "photos per class" in result["next_doubling"] and "%]" in err  # progress on stderr

    code, result, _ = cli_json(capsys, "projection", "--run", run_id, *common)
    assert code == 0 and len(result["points"]) == 6 and "centre" in result["linear_head"]

    code, _, err = cli_json(
        capsys, "curve", "--data", str(folder), "--run", run_id, "--split-file", "x.csv", *common
    )
    assert code == 1 and err.startswith("error: --split-file cannot be combined with --run")

    code, _, err = cli_json(capsys, "curve", *common)
    assert code == 1 and "--data DIR" in err and "--run RUN_ID" in err


def test_curve_of_a_folder_without_a_run(trained, capsys, monkeypatch):
    settings, _, folder = trained
    monkeypatch.setenv("TLAB_ZERO_SHOT_MODEL", str(folder / "no-model"))
    monkeypatch.setenv("TLAB_IMAGENET_LABELS", str(folder / "no-labels.txt"))
    code, result, _ = cli_json(
        capsys, "curve", "--data", str(folder), "--backbone", "tiny",
        "--runs-dir", str(settings.runs_dir), "--json",
    )  # fmt: skip
    assert code == 0 and not result["saved"] and result["run_accuracy"] is None
    assert result["zero_shot_accuracy"] is None and "TLAB_" in result["zero_shot_error"]


def test_gradcam_writes_the_pair_and_survives_without_the_zero_shot_twin(
    trained, capsys, monkeypatch, tmp_path
):
    settings, run_id, folder = trained
    monkeypatch.setenv("TLAB_ZERO_SHOT_KERAS_WEIGHTS", str(tmp_path / "missing.weights.h5"))
    photo = sorted(folder.glob("red/*.png"))[0]
    out = tmp_path / "pair.png"
    code, result, err = cli_json(
        capsys, "gradcam", str(photo), "--run", run_id, "--out", str(out),
        "--runs-dir", str(settings.runs_dir), "--json",
    )  # fmt: skip
    assert code == 0 and out.read_bytes().startswith(b"\x89PNG")
    assert result["zero_shot"] is None and "TLAB_ZERO_SHOT_KERAS_WEIGHTS" in err
    assert result["fine_tuned"]["label"] in ("blue", "green", "red")
    assert len(result["fine_tuned"]["cam"]) == 7 and 0 <= result["fine_tuned"]["peak"][0] <= 1
