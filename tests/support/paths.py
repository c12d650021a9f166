"""Where the project and ../shared (real MobileNetV2 weights, flowers photos) are."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TLAB_SHARED_DIR", ROOT.parent / "shared")).resolve()
MODELS = SHARED / "models" / "mobilenet_v2_100_224"
FLOWERS = SHARED / "datasets" / "flowers"
SHARED_MISSING = "../shared (real MobileNetV2 weights and flowers photos) is not beside the project"


def shared_present() -> bool:
    """Whether ../shared holds the models and the flowers split the integration tests need."""
    return (MODELS / "classification").is_dir() and (FLOWERS / "splits.csv").is_file()


def offline_defaults() -> dict[str, str]:
    """TLAB_* values pointing every model and the flowers photos at ../shared."""
    return {
        "TLAB_ZERO_SHOT_MODEL": str(MODELS / "classification"),
        "TLAB_IMAGENET_LABELS": str(MODELS / "ImageNetLabels.txt"),
        "TLAB_BACKBONE_WEIGHTS": str(
            MODELS / "keras" / "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
        ),
        "TLAB_ZERO_SHOT_KERAS_WEIGHTS": str(
            MODELS / "keras" / "mobilenet_v2_1.0_224_imagenet.weights.h5"
        ),
        "TLAB_DATA_DIR": str(FLOWERS),
    }
