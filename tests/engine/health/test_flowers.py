"""On real photos with the real MobileNetV2: re-encoded, resized and slightly cropped copies of
flowers are found, and different flowers are not taken for copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.data.scan import scan_dataset
from engine.data.split import split_dataset
from engine.health.check import health_check
from tests.engine.health.conftest import write_copy
from tests.support.paths import FLOWERS

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WAYS = ("re-encoded", "resized", "cropped")


def test_copies_of_flowers_are_found_with_the_real_features(offline_settings, tmp_path: Path):
    root = tmp_path / "flowers"
    planted = set()
    for name in ("daisy", "roses", "tulips"):
        photos = sorted((FLOWERS / name).glob("*.jpg"))[:8]
        for photo in photos:
            (root / name).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(photo, root / name / photo.name)
        for photo, how in zip(photos[:3], WAYS, strict=True):
            copy = write_copy(
                photo, root / name / f"copy-{how}.{'png' if how == 'resized' else 'jpg'}", how
            )
            planted.add(frozenset({f"{name}/{photo.name}", f"{name}/{copy.name}"}))
    dataset = scan_dataset(root)

    report = health_check(dataset, split_dataset(dataset), offline_settings)

    found = {frozenset(photo.path for photo in group.photos) for group in report.groups}
    assert found == planted
    assert {group.kind for group in report.groups} == {"near"}
