"""Disk that does not fill up by itself: caps, least recently used first out, TLAB_KEEP_DAYS,
and a full disk met mid-write (upload, feature cache, export) leaving nothing half-written."""

from __future__ import annotations

import errno
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine import disk, feature_cache, housekeeping
from engine.data import archive, uploads
from engine.errors import DatasetError, ReadOnlyError, StorageFullError
from engine.settings import Settings
from tests.conftest import write_class

MB = 1024 * 1024


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        runs_dir=tmp_path / "runs",
        uploads_dir=tmp_path / "uploads",
        model_cache=tmp_path / "models",
    )


def dataset_zip(tmp_path: Path, name: str = "photos.zip", size: int = 32) -> Path:
    folder = tmp_path / f"src-{name}"
    for colour in ("red", "blue"):
        write_class(folder, colour, 3)
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as bundle:
        for photo in folder.rglob("*.png"):
            bundle.write(photo, photo.relative_to(folder).as_posix())
        bundle.writestr("padding/notes.txt", b"x" * size)
    return path


def age(path: Path, days: float) -> None:
    when = time.time() - days * disk.DAY_SECONDS
    os.utime(path, (when, when))


def test_uploads_over_their_cap_are_refused_before_anything_is_written(tmp_path, settings):
    settings = Settings(**{**settings.__dict__, "max_uploads_mb": 1})
    archive.import_zip(dataset_zip(tmp_path, "a.zip"), settings)
    before = sorted(settings.uploads_dir.rglob("*"))
    big = dataset_zip(tmp_path, "b.zip", size=2 * MB)
    with pytest.raises(StorageFullError, match="over the 1 MB cap \\(TLAB_MAX_UPLOADS_MB\\)"):
        archive.import_zip(big, settings)
    assert sorted(settings.uploads_dir.rglob("*")) == before


def test_a_full_disk_mid_extraction_keeps_nothing_and_says_so(tmp_path, settings, monkeypatch):
    bundle = dataset_zip(tmp_path)
    real_open = open

    def filling_open(path, mode="r", *args, **kwargs):
        handle = real_open(path, mode, *args, **kwargs)
        if "w" in mode and Path(path).suffix == ".png" and "blue" in str(path):
            handle.write(b"half a photo")  # the disk fills up while writing this one
            handle.close()
            raise OSError(errno.ENOSPC, "No space left on device")
        return handle

    monkeypatch.setattr(archive, "open", filling_open, raising=False)
    with pytest.raises(StorageFullError, match="the disk holding .* is full"):
        archive.import_zip(bundle, settings)
    assert list(settings.uploads_dir.iterdir()) == []


def test_an_uploaded_dataset_is_deleted_whole_and_only_an_upload_is(tmp_path, settings):
    folder = archive.import_zip(dataset_zip(tmp_path), settings)
    with pytest.raises(DatasetError, match="not an uploaded dataset"):
        uploads.delete_upload(tmp_path / "src-photos.zip", settings)
    viewer = Settings(**{**settings.__dict__, "mode": "viewer"})
    with pytest.raises(ReadOnlyError):
        uploads.delete_upload(folder, viewer)
    uploads.delete_upload(folder, settings)
    assert list(settings.uploads_dir.iterdir()) == []


def test_the_feature_cache_drops_the_least_recently_used_files_past_its_cap(tmp_path):
    folder = tmp_path / "features"
    paths = [Path(f"/photos/{n}.jpg") for n in range(4)]
    files = [folder / f"{name}.npz" for name in "abc"]
    for number, file in enumerate(files):
        feature_cache.write(file, paths, np.zeros((4, 60_000), np.float32))  # ~0.96 MB each
        age(file, 3 - number)
    feature_cache.read(files[0], paths, 60_000)  # a read makes the oldest the most recent
    feature_cache.write(folder / "d.npz", paths, np.zeros((4, 60_000), np.float32), cap_mb=3)
    assert sorted(p.name for p in folder.glob("*.npz")) == ["a.npz", "c.npz", "d.npz"]


def test_a_full_disk_mid_cache_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def disk_full(handle, **arrays):
        handle.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(feature_cache.np, "savez", disk_full)
    file = tmp_path / "features" / "x.npz"
    feature_cache.write(file, [Path("/a.jpg")], np.zeros((1, 4), np.float32))
    assert list(file.parent.iterdir()) == []


def test_unused_uploads_and_caches_go_at_start_up_and_used_ones_stay(tmp_path, settings):
    old = archive.import_zip(dataset_zip(tmp_path, "old.zip"), settings)
    fresh = archive.import_zip(dataset_zip(tmp_path, "fresh.zip", size=64), settings)
    top = uploads.upload_folder(old, settings)
    age(top, 31)
    age(uploads.upload_folder(fresh, settings), 31)
    archive.import_zip(dataset_zip(tmp_path, "fresh.zip", size=64), settings)  # used again
    cache = settings.cache_root / "features"
    cache.mkdir(parents=True)
    (cache / "stale.npz").write_bytes(b"x")
    age(cache / "stale.npz", 40)
    settings.model_cache.mkdir()
    (settings.model_cache / "features-1-v2.tflite").write_bytes(b"x")
    (settings.model_cache / "keep.txt").write_bytes(b"not ours")
    age(settings.model_cache / "keep.txt", 90)

    removed = housekeeping.clean_leftovers(settings)

    assert sorted(removed) == sorted([top, cache / "stale.npz"])
    assert uploads.upload_folder(fresh, settings) is not None
    assert (settings.model_cache / "keep.txt").exists()


def test_a_full_disk_mid_export_leaves_no_partial_bundle(tmp_path, monkeypatch):
    from engine import export as export_module
    from engine.errors import RunStoreError
    from engine.runs import RunStore
    from tests.engine.test_runs import CLASSES, PREDICTIONS, tiny_classifier
    from tests.support.runs import make_run

    store = RunStore(tmp_path / "runs")
    run_id = store.save(make_run(CLASSES, PREDICTIONS), tiny_classifier())

    def disk_full(folder, target, root):
        target.write_bytes(b"PK half a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "_zip_folder", disk_full)
    with pytest.raises(RunStoreError, match="No space left on device.*Free some space"):
        export_module.export(store, run_id, "keras")
    exports = store.root / run_id / "export"
    assert not exports.exists() or list(exports.iterdir()) == []
