"""Fixtures shared by the engine tests."""

from __future__ import annotations

import numpy as np
import pytest

from engine import datasets
from engine.datasets import Subset


@pytest.fixture
def pipeline_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Replace datasets.decode_batches (zero-shot and evaluation stream through it): an image's
    pixels hold the number in its file name. Returns the (image_size, batch_size) of each call."""
    calls: list[tuple[int, int]] = []

    def decode_batches(subset: Subset, image_size: int, batch_size: int, **_: object):
        calls.append((image_size, batch_size))
        for start in range(0, len(subset), batch_size):
            values = [float(path.stem) for path in subset.paths[start : start + batch_size]]
            yield np.stack([np.full((image_size, image_size, 3), v, np.float32) for v in values])

    monkeypatch.setattr(datasets, "decode_batches", decode_batches)
    return calls
