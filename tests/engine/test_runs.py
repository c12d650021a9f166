"""Run store: round trip, atomic saves (crash, disk full, SIGKILL), damaged runs, delete, export."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from engine import runs as runs_module
from engine.classifiers import FineTunedClassifier, load_run_classifier
from engine.errors import ModelUnavailableError, RunNotFoundError, RunStoreError
from engine.export import export
from engine.model import Preprocess
from engine.run_documents import load_document
from engine.runs import STORE_MARKER, TMP_MARKER, RunStore
from engine.schema import RecordError
from tests.support.runs import HISTORY, make_run, prediction

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ("cat", "dog", "fox")
SIZE = 16


def tiny_classifier() -> FineTunedClassifier:
    """Raw [0,255] images in, probabilities out, through the custom Preprocess layer."""
    inputs = keras.Input((SIZE, SIZE, 3))
    x = Preprocess(mode="tf")(inputs)
    x = keras.layers.Conv2D(4, 3)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax")(x)
    return FineTunedClassifier(keras.Model(inputs, outputs), CLASSES, SIZE)


PREDICTIONS = [
    prediction("cat", zero_shot="cat"),
    prediction("dog", "cat", zero_shot=""),
    prediction("fox", zero_shot="fox"),
]


@pytest.fixture(scope="module")
def classifier() -> FineTunedClassifier:
    return tiny_classifier()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def save(store: RunStore, classifier: FineTunedClassifier | None, **changes) -> str:
    return store.save(make_run(CLASSES, PREDICTIONS, **changes), classifier)


def test_save_and_load_round_trip(store, classifier):
    run_id = save(store, classifier)

    run = store.load(run_id)
    expected = make_run(CLASSES, PREDICTIONS)
    assert run.info == dataclasses.replace(expected.info, run_id=run_id, created=run.info.created)
    assert run.info.created.endswith("+00:00")
    assert run.history.values == HISTORY
    assert run.evaluation == expected.evaluation
    assert run.zero_shot == expected.zero_shot
    assert run.data == expected.data
    assert run.evaluation.accuracy == pytest.approx(2 / 3)
    assert [row.correct for row in run.evaluation.predictions] == [True, False, True]
    assert sorted(p.name for p in (store.root / run_id).iterdir()) == [
        "config.json",
        "history.json",
        "metrics.json",
        "model.keras",
        "predictions.json",
        "run.json",
    ]
    config = json.loads((store.root / run_id / "config.json").read_text())
    assert (config["epochs"], config["fine_tune_epochs"]) == (2, 1)


def test_model_round_trips_in_safe_mode_with_the_preprocess_layer(store, classifier):
    run_id = save(store, classifier)

    loaded = load_run_classifier(store, run_id)

    assert loaded.class_names == CLASSES
    assert loaded.input_size == SIZE
    assert any(isinstance(layer, Preprocess) for layer in loaded.model.layers)
    images = np.random.default_rng(0).uniform(0, 255, (2, SIZE, SIZE, 3)).astype("float32")
    np.testing.assert_allclose(loaded.model(images), classifier.model(images), atol=1e-6)


def test_run_ids_are_sortable_timestamps_with_a_random_suffix(store):
    ids = {save(store, None) for _ in range(3)}
    assert len(ids) == 3
    for run_id in ids:
        assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", run_id)


def test_list_is_newest_first_and_latest_means_newest_complete(store, classifier):
    older = save(store, classifier)
    newer_cancelled = save(store, None, status="cancelled", test_accuracy=None)

    assert [info.run_id for info in store.list()] == [newer_cancelled, older]
    assert store.load("latest").info.run_id == older
    assert load_run_classifier(store, "latest").class_names == CLASSES


def test_latest_without_complete_runs_is_not_found(store):
    save(store, None, status="cancelled")
    with pytest.raises(RunNotFoundError, match="no complete run"):
        store.load("latest")


def test_a_cancelled_run_has_no_model(store):
    run_id = save(store, None, status="cancelled")
    assert not (store.root / run_id / "model.keras").exists()
    with pytest.raises(RunNotFoundError, match="has no model"):
        load_run_classifier(store, run_id)


def test_extra_documents_are_saved_with_a_run_or_later_and_read_back(store):
    run = dataclasses.replace(make_run(("cat", "dog")), extras={"insight": {"fixed": 3}})
    run_id = store.save(run)

    assert store.load_extra(run_id, "insight") == {"fixed": 3}
    assert store.load_extra(run_id, "calibration") is None
    store.save_extra(run_id, "calibration", {"temperature": 1.5})
    assert store.load_extra(run_id, "calibration") == {"temperature": 1.5}
    assert store.load(run_id).info.run_id == run_id  # the core files are untouched


def test_a_damaged_document_names_its_file_and_how_to_get_it_back(store):
    def parse(data: dict) -> int:
        if not isinstance(data.get("fixed"), int):
            raise RecordError("insight.json.fixed is not a whole number")
        return data["fixed"]

    run_id = store.save(make_run(("cat", "dog")))
    assert load_document(store, run_id, "insight", parse, "compute it again") is None
    store.save_extra(run_id, "insight", {"fixed": 3})
    assert load_document(store, run_id, "insight", parse, "compute it again") == 3
    store.save_extra(run_id, "insight", {"fixed": "three"})
    message = rf"Run '{run_id}': its insight.json is damaged \(.*whole number\); compute it again"
    with pytest.raises(RunNotFoundError, match=message):
        load_document(store, run_id, "insight", parse, "compute it again")
    assert store.load(run_id).info.run_id == run_id  # the rest of the run still opens


@pytest.mark.parametrize("name", ["run", "metrics", "../run", "Insight", ".hidden", ""])
def test_an_extra_document_cannot_replace_a_core_file_or_leave_the_run(store, name):
    run_id = store.save(make_run(("cat", "dog")))
    with pytest.raises(ValueError, match="cannot name an extra run document"):
        store.save_extra(run_id, name, {})


def test_a_linked_extra_document_is_refused(store, tmp_path):
    run_id = store.save(make_run(("cat", "dog")))
    secret = tmp_path / "secret.json"
    secret.write_text('{"password": 1}')
    (store.root / run_id / "insight.json").symlink_to(secret)
    with pytest.raises(RunNotFoundError, match="damaged"):
        store.load_extra(run_id, "insight")


def test_list_of_a_missing_folder_is_empty(tmp_path):
    assert RunStore(tmp_path / "nowhere").list() == []


def test_temp_cache_and_damaged_folders_are_ignored(store, classifier):
    good = save(store, classifier)
    for name, text in {
        ".tmp-20260101-000000-dead": json.dumps({"run_id": "x"}),
        ".cache": "{}",
        "broken-json": "{not json",
        "not-an-object": "[1, 2]",
        "missing-fields": json.dumps({"run_id": "missing-fields"}),
        "bad-types": json.dumps({**make_run(CLASSES).info.to_dict(), "created": 5}),
    }.items():
        (store.root / name).mkdir()
        (store.root / name / "run.json").write_text(text)
    (store.root / "no-run-json").mkdir()
    (store.root / "stray-file.txt").write_text("hello")

    assert [info.run_id for info in store.list()] == [good]
    with pytest.raises(RunNotFoundError, match="damaged"):
        store.load("broken-json")
    with pytest.raises(RunNotFoundError):
        store.load("no-run-json")


def test_load_of_an_unknown_run_names_the_folder(store):
    with pytest.raises(RunNotFoundError, match="No run 'nope' in .*runs"):
        store.load("nope")


@pytest.mark.parametrize("bad_id", ["../x", "..", "a/b", "/etc", ".tmp-x", "", "x/../y", "a\\b"])
def test_run_ids_from_users_cannot_leave_the_store(store, bad_id):
    (store.root).mkdir()
    for call in (store.load, store.info, store.model_path, store.delete):
        with pytest.raises(RunNotFoundError, match="not a run id"):
            call(bad_id)
    with pytest.raises(RunNotFoundError, match="not a run id"):
        export(store, bad_id, "keras")


def assert_only_runs(store: RunStore, run_ids: list[str]) -> None:
    assert [info.run_id for info in store.list()] == run_ids
    left = [p.name for p in store.root.iterdir() if p.name != STORE_MARKER]
    assert left == run_ids, "no temp folder left behind"


def test_crash_before_the_rename_leaves_no_run_and_keeps_older_ones(store, classifier, monkeypatch):
    kept = save(store, classifier)

    def crash(src, dst):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(runs_module.os, "rename", crash)
    with pytest.raises(RunStoreError, match="Could not save the run in .*Input/output error"):
        save(store, classifier)
    monkeypatch.undo()

    assert_only_runs(store, [kept])
    assert store.load(kept).history.values == HISTORY


def test_disk_full_is_a_run_store_error_with_a_fix(store, classifier, monkeypatch):
    kept = save(store, None)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runs_module.os, "fsync", disk_full)
    with pytest.raises(RunStoreError) as caught:
        save(store, classifier)
    monkeypatch.undo()

    assert "No space left on device" in str(caught.value)
    assert "TLAB_RUNS_DIR" in str(caught.value)
    assert_only_runs(store, [kept])


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores file permissions"
)
def test_read_only_runs_folder_is_a_run_store_error(store, classifier):
    store.root.mkdir()
    store.root.chmod(0o500)
    try:
        with pytest.raises(RunStoreError, match="writable folder"):
            save(store, classifier)
        assert store.list() == []
    finally:
        store.root.chmod(0o700)


def test_stale_temp_folders_are_cleaned_on_list(store):
    store.root.mkdir()
    (store.root / STORE_MARKER).touch()
    stale, fresh = store.root / ".tmp-stale", store.root / ".tmp-fresh"
    foreign = store.root / ".tmp-someone-elses"
    for folder in (stale, fresh, foreign):
        folder.mkdir()
        (folder / "history.json").write_text("{}")
    (stale / TMP_MARKER).touch()
    (fresh / TMP_MARKER).touch()
    two_hours_ago = time.time() - 7200
    for folder in (stale, foreign):
        os.utime(folder, (two_hours_ago, two_hours_ago))

    assert store.list() == []
    assert not stale.exists()
    assert fresh.exists(), "a save in progress must not be disturbed"
    assert foreign.exists(), "only folders the store itself made are ever removed"


def test_listing_any_folder_never_deletes_what_the_store_did_not_make(tmp_path):
    # Protection: `engine runs --runs-dir ~` once removed every hour-old '.tmp-*' folder there.
    elsewhere = tmp_path / "home"
    (elsewhere / ".tmp-build").mkdir(parents=True)
    (elsewhere / ".tmp-build" / TMP_MARKER).touch()  # even marked, outside a marked store
    os.utime(elsewhere / ".tmp-build", (time.time() - 7200,) * 2)
    assert RunStore(elsewhere).list() == []
    assert (elsewhere / ".tmp-build").exists()


def test_delete_removes_the_run(store, classifier):
    gone, kept = save(store, classifier), save(store, None)

    store.delete(gone)

    assert_only_runs(store, [kept])
    with pytest.raises(RunNotFoundError):
        store.delete(gone)


def test_a_corrupt_model_file_is_reported_not_raised_raw(store, classifier):
    run_id = save(store, classifier)
    (store.root / run_id / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelUnavailableError, match="cannot be loaded"):
        load_run_classifier(store, run_id)


SAVE_FOREVER = textwrap.dedent(
    """
    import sys
    from tests.engine.test_runs import CLASSES, tiny_classifier
    from tests.support.runs import make_run
    from engine.runs import STORE_MARKER, TMP_MARKER, RunStore

    store, classifier, run = RunStore(sys.argv[1]), tiny_classifier(), make_run(CLASSES)
    while True:
        store.save(run, classifier)
    """
)


def test_sigkill_mid_save_never_leaves_a_visible_partial_run(tmp_path, classifier):
    store = RunStore(tmp_path / "runs")
    log = (tmp_path / "saver.log").open("w")
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVE_FOREVER, str(store.root)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while len(store.list()) < 3:
            assert saver.poll() is None, (tmp_path / "saver.log").read_text()
            assert time.monotonic() < deadline, "the saver never saved three runs"
            time.sleep(0.05)
        # Aim at the middle of a save: kill as soon as a temp folder is seen.
        while not any(store.root.glob(".tmp-*")) and time.monotonic() < deadline:
            pass
    finally:
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        log.close()

    listed = store.list()
    assert len(listed) >= 3
    assert all(not info.run_id.startswith(".") for info in listed)
    for info in listed:
        assert store.load(info.run_id).history.values == HISTORY
        assert load_run_classifier(store, info.run_id).class_names == CLASSES
    new = save(store, classifier)
    assert store.list()[0].run_id == new


def test_a_run_saved_by_the_first_version_still_loads(store, classifier):
    # tests/fixtures/run_v1 holds the JSON files the first version (before the typed run
    # record) wrote for a 2-class run; its model.keras used the same Preprocess layer.
    folder = store.root / "20261202-013357-d79d"
    shutil.copytree(ROOT / "tests" / "fixtures" / "run_v1", folder)
    two_classes = keras.Model(
        classifier.model.input, keras.layers.Dense(2)(classifier.model.output)
    )
    two_classes.save(folder / "model.keras")

    [info] = store.list()
    run = store.load(info.run_id)

    assert (info.run_id, info.status, info.class_names) == (
        folder.name,
        "complete",
        ("green", "red"),
    )
    assert info.config.backbone == "tiny" and info.config.fine_tune_epochs == 1
    assert run.evaluation.accuracy == 0.5
    assert [row.correct for row in run.evaluation.predictions] == [True, False]
    assert run.zero_shot.unmapped_classes == ("green",)
    assert run.history.get("stage") == ["head", "head", "fine_tune"]
    assert run.data.num_train == 8
    assert load_run_classifier(store, info.run_id).class_names == ("green", "red")


def test_a_run_written_by_a_newer_version_is_named_not_misread(store, classifier):
    run_id = save(store, None)
    run_file = store.root / run_id / "run.json"
    run_file.write_text(json.dumps({**json.loads(run_file.read_text()), "format": 99}))

    with pytest.raises(RunNotFoundError, match="newer version of Transfer Lab"):
        store.load(run_id)


def test_notes_and_the_demo_pin_are_saved_with_the_store(store, classifier):
    run_id, cancelled = save(store, classifier), save(store, None, status="cancelled")

    store.set_notes(run_id, "  augment off, 30 epochs  ")
    store.pin_demo(run_id)

    assert store.info(run_id).notes == "augment off, 30 epochs"
    assert store.load(run_id).evaluation.accuracy == pytest.approx(2 / 3), "the rest is kept"
    assert store.demo_pin() == run_id
    with pytest.raises(RunNotFoundError, match="no model"):
        store.pin_demo(cancelled)
    store.delete(run_id)
    assert store.demo_pin() is None, "a deleted run is no longer pinned"
