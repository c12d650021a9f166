"""The 1001 ImageNet labels of the Hub classifier, from a local file or a URL (short timeout)."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from pathlib import Path

from engine.errors import ModelUnavailableError
from engine.imagenet_groups import NUM_LABELS

NETWORK_TIMEOUT_SECONDS = 10.0
_MAX_LABELS_BYTES = 1_000_000  # the real file is ~21 kB; anything far larger is the wrong file
_LABELS_FIX = "Point TLAB_IMAGENET_LABELS at a local ImageNetLabels.txt."


def load_labels(source: str) -> tuple[str, ...]:
    """Read the 1001 ImageNet labels (line 0 'background') from a local path or URL.

    URLs are fetched with a short timeout (NETWORK_TIMEOUT_SECONDS) so an offline machine fails
    fast instead of hanging.

    Raises:
        ModelUnavailableError: cannot download / read, or not 1001 lines; names
            TLAB_IMAGENET_LABELS.
    """
    data = _download_labels(source) if "://" in source else _read_labels_file(source)
    if len(data) > _MAX_LABELS_BYTES:
        raise ModelUnavailableError(
            f"{source} is larger than {_MAX_LABELS_BYTES // 1000} kB, so it is not an ImageNet "
            f"labels file. {_LABELS_FIX}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ModelUnavailableError(f"{source} is not a UTF-8 text file. {_LABELS_FIX}") from err
    labels = [line.strip() for line in text.splitlines()]
    while labels and not labels[-1]:  # blank lines at the end are an editor artefact
        labels.pop()
    if len(labels) != NUM_LABELS or labels[0] != "background":
        first = labels[0] if labels else ""
        raise ModelUnavailableError(
            f"{source} has {len(labels)} lines starting with {first!r}; expected {NUM_LABELS} "
            "ImageNet labels starting with 'background' (the file that matches the Hub "
            f"classifier). {_LABELS_FIX}"
        )
    return tuple(labels)


def _download_labels(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT_SECONDS) as response:
            return response.read(_MAX_LABELS_BYTES + 1)
    except urllib.error.HTTPError as err:
        raise ModelUnavailableError(
            f"Could not download the ImageNet labels from {url} (HTTP {err.code}). {_LABELS_FIX}"
        ) from err
    except (OSError, ValueError, http.client.HTTPException) as err:
        raise ModelUnavailableError(
            f"Could not download the ImageNet labels from {url} (no network?). {_LABELS_FIX}"
        ) from err


def _read_labels_file(source: str) -> bytes:
    path = Path(source).expanduser()
    if not path.is_file():
        raise ModelUnavailableError(
            f"The ImageNet labels file {path} does not exist (TLAB_IMAGENET_LABELS). {_LABELS_FIX}"
        )
    try:
        with path.open("rb") as file:
            return file.read(_MAX_LABELS_BYTES + 1)
    except OSError as err:
        raise ModelUnavailableError(
            f"The ImageNet labels file {path} cannot be read ({err.strerror}). {_LABELS_FIX}"
        ) from err
