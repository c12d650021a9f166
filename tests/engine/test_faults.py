"""Faults around the engine: killed and cancelled trainings, unavailable models, a full or
read-only run store, and CLI user errors seen from a real `python -m engine` process.

Each test names, in a comment, the protection it checks; it fails when that protection is removed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keras
import pytest
import tensorflow as tf

from engine import imagenet
from engine.classifiers import load_run_classifier
from engine.config import TrainConfig
from engine.errors import ModelUnavailableError, RunNotFoundError, TrainingCancelled
from engine.events import ProgressEvent
from engine.experiment import run_experiment
from engine.jobs import JobManager
from engine.run_record import RunInfo
from engine.runs import RunStore
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier
from tests.conftest import CLASS_COLORS, write_image
from tests.engine.test_mapping import LABELS
from tests.engine.test_zero_shot import ColourModel, no_proxy  # noqa: F401 (fixture)
from tests.support.paths import MODELS
from tests.support.runs import make_run

ROOT = Path(__file__).resolve().parents[2]
WAIT = 120  # seconds; a generous bound on a busy 2-core machine, never a timing assertion
# The tiny backbone learns the colour classes in a couple of epochs; patience 0 fixes the count.
QUICK = TrainConfig(
    backbone="tiny", epochs=2, batch_size=4, learning_rate=0.05, early_stopping_patience=0
)


def lab_settings(folder: Path) -> Settings:
    """Settings with runs in folder/runs, valid labels and a missing zero-shot model.

    The missing model fails at once (no network is tried), so each experiment trains and saves
    its run without the zero-shot baseline, as on an offline machine without ../shared.
    """
    labels = folder / "ImageNetLabels.txt"
    if not labels.exists():
        labels.write_text("\n".join(LABELS) + "\n")
    return Settings(
        runs_dir=folder / "runs",
        zero_shot_model=str(folder / "no-zero-shot-model"),
        imagenet_labels=str(labels),
    )


def python_env(**extra: str) -> dict[str, str]:
    """The environment of a child Python that imports the project like the tests do."""
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen | None = None):
    """Poll condition until it holds (bounded by WAIT); fail early if process died."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if process is not None:
            assert process.poll() is None, f"the child exited ({process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def assert_only_a_cancelled_run(store: RunStore) -> RunInfo:
    """The store holds one run, cancelled, without a model, that 'latest' never returns."""
    [info] = store.list()
    assert (info.status, info.test_accuracy) == ("cancelled", None)
    assert not (store.root / info.run_id / "model.keras").exists()
    with pytest.raises(RunNotFoundError, match="no complete run"):
        store.load("latest")
    with pytest.raises(RunNotFoundError, match="has no model"):
        load_run_classifier(store, info.run_id)
    return info


pytestmark = pytest.mark.usefixtures("tiny_backbone")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return lab_settings(tmp_path)


# --- 1. a training process killed with SIGKILL --------------------------------------------------

TRAIN_UNTIL_KILLED = textwrap.dedent(
    """
    import dataclasses
    import sys
    import time
    from pathlib import Path

    from engine.backbones import register_backbone
    from engine.experiment import run_experiment
    from tests.engine.test_faults import QUICK, lab_settings
    from tests.support.tiny import TINY

    data, work, marker = (Path(arg) for arg in sys.argv[1:4])
    register_backbone(TINY)


    def on_event(event):
        # Hold the training at batch 2 of a fine-tuning epoch: it dies with the epoch half done.
        if event.kind == "batch" and event.stage == "fine_tune" and event.batch == 2:
            marker.touch()
            time.sleep(3600)


    config = dataclasses.replace(QUICK, fine_tune_epochs=3)
    run_experiment(data, config, lab_settings(work), on_event=on_event)
    """
)


