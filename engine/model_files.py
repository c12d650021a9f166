"""The model files a first use downloads (the Hub classifier, the backbone's ImageNet weights),
fetched ahead in chunks into the very caches TF Hub and Keras read, so pages show progress."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from engine import downloads
from engine.access import require_editor
from engine.backbones import DEFAULT_BACKBONE, get_backbone
from engine.data.tarball import extract_tar
from engine.errors import ArchiveError, DownloadError
from engine.sample import keras_home
from engine.settings import Settings

# Where keras.applications.MobileNetV2 downloads its weights from (keras/src/applications).
KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
# Its 1000-class twin of the Hub model, which the zero-shot heatmaps run (engine.insight.gradcam).
KERAS_TOP_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
HUB_STAGING_PREFIX = ".transfer-lab-hub-"  # an extraction in progress (or killed)
_MB = 1024 * 1024


@dataclass(frozen=True)
class ModelFile:
    """One download a model needs: what it is, from where, and where its cache expects it."""

    title: str  # what a user calls it
    url: str
    target: Path  # a file, or the folder a Hub archive is extracted to
    setting: str  # the setting that points at a local copy instead
    archive: bool = False  # a .tar.gz to extract into target (TF Hub's compressed format)


def hub_cache_dir() -> Path:
    """Where tensorflow_hub caches handles: TFHUB_CACHE_DIR, else <temp>/tfhub_modules."""
    return Path(os.environ.get("TFHUB_CACHE_DIR") or Path(tempfile.gettempdir()) / "tfhub_modules")


def hub_module_dir(handle: str) -> Path:
    """The folder tensorflow_hub loads a handle from once downloaded (sha1 of the handle)."""
    return hub_cache_dir() / hashlib.sha1(handle.encode("utf8")).hexdigest()


def missing_model_files(settings: Settings) -> list[ModelFile]:
    """The downloads the settings' models still need here (none when they are local paths
    or already in the caches)."""
    missing = []
    handle = settings.zero_shot_model
    # Hub's resolver fetches https handles as a .tar.gz with this query (other formats and
    # schemes are left to it).
    hub_format = os.environ.get("TFHUB_MODEL_LOAD_FORMAT", "").upper() in ("", "AUTO", "COMPRESSED")
    if handle.startswith(("http://", "https://")) and hub_format:
        folder = hub_module_dir(handle)
        if not (folder.is_dir() and any(folder.iterdir())):
            query = urllib.parse.urlencode({"tf-hub-format": "compressed"})
            url = f"{handle}{'&' if '?' in handle else '?'}{query}"
            missing.append(
                ModelFile("the ImageNet classifier", url, folder, "TLAB_ZERO_SHOT_MODEL", True)
            )
    backbone_file = get_backbone(DEFAULT_BACKBONE).keras_file
    keras_files = (
        (
            settings.backbone_weights,
            backbone_file,
            "the MobileNetV2 weights",
            "TLAB_BACKBONE_WEIGHTS",
        ),
        (
            settings.zero_shot_keras_weights,
            KERAS_TOP_FILE,
            "the ImageNet model's weights for heatmaps",
            "TLAB_ZERO_SHOT_KERAS_WEIGHTS",
        ),
    )
    for weights, name, title, setting in keras_files:
        target = keras_home() / "models" / name
        if weights == "imagenet" and not target.is_file():
            missing.append(ModelFile(title, KERAS_WEIGHTS_URL + name, target, setting))
    return missing


def fetch_model_file(
    settings: Settings,
    item: ModelFile,
    on_progress: downloads.Progress | None = None,
) -> Path:
    """Download item into its cache (atomically: a killed download leaves nothing the
    library would load); returns item.target.

    Raises:
        ReadOnlyError: viewer mode (the library then downloads on first use itself).
        DownloadError: no connection, an HTTP error, a cut-off transfer, a damaged archive.
    """
    require_editor(settings, f"download {item.title}")
    fix = f"Set {item.setting} to a local copy."
    max_bytes = settings.max_archive_mb * _MB
    if not item.archive:
        return downloads.download(item.url, item.target, fix, on_progress, max_bytes)
    item.target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=HUB_STAGING_PREFIX, dir=item.target.parent))
    try:
        archive = downloads.download(
            item.url, staging / "model.tar.gz", fix, on_progress, max_bytes
        )
        try:
            extract_tar(archive, staging / "model", item.title, settings)
        except ArchiveError as err:
            raise DownloadError(f"{item.url} is not a usable model archive ({err}). {fix}") from err
        try:
            (staging / "model").rename(item.target)
        except OSError:  # another process finished the same download meanwhile
            if not item.target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return item.target
