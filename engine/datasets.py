"""Image-folder datasets: discover, validate, split, stream with tf.data, import zips safely."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from engine.errors import ArchiveError, DatasetError, PathNotAllowedError  # noqa: F401
from engine.settings import Settings

MIN_IMAGES_PER_CLASS = 5  # fewer than this: a warning; a class with 0 good images is skipped


@dataclass(frozen=True)
class Skipped:
    """A file or class folder left out of the dataset, and why (shown to the user)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Dataset:
    """A validated image folder: one sub-folder per class, good images only."""

    root: Path
    class_names: tuple[str, ...]  # sorted sub-folder names that hold >= 1 good image
    paths: tuple[Path, ...]  # absolute paths of good images
    labels: tuple[int, ...]  # index into class_names, parallel to paths
    skipped: tuple[Skipped, ...]  # unreadable files and empty class folders
    warnings: tuple[str, ...]  # e.g. "class 'x' has only 2 images (5 or more recommended)"

    def counts(self) -> dict[str, int]:
        """Number of good images per class, in class order."""
        raise NotImplementedError


@dataclass(frozen=True)
class Subset:
    """Paths and integer labels of one split part."""

    paths: tuple[Path, ...]
    labels: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class Split:
    """Train / validation / test parts of one dataset; test is never used for any choice."""

    class_names: tuple[str, ...]
    train: Subset
    validation: Subset
    test: Subset


def scan_dataset(root: str | Path, max_pixels: int = 50_000_000) -> Dataset:
    """Discover and validate an image folder (every image is fully decoded once, in parallel).

    Raises:
        DatasetError: folder missing / not a folder, or fewer than 2 classes with good images.
    """
    raise NotImplementedError


def split_dataset(
    dataset: Dataset, validation_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0
) -> Split:
    """Stratified, seeded split; every class keeps at least one training image."""
    raise NotImplementedError


def read_split_file(
    dataset: Dataset, csv_path: str | Path, validation_fraction: float = 0.1, seed: int = 0
) -> Split:
    """Split from a `path,label,split` CSV (paths relative to dataset.root).

    split values: train, validation (or val), test. With no validation rows, a stratified,
    seeded validation part is carved out of train. Rows naming skipped files are dropped.

    Raises:
        DatasetError: unreadable CSV, missing columns, unknown split value or label, no test rows.
    """
    raise NotImplementedError


def make_pipeline(
    subset: Subset,
    image_size: int,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    max_pixels: int = 50_000_000,
) -> tf.data.Dataset:
    """Streaming batches of (float32 images [B,S,S,3] in [0,255], int32 labels [B]).

    Decoding (engine.images, in parallel) happens per batch, so the dataset never sits in memory.
    """
    raise NotImplementedError


def import_zip(archive: str | Path, settings: Settings) -> Path:
    """Extract a dataset .zip into a new folder under settings.uploads_dir and return it.

    The returned folder is the one holding the class sub-folders (a single top-level wrapper
    folder is looked through). Entries with absolute paths or '..' and symlinks are refused,
    nested archives are skipped, and the total size / file count are capped
    (settings.max_archive_mb, settings.max_archive_files). Nothing is written elsewhere.

    Raises:
        ArchiveError: not a zip, unsafe entry, too big, or no class folders inside.
    """
    raise NotImplementedError


def resolve_user_path(text: str, settings: Settings) -> Path:
    """Resolve a typed dataset path; it must exist and stay under settings.data_roots.

    Raises:
        PathNotAllowedError: outside every allowed root (message lists the roots).
        DatasetError: does not exist or is not a folder.
    """
    raise NotImplementedError
