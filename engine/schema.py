"""Typed reading of saved JSON: every field is checked, and a bad one is named in the error."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class RecordError(ValueError):
    """A saved record does not have the shape this version writes (damaged or foreign)."""


class Fields:
    """Checked access to the fields of one JSON object; `where` names it in messages.

    Every accessor takes `optional`: then an absent or null field reads as None.
    """

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise RecordError(f"{where} is {describe(data)}, not an object")
        self.data = data
        self.where = where

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str, *, optional: bool = False) -> Any:
        return self._checked(key, optional, lambda v: isinstance(v, str), "text")

    def number(self, key: str, *, optional: bool = False) -> Any:
        """A finite int or float (true/false are refused)."""
        return self._checked(key, optional, _is_number, "a number")

    def count(self, key: str, *, optional: bool = False) -> Any:
        """A whole number >= 0."""
        value = self._checked(key, optional, _is_count, "a whole number >= 0")
        return None if value is None else int(value)

    def flag(self, key: str, *, optional: bool = False) -> Any:
        return self._checked(key, optional, lambda v: isinstance(v, bool), "true or false")

    def texts(self, key: str, *, optional: bool = False) -> Any:
        value = self._checked(key, optional, _is_text_list, "a list of texts")
        return None if value is None else tuple(value)

    def fields(self, key: str, *, optional: bool = False) -> Any:
        """A nested object as Fields."""
        value = self._checked(key, optional, lambda v: isinstance(v, dict), "an object")
        return None if value is None else Fields(value, f"{self.where}.{key}")

    def items(self, key: str, read: Callable[[Any, str], T], *, optional: bool = False) -> Any:
        """A list whose items are read one by one (an error names the item's position)."""
        value = self._checked(key, optional, lambda v: isinstance(v, list), "a list")
        return None if value is None else read_list(value, f"{self.where}.{key}", read)

    def _checked(self, key: str, optional: bool, valid: Callable[[Any], bool], kind: str) -> Any:
        value = self.data.get(key)
        if value is None:
            if optional:
                return None
            if key not in self.data:
                raise RecordError(f"{self.where} lacks '{key}'")
        if not valid(value):
            expected = kind + (" or null" if optional else "")
            raise RecordError(f"{self.where}: '{key}' is {describe(value)}, expected {expected}")
        return value


def versioned(
    data: Any, where: str, newest: int, fix: str = "update Transfer Lab to read it"
) -> Fields:
    """The fields of a document whose 'format' this version reads (at most newest).

    Raises:
        RecordError: not an object, no format, or a newer version wrote it (the message ends
            with fix).
    """
    fields = Fields(data, where)
    version = fields.count("format")
    if version > newest:
        raise RecordError(
            f"{where} was written by a newer version of Transfer Lab (format {version}); {fix}"
        )
    return fields


def number(value: Any, where: str) -> float:
    """A finite number that is not a field of an object (list items)."""
    if not _is_number(value):
        raise RecordError(f"{where} is {describe(value)}, expected a number")
    return value


def read_list(data: Any, where: str, read: Callable[[Any, str], T]) -> list[T]:
    """A JSON list read item by item with read(item, where)."""
    if not isinstance(data, list):
        raise RecordError(f"{where} is {describe(data)}, not a list")
    return [read(item, f"{where}[{i}]") for i, item in enumerate(data)]


def describe(value: Any) -> str:
    """What a JSON value is, in a few words, for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "..."
        return f"the text {shown!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: Any) -> bool:
    return _is_number(value) and value >= 0 and int(value) == value


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
