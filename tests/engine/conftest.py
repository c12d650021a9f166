"""Fixtures shared by the engine tests."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from engine.backbones import BACKBONES, Backbone, register_backbone
from engine.data import batches
from engine.data.split import Subset
from tests.support.tiny import TINY


@pytest.fixture
def tiny_backbone() -> Iterator[Backbone]:
    """The tiny test backbone in the registry for one test (as backbone='tiny')."""
    register_backbone(TINY)
    yield TINY
    BACKBONES.pop(TINY.name, None)


@pytest.fixture
def pipeline_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Replace batches.decode_batches (zero-shot and evaluation stream through it): an image's
    pixels hold the number in its file name. Returns the (image_size, batch_size) of each call."""
    calls: list[tuple[int, int]] = []

    def decode_batches(subset: Subset, image_size: int, batch_size: int, **_: object):
        calls.append((image_size, batch_size))
        for start in range(0, len(subset), batch_size):
            values = [float(path.stem) for path in subset.paths[start : start + batch_size]]
            yield np.stack([np.full((image_size, image_size, 3), v, np.float32) for v in values])

    monkeypatch.setattr(batches, "decode_batches", decode_batches)
    return calls
