"""Disk that does not fill up by itself: size caps for uploads and caches, least recently used
first out, and start-up removal of what has not been used for TLAB_KEEP_DAYS."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from engine.errors import StorageFullError

_MB = 1024 * 1024
DAY_SECONDS = 86_400

logger = logging.getLogger(__name__)


def tree_size(folder: Path) -> int:
    """Bytes of the regular files under folder (links are not followed; 0 when missing)."""
    total = 0
    for root, _, files in os.walk(folder, followlinks=False):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile
                info = os.lstat(os.path.join(root, name))
                total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    return total


def check_room(folder: Path, adding_bytes: int, cap_mb: int, what: str, setting: str) -> None:
    """Refuse to add adding_bytes to folder when that would pass cap_mb in total.

    Raises:
        StorageFullError: the cap would be passed; the message names the setting.
    """
    used = tree_size(folder)
    if used + adding_bytes > cap_mb * _MB:
        raise StorageFullError(
            f"No room for {what}: {folder} holds {used / _MB:.0f} MB and this needs "
            f"{adding_bytes / _MB:.0f} MB more, over the {cap_mb} MB cap ({setting}). Delete "
            "something there (uploaded datasets can be deleted on the Data page) or raise the cap."
        )


def evict_least_recent(files: Iterable[Path], cap_mb: int) -> list[Path]:
    """Delete the least recently used of files (by modification time, which readers refresh
    with touch) until the rest fit in cap_mb; returns what was deleted."""
    entries = []
    for path in files:
        try:
            if not path.is_symlink():
                info = path.stat()
                entries.append((info.st_mtime, info.st_size, path))
        except OSError:
            continue
    total = sum(size for _, size, _ in entries)
    removed = []
    for _, size, path in sorted(entries):
        if total <= cap_mb * _MB:
            break
        path.unlink(missing_ok=True)
        total -= size
        removed.append(path)
    return removed


def touch(path: Path) -> None:
    """Mark path as just used (for eviction and TLAB_KEEP_DAYS); never fails."""
    with contextlib.suppress(OSError):
        os.utime(path)


def remove_unused(paths: Iterable[Path], keep_days: int) -> list[Path]:
    """Delete the files and folders among paths not modified for keep_days (links never
    followed or removed); returns what was deleted."""
    cutoff = time.time() - keep_days * DAY_SECONDS
    removed = []
    for path in paths:
        try:
            if path.is_symlink() or path.stat().st_mtime >= cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError as error:
            logger.warning("Could not remove %s: %s", path, error)
    return removed


def is_disk_full(error: OSError) -> bool:
    return error.errno in (errno.ENOSPC, errno.EDQUOT)
