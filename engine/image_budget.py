"""How much memory decoding an image takes, and a process-wide budget that bounds the total.

The pixel limit alone let a 49-MP 16-bit image through, and several decoded at once took
gigabytes: every decode now reserves its bytes first, and waits while others hold too many.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Decoded bytes per pixel of Pillow's modes; unknown modes count as the widest.
BYTES_PER_PIXEL = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "La": 2,
    "PA": 2,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "I;16N": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
}
WIDEST = 8
# An image may take up to this many bytes per allowed pixel when decoded (the pixel limit,
# TLAB_MAX_IMAGE_PIXELS, thus bounds bytes too: 200 MB at the default 50 MP).
BYTES_PER_ALLOWED_PIXEL = 4
DECODE_MEMORY_BYTES = 512 * 1024 * 1024  # all decodes in flight together, across threads


def decoded_bytes(mode: str, size: tuple[int, int]) -> int:
    """Bytes Pillow allocates to hold an image of this mode and size."""
    return size[0] * size[1] * BYTES_PER_PIXEL.get(mode, WIDEST)


class MemoryBudget:
    """Bytes that concurrent decodes may hold together; a reservation waits for room.

    One reservation larger than the whole budget is let through alone (the per-image limit
    already refused anything truly too big), so nothing can wait for ever.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._room = threading.Condition()

    @contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        nbytes = min(nbytes, self.capacity)
        with self._room:
            self._room.wait_for(lambda: self.in_use + nbytes <= self.capacity)
            self.in_use += nbytes
        try:
            yield
        finally:
            with self._room:
                self.in_use -= nbytes
                self._room.notify_all()


DECODE_BUDGET = MemoryBudget(DECODE_MEMORY_BYTES)
