"""The sample photos: TensorFlow's flowers archive (TLAB_SAMPLE_URL), downloaded once into the
Keras cache, extracted with the upload rules, and the sample whenever TLAB_DATA_DIR is unset."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from engine import downloads, images
from engine.access import require_editor
from engine.data.archive import dataset_folder
from engine.data.scan import Skipped, visible_subfolders
from engine.data.tarball import extract_tar
from engine.errors import ArchiveError, DownloadError
from engine.schema import Fields
from engine.settings import Settings
from engine.store_files import open_regular

STAGING_PREFIX = ".transfer-lab-sample-"  # a download or extraction in progress (or killed)
MARKER = ".transfer-lab-sample.json"  # written last, inside a complete extraction
FORMAT = 1
_MB = 1024 * 1024


def keras_home() -> Path:
    """Where Keras keeps its downloads (KERAS_HOME, else ~/.keras), as keras.utils.get_file."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


# What to set when the sample cannot be downloaded (ends every DownloadError's message).
OFFLINE_FIX = (
    "Set TLAB_DATA_DIR to a local copy of the photos (one sub-folder per class), or "
    "TLAB_SAMPLE_URL to a reachable copy of the archive, and restart the app."
)


@dataclass(frozen=True)
class SampleRecord:
    """What a complete download recorded (the marker file inside the extraction)."""

    url: str
    folder: str  # the dataset folder, relative to the extraction
    skipped: tuple[Skipped, ...]

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "url": self.url,
            "folder": self.folder,
            "skipped": [{"path": item.path, "reason": item.reason} for item in self.skipped],
        }

    @classmethod
    def from_dict(cls, data: object, where: str = MARKER) -> SampleRecord:
        """Raises RecordError: a field is missing, of the wrong type, or of a newer format."""
        fields = Fields(data, where)
        fields.count("format")
        return cls(
            url=fields.text("url"),
            folder=fields.text("folder"),
            skipped=tuple(fields.items("skipped", _skipped)),
        )


def _skipped(item: object, where: str) -> Skipped:
    fields = Fields(item, where)
    return Skipped(fields.text("path"), fields.text("reason"))


def extraction_dir(settings: Settings) -> Path:
    """Where the archive at settings.sample_url is extracted: one folder per URL in the Keras
    cache's datasets folder (another TLAB_SAMPLE_URL never reuses it)."""
    url = settings.sample_url
    stem = Path(urllib.parse.urlsplit(url).path).name.split(".")[0] or "sample"
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:12]
    return keras_home() / "datasets" / f"transfer-lab-{stem}-{digest}"


def downloaded_sample(settings: Settings) -> Path | None:
    """The class folders of a complete earlier download of the sample, or None.

    A folder without its marker (absent, damaged, from another URL) or reached through a
    symbolic link is not one.
    """
    final = extraction_dir(settings)
    try:
        if final.is_symlink():
            return None
        with open_regular(final / MARKER) as file:
            record = SampleRecord.from_dict(json.loads(file.read(_MB)))
        folder = (final / record.folder).resolve()
    except (OSError, ValueError):
        return None
    if record.url != settings.sample_url or not folder.is_relative_to(final.resolve()):
        return None
    return folder if folder.is_dir() else None


def sample_folder(settings: Settings) -> Path | None:
    """The sample dataset: TLAB_DATA_DIR when set, else the downloaded copy, else None."""
    return settings.data_dir if settings.data_dir is not None else downloaded_sample(settings)


def sample_size(settings: Settings) -> int | None:
    """The archive's size as its server announces it (None when it does not).

    Raises:
        DownloadError: no connection or an HTTP error; names the settings to use instead.
    """
    return downloads.remote_size(settings.sample_url, OFFLINE_FIX)


def download_sample(
    settings: Settings,
    on_download: downloads.Progress | None = None,
    on_extract: downloads.Progress | None = None,
) -> Path:
    """Download and extract the sample once; returns its class folders.

    The archive and its extraction go to a hidden folder beside the final one, renamed into
    place when complete; the archive itself is then deleted. An interrupted download or
    extraction leaves nothing that counts as the sample.

    Raises:
        ReadOnlyError: viewer mode.
        DownloadError: no connection, an HTTP error or a cut-off transfer.
        ArchiveError: the archive is unsafe, too big, or has fewer than two class folders.
    """
    require_editor(settings, "download the sample photos")
    earlier = downloaded_sample(settings)
    if earlier is not None:
        return earlier
    final = extraction_dir(settings)
    final.parent.mkdir(parents=True, exist_ok=True)
    name = Path(urllib.parse.urlsplit(settings.sample_url).path).name or "sample archive"
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=final.parent))
    try:
        archive = downloads.download(
            settings.sample_url,
            staging / "archive",
            OFFLINE_FIX,
            on_download,
            max_bytes=settings.max_archive_mb * _MB,
        )
        skipped = extract_tar(archive, staging / "photos", name, settings, on_extract)
        archive.unlink()
        folder = dataset_folder(staging / "photos", name, kind="archive")
        _check_classes(folder, name)
        record = SampleRecord(settings.sample_url, folder.relative_to(staging).as_posix(), skipped)
        (staging / MARKER).write_text(json.dumps(record.to_dict()), encoding="utf-8")
        _move_into_place(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    found = downloaded_sample(settings)
    if found is None:
        raise DownloadError(f"The sample in {final} is incomplete. {OFFLINE_FIX}")
    return found


def _check_classes(folder: Path, name: str) -> None:
    """At least two class folders holding photos, or the sample could never train."""
    classes = [
        sub
        for sub in visible_subfolders(folder)
        if any(path.suffix.lower() in images.IMAGE_EXTENSIONS for path in sub.iterdir())
    ]
    if len(classes) < 2:
        raise ArchiveError(
            f"{name} holds {len(classes)} class folder(s) of photos; a sample needs at least "
            f"two, e.g. flower_photos/daisy/*.jpg and flower_photos/roses/*.jpg. {OFFLINE_FIX}"
        )


def _move_into_place(staging: Path, final: Path) -> None:
    """Rename the complete extraction to final; a damaged earlier one is replaced, one another
    session completed meanwhile is kept."""
    if final.is_symlink():
        raise DownloadError(f"{final} is a symbolic link; remove it and download again.")
    if final.exists() and not (final / MARKER).is_file():
        shutil.rmtree(final)
    try:
        staging.rename(final)
    except OSError:
        if not (final / MARKER).is_file():
            raise
