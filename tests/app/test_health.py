"""The health check on the Data page, the Review labels page (fix, undo, copy the sample,
retrain and compare) and the leakage warning on Evaluate, under AppTest."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from engine import images
from engine.data.record import record_split
from engine.data.scan import scan_dataset
from engine.data.split import read_split_file
from engine.health import features
from engine.health.retrain import label_fixes_of
from engine.jobs import JobSnapshot
from engine.runs import RunStore
from tests.app.conftest import CLASSES, AppEnv, save_fake_run
from tests.app.test_pages import button, texts
from tests.support.runs import make_run


@pytest.fixture
def colour_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """MobileNetV2 features replaced by each photo's mean colour (the classes are colours)."""

    def photo_features(paths, sha1s, settings, on_photos=None):
        return np.stack([images.load_array(p, 8).mean(axis=(0, 1)) for p in paths])

    monkeypatch.setattr(features, "photo_features", photo_features)


def at_dataset(app_env: AppEnv, folder: Path, page: str):
    """A session whose chosen dataset is folder, on pages/<page>.py."""
    at = app_env.app()
    at.session_state["dataset_dir"] = str(folder)
    at.session_state["split_file"] = (
        str(folder / "splits.csv") if (folder / "splits.csv").exists() else ""
    )
    return at.switch_page(f"pages/{page}.py").run()


def uploaded_with_a_planted_mislabel(app_env: AppEnv) -> Path:
    """The colour photos as an uploaded dataset, one red photo filed under blue."""
    folder = app_env.uploads_dir / "colors-0123"
    shutil.copytree(app_env.data_dir, folder)
    shutil.copyfile(folder / "red" / "red_00.png", folder / "blue" / "planted.png")
    (folder / "red" / "red_00.png").unlink()
    return folder


def test_the_health_check_flags_copies_across_a_split_file(app_env: AppEnv, colour_features):
    data = app_env.data_dir
    shutil.copyfile(data / "red" / "red_01.png", data / "red" / "copy.png")
    rows = ["path,label,split", "red/copy.png,red,test"]
    rows += [f"{p.parent.name}/{p.name},{p.parent.name},train" for p in data.glob("*/*_0*.png")]
    (data / "splits.csv").write_text("\n".join(rows) + "\n")
    at = app_env.page("data")
    assert "Health check" in texts(at, "subheader")
    assert not [m for m in at.metric if m.label == "Groups of copies"], "only once asked for"

    button(at, "data_health_check").click().run()

    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Groups of copies"] == "1" and metrics["Test photos seen in training"] == "1"
    assert "1 test photo has a copy the model trains" in texts(at, "warning")
    assert "never rewritten" in texts(at, "info")
    assert "red/copy.png" in texts(at, "markdown")


def test_a_lopsided_dataset_is_warned_about_at_once(app_env: AppEnv):
    for path in sorted(app_env.data_dir.glob("blue/*.png"))[3:]:
        path.unlink()
    at = app_env.page("data")
    assert not at.exception
    assert "'green' has 12 photos and 'blue' only 3 (4.0x)" in texts(at, "warning")


def test_review_fixes_a_suspect_and_undoes_it(app_env: AppEnv, colour_features):
    folder = uploaded_with_a_planted_mislabel(app_env)
    before = {p: p.read_bytes() for p in folder.rglob("*.png")}
    at = at_dataset(app_env, folder, "review")
    assert not at.exception
    button(at, "review_find").click().run()
    assert not at.exception and not at.error
    card = next(m.value.replace("\\", "") for m in at.markdown if "planted" in m.value)
    assert "given: **blue**" in card and "suggested: **red**" in card

    button(at, "review_blue/planted.png_move").click().run()

    assert not at.exception and not at.error
    assert (folder / "red" / "planted.png").is_file() and not (
        folder / "blue" / "planted.png"
    ).exists()
    assert "Fixes made (1)" in texts(at, "subheader")
    assert not any(b.key.startswith("review_blue/planted.png") for b in at.button)
    button(at, "review_undo").click().run()
    assert not at.exception
    assert {p: p.read_bytes() for p in folder.rglob("*.png")} == before


