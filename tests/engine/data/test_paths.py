"""Tests for engine.data.paths: typed dataset paths confined to the allowed roots."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from engine.data.paths import checked_path, resolve_user_path
from engine.errors import BadPathError, DatasetError, PathNotAllowedError
from engine.settings import Settings

# --- resolve_user_path ----------------------------------------------------------------


@pytest.fixture
def rooted(tmp_path: Path) -> Settings:
    """Settings whose only allowed data roots are tmp_path/uploads and tmp_path/data."""
    (tmp_path / "data" / "flowers").mkdir(parents=True)
    return dataclasses.replace(
        Settings(), uploads_dir=tmp_path / "uploads", extra_data_roots=(tmp_path / "data",)
    )


def test_path_inside_a_root_resolves(rooted: Settings, tmp_path: Path) -> None:
    typed = f"  {tmp_path}/data/../data/flowers  "
    assert resolve_user_path(typed, rooted) == (tmp_path / "data" / "flowers").resolve()


def test_path_outside_the_roots_is_refused_with_the_roots_listed(
    rooted: Settings, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(PathNotAllowedError) as caught:
        resolve_user_path(str(tmp_path / "elsewhere"), rooted)
    assert str((tmp_path / "data").resolve()) in str(caught.value)
    assert "TLAB_DATA_ROOTS" in str(caught.value)


def test_symlink_escaping_the_root_is_refused(rooted: Settings, tmp_path: Path) -> None:
    (tmp_path / "secret").mkdir()
    link = tmp_path / "data" / "innocent"
    try:
        os.symlink(tmp_path / "secret", link)
    except OSError:
        pytest.skip("cannot create symlinks here")
    with pytest.raises(PathNotAllowedError, match="outside the allowed data folders"):
        resolve_user_path(str(link), rooted)


@pytest.mark.parametrize(
    ("name", "word"), [("nothing", "does not exist"), ("f.txt", "not a folder")]
)
def test_missing_path_or_file_is_a_dataset_error(
    rooted: Settings, tmp_path: Path, name: str, word: str
) -> None:
    (tmp_path / "data" / "f.txt").write_text("x")
    with pytest.raises(DatasetError, match=word):
        resolve_user_path(str(tmp_path / "data" / name), rooted)


def test_typed_paths_never_reach_the_uploads_of_other_sessions(rooted: Settings) -> None:
    # Protection: the uploads folder is not a typed root; a session reaches its own upload
    # through the upload button only.
    someone_elses = rooted.uploads_dir / "their-photos-1234" / "cats"
    someone_elses.mkdir(parents=True)
    for typed in (str(rooted.uploads_dir), str(someone_elses.parent)):
        with pytest.raises(PathNotAllowedError, match="upload button"):
            resolve_user_path(typed, rooted)


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("a\x00b", "NUL byte"),
        ("x" * 300, "too long"),
        ("/tmp/" + "y/" * 2100, "too long"),
        ("~nosuchuser-tlab/photos", "~nosuchuser-tlab"),
    ],
)
def test_unusable_paths_are_one_clear_error(typed: str, words: str) -> None:
    with pytest.raises(BadPathError, match=words):
        checked_path(typed, "--data")


def test_a_loop_of_links_is_a_clear_error(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    with pytest.raises(BadPathError, match="cannot be resolved"):
        checked_path(tmp_path / "a" / "photos", "--data")