@pytest.mark.slow
def test_a_training_killed_mid_epoch_leaves_no_run_and_the_next_one_saves(
    tmp_path, image_folder, settings
):
    # Protection: a run becomes visible only once completely written (run_experiment saves
    # once, at the end, through RunStore's temp folder + rename), so a killed training leaves
    # nothing that list() or load('latest') would show, and nothing that blocks the next one.
    script = tmp_path / "train_until_killed.py"
    script.write_text(TRAIN_UNTIL_KILLED)
    marker = tmp_path / "mid-epoch"
    with (tmp_path / "trainer.log").open("w") as log:
        trainer = subprocess.Popen(
            [sys.executable, str(script), str(image_folder), str(tmp_path), str(marker)],
            cwd=ROOT,
            env=python_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(marker.exists, "fine-tuning reached batch 2", trainer)
        finally:
            trainer.send_signal(signal.SIGKILL)
            trainer.wait()
    assert trainer.returncode == -signal.SIGKILL, (tmp_path / "trainer.log").read_text()[-3000:]

    store = RunStore(settings.runs_dir)
    assert store.list() == []
    assert list(settings.runs_dir.glob(".tmp-*")) == []
    with pytest.raises(RunNotFoundError):
        store.load("latest")

    info = run_experiment(image_folder, QUICK, settings)

    assert [listed.run_id for listed in store.list()] == [info.run_id]
    run = store.load("latest")
    assert (run.info.run_id, run.info.status) == (info.run_id, "complete")
    # The default zero-shot loader failed on the missing model; the run says why.
    assert "TLAB_ZERO_SHOT_MODEL" in run.zero_shot_error
    assert load_run_classifier(store, info.run_id).class_names == tuple(sorted(CLASS_COLORS))


# --- 2. cancel --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["features", "head"])
def test_cancel_before_fine_tuning_saves_only_a_cancelled_run(image_folder, settings, stage):
    # Protection: run_experiment saves a cancelled training as status 'cancelled' without a
    # model and re-raises TrainingCancelled; 'latest' and load_model skip such runs.
    cancel = threading.Event()

    def on_event(event: ProgressEvent) -> None:
        if event.kind == "batch" and event.stage == stage:
            cancel.set()

    config = dataclasses.replace(QUICK, epochs=3, fine_tune_epochs=3)
    with pytest.raises(TrainingCancelled):
        run_experiment(image_folder, config, settings, on_event=on_event, cancel=cancel)

    info = assert_only_a_cancelled_run(RunStore(settings.runs_dir))
    assert RunStore(settings.runs_dir).load(info.run_id).history.get("stage") == []


def test_cancel_during_fine_tuning_keeps_the_stage_one_model(image_folder, settings):
    # Protection: training.FineTuneCancelled carries the stage-1 model (weights restored from
    # before fine-tuning); the experiment evaluates it and saves a 'partial' run.
    cancel = threading.Event()

    def on_event(event: ProgressEvent) -> None:
        if event.kind == "batch" and event.stage == "fine_tune":
            cancel.set()

    config = dataclasses.replace(QUICK, epochs=3, fine_tune_epochs=3)
    with pytest.raises(TrainingCancelled) as cancelled:
        run_experiment(image_folder, config, settings, on_event=on_event, cancel=cancel)

    store = RunStore(settings.runs_dir)
    [info] = store.list()
    run = store.load(info.run_id)
    assert cancelled.value.kept_model and info.status == "partial" and info.has_model
    assert run.history.get("stage")[:3] == ["head"] * 3, "the curves so far are kept"
    assert run.evaluation.accuracy == info.test_accuracy
    assert load_run_classifier(store, info.run_id).class_names == run.info.class_names
    with pytest.raises(RunNotFoundError, match="no complete run"):
        store.load("latest")  # 'latest' still means a finished training


def held_once_at(stage: str) -> Callable[..., RunInfo]:
    """run_experiment whose first run is held at the first batch of stage until cancelled.

    The hold makes "cancel during this stage" certain however fast or slow the machine is;
    later runs go straight through.
    """
    first_run = threading.Event()

    def runner(data_dir, config, settings, **kwargs) -> RunInfo:
        report, cancel = kwargs["on_event"], kwargs["cancel"]
        hold = not first_run.is_set()
        first_run.set()

        def on_event(event: ProgressEvent) -> None:
            report(event)
            if hold and event.kind == "batch" and event.stage == stage:
                assert cancel.wait(WAIT), "the test never cancelled"

        return run_experiment(data_dir, config, settings, **{**kwargs, "on_event": on_event})

    return runner


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["head", "fine_tune"])
def test_a_cancelled_job_ends_its_thread_and_frees_the_manager(image_folder, settings, stage):
    # Protection: JobManager's thread turns TrainingCancelled into state 'cancelled' and ends,
    # so start() accepts the next job (one job at a time, released on cancel).
    jobs = JobManager(settings, runner=held_once_at(stage))
    job_id = jobs.start(image_folder, dataclasses.replace(QUICK, fine_tune_epochs=2))
    wait_for(lambda: jobs.snapshot().stage == stage, f"the {stage} stage")

    jobs.cancel()
    cancelled = jobs.wait(WAIT)

    assert cancelled.state == "cancelled", cancelled.summary()
    assert cancelled.kept_model == (stage == "fine_tune")
    assert f"training-{job_id}" not in [thread.name for thread in threading.enumerate()]
    store = RunStore(settings.runs_dir)
    if stage == "head":
        assert_only_a_cancelled_run(store)

    jobs.start(image_folder, QUICK)
    done = jobs.wait(WAIT)

    assert done.state == "done", done.summary()
    assert store.load("latest").info.run_id == done.run_id
    kept = "partial" if stage == "fine_tune" else "cancelled"
    assert sorted(info.status for info in store.list()) == sorted([kept, "complete"])


