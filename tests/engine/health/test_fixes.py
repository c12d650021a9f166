"""Label fixes on disk: moves and exclusions with an undo journal, only where allowed, and a
journal that survives a process killed mid-way."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.data.scan import scan_dataset
from engine.errors import DatasetError, PathNotAllowedError, ReadOnlyError
from engine.health import fixes
from engine.health.journal import JOURNAL_FILE, read_journal
from engine.health.places import copied_from, copy_to_uploads, why_not_editable
from engine.settings import Settings
from tests.conftest import CLASS_COLORS, write_image
from tests.support.paths import ROOT

BOOKKEEPING = {JOURNAL_FILE, ".transfer-lab-fixes.lock"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "sample",
        uploads_dir=tmp_path / "uploads",
        extra_data_roots=(tmp_path / "mine",),
    )


def make_dataset(root: Path, per_class: int = 4, split_file: bool = True) -> Path:
    """Colour classes of small PNGs, and a splits.csv listing every photo (last one test)."""
    rows = [("path", "label", "split")]
    for name, color in CLASS_COLORS.items():
        for i in range(per_class):
            write_image(root / name / f"{name}_{i}.png", color, seed=i + 10 * len(name))
            rows.append((f"{name}/{name}_{i}.png", name, "test" if i == per_class - 1 else "train"))
    if split_file:
        with open(root / "splits.csv", "w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return root


@pytest.fixture
def uploaded(settings: Settings) -> Path:
    return make_dataset(settings.uploads_dir / "colors-0123")


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (the fixes' own bookkeeping left out) and its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in BOOKKEEPING
    }


def split_rows(root: Path) -> list[list[str]]:
    with open(root / "splits.csv", newline="") as handle:
        return list(csv.reader(handle))


def test_fixes_move_files_and_follow_in_the_split_file(uploaded: Path, settings: Settings):
    moved = fixes.move_photo(uploaded, "red/red_0.png", "blue", settings)
    excluded = fixes.exclude_photo(uploaded, "green/green_1.png", settings)
    kept = fixes.keep_photo(uploaded, "blue/blue_2.png", settings)

    assert (moved.target, moved.new_label, moved.state) == ("blue/red_0.png", "blue", "done")
    assert (uploaded / "blue/red_0.png").is_file() and not (uploaded / "red/red_0.png").exists()
    assert excluded.target == ".excluded/green/green_1.png"
    assert (uploaded / excluded.target).is_file() and not (uploaded / excluded.source).exists()
    assert kept.target == "" and (uploaded / "blue/blue_2.png").is_file()
    rows = split_rows(uploaded)
    assert ["blue/red_0.png", "blue", "train"] in rows
    assert not any(row[0] in ("red/red_0.png", "green/green_1.png") for row in rows)
    dataset = scan_dataset(uploaded)
    assert dataset.counts() == {"blue": 5, "green": 3, "red": 3}
    assert [fix.number for fix in fixes.applied_fixes(uploaded)] == [1, 2, 3]


def test_undo_restores_every_moved_file_byte_for_byte(uploaded: Path, settings: Settings):
    photos, rows = snapshot(uploaded), split_rows(uploaded)
    fixes.move_photo(uploaded, "red/red_0.png", "blue", settings)
    fixes.move_photo(uploaded, "blue/red_0.png", "green", settings)  # moved twice
    fixes.move_photo(uploaded, "green/green_2.png", "red", settings)
    fixes.exclude_photo(uploaded, "blue/blue_1.png", settings)

    last = fixes.undo_last(uploaded, settings)
    assert last.action == "exclude" and (uploaded / "blue/blue_1.png").is_file()
    assert fixes.undo_all(uploaded, settings) == 3
    assert fixes.undo_all(uploaded, settings) == 0  # undoing again changes nothing

    after = snapshot(uploaded)
    assert {k: v for k, v in after.items() if not k.startswith(".excluded")} == photos
    assert split_rows(uploaded) == rows
    assert fixes.applied_fixes(uploaded) == []
    assert [fix.state for fix in read_journal(uploaded)] == ["undone"] * 4


def test_a_clash_of_names_gets_a_new_name(uploaded: Path, settings: Settings):
    (uploaded / "blue" / "red_0.png").write_bytes((uploaded / "blue" / "blue_0.png").read_bytes())
    fix = fixes.move_photo(uploaded, "red/red_0.png", "blue", settings)
    assert fix.target == "blue/red_0-2.png"


def test_a_photo_changed_after_its_move_is_not_moved_back(uploaded: Path, settings: Settings):
    fixes.move_photo(uploaded, "red/red_0.png", "blue", settings)
    (uploaded / "blue" / "red_0.png").write_bytes(b"edited elsewhere")
    with pytest.raises(DatasetError, match="changed since"):
        fixes.undo_last(uploaded, settings)


def test_the_sample_folder_is_never_changed(settings: Settings, tmp_path: Path):
    sample = make_dataset(settings.data_dir)
    before = snapshot(sample)
    for folder in (sample, sample / "red"):
        with pytest.raises(PathNotAllowedError, match="sample dataset is never changed"):
            fixes.move_photo(folder, "red/red_0.png", "blue", settings)
    # Even when TLAB_DATA_ROOTS holds the sample folder.
    roots = Settings(data_dir=sample, extra_data_roots=(tmp_path,), uploads_dir=tmp_path / "u")
    with pytest.raises(PathNotAllowedError):
        fixes.exclude_photo(sample, "red/red_0.png", roots)
    assert snapshot(sample) == before


def test_only_uploads_and_data_roots_can_be_changed(settings: Settings, tmp_path: Path):
    elsewhere = make_dataset(tmp_path / "elsewhere")
    mine = make_dataset(settings.extra_data_roots[0] / "project")
    with pytest.raises(PathNotAllowedError, match="neither an uploaded dataset"):
        fixes.move_photo(elsewhere, "red/red_0.png", "blue", settings)
    assert fixes.move_photo(mine, "red/red_0.png", "blue", settings).state == "done"
    make_dataset(settings.uploads_dir)  # the uploads folder itself is no dataset
    assert why_not_editable(settings.uploads_dir, settings) is not None


@pytest.mark.parametrize(
    "path",
    [
        "../colors-0123/red/red_0.png",
        "red/../../elsewhere/red/red_0.png",
        "/etc/passwd",
        str(Path("/") / "red" / "red_0.png"),
        ".excluded/red/red_0.png",
        "red",
        "red\\red_0.png",
        "red/red_0.png\x00",
        "",
    ],
)
def test_paths_out_of_the_dataset_are_refused(uploaded: Path, settings: Settings, path: str):
    before = snapshot(uploaded)
    with pytest.raises(PathNotAllowedError):
        fixes.exclude_photo(uploaded, path, settings)
    assert snapshot(uploaded) == before


def test_links_are_never_followed(uploaded: Path, settings: Settings, tmp_path: Path):
    outside = make_dataset(tmp_path / "outside")
    (uploaded / "red" / "link.png").symlink_to(outside / "red" / "red_0.png")
    (uploaded / "linked").symlink_to(outside / "green", target_is_directory=True)
    link_root = settings.uploads_dir / "link-root"
    link_root.symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)

    with pytest.raises(PathNotAllowedError, match="symbolic link"):
        fixes.exclude_photo(uploaded, "red/link.png", settings)
    with pytest.raises(PathNotAllowedError, match="symbolic link"):
        fixes.move_photo(uploaded, "linked/green_0.png", "red", settings)
    with pytest.raises(PathNotAllowedError, match="symbolic link"):
        fixes.move_photo(uploaded, "red/red_0.png", "linked", settings)
    with pytest.raises(PathNotAllowedError, match="symbolic link"):
        fixes.move_photo(link_root, "red/red_0.png", "blue", settings)
    assert snapshot(outside) == before


@pytest.mark.parametrize("to_class", ["../blue", ".excluded", "purple", "red/sub", ""])
def test_a_move_only_goes_to_a_class_folder(uploaded: Path, settings: Settings, to_class):
    with pytest.raises((PathNotAllowedError, DatasetError)):
        fixes.move_photo(uploaded, "red/red_0.png", to_class, settings)
    assert (uploaded / "red" / "red_0.png").is_file()


def test_viewer_mode_refuses_every_change(uploaded: Path, settings: Settings):
    fixes.move_photo(uploaded, "red/red_0.png", "blue", settings)
    viewer = Settings(uploads_dir=settings.uploads_dir, mode="viewer")
    before = snapshot(uploaded)
    for change in (
        lambda: fixes.move_photo(uploaded, "red/red_1.png", "blue", viewer),
        lambda: fixes.exclude_photo(uploaded, "red/red_1.png", viewer),
        lambda: fixes.keep_photo(uploaded, "red/red_1.png", viewer),
        lambda: fixes.undo_last(uploaded, viewer),
        lambda: fixes.undo_all(uploaded, viewer),
        lambda: copy_to_uploads(scan_dataset(uploaded), viewer),
    ):
        with pytest.raises(ReadOnlyError):
            change()
    assert snapshot(uploaded) == before


def test_the_sample_is_copied_into_the_uploads_first(settings: Settings):
    sample = make_dataset(settings.data_dir)
    before = snapshot(sample)
    copy = copy_to_uploads(scan_dataset(sample), settings)

    assert copy.parent == settings.uploads_dir.resolve() and copy.name.startswith("sample-copy-")
    assert {k: v for k, v in snapshot(copy).items() if k != ".transfer-lab-copy.json"} == before
    assert copied_from(copy) == str(sample.resolve())
    fixes.move_photo(copy, "red/red_0.png", "blue", settings)
    assert snapshot(sample) == before


# --- a process killed half-way -----------------------------------------------------------

CHILD = """
import os, signal, sys
from pathlib import Path
from engine.health import fixes
from engine.settings import Settings

