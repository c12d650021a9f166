"""Process-wide settings, read once from TLAB_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import SettingsError

# TF Hub handles resolve to Kaggle Models; 1001 logits, inputs in [0, 1], index 0 = background.
DEFAULT_ZERO_SHOT_MODEL = "https://tfhub.dev/google/tf2-preview/mobilenet_v2/classification/4"
DEFAULT_IMAGENET_LABELS = (
    "https://storage.googleapis.com/download.tensorflow.org/data/ImageNetLabels.txt"
)
DISTRIBUTE_CHOICES = ("none", "mirrored", "multiworker")
RUNTIME_CHOICES = ("auto", "tensorflow", "litert")
MODE_CHOICES = ("editor", "viewer")  # viewer: look only (no training, deleting, uploads...)
# Models converted for LiteRT are derived from model weights, not user data: kept per user,
# like Keras' downloaded weights, so a new runs folder does not convert them again.
DEFAULT_MODEL_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / (
    "transfer-lab"
)
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise SettingsError(
            f"{name}={raw!r} is not a whole number; unset it or give e.g. {default}."
        ) from error
    if value <= 0:
        raise SettingsError(f"{name}={raw!r} must be positive; unset it or give e.g. {default}.")
    return value


@dataclass(frozen=True)
class Settings:
    """Where models, data and runs live, and the limits applied to user input."""

    zero_shot_model: str = DEFAULT_ZERO_SHOT_MODEL
    imagenet_labels: str = DEFAULT_IMAGENET_LABELS
    backbone_weights: str = "imagenet"
    # The zero-shot model's Keras twin (1000-class top, same weights) for Grad-CAM heatmaps.
    zero_shot_keras_weights: str = "imagenet"
    data_dir: Path | None = None
    runs_dir: Path = Path("runs")
    uploads_dir: Path = Path("uploads")
    cache_dir: Path | None = None  # None: runs_dir/.cache
    extra_data_roots: tuple[Path, ...] = field(default_factory=tuple)
    distribute: str = "none"
    runtime: str = "auto"  # frozen forward passes: 'auto', 'tensorflow' or 'litert'
    mode: str = "editor"  # 'viewer': every change is refused (engine.access)
    model_cache: Path = DEFAULT_MODEL_CACHE
    max_upload_mb: int = 200
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_archive_files: int = 50_000
    max_archive_mb: int = 2_000
    max_uploads_mb: int = 10_000  # all uploaded datasets together
    max_cache_mb: int = 5_000  # the frozen-feature cache (least recently used files go first)
    keep_days: int = 30  # uploads and caches unused this long are removed at start-up

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from TLAB_* variables (os.environ by default); unset means default."""
        env = os.environ if env is None else env

        def text(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        data_dir = text("TLAB_DATA_DIR", "")
        cache_dir = text("TLAB_CACHE_DIR", "")
        distribute = text("TLAB_DISTRIBUTE", "none").lower()
        if distribute not in DISTRIBUTE_CHOICES:
            raise SettingsError(
                f"TLAB_DISTRIBUTE={distribute!r} is not one of {', '.join(DISTRIBUTE_CHOICES)}."
            )
        runtime = text("TLAB_RUNTIME", "auto").lower()
        if runtime not in RUNTIME_CHOICES:
            raise SettingsError(
                f"TLAB_RUNTIME={runtime!r} is not one of {', '.join(RUNTIME_CHOICES)}."
            )
        mode = text("TLAB_MODE", "editor").lower()
        if mode not in MODE_CHOICES:
            raise SettingsError(f"TLAB_MODE={mode!r} is not one of {', '.join(MODE_CHOICES)}.")
        roots = tuple(
            Path(p).expanduser() for p in text("TLAB_DATA_ROOTS", "").split(os.pathsep) if p
        )
        return cls(
            zero_shot_model=text("TLAB_ZERO_SHOT_MODEL", DEFAULT_ZERO_SHOT_MODEL),
            imagenet_labels=text("TLAB_IMAGENET_LABELS", DEFAULT_IMAGENET_LABELS),
            backbone_weights=text("TLAB_BACKBONE_WEIGHTS", "imagenet"),
            zero_shot_keras_weights=text("TLAB_ZERO_SHOT_KERAS_WEIGHTS", "imagenet"),
            data_dir=Path(data_dir).expanduser() if data_dir else None,
            runs_dir=Path(text("TLAB_RUNS_DIR", "runs")).expanduser(),
            uploads_dir=Path(text("TLAB_UPLOADS_DIR", "uploads")).expanduser(),
            cache_dir=Path(cache_dir).expanduser() if cache_dir else None,
            extra_data_roots=roots,
            distribute=distribute,
            runtime=runtime,
            mode=mode,
            model_cache=Path(text("TLAB_MODEL_CACHE", str(DEFAULT_MODEL_CACHE))).expanduser(),
            max_upload_mb=_int(env, "TLAB_MAX_UPLOAD_MB", cls.max_upload_mb),
            max_image_pixels=_int(env, "TLAB_MAX_IMAGE_PIXELS", cls.max_image_pixels),
            max_archive_files=_int(env, "TLAB_MAX_ARCHIVE_FILES", cls.max_archive_files),
            max_archive_mb=_int(env, "TLAB_MAX_ARCHIVE_MB", cls.max_archive_mb),
            max_uploads_mb=_int(env, "TLAB_MAX_UPLOADS_MB", cls.max_uploads_mb),
            max_cache_mb=_int(env, "TLAB_MAX_CACHE_MB", cls.max_cache_mb),
            keep_days=_int(env, "TLAB_KEEP_DAYS", cls.keep_days),
        )

    @property
    def cache_root(self) -> Path:
        """Where derived files (frozen-feature cache) live: TLAB_CACHE_DIR, else runs_dir/.cache."""
        return self.cache_dir if self.cache_dir is not None else self.runs_dir / ".cache"

    @property
    def typed_roots(self) -> tuple[Path, ...]:
        """Folders a typed dataset path must stay under (resolved); never the uploads, which
        hold every session's photos."""
        roots = [*self.extra_data_roots]
        if self.data_dir is not None:
            roots.append(self.data_dir)
        return tuple(r.resolve() for r in roots)

    def describe(self) -> dict[str, str]:
        """Human-readable summary of where each model and folder comes from (for the sidebar)."""
        return {
            "Zero-shot classifier": self.zero_shot_model,
            "ImageNet labels": self.imagenet_labels,
            "Backbone weights": self.backbone_weights,
            "Zero-shot heatmap weights": self.zero_shot_keras_weights,
            "Sample data": str(self.data_dir) if self.data_dir else "(not set: TLAB_DATA_DIR)",
            "Runs folder": str(self.runs_dir),
        }
