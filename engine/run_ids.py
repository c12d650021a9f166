"""Run ids: sortable by time, unique across processes sharing a store, one safe path part."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

# Ids come from users (URLs, CLI); one safe path component that cannot name a hidden/temp folder.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def is_run_id(text: str) -> bool:
    return bool(RUN_ID_PATTERN.fullmatch(text)) and ".." not in text


def new_run_id() -> str:
    """A sortable, filesystem-safe id: UTC timestamp plus a random suffix."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def reserve_id(root: Path) -> str:
    """A new run id, reserved by creating its empty folder under root: mkdir is atomic, so
    processes saving into one store at the same moment never get the same id.

    Raises:
        OSError: root cannot be written.
    """
    while True:
        run_id = new_run_id()
        try:
            (root / run_id).mkdir()
            return run_id
        except FileExistsError:
            continue
