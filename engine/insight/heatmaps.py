"""Heatmaps over photos: both models' Grad-CAM results and their coloured overlays (numpy, PIL)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Cold to hot: blue, cyan, yellow, red (a 'jet'-like ramp readers know from weather maps).
_RAMP_STOPS = (0.0, 0.35, 0.65, 1.0)
_RAMP_COLOURS = np.array([(40, 60, 230), (0, 210, 230), (255, 225, 0), (230, 20, 20)], float)
FAINTEST, STRONGEST = 0.1, 0.6  # how much of the colour covers the photo, cold to hot
MUTED = 0.6  # share of grey mixed into the photo under the colours
TITLE_HEIGHT = 28
GAP = 8


@dataclass(frozen=True)
class Heatmap:
    """One model's answer for a photo and where it looked for it."""

    label: str
    probability: float
    cam: np.ndarray  # float32 [h, w] in [0, 1] over the last conv block's grid

    def peak(self) -> tuple[float, float]:
        """(row, column) of the hottest cell's centre as fractions of the photo's height and
        width (0 = top / left)."""
        rows, columns = self.cam.shape
        row, column = np.unravel_index(int(self.cam.argmax()), self.cam.shape)
        return (row + 0.5) / rows, (column + 0.5) / columns

    def to_dict(self) -> dict:
        """For --json: the answer, the peak and the map itself (rounded)."""
        return {
            "label": self.label,
            "probability": self.probability,
            "peak": list(self.peak()),
            "cam": np.round(self.cam, 3).tolist(),
        }


@dataclass(frozen=True)
class HeatmapPair:
    """Both models' heatmaps over the same photo; a side is None with the reason it is missing."""

    photo: np.ndarray  # uint8 [H, W, 3] as shown, aspect kept
    zero_shot: Heatmap | None
    fine_tuned: Heatmap | None
    zero_shot_error: str | None = None
    fine_tuned_error: str | None = None

    def titles(self) -> tuple[str, str]:
        """Each side's model and answer in words, e.g. 'Zero-shot (ImageNet): daisy (99%)'."""
        return (
            _title("Zero-shot (ImageNet)", self.zero_shot),
            _title("Trained on your classes", self.fine_tuned),
        )


def _title(model: str, side: Heatmap | None) -> str:
    if side is None:
        return f"{model}: not available"
    return f"{model}: {side.label} ({side.probability:.0%})"


def upsampled(cam: np.ndarray, height: int, width: int) -> np.ndarray:
    """The map stretched over a photo of height x width (smooth, kept in [0, 1]); the model
    saw the whole photo squashed to a square, so stretching maps it back onto the photo."""
    resized = Image.fromarray(cam.astype(np.float32)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    return np.clip(np.asarray(resized), 0.0, 1.0)


def overlay(photo: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """uint8 photo with the heatmap laid over it: hotter parts more strongly coloured. The
    photo's own colours are muted first, so the map reads on red and yellow flowers too."""
    heat = upsampled(cam, photo.shape[0], photo.shape[1])
    colours = np.stack(
        [np.interp(heat, _RAMP_STOPS, _RAMP_COLOURS[:, channel]) for channel in range(3)], -1
    )
    muted = (1.0 - MUTED) * photo + MUTED * photo.mean(axis=2, keepdims=True)
    alpha = (FAINTEST + (STRONGEST - FAINTEST) * heat)[..., None]
    return (muted * (1.0 - alpha) + colours * alpha).round().astype(np.uint8)


def pair_png(pair: HeatmapPair) -> bytes:
    """PNG bytes of both overlays side by side, each under its title; a missing side shows
    the photo greyed."""
    photo = pair.photo
    height, width = photo.shape[:2]
    canvas = Image.new("RGB", (2 * width + GAP, height + TITLE_HEIGHT), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    sides = zip((pair.zero_shot, pair.fine_tuned), pair.titles(), strict=True)
    for column, (side, title) in enumerate(sides):
        left = column * (width + GAP)
        shown = overlay(photo, side.cam) if side is not None else _greyed(photo)
        canvas.paste(Image.fromarray(shown), (left, TITLE_HEIGHT))
        draw.text((left + 2, 6), title, fill="black", font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def _greyed(photo: np.ndarray) -> np.ndarray:
    grey = photo.mean(axis=2, keepdims=True)
    return np.repeat(0.4 * grey + 150, 3, axis=2).astype(np.uint8)
