"""What an attack probe broke or found weak, each now a test that fails without its protection:
memory bombs, disguised containers, damaged or mismatched run files, odd CLI paths, links in
the run store and in datasets, oversized split files and model configs, injected names."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from engine import images
from engine.classifiers import load_run_classifier
from engine.data.scan import scan_dataset
from engine.data.split import read_split_file
from engine.errors import DatasetError, ImageError, ModelUnavailableError, RunNotFoundError
from engine.export import export
from engine.runs import RunStore
from tests.conftest import write_image
from tests.engine.test_runs import CLASSES, tiny_classifier
from tests.support.paths import ROOT, SHARED_MISSING, offline_defaults, shared_present
from tests.support.runs import make_run

BOMB_SIDE = 7000  # 49 MP, under the 50-MP limit; 16-bit gray


@pytest.fixture(scope="module")
def bomb_png(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 7000x7000 16-bit grayscale PNG: a few hundred kB on disk, 98 MB decoded."""
    pixels = np.zeros((BOMB_SIDE, BOMB_SIDE), np.uint16)
    pixels[::97, ::89] = 40000
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")  # uint16: mode I;16
    return buffer.getvalue()


PEAK_MEMORY = textwrap.dedent(
    """
    import json, resource, sys, threading
    from pathlib import Path
    from engine import images
    from engine.data.scan import scan_dataset

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    folder, bomb = Path(sys.argv[1]), Path(sys.argv[2])
    before = peak_mb()
    dataset = scan_dataset(folder)
    after_scan = peak_mb()
    threads = [threading.Thread(target=images.load_array, args=(bomb, 224)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"scan": after_scan - before, "decode": peak_mb() - after_scan,
                      "photos": len(dataset.paths)}))
    """
)


