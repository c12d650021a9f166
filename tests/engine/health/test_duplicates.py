"""Exact and near copies: found, grouped, flagged when they cross the split, kept together by
the engine's own split."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from engine.config import TrainConfig
from engine.data.scan import scan_dataset
from engine.data.split import Split, Subset, make_split, split_dataset
from engine.health import duplicates
from engine.health.check import build_report
from engine.health.fingerprints import Fingerprint, fingerprints
from tests.conftest import write_image
from tests.engine.health.conftest import pattern_features, write_copy


def _split_by_name(dataset, parts: dict[str, str]) -> Split:
    """A split putting each photo in parts[its file name] (default train)."""
    chosen: dict[str, tuple[list, list]] = {p: ([], []) for p in ("train", "validation", "test")}
    for path, label in zip(dataset.paths, dataset.labels, strict=True):
        paths, labels = chosen[parts.get(path.name, "train")]
        paths.append(path)
        labels.append(label)
    subsets = [Subset(tuple(p), tuple(lab)) for p, lab in chosen.values()]
    return Split(dataset.class_names, *subsets)


def test_exact_copies_across_the_split_are_all_found_and_flagged(pattern_folder: Path):
    # Planted: 4 photos copied byte for byte, each copy in another part (one in another class).
    planted = {
        "ants_00.jpg": ("ants/copy_a.jpg", "test"),
        "ants_01.jpg": ("ants/copy_b.jpg", "validation"),
        "bees_02.jpg": ("bees/copy_c.jpg", "test"),
        "wasps_03.jpg": ("bees/copy_d.jpg", "test"),
    }
    for original, (copy, _) in planted.items():
        shutil.copyfile(next(pattern_folder.glob(f"*/{original}")), pattern_folder / copy)
    dataset = scan_dataset(pattern_folder)
    split = _split_by_name(dataset, {Path(c).name: part for c, part in planted.values()})

    report = build_report(dataset, split, fingerprints(dataset.paths), "test split")

    found = {frozenset(photo.path.split("/")[1] for photo in g.photos) for g in report.groups}
    assert found == {frozenset({o, Path(c).name}) for o, (c, _) in planted.items()}
    assert all(group.kind == "exact" and group.crosses_split for group in report.groups)
    assert len(report.leaks) == 4
    assert report.test_photos_leaked == 3  # the validation copy leaks into validation only
    assert sum(group.labels_disagree for group in report.groups) == 1  # wasps_03 filed as bees
    assert "3 test photos have a copy" in report.warnings()[0]


def test_near_copies_are_found_with_the_features(pattern_folder: Path):
    sources = sorted(pattern_folder.glob("*/*_0[0-2].jpg"))
    made = {}
    ways = ["re-encoded", "resized", "cropped"] * 3
    for number, (source, how) in enumerate(zip(sources, ways, strict=True)):
        suffix = ".png" if how == "resized" else ".jpg"
        target = source.parent / f"near_{number}{suffix}"
        made[target.name] = (source.name, how)
        write_copy(source, target, how)
    dataset = scan_dataset(pattern_folder)
    prints = fingerprints(dataset.paths)

    with_features = build_report(
        dataset, split_dataset(dataset), prints, "seeded", pattern_features(dataset.paths)
    )

    found = {
        frozenset(photo.path.split("/")[1] for photo in g.photos) for g in with_features.groups
    }
    assert found == {frozenset({copy, source}) for copy, (source, _) in made.items()}
    assert {group.kind for group in with_features.groups} == {"near"}
    assert with_features.features_checked


def test_unrelated_photos_with_close_hashes_need_agreeing_features():
    # a and b: 12 bits apart, features disagree; a and c: features agree, 40 bits apart.
    prints = [_print(0b1011, "a"), _print(0b1011 ^ 0xFFF, "b"), _print(0b1011 ^ (2**40 - 1), "c")]
    features = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])

    assert duplicates.near_copy_groups(prints, features) == []
    assert duplicates.near_copy_groups(prints[:2], np.array([[1.0, 0.1], [1.0, 0.0]])) == [(0, 1)]


def test_blank_photos_are_matched_by_content_only():
    blank = [_print(0, "x", gray_std=1.0), _print(0, "y", gray_std=1.0), _print(0, "x", 1.0)]
    assert duplicates.copy_groups(blank) == [(0, 2)]


def test_the_same_shapes_in_other_colours_are_not_copies(tmp_path: Path):
    # One noise pattern in red and in green: close perceptual hashes, different pictures.
    red = write_image(tmp_path / "red.png", (220, 30, 30), seed=3)
    green = write_image(tmp_path / "green.png", (30, 200, 40), seed=3)
    prints = fingerprints([red, green])
    assert (prints[0].phash ^ prints[1].phash).bit_count() <= duplicates.SAME_PHOTO_BITS
    assert duplicates.copy_groups(prints) == []


def test_hash_comparison_works_in_bounded_blocks(monkeypatch):
    rng = np.random.default_rng(0)
    prints = [_print(int(h), str(i)) for i, h in enumerate(rng.integers(0, 2**63, 300))]
    prints.append(_print(prints[5].phash ^ 0b11, "copy of 5"))
    everything = duplicates.copy_groups(prints)
    monkeypatch.setattr(duplicates, "_BLOCK_ELEMENTS", 301 * 7)  # 7 rows per block

    assert duplicates.copy_groups(prints) == everything == [(5, 300)]


def test_the_engines_split_keeps_copies_in_one_part(pattern_folder: Path):
    groups = []
    for number in range(6):  # 6 photos, each with an exact and a re-encoded copy
        source = next(pattern_folder.glob(f"*/*_0{number}.jpg"))
        exact = source.with_name(f"exact_{number}.jpg")
        shutil.copyfile(source, exact)
        again = write_copy(source, source.with_name(f"again_{number}.jpg"), "re-encoded")
        groups.append({source, exact, again})
    dataset = scan_dataset(pattern_folder)

    split = make_split(dataset, TrainConfig(validation_fraction=0.2, test_fraction=0.3, seed=4))

    part_of = {
        path: part
        for part in ("train", "validation", "test")
        for path in getattr(split, part).paths
    }
    assert [len({part_of[path] for path in group}) for group in groups] == [1] * 6
    assert {part_of[path] for group in groups for path in group} >= {"train", "test"}
    assert sorted(part_of) == sorted(dataset.paths)
    assert "18 photos are copies of one another (6 groups" in split.notes[0]
    assert all(parts["train"] and parts["test"] for parts in split.counts().values())


def test_without_copies_the_split_is_unchanged(pattern_folder: Path):
    dataset = scan_dataset(pattern_folder)
    config = TrainConfig(seed=2)
    assert make_split(dataset, config) == split_dataset(dataset, 0.1, 0.2, seed=2)


def _print(phash: int, sha1: str, gray_std: float = 40.0) -> Fingerprint:
    grey = (128.0, 128.0, 128.0)
    return Fingerprint(sha1, phash, phash, grey, grey, 100, 100, gray_std, 50.0)