# --- 3. models that cannot be loaded ----------------------------------------------------------


@pytest.fixture
def stalled_server() -> Iterator[str]:
    """Base URL of a server that accepts connections and never answers (a dead proxy or link)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # the kernel completes handshakes into the backlog; nobody reads
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.timeout(60)  # without the protection the load hangs; this turns it into a failure
@pytest.mark.usefixtures("no_proxy")
@pytest.mark.parametrize("setting", ["TLAB_IMAGENET_LABELS", "TLAB_ZERO_SHOT_MODEL"])
def test_a_stalled_network_fails_within_the_timeout(tmp_path, stalled_server, monkeypatch, setting):
    # Protection: every network read of the zero-shot loader has a timeout
    # (NETWORK_TIMEOUT_SECONDS, shortened here); without it urllib waits for ever.
    monkeypatch.setattr(imagenet, "NETWORK_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "hub-cache"))  # nothing cached
    url = f"{stalled_server}/google/mobilenet_v2/classification/4"
    labels = lab_settings(tmp_path).imagenet_labels
    if setting == "TLAB_IMAGENET_LABELS":
        settings = Settings(zero_shot_model=str(tmp_path), imagenet_labels=url)
    else:
        settings = Settings(zero_shot_model=url, imagenet_labels=labels)

    with pytest.raises(ModelUnavailableError, match=f"no network.*{setting}"):
        ZeroShotClassifier.load(settings)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8, "not a UTF-8 text file"),
        (b"background\n" * 200_000, "is larger than 1000 kB"),
    ],
    ids=["binary", "huge"],
)
def test_a_corrupt_labels_file_names_its_setting(tmp_path, content, words):
    # Protection: load_labels checks size and encoding before parsing, and says which setting
    # to change instead of raising UnicodeDecodeError or reading a huge file into memory.
    labels = tmp_path / "ImageNetLabels.txt"
    labels.write_bytes(content)
    settings = Settings(zero_shot_model=str(tmp_path), imagenet_labels=str(labels))

    with pytest.raises(ModelUnavailableError, match="TLAB_IMAGENET_LABELS") as caught:
        ZeroShotClassifier.load(settings)
    assert words in str(caught.value)


@pytest.mark.integration
def test_a_partly_downloaded_saved_model_names_its_setting(shared_dir, tmp_path):
    # Protection: ZeroShotClassifier.load turns hub.load's low-level errors (here IndexError
    # from a truncated variables file) into ModelUnavailableError naming TLAB_ZERO_SHOT_MODEL.
    model = shutil.copytree(MODELS / "classification", tmp_path / "classification")
    variables = model / "variables" / "variables.data-00000-of-00001"
    variables.chmod(0o644)
    os.truncate(variables, variables.stat().st_size // 2)
    settings = Settings(
        zero_shot_model=str(model), imagenet_labels=str(MODELS / "ImageNetLabels.txt")
    )

    with pytest.raises(ModelUnavailableError, match="TLAB_ZERO_SHOT_MODEL=.*could not be loaded"):
        ZeroShotClassifier.load(settings)


@pytest.mark.slow
def test_truncated_backbone_weights_stop_the_experiment_before_any_run(
    tmp_path, image_folder, settings
):
    # Protection: build_base wraps Keras/h5py errors for a damaged weights file into
    # ModelUnavailableError naming TLAB_BACKBONE_WEIGHTS, and run_experiment saves nothing.
    weights = tmp_path / "mobilenet_v2_no_top.weights.h5"
    keras.applications.MobileNetV2(
        input_shape=(224, 224, 3), include_top=False, weights=None
    ).save_weights(weights)
    os.truncate(weights, weights.stat().st_size // 2)  # an interrupted download
    settings = dataclasses.replace(settings, backbone_weights=str(weights))
    config = dataclasses.replace(QUICK, backbone="mobilenet_v2")

    with pytest.raises(ModelUnavailableError, match="TLAB_BACKBONE_WEIGHTS") as caught:
        run_experiment(image_folder, config, settings)

    assert str(weights) in str(caught.value)
    assert RunStore(settings.runs_dir).list() == []


# --- 4. a full or read-only run store ---------------------------------------------------------

STORE_FAULTS = textwrap.dedent(
    """
    import dataclasses
    import hashlib
    import json
    import subprocess
    import sys
    from pathlib import Path

    from engine.backbones import register_backbone
    from engine.classifiers import load_run_classifier
    from engine.errors import RunStoreError
    from engine.experiment import run_experiment
    from engine.runs import RunStore
    from tests.engine.test_faults import QUICK, folder_digest, lab_settings
    from tests.support.tiny import TINY

    data, work, runs = (Path(arg) for arg in sys.argv[1:4])
    # Runs in this process's private mount namespace: a small tmpfs of its own.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(runs)], check=True)
    register_backbone(TINY)
    settings = dataclasses.replace(lab_settings(work), runs_dir=runs)
    store = RunStore(runs)
    info = run_experiment(data, QUICK, settings)
    kept = info.run_id


    def state():
        return {
            "listed": [info.run_id for info in store.list()],
            "entries": sorted(p.name for p in runs.iterdir() if not p.name.startswith(".")),
            "digest": folder_digest(runs / kept),
            "model_loads": load_run_classifier(store, kept).class_names == info.class_names,
        }


    def save_error():
        try:
            run_experiment(data, QUICK, settings)
        except RunStoreError as exc:
            return str(exc)
        return None


    report = {"kept": kept, "before": state()}
    filler = runs / ".filler"
    with open(filler, "wb", buffering=0) as handle:  # unbuffered: close has nothing to flush
        try:
            while handle.write(b"x" * 65536):
                pass
        except OSError:
            pass  # the disk is full
    report["disk_full"] = save_error()
    filler.unlink()
    report["after_disk_full"] = state()
    subprocess.run(["mount", "-o", "remount,ro", str(runs)], check=True)
    report["read_only"] = save_error()
    report["after_read_only"] = state()
    print("REPORT " + json.dumps(report))
    """
)


def folder_digest(folder: Path) -> str:
    """SHA-256 over the names and bytes of every file under folder."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def private_tmpfs_possible(mount_point: Path) -> bool:
    """True when this process may mount a tmpfs in a private mount namespace (root, unshare)."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = ["unshare", "-m", "--propagation", "private", "mount", "-t", "tmpfs", "tmpfs"]
    result = subprocess.run([*probe, str(mount_point)], capture_output=True, timeout=30)
    return result.returncode == 0


@pytest.mark.slow
def test_a_full_or_read_only_run_store_fails_clearly_and_keeps_older_runs(tmp_path, image_folder):
    # Protection: RunStore.save writes into a temp folder, removes it on OSError and raises
    # RunStoreError naming the reason and TLAB_RUNS_DIR; it never touches finished runs.
    # A real tmpfs is filled up and then remounted read-only (root ignores file modes).
    runs = tmp_path / "runs"
    runs.mkdir()
    if not private_tmpfs_possible(runs):
        pytest.skip("needs `unshare -m` and `mount -t tmpfs` (root in a private mount namespace)")
    script = tmp_path / "store_faults.py"
    script.write_text(STORE_FAULTS)

    child = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, str(script)]
        + [str(image_folder), str(tmp_path), str(runs)],
        cwd=ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert child.returncode == 0, child.stderr[-3000:]
    [line] = [line for line in child.stdout.splitlines() if line.startswith("REPORT ")]
    report = json.loads(line.removeprefix("REPORT "))
    for fault, reason in (("disk_full", "No space left on device"), ("read_only", "Read-only")):
        message = report[fault]
        assert message is not None, f"{fault}: the run was saved anyway"
        assert message.startswith("Could not save the run in "), message
        assert reason in message and "TLAB_RUNS_DIR" in message, message
        after = report[f"after_{fault}"]
        assert after == report["before"], f"{fault} changed the store"
    assert report["before"]["listed"] == report["before"]["entries"] == [report["kept"]]
    assert report["before"]["model_loads"]


# --- 5. CLI user errors from a real process ---------------------------------------------------


def cli_case_files(root: Path) -> dict[str, list[bytes] | None]:
    """Files for each CLI case and its argv (None when the filesystem refuses the names)."""
    for index in range(6):
        write_image(root / "one-class" / "red" / f"{index}.png", CLASS_COLORS["red"], seed=index)
    (root / "notes.jpg").write_text("Meeting notes, not a photo.\n")
    cases: dict[str, list[bytes] | None] = {
        "missing folder": [b"train", b"--data", os.fsencode(root / "nope")],
        "one class": [b"train", b"--data", os.fsencode(root / "one-class")],
        "text named .jpg": [b"predict", os.fsencode(root / "notes.jpg")],
    }
    odd_folder = os.fsencode(root) + b"/photos\xff"
    odd_image = os.fsencode(root) + b"/notes\xff.jpg"
    try:
        os.makedirs(odd_folder + b"/red")
        shutil.copy(root / "one-class" / "red" / "0.png", odd_folder + b"/red/0.png")
        with open(odd_image, "wb") as handle:
            handle.write(b"<html>not found</html>")
    except (OSError, UnicodeError):
        cases["non-UTF-8 folder"] = cases["non-UTF-8 image"] = None
    else:
        cases["non-UTF-8 folder"] = [b"train", b"--data", odd_folder]
        cases["non-UTF-8 image"] = [b"predict", odd_image]
    return cases


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory) -> dict[str, tuple[int, bytes, bytes] | None]:
    """(exit code, stdout, stderr) of `python -m engine` per case, the processes run at once.

    A tiny Hub-style classifier is the zero-shot model, so `predict` reaches the image.
    """
    root = tmp_path_factory.mktemp("cli")
    tf.saved_model.save(ColourModel(len(LABELS)), str(root / "zero-shot"))
    env = python_env(
        TLAB_ZERO_SHOT_MODEL=str(root / "zero-shot"),
        TLAB_IMAGENET_LABELS=lab_settings(root).imagenet_labels,
    )
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the CLI's own default, as a user gets it
    cases = cli_case_files(root)
    children = {  # each in its own runs folder: two trainings in one would wait for each other
        name: subprocess.Popen(
            [sys.executable.encode(), b"-m", b"engine", *argv],
            cwd=ROOT,
            env={**env, "TLAB_RUNS_DIR": str(root / f"runs-{number}")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for number, (name, argv) in enumerate(cases.items())
        if argv is not None
    }
    results = {name: None for name in cases}
    for name, child in children.items():
        out, err = child.communicate(timeout=600)
        results[name] = (child.returncode, out, err)
    return results


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing folder", "does not exist"),
        ("one class", "found 1 class ('red')"),
        ("text named .jpg", "notes.jpg: not an image (looks like HTML/text)"),
        ("non-UTF-8 folder", "photos\ufffd; a dataset needs at least 2 class sub-folders"),
        ("non-UTF-8 image", "notes\ufffd.jpg: not an image"),
    ],
)
def test_cli_user_errors_are_one_line_on_stderr(cli_results, case, words):
    # Protection: cli.main prints a TransferLabError as one 'error:' line and exits 1;
    # engine/__main__.py hides TensorFlow's native import notices; messages show paths through
    # images.printable (U+FFFD for bytes that are not UTF-8, never a traceback or '\udcff').
    if cli_results[case] is None:
        pytest.skip("this filesystem refuses file names that are not valid UTF-8")
    code, out, err = cli_results[case]
    text = err.decode("utf-8")
    assert (code, out) == (1, b""), text
    assert "Traceback" not in text
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("error: ")
    assert words in lines[0]


@pytest.mark.slow
def test_cli_output_with_odd_paths_survives_a_strict_utf8_terminal(tmp_path):
    # Protection: cli.main prints results through images.printable; a strict UTF-8 stdout
    # (macOS, en_US.UTF-8 locales) would otherwise die on a run whose dataset path is not UTF-8.
    runs = tmp_path / "runs"
    dataset = os.fsdecode(os.fsencode(tmp_path) + b"/photos\xff")
    RunStore(runs).save(make_run(("a", "b"), status="cancelled", dataset=dataset))

    listed = subprocess.run(
        [sys.executable, "-m", "engine", "runs", "--runs-dir", str(runs)],
        cwd=ROOT,
        env=python_env(PYTHONIOENCODING="utf-8:strict"),
        capture_output=True,
        timeout=600,
    )

    assert listed.returncode == 0, listed.stderr.decode()[-3000:]
    assert b"Traceback" not in listed.stderr
    assert "photos\ufffd" in listed.stdout.decode("utf-8")
