"""Tests for engine.data.paths: typed dataset paths confined to the allowed roots."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from engine.data.paths import resolve_user_path
from engine.errors import DatasetError, PathNotAllowedError
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
