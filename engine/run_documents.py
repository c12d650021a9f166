"""A run's extra documents (calibration, mapping, label fixes, export checks...) read back typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from engine.errors import RunNotFoundError, first_line
from engine.runs import RunStore
from engine.schema import RecordError

T = TypeVar("T")


def load_document(
    store: RunStore, run_id: str, name: str, parse: Callable[[Any], T], fix: str
) -> T | None:
    """A run's <name>.json read by parse (e.g. a record's from_dict), None when it has none.

    Raises:
        RunNotFoundError: no such run, or the document is damaged; the message names it and
            ends with fix, how to get it back (the run's other files still open).
    """
    data = store.load_extra(run_id, name)
    if data is None:
        return None
    try:
        return parse(data)
    except RecordError as error:
        raise RunNotFoundError(
            f"Run '{run_id}': its {name}.json is damaged ({first_line(error)}); {fix}."
        ) from error
