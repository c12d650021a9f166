"""HTTP(S) downloads in chunks with progress, written atomically: a killed or cut-off download
leaves only a hidden temp file, never a file that looks complete."""

from __future__ import annotations

import http.client
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from engine.errors import DownloadError
from engine.imagenet import NETWORK_TIMEOUT_SECONDS

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None if unknown)
TEMP_PREFIX = ".downloading-"  # a download in progress (or killed) in the target's folder
_CHUNK = 1 << 20


def host_of(url: str) -> str:
    """The host a URL points at, as a user would name it ('storage.googleapis.com')."""
    return urllib.parse.urlsplit(url).hostname or url


def remote_size(url: str, fix: str) -> int | None:
    """The size the server announces for url (HEAD), None when it announces none.

    Raises:
        DownloadError: no connection or an HTTP error; the message ends with fix.
    """
    request = urllib.request.Request(url, method="HEAD")
    with _open(request, url, fix) as response:
        return _content_length(response)


def download(
    url: str,
    target: Path,
    fix: str,
    on_progress: Progress | None = None,
    max_bytes: int | None = None,
) -> Path:
    """Fetch url into target (replaced atomically when the whole file has arrived).

    The bytes go to a hidden temp file beside target; a transfer shorter than the announced
    size, over max_bytes, or interrupted in any way (even by the caller's on_progress) removes
    it and leaves target as it was.

    Raises:
        DownloadError: no connection, an HTTP error, a cut-off or oversized transfer; the
            message ends with fix.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with _open(urllib.request.Request(url), url, fix) as response:
        total = _content_length(response)
        _check_size(url, total, max_bytes, fix)
        handle, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        temp = Path(temp_name)
        try:
            with os.fdopen(handle, "wb") as sink:
                done = _copy(response, sink, url, total, max_bytes, fix, on_progress)
                sink.flush()
                os.fsync(sink.fileno())
            if total is not None and done != total:
                raise DownloadError(
                    f"The download of {url} stopped after {done:,} of {total:,} bytes; try again. "
                    f"{fix}"
                )
            os.replace(temp, target)
        except OSError as err:  # the disk, not the network: full, read-only, ...
            temp.unlink(missing_ok=True)
            raise DownloadError(f"Could not write {target.parent} ({err.strerror}). {fix}") from err
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    return target


def _copy(
    response: http.client.HTTPResponse,
    sink: BinaryIO,
    url: str,
    total: int | None,
    max_bytes: int | None,
    fix: str,
    on_progress: Progress | None,
) -> int:
    """Copy the response body in chunks; returns the number of bytes copied."""
    done = 0
    if on_progress is not None:
        on_progress(0, total)
    while True:
        try:
            chunk = response.read1(_CHUNK)  # what has arrived: progress moves on slow links
        except (OSError, http.client.HTTPException) as err:
            raise DownloadError(
                f"The connection to {host_of(url)} broke after {done:,} bytes ({err}); try "
                f"again. {fix}"
            ) from err
        if not chunk:
            return done
        done += len(chunk)
        _check_size(url, done, max_bytes, fix)
        sink.write(chunk)
        if on_progress is not None:
            on_progress(done, total)


def _open(request: urllib.request.Request, url: str, fix: str) -> http.client.HTTPResponse:
    """urlopen with a short timeout; every failure becomes a DownloadError a user can act on."""
    try:
        return urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT_SECONDS)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{url} answered HTTP {err.code} ({err.reason}). {fix}") from err
    except (TimeoutError, urllib.error.URLError, ConnectionError) as err:
        raise DownloadError(f"No connection to {host_of(url)}. {fix}") from err
    except (OSError, ValueError, http.client.HTTPException) as err:
        raise DownloadError(f"Could not download {url} ({err}). {fix}") from err


def _content_length(response: http.client.HTTPResponse) -> int | None:
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _check_size(url: str, size: int | None, max_bytes: int | None, fix: str) -> None:
    if size is not None and max_bytes is not None and size > max_bytes:
        raise DownloadError(
            f"{url} is larger than the {max_bytes / 2**20:,.0f} MB allowed (TLAB_MAX_ARCHIVE_MB). "
            f"{fix}"
        )