@pytest.mark.slow
def test_a_memory_bomb_zip_of_16_bit_photos_stays_within_the_budget(tmp_path, bomb_png):
    # Protection: images.check only verifies large non-JPEGs when scanning, decodes reserve
    # their bytes from image_budget.DECODE_BUDGET, and 16-bit gray is shrunk before the
    # arithmetic. Before: twelve of these took a scan from 1.5 GB to 10.2 GB.
    for name in ("a", "b"):
        for i in range(6):
            (tmp_path / "data" / name).mkdir(parents=True, exist_ok=True)
            (tmp_path / "data" / name / f"{i}.png").write_bytes(bomb_png)
    done = subprocess.run(
        [sys.executable, "-c", PEAK_MEMORY, str(tmp_path / "data"), str(tmp_path / "data/a/0.png")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    grew = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"peak RSS growth: scan {grew['scan']:.0f} MB, 8 decodes {grew['decode']:.0f} MB")
    assert grew["photos"] == 12
    assert grew["scan"] < 300, "a scan must not decode large photos"
    assert grew["decode"] < 900, "8 decodes at once must share one memory budget"


def ico_holding(png: bytes, claimed: int = 16) -> bytes:
    """An .ico whose directory claims claimed x claimed but whose entry is the given PNG."""
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", claimed, claimed, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


def test_an_ico_disguised_as_png_is_refused_by_its_real_format(tmp_path, monkeypatch):
    # Protection: images accepts only JPEG, PNG, WebP, GIF, BMP and TIFF, by content; before,
    # an ICO claiming 16x16 was fully decoded at its real size (+649 MB) before the check.
    buffer = io.BytesIO()
    Image.new("RGB", (600, 400), (200, 10, 10)).save(buffer, "PNG")
    disguised = tmp_path / "photo.png"
    disguised.write_bytes(ico_holding(buffer.getvalue()))
    Image.init()  # plugins build sample images as they load; only file decoding is watched
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded an ICO"))

    with pytest.raises(ImageError, match="ICO file, which is not accepted"):
        images.load_array(disguised, 32)
    with pytest.raises(ImageError, match="not accepted"):
        images.check(disguised)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def edit_file(store: RunStore, run_id: str, name: str, change) -> None:
    path = store.root / run_id / name
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def test_one_bad_run_json_is_listed_as_damaged_and_the_others_work(store, capsys):
    # Protection: RunInfo.from_dict checks every field; the store lists a damaged run apart.
    good, bad = store.save(make_run(CLASSES)), store.save(make_run(CLASSES))
    edit_file(store, bad, "run.json", lambda data: {**data, "test_accuracy": "0.9"})

    assert [info.run_id for info in store.list()] == [good]
    [damaged] = store.damaged()
    assert damaged.run_id == bad and "test_accuracy" in damaged.reason
    from engine import cli

    assert cli.main(["runs", "--runs-dir", str(store.root), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(row["run_id"], row["status"]) for row in listed] == [
        (good, "complete"),
        (bad, "damaged"),
    ]


@pytest.mark.parametrize(
    ("file", "change", "words"),
    [
        ("metrics.json", lambda data: {}, "lacks"),
        ("metrics.json", lambda data: {**data, "accuracy": None}, "accuracy"),
        ("metrics.json", lambda data: {**data, "confusion": [[1]]}, "confusion"),
        ("predictions.json", lambda rows: [{"path": "x"}], "lacks 'true'"),
        ("predictions.json", lambda rows: [{**rows[0], "true": "zebra"}], "does not have"),
        (
            "run.json",
            lambda data: {**data, "class_names": [f"c{i}" for i in range(100_000)]},
            "2 to 1000",
        ),
        ("run.json", lambda data: {**data, "config": [1, 2]}, "config"),
        ("history.json", lambda data: {"loss": ["x"]}, "history.json.loss"),
    ],
)
def test_damaged_run_files_give_a_message_never_a_crash(store, file, change, words):
    run_id = store.save(make_run(CLASSES))
    edit_file(store, run_id, file, change)
    with pytest.raises(RunNotFoundError, match=f"damaged.*{words}"):
        store.load(run_id)


def test_a_model_with_more_outputs_than_class_names_is_refused_on_load(store):
    # Protection: load_run_classifier compares the model's outputs with the run's classes;
    # before, predict died with an IndexError.
    run_id = store.save(make_run(CLASSES), tiny_classifier())
    edit_file(store, run_id, "run.json", lambda data: {**data, "class_names": ["a", "b"]})
    with pytest.raises(ModelUnavailableError, match="3 outputs but the run names 2 classes"):
        load_run_classifier(store, run_id)


def test_a_keras_file_with_a_bloated_config_is_refused_before_loading(store):
    run_id = store.save(make_run(CLASSES), tiny_classifier())
    model = store.root / run_id / "model.keras"
    with zipfile.ZipFile(model, "a") as archive:  # a later entry of the same name wins
        archive.writestr("config.json", " " * (17 * 2**20), zipfile.ZIP_DEFLATED)
    assert model.stat().st_size < 2 * 2**20
    with pytest.raises(ModelUnavailableError, match="too large"):
        load_run_classifier(store, run_id)


def test_the_run_store_never_follows_links(store, tmp_path):
    # Protection: model_path refuses links; run folders that are links are refused; exports
    # check they stay inside the run folder. Before, a model.keras -> /etc/passwd link was
    # offered for download, and an export/ link wrote outside the runs folder.
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    linked_model = store.save(make_run(CLASSES), tiny_classifier())
    (store.root / linked_model / "model.keras").unlink()
    os.symlink(secret, store.root / linked_model / "model.keras")
    with pytest.raises(RunNotFoundError, match="has no model"):
        store.model_path(linked_model)
    with pytest.raises(RunNotFoundError):
        export(store, linked_model, "keras")

    linked_export = store.save(make_run(CLASSES), tiny_classifier())
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, store.root / linked_export / "export")
    with pytest.raises(RunNotFoundError, match="symbolic link as its export folder"):
        export(store, linked_export, "keras")
    assert list(outside.iterdir()) == []

    real = store.save(make_run(CLASSES), tiny_classifier())
    os.symlink(store.root / real, store.root / "20990101-000000-beef")
    with pytest.raises(RunNotFoundError, match="symbolic link"):
        store.load("20990101-000000-beef")
    assert "20990101-000000-beef" in [d.run_id for d in store.damaged()]


def test_a_class_folder_linked_outside_the_dataset_is_not_scanned(image_folder, tmp_path):
    # Protection: scan_dataset resolves class folders and files; a link that leaves the
    # dataset folder is skipped with its reason instead of pulling in other folders' files.
    elsewhere = tmp_path / "private"
    for i in range(3):
        write_image(elsewhere / f"{i}.png", (10, 10, 10), seed=i)
    os.symlink(elsewhere, image_folder / "zzz-linked")
    os.symlink(elsewhere / "0.png", image_folder / "red" / "linked.png")

    dataset = scan_dataset(image_folder)

    assert "zzz-linked" not in dataset.class_names
    reasons = {item.path: item.reason for item in dataset.skipped}
    assert "outside the dataset folder" in reasons["zzz-linked/"]
    assert "outside the dataset folder" in reasons["red/linked.png"]


@pytest.mark.parametrize("kind", ["device", "fifo", "huge", "one-line"])
def test_split_files_are_regular_bounded_files(image_folder, tmp_path, kind):
    # Protection: read_split_file accepts regular files up to 64 MB with lines up to 8192
    # characters; before, /dev/zero grew to 24 GB and a 1.9 GB one-line CSV took +3.7 GB.
    dataset = scan_dataset(image_folder)
    path = tmp_path / "splits.csv"
    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "huge":
        with path.open("wb") as file:
            file.truncate(65 * 2**20)  # sparse: no disk used
    else:
        path.write_text("path,label,split," + "x" * 20_000 + "\n")
    with pytest.raises(DatasetError, match="regular file|MB|characters"):
        read_split_file(dataset, path)


@pytest.mark.parametrize(
    "argv",
    [
        ["runs", "--runs-dir", "/tmp/" + "r" * 300],
        ["train", "--data", "~nosuchuser-tlab/photos"],
        ["evaluate", "--run", "latest", "--runs-dir", "/tmp/" + "x/" * 2100],
    ],
    ids=["long-name", "unknown-user", "long-path"],
)
def test_odd_cli_paths_are_one_line_errors(argv):
    done = subprocess.run(
        [sys.executable, "-m", "engine", *argv],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr[-2000:]
    assert lines[-1].startswith("error: ") and "Traceback" not in done.stderr


def test_a_nul_byte_in_a_cli_path_is_a_one_line_error(capsys):
    from engine import cli  # in-process: no program can receive a NUL byte in its arguments

    assert cli.main(["train", "--data", "a\x00b"]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_predict_refuses_a_named_pipe_instead_of_hanging(tmp_path, capsys, monkeypatch):
    from engine import cli

    if not shared_present():
        pytest.skip(SHARED_MISSING)
    for name, value in offline_defaults().items():  # the real models, whatever the shell sets
        monkeypatch.setenv(name, value)
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    assert cli.main(["predict", str(fifo), "--runs-dir", str(tmp_path / "runs")]) == 1
    err = capsys.readouterr().err
    assert "pipe" in err and err.count("\n") == 1


def test_a_diverged_training_saves_strict_json_and_still_loads(store, capsys):
    # Protection: store_files.write_json writes NaN as null (strict JSON) and the history
    # reader accepts null; before, runs --json printed NaN and such runs could not be read.
    run = make_run(CLASSES, history={"loss": [1.0, float("nan")], "stage": ["head", "head"]})
    run = dataclasses.replace(run, info=dataclasses.replace(run.info, train_seconds=float("inf")))
    run_id = store.save(run)
    assert "NaN" not in (store.root / run_id / "history.json").read_text()
    assert store.load(run_id).history.get("loss") == [1.0, None]
    from engine import cli

    assert cli.main(["runs", "--runs-dir", str(store.root), "--json"]) == 0
    json.loads(capsys.readouterr().out, parse_constant=lambda name: pytest.fail(name))
