"""The run store's files, read and written safely: strict JSON, size caps, no symbolic links,
atomic replacement and fsync so a killed process never leaves a half-written file visible."""

from __future__ import annotations

import errno
import json
import math
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from engine.schema import RecordError

MAX_JSON_BYTES = 64 * 1024 * 1024  # far above any real run file; a bloated one is refused


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file that must be a regular file (not a link) of at most max_bytes.

    Raises:
        RecordError: a link, not a regular file, too large, or not JSON.
        OSError: it cannot be read.
    """
    with open_regular(path) as file:
        size = os.fstat(file.fileno()).st_size
        if size > max_bytes:
            raise RecordError(f"{path.name} is {size / 2**20:.0f} MB, too large for a run file")
        try:
            return json.loads(file.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RecordError(f"{path.name} is not valid JSON ({error})") from error


def open_regular(path: Path):
    """Open path for reading without following a symbolic link; only regular files.

    Raises:
        RecordError: path is a link, a folder, a pipe or a device.
        OSError: it cannot be opened.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:  # the last component is a symbolic link
            raise RecordError(f"{path.name} is a symbolic link; run files never are") from error
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RecordError(f"{path.name} is not a regular file")
    return os.fdopen(fd, "rb")


def is_link_or_missing(path: Path) -> bool:
    """True when path is a symbolic link or does not exist (lstat: links are not followed)."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True


def write_json(path: Path, data: Any) -> None:
    """Write strict JSON (NaN and infinities become null) and flush it to disk."""
    text = json.dumps(finite(data), indent=1, default=_json_default, allow_nan=False)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def replace_json(path: Path, data: Any, temp_prefix: str) -> None:
    """Write data to path through a temp file and a rename: readers see old or new.

    Raises:
        OSError: the folder is not writable or the disk is full (the temp file is removed).
    """
    tmp = path.with_name(f"{temp_prefix}{secrets.token_hex(4)}-{path.name}")
    try:
        write_json(tmp, data)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def replace_text(path: Path, text: str, temp_prefix: str = ".tmp-") -> None:
    """replace_bytes of text in UTF-8 (newlines written as given)."""
    replace_bytes(path, text.encode("utf-8"), temp_prefix)


def replace_bytes(path: Path, data: bytes, temp_prefix: str = ".tmp-") -> None:
    """Write data to path through a temp file beside it and a rename: readers see the old
    file or the new one, and a link at path is replaced, never followed.

    Raises:
        OSError: the folder is not writable, path is a folder, or the disk is full.
    """
    tmp = path.with_name(f"{temp_prefix}{secrets.token_hex(4)}-{path.name}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def fsync_file(path: Path) -> None:
    """Flush a written file to disk before it is renamed into place."""
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename or new entry durable (a directory's entries live in the directory)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def finite(data: Any) -> Any:
    """data with every non-finite float replaced by None (a diverged loss is NaN)."""
    if isinstance(data, float) or isinstance(data, np.floating):
        return float(data) if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(value) for value in data]
    if isinstance(data, np.ndarray):
        return finite(data.tolist())
    return data


def _json_default(value: Any) -> Any:
    """Serialise what metrics and prediction rows may hold besides plain JSON types."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def remove_stale_dirs(folders: Iterable[Path], max_age: float, marker: str | None) -> None:
    """Delete folders older than max_age seconds that are ours: those holding marker (with
    everything in them), or, when marker is None, empty ones (rmdir refuses anything else).
    Links are never followed or removed."""
    cutoff = time.time() - max_age
    for folder in folders:
        try:
            if folder.is_symlink() or folder.stat().st_mtime >= cutoff:
                continue
            if marker is None:
                folder.rmdir()
            elif (folder / marker).is_file():
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # vanished meanwhile, not empty, or not ours to inspect