def test_the_sample_is_never_changed_but_copied_in_one_click(app_env: AppEnv, colour_features):
    at = app_env.page("review")
    assert "sample dataset is never changed" in texts(at, "info")
    button(at, "review_find").click().run()
    assert not [b for b in at.button if b.key.endswith("_move")], "no fix buttons on the sample"

    button(at, "review_copy").click().run()

    assert not at.exception
    copy = Path(at.session_state["dataset_dir"])
    assert copy.is_relative_to(app_env.uploads_dir) and copy.name.startswith("colors-copy-")
    assert sorted(p.name for p in copy.glob("*/*.png")) == sorted(
        p.name for p in app_env.data_dir.glob("*/*.png")
    )
    assert "sample dataset is never changed" not in texts(at, "info")


def test_viewer_mode_shows_suspects_without_any_fix(app_env: AppEnv, colour_features):
    app_env.monkeypatch.setenv("TLAB_MODE", "viewer")
    folder = uploaded_with_a_planted_mislabel(app_env)
    at = at_dataset(app_env, folder, "review")
    button(at, "review_find").click().run()
    assert not at.exception
    assert "Viewer mode" in texts(at, "info")
    keys = [b.key for b in at.button]
    assert not [k for k in keys if k.endswith(("_move", "_keep", "_exclude", "_copy"))]
    assert (folder / "blue" / "planted.png").is_file()


def test_retrain_after_fixes_compares_on_the_same_test_photos(app_env: AppEnv, colour_features):
    folder = uploaded_with_a_planted_mislabel(app_env)
    dataset = scan_dataset(folder)
    record = record_split(read_split_file(_write_split(folder), folder / "splits.csv"), folder)
    store = RunStore(app_env.runs_dir)
    run = dataclasses.replace(make_run(CLASSES, dataset=str(folder)), split=record)
    before = store.save(run)
    at = at_dataset(app_env, folder, "review")
    button(at, "review_find").click().run()
    button(at, "review_blue/planted.png_move").click().run()

    button(at, "review_retrain").click().run()

    assert not at.exception and not at.error
    call = app_env.jobs.started[0]
    assert Path(call["data_dir"]) == dataset.root and call["config"] == run.info.config
    assert "red/planted.png,red,train" in Path(call["split_file"]).read_text()
    after = store.save(dataclasses.replace(make_run(CLASSES, dataset=str(folder)), split=record))
    app_env.jobs.current = JobSnapshot(state="done", job_id="job1", run_id=after)
    at.run()
    assert not at.exception and not at.error
    saved = label_fixes_of(store, after)
    assert (saved.before_run, saved.moved, saved.same_test_photos) == (before, 1, True)
    assert {m.label for m in at.metric} >= {"Before the fixes", "After the fixes"}


def _write_split(folder: Path):
    """A splits.csv for folder (every fourth photo of a class tested) and its dataset."""
    dataset = scan_dataset(folder)
    rows = ["path,label,split"]
    for i, (path, label) in enumerate(zip(dataset.paths, dataset.labels, strict=True)):
        part = "test" if i % 4 == 0 and path.name != "planted.png" else "train"
        rows.append(f"{path.relative_to(folder).as_posix()},{CLASSES[label]},{part}")
    (folder / "splits.csv").write_text("\n".join(rows) + "\n")
    return dataset


def test_evaluate_warns_when_test_photos_leaked(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    photo = {"path": "red/a.png", "label": "red"}
    group = {"kind": "exact", "photos": [{**photo, "part": "train"}, {**photo, "part": "test"}]}
    health = {
        "format": 1,
        "root": str(app_env.data_dir),
        "split_source": "splits.csv",
        "num_photos": 36,
        "balance": {"counts": {"blue": 12, "green": 12, "red": 12}},
        "features_checked": False,
        "groups": [group],
        "oddities": [],
        "notes": [],
    }
    RunStore(app_env.runs_dir).save_extra(run_id, "health", health)
    at = app_env.page("evaluate")
    assert not at.exception
    assert "1 of this run's test photos have an exact or near-identical copy" in texts(
        at, "warning"
    )
    RunStore(app_env.runs_dir).save_extra(run_id, "health", {"format": 1})
    at = app_env.page("evaluate")
    assert not at.exception and "cannot be read" in texts(at, "caption")
