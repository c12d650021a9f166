"""The sample photos: downloaded from a local HTTP server into the Keras cache, refused offline,
never left half-done, used whenever TLAB_DATA_DIR is unset."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from engine import sample
from engine.cli import main
from engine.data.scan import scan_dataset
from engine.errors import ArchiveError, DownloadError, ReadOnlyError
from engine.settings import Settings
from tests.support.http_files import sample_tgz, serve_files, tgz
from tests.support.server import free_port

ARCHIVE = "/example_images/flower_photos.tgz"


@pytest.fixture
def keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Keras cache (KERAS_HOME), as on a fresh machine."""
    home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def _settings(url: str, **changes) -> Settings:
    return dataclasses.replace(Settings(), sample_url=url, **changes)


def _leftovers(keras_home: Path) -> list[Path]:
    """What a failed download left in the Keras cache's datasets folder."""
    datasets = keras_home / "datasets"
    return sorted(datasets.iterdir()) if datasets.is_dir() else []


def test_the_sample_downloads_once_with_progress_and_is_then_the_sample(keras_home: Path):
    # Protection: a fresh machine online needs no setting; before, the Demo said
    # "the sample folder is not set" and stopped.
    content = sample_tgz(per_class=6)
    seen: list[tuple[int, int | None]] = []
    with serve_files({ARCHIVE: content}) as base:
        settings = _settings(base + ARCHIVE)
        assert sample.sample_folder(settings) is None
        assert sample.sample_size(settings) == len(content)
        folder = sample.download_sample(settings, lambda *progress: seen.append(progress))

    assert folder.is_relative_to(keras_home / "datasets") and folder.name == "flower_photos"
    assert scan_dataset(folder).counts() == {"daisy": 6, "roses": 6}
    assert seen[0] == (0, len(content)) and seen[-1] == (len(content), len(content))
    assert not list(folder.parent.parent.glob("archive*")), "the archive is deleted"
    # Remembered without a setting, with no server any more, and TLAB_DATA_DIR still wins.
    assert sample.sample_folder(settings) == folder
    assert sample.download_sample(settings) == folder
    other = _settings(base + ARCHIVE, data_dir=Path("/somewhere/photos"))
    assert sample.sample_folder(other) == Path("/somewhere/photos")
    assert sample.sample_folder(_settings(base + "/another.tgz")) is None


@pytest.mark.parametrize(
    "url",
    [f"http://127.0.0.1:{free_port()}/flower_photos.tgz", "http://no-such-host.invalid/x.tgz"],
)
def test_offline_says_there_is_no_connection_and_which_setting_to_use(keras_home, url):
    settings = _settings(url)
    for attempt in (sample.sample_size, sample.download_sample):
        with pytest.raises(DownloadError) as caught:
            attempt(settings)
        message = str(caught.value)
        assert message.startswith("No connection to ") and "TLAB_DATA_DIR" in message
        assert "\n" not in message
    assert _leftovers(keras_home) == []


def test_a_transfer_cut_off_half_way_leaves_nothing_that_looks_complete(keras_home: Path):
    content = sample_tgz(per_class=6)
    with serve_files({ARCHIVE: content}, cut_after=len(content) // 2) as base:
        settings = _settings(base + ARCHIVE)
        with pytest.raises(DownloadError, match="stopped after"):
            sample.download_sample(settings)
    assert _leftovers(keras_home) == [] and sample.sample_folder(settings) is None


def test_a_download_interrupted_by_the_caller_leaves_nothing(keras_home: Path):
    # A page left mid-download stops its script: Streamlit raises inside the progress callback.
    def stop(done: int, total: int | None) -> None:
        if done:
            raise KeyboardInterrupt

    with serve_files({ARCHIVE: sample_tgz()}) as base:
        settings = _settings(base + ARCHIVE)
        with pytest.raises(KeyboardInterrupt):
            sample.download_sample(settings, stop)
    assert _leftovers(keras_home) == []


def test_an_archive_without_class_folders_is_refused_and_removed(keras_home: Path):
    flat = tgz({"flower_photos/1.jpg": b"x", "flower_photos/LICENSE.txt": b"x"})
    with serve_files({ARCHIVE: flat}) as base:
        with pytest.raises(ArchiveError, match="holds 1 class folder"):
            sample.download_sample(_settings(base + ARCHIVE))
    assert _leftovers(keras_home) == []


def test_http_errors_and_oversized_archives_are_refused(keras_home: Path):
    with serve_files({ARCHIVE: bytes(2 * 2**20)}) as base:
        with pytest.raises(DownloadError, match="HTTP 404"):
            sample.download_sample(_settings(base + "/missing.tgz"))
        with pytest.raises(DownloadError, match="TLAB_MAX_ARCHIVE_MB"):
            sample.download_sample(_settings(base + ARCHIVE, max_archive_mb=1))
    assert _leftovers(keras_home) == []


def test_viewer_mode_downloads_nothing(keras_home: Path):
    with serve_files({ARCHIVE: sample_tgz()}) as base:
        with pytest.raises(ReadOnlyError, match="download the sample photos"):
            sample.download_sample(_settings(base + ARCHIVE, mode="viewer"))
    assert _leftovers(keras_home) == []


def test_a_damaged_marker_or_a_linked_folder_is_not_the_sample(keras_home: Path, tmp_path: Path):
    with serve_files({ARCHIVE: sample_tgz()}) as base:
        settings = _settings(base + ARCHIVE)
        sample.download_sample(settings)
    final = sample.extraction_dir(settings)
    marker = final / sample.MARKER
    marker.write_text(json.dumps({"format": 1, "url": settings.sample_url, "folder": "../.."}))
    assert sample.downloaded_sample(settings) is None
    marker.write_text("{not json")
    assert sample.downloaded_sample(settings) is None
    final.rename(tmp_path / "elsewhere")
    final.symlink_to(tmp_path / "elsewhere")
    assert sample.downloaded_sample(settings) is None


def test_cli_downloads_the_sample_and_prints_json(keras_home, monkeypatch, capsys):
    with serve_files({ARCHIVE: sample_tgz(per_class=5)}) as base:
        monkeypatch.setenv("TLAB_SAMPLE_URL", base + ARCHIVE)
        monkeypatch.delenv("TLAB_DATA_DIR", raising=False)
        assert main(["download", "sample", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["downloaded"] is True and result["photos"] == 10
    assert result["classes"] == ["daisy", "roses"]
    assert Path(result["folder"]).is_relative_to(keras_home)
    assert main(["download", "sample", "--json"]) == 0  # the server is gone: reused
    assert json.loads(capsys.readouterr().out)["downloaded"] is False


def test_cli_offline_is_one_error_line(keras_home, monkeypatch, capsys):
    monkeypatch.setenv("TLAB_SAMPLE_URL", f"http://127.0.0.1:{free_port()}/flower_photos.tgz")
    assert main(["download", "sample"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: No connection to 127.0.0.1")
