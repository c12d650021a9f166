"""Start-up clean-up: leftovers of killed imports and cache writes go, nothing else does."""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine.housekeeping import clean_leftovers
from engine.settings import Settings


def aged(path: Path, seconds: float = 7200) -> Path:
    os.utime(path, (time.time() - seconds,) * 2)
    return path


def test_only_old_leftovers_with_our_names_in_our_folders_are_removed(tmp_path):
    # Protection: clean_leftovers; before, a killed zip import kept a 1.6 GB '.importing-*'
    # folder for good and killed cache writes left their '.tmp' files.
    settings = Settings(
        uploads_dir=tmp_path / "uploads", runs_dir=tmp_path / "runs", model_cache=tmp_path / "m"
    )
    features = settings.cache_root / "features"
    settings.model_cache.mkdir()
    old_conversion = settings.model_cache / ".1a2b.tmp"
    old_conversion.write_bytes(b"half a flatbuffer")
    aged(old_conversion)
    (settings.uploads_dir / ".importing-abc" / "cats").mkdir(parents=True)
    features.mkdir(parents=True)
    old_import = aged(settings.uploads_dir / ".importing-abc")
    fresh_import = settings.uploads_dir / ".importing-now"
    fresh_import.mkdir()
    old_tmp = features / "x.tmp"
    old_tmp.write_bytes(b"half")
    aged(old_tmp)
    kept = [
        settings.uploads_dir / "photos-0123456789abcdef",
        features / "0123.npz",
        settings.model_cache / "features-0123-v2.tflite",
        tmp_path / ".importing-elsewhere",
    ]
    for path in kept:
        if not path.suffix:
            path.mkdir(exist_ok=True)
        else:
            path.write_bytes(b"x")
        aged(path)

    removed = clean_leftovers(settings)

    assert sorted(removed) == sorted([old_import, old_tmp, old_conversion])
    assert fresh_import.exists(), "an import in progress is left alone"
    assert all(path.exists() for path in kept)
