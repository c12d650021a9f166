"""Photos worth a second look before training: tiny, nearly blank, grayscale among colour
photos, or of an extreme shape. Warnings only: the photos stay in the dataset."""

from __future__ import annotations

from collections.abc import Sequence

from engine.health.fingerprints import Fingerprint

TINY_SIDE = 64  # pixels: the model sees 224x224, so a smaller side is blown up from little
EXTREME_ASPECT = 3.0  # long side / short side: the square resize squashes such photos
GRAY_COLOURFULNESS = 3.0  # mean channel spread below this: a grayscale photo
COLOUR_DATASET = 0.5  # share of colour photos from which a grayscale one is odd


def oddity_reasons(prints: Sequence[Fingerprint | None]) -> list[tuple[str, ...]]:
    """Why each photo is odd (an empty tuple for most), in the order of prints."""
    readable = [f for f in prints if f is not None]
    colour = sum(f.colourfulness >= GRAY_COLOURFULNESS for f in readable)
    colour_dataset = bool(readable) and colour / len(readable) >= COLOUR_DATASET
    return [() if f is None else _reasons(f, colour_dataset) for f in prints]


def _reasons(fingerprint: Fingerprint, colour_dataset: bool) -> tuple[str, ...]:
    width, height = fingerprint.width, fingerprint.height
    reasons = []
    if min(width, height) < TINY_SIDE:
        reasons.append(f"tiny: {width}x{height} px (under {TINY_SIDE} px on a side)")
    if fingerprint.uniform:
        reasons.append("nearly uniform: one colour, almost no detail")
    elif colour_dataset and fingerprint.colourfulness < GRAY_COLOURFULNESS:
        reasons.append("grayscale, while most photos are in colour")
    aspect = max(width, height) / max(min(width, height), 1)
    if aspect >= EXTREME_ASPECT:
        reasons.append(f"extreme shape: {aspect:.1f}:1 (squashed to a square for the model)")
    return tuple(reasons)
