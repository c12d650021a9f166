"""Scan an image folder into a Dataset: one sub-folder per class, unreadable files skipped."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from engine import images
from engine.errors import DatasetError, ImageError
from engine.settings import DEFAULT_MAX_IMAGE_PIXELS

MIN_IMAGES_PER_CLASS = 5  # fewer than this: a warning; a class with 0 good images is skipped

_SUPPORTED = ", ".join(images.IMAGE_EXTENSIONS)


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
        tally = Counter(self.labels)
        return {name: tally[index] for index, name in enumerate(self.class_names)}


def scan_dataset(root: str | Path, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Dataset:
    """Discover and validate an image folder (every image is checked once, in parallel).

    Sub-folders are classes (searched recursively); hidden entries and files directly in
    root (splits.csv, README.txt, ...) are ignored. Unreadable files, non-image files and
    names that are not valid UTF-8 end up in Dataset.skipped.

    Raises:
        DatasetError: folder missing / not a folder, or fewer than 2 classes with good images.
    """
    folder = _existing_folder(root)
    try:
        class_dirs = visible_subfolders(folder)
        if not class_dirs:
            raise DatasetError(_no_class_folders_message(folder))
        candidates, skipped = _find_candidates(folder, class_dirs)
    except OSError as error:
        raise DatasetError(
            f"cannot read {images.printable(folder)} ({error.strerror}); check its permissions."
        ) from error
    all_files = [path for files in candidates.values() for path in files]
    check = partial(_problem, max_pixels=max_pixels)
    with ThreadPoolExecutor() as pool:  # Pillow releases the GIL while decoding
        problems = dict(zip(all_files, pool.map(check, all_files), strict=True))

    class_names: list[str] = []
    paths: list[Path] = []
    labels: list[int] = []
    warnings: list[str] = []
    for class_dir, files in candidates.items():
        good = [path for path in files if problems[path] is None]
        skipped.extend(Skipped(relative_path(p, folder), problems[p]) for p in files if problems[p])
        if not good:
            reason = (
                "no readable images; class left out" if files else "empty folder; class left out"
            )
            skipped.append(Skipped(relative_path(class_dir, folder) + "/", reason))
            continue
        if len(good) < MIN_IMAGES_PER_CLASS:
            noun = "image" if len(good) == 1 else "images"
            warnings.append(
                f"class '{class_dir.name}' has only {len(good)} {noun} "
                f"({MIN_IMAGES_PER_CLASS} or more recommended)"
            )
        paths.extend(good)
        labels.extend([len(class_names)] * len(good))
        class_names.append(class_dir.name)

    if len(class_names) < 2:
        raise DatasetError(_too_few_classes_message(folder, class_names, skipped))
    return Dataset(
        root=folder,
        class_names=tuple(class_names),
        paths=tuple(paths),
        labels=tuple(labels),
        skipped=tuple(skipped),
        warnings=tuple(warnings),
    )


def _existing_folder(root: str | Path) -> Path:
    """root as an absolute path, or DatasetError when it is missing or a file."""
    folder = Path(root).expanduser().resolve()
    shown = images.printable(folder)
    if not folder.exists():
        raise DatasetError(
            f"dataset folder {shown} does not exist; check the path (a folder with one "
            "sub-folder per class is expected)."
        )
    if not folder.is_dir():
        raise DatasetError(
            f"{shown} is a file, not a folder; choose the folder that holds one sub-folder "
            "per class (zip archives are imported with the upload button)."
        )
    return folder


def is_hidden(name: str) -> bool:
    """Dot files and macOS archive debris, which are never part of a dataset."""
    return name.startswith(".") or name == "__MACOSX"


def visible_subfolders(folder: Path) -> list[Path]:
    """Sub-folders that can be classes (sorted; hidden ones left out)."""
    return sorted(p for p in folder.iterdir() if not is_hidden(p.name) and p.is_dir())


def _no_class_folders_message(folder: Path) -> str:
    shown = images.printable(folder)
    message = (
        f"{shown} has no class sub-folders; expected one sub-folder per class, e.g. "
        f"{shown}/cats/1.jpg and {shown}/dogs/1.jpg."
    )
    loose = sum(p.suffix.lower() in images.IMAGE_EXTENSIONS for p in folder.iterdir())
    if loose:
        message += f" It holds {loose} images directly; move them into one sub-folder per class."
    return message


def _find_candidates(
    folder: Path, class_dirs: list[Path]
) -> tuple[dict[Path, list[Path]], list[Skipped]]:
    """Image files per class folder (by extension, sorted) and what was left out by name."""
    candidates: dict[Path, list[Path]] = {}
    skipped: list[Skipped] = []
    for class_dir in class_dirs:
        reason = None
        if not _is_utf8(class_dir.name):
            reason = "folder name is not valid UTF-8; rename it"
        elif _leaves(class_dir, folder):
            reason = "a link to a folder outside the dataset folder; not followed"
        if reason:
            skipped.append(Skipped(relative_path(class_dir, folder) + "/", reason))
            continue
        files = []
        for directory, subfolders, file_names in os.walk(class_dir):
            subfolders[:] = [d for d in subfolders if not is_hidden(d)]
            files.extend(Path(directory, n) for n in file_names if not is_hidden(n))
        candidates[class_dir] = []
        for path in sorted(files):
            if not _is_utf8(path.relative_to(class_dir)):
                reason = "file name is not valid UTF-8; rename the file"
            elif _leaves(path, folder):
                reason = "a link to a file outside the dataset folder; not followed"
            elif path.suffix.lower() not in images.IMAGE_EXTENSIONS:
                reason = f"not a supported image type (supported: {_SUPPORTED})"
            else:
                candidates[class_dir].append(path)
                continue
            skipped.append(Skipped(relative_path(path, folder), reason))
    return candidates, skipped


def _leaves(path: Path, root: Path) -> bool:
    """Whether path (a link, or under one) resolves outside root: a dataset is what its folder
    holds, and a link must not pull in files the allowed roots keep out."""
    try:
        return not path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a loop of links
        return True


def _is_utf8(path: str | Path) -> bool:
    # Lone surrogates stand for undecodable bytes; such names would break JSON, tf.string
    # keys and Streamlit later, so they are skipped with a reason instead.
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _problem(path: Path, max_pixels: int) -> str | None:
    """None when the image decodes, else the reason it cannot be used."""
    try:
        images.check(path, max_pixels)
    except ImageError as error:
        return str(error)
    return None


def relative_path(path: Path, root: Path) -> str:
    """path relative to root, '/'-separated and printable (the form split files use)."""
    return images.printable(path.relative_to(root).as_posix())


def _too_few_classes_message(folder: Path, class_names: list[str], skipped: list[Skipped]) -> str:
    if class_names:
        found = f"found 1 class ('{class_names[0]}') with images"
    else:
        found = "found no class sub-folder with readable images"
    message = (
        f"{found} in {images.printable(folder)}; a dataset needs at least 2 class sub-folders, "
        "each holding images (e.g. cats/ and dogs/)."
    )
    if skipped:
        message += (
            f" {len(skipped)} files or folders were left out, e.g. {skipped[0].path}: "
            f"{skipped[0].reason}"
        )
    return message
