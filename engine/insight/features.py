"""Frozen-base features of a split's photos for the insight views, through training's disk cache."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine import feature_cache
from engine.backbones import get_backbone, weights_source
from engine.data import batches
from engine.data.split import Split, Subset
from engine.model import build_model, feature_extractor
from engine.runtime import Forward, Runtime, keras_forward
from engine.settings import Settings

# (fraction done in [0, 1], what is happening) for a progress bar or a stderr line.
ProgressCallback = Callable[[float, str], None]
BATCH_SIZE = 32


def scaled(on_progress: ProgressCallback | None, start: float, end: float) -> ProgressCallback:
    """A callback reporting a part of the work as the range [start, end] of the whole."""

    def report(fraction: float, text: str) -> None:
        if on_progress is not None:
            on_progress(start + (end - start) * min(max(fraction, 0.0), 1.0), text)

    return report


class FrozenFeatures:
    """Pooled features of the backbone's pretrained (frozen) base, computed at most once per
    photo: train and validation photos share training's cache file, so after a training on the
    same photos only the test photos are new."""

    def __init__(self, backbone: str, settings: Settings) -> None:
        self.spec = get_backbone(backbone)
        self.settings = settings
        self.weights = weights_source(backbone, settings.backbone_weights)
        self.runtime = Runtime.from_settings(settings)
        self._forward: Forward | None = None

    def of_split(
        self, split: Split, on_progress: ProgressCallback | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(train features, test features) of split; validation photos are read or computed
        alongside train (training caches them as one file) and never returned.

        Raises:
            ModelUnavailableError: the backbone weights cannot be loaded (only when computing).
            ImageError: a photo cannot be read any more.
        """
        report = scaled(on_progress, 0.0, 1.0)
        learned = Subset(
            split.train.paths + split.validation.paths,
            split.train.labels + split.validation.labels,
        )
        total = len(learned) + len(split.test)
        report(0.0, "Reading or computing the features of the training photos")
        train = self.of_subset(learned, lambda done: report(done / total, "Training photos"))
        report(len(learned) / total, "Reading or computing the features of the test photos")
        test = self.of_subset(
            split.test, lambda done: report((len(learned) + done) / total, "Test photos")
        )
        return train[: len(split.train)], test

    def of_subset(self, subset: Subset, on_photos: Callable[[int], None]) -> np.ndarray:
        """Features [N, feature_dim] of subset in its order, from the cache when it has them."""
        file = feature_cache.cache_file(
            self.settings, self.spec, self.weights, subset.paths, self.runtime.name
        )
        features = feature_cache.read(file, subset.paths, self.spec.feature_dim)
        if features is None:
            features = self._extract(subset, on_photos)
            feature_cache.write(file, subset.paths, features)
        on_photos(len(subset))
        return features

    def extract(self, subset: Subset, on_photos: Callable[[int], None]) -> np.ndarray:
        """Features of subset computed now, bypassing the cache (its caller keeps them)."""
        return self._extract(subset, on_photos)

    def _extract(self, subset: Subset, on_photos: Callable[[int], None]) -> np.ndarray:
        chunks = [np.zeros((0, self.spec.feature_dim), np.float32)]
        decoded = batches.decode_batches(
            subset, self.spec.input_size, BATCH_SIZE, self.settings.max_image_pixels
        )
        for pixels in decoded:
            chunks.append(self._extractor()(pixels.astype(np.float32)))
            on_photos(sum(len(chunk) for chunk in chunks))
        return np.concatenate(chunks)

    def _extractor(self) -> Forward:
        """Training's own extractor (same layers, same runtime), so the cached features and a
        converted LiteRT model are shared with it; built only when something is not cached."""
        if self._forward is None:
            model, _, _ = build_model(self.spec.name, 2, 0.0, self.weights)
            self._forward = keras_forward(
                feature_extractor(model), self.spec.input_size, self.runtime, "features"
            )
        return self._forward