root, uploads, step = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
settings = Settings(uploads_dir=uploads)
die = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
if step == "undo":
    fixes.move_photo(root, "red/red_0.png", "blue", settings)
if step in ("move", "undo"):
    fixes.os.rename = die  # killed at the file move itself
elif step == "done":
    written = fixes.write_journal
    calls = []
    def write_then_die(folder, journal):
        calls.append(1)
        if len(calls) == 2:  # the move is made, 'done' not yet written
            die()
        written(folder, journal)
    fixes.write_journal = write_then_die
if step == "undo":
    fixes.undo_last(root, settings)
else:
    fixes.move_photo(root, "red/red_0.png", "blue", settings)
"""


def _killed_child(uploaded: Path, settings: Settings, step: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(uploaded), str(settings.uploads_dir), step],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


@pytest.mark.parametrize(
    ("step", "state_left", "finished"),
    [("move", "planned", "done"), ("done", "planned", "done"), ("undo", "undoing", "undone")],
)
def test_a_fix_killed_half_way_is_finished_next_time(
    uploaded: Path, settings: Settings, step: str, state_left: str, finished: str
):
    photos, rows = snapshot(uploaded), split_rows(uploaded)
    _killed_child(uploaded, settings, step)
    journal = json.loads((uploaded / JOURNAL_FILE).read_text())
    assert journal["fixes"][-1]["state"] == state_left

    assert fixes.finish_pending(uploaded, settings) == 1
    assert fixes.finish_pending(uploaded, settings) == 0
    assert read_journal(uploaded)[-1].state == finished
    if finished == "done":
        assert (uploaded / "blue/red_0.png").is_file() and not (uploaded / "red/red_0.png").exists()
        assert ["blue/red_0.png", "blue", "train"] in split_rows(uploaded)
        fixes.undo_all(uploaded, settings)
    assert snapshot(uploaded) == photos and split_rows(uploaded) == rows
    assert not [p for p in os.listdir(uploaded) if p.startswith(".tmp-")]
