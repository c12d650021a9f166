"""Image-folder datasets: discover, validate, split, stream batches, import zips safely."""

from __future__ import annotations

import csv
import os
import posixpath
import re
import secrets
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import tensorflow as tf

from engine import images
from engine.errors import ArchiveError, DatasetError, ImageError, PathNotAllowedError
from engine.settings import Settings

MIN_IMAGES_PER_CLASS = 5  # fewer than this: a warning; a class with 0 good images is skipped

# Scanning decodes every image at this size: JPEG draft mode keeps it fast, yet the
# whole file is still read, so truncated and corrupt files are caught.
_SCAN_SIZE = 32
_SPLIT_NAMES = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}
_SUPPORTED = ", ".join(images.IMAGE_EXTENSIONS)
_ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_COPY_CHUNK = 1 << 16
_WRAPPED_IMAGE_ERROR = re.compile(r"ImageError: ([^\n]+)")
_MB = 1024 * 1024


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
    notes: tuple[str, ...] = ()  # how the split was made, e.g. "3 rows name missing files"


@dataclass(frozen=True)
class ZipImport:
    """Where an imported archive was extracted, and the entries that were left out."""

    folder: Path  # the folder holding the class sub-folders
    skipped: tuple[Skipped, ...]  # e.g. nested archives, which are never extracted


def scan_dataset(root: str | Path, max_pixels: int = 50_000_000) -> Dataset:
    """Discover and validate an image folder (every image is fully decoded once, in parallel).

    Sub-folders are classes (searched recursively); hidden entries and files directly in
    root (splits.csv, README.txt, ...) are ignored. Unreadable files, non-image files and
    names that are not valid UTF-8 end up in Dataset.skipped.

    Raises:
        DatasetError: folder missing / not a folder, or fewer than 2 classes with good images.
    """
    folder = _existing_folder(root)
    try:
        class_dirs = _visible_subfolders(folder)
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
        skipped.extend(Skipped(_relative(p, folder), problems[p]) for p in files if problems[p])
        if not good:
            reason = (
                "no readable images; class left out" if files else "empty folder; class left out"
            )
            skipped.append(Skipped(_relative(class_dir, folder) + "/", reason))
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


def split_dataset(
    dataset: Dataset, validation_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0
) -> Split:
    """Stratified, seeded split; every class keeps at least one training image.

    Each class gives round(n * fraction) images to test and validation, at least one each
    when the fraction is above 0 and the class has images to spare (test comes first).

    Raises:
        DatasetError: a fraction is negative or the two add up to 1 or more.
    """
    _check_fractions(validation_fraction, test_fraction)
    train, test, validation = _stratified_parts(
        dataset.labels, (test_fraction, validation_fraction), seed
    )
    return Split(
        class_names=dataset.class_names,
        train=_take(dataset, train),
        validation=_take(dataset, validation),
        test=_take(dataset, test),
    )


def read_split_file(
    dataset: Dataset, csv_path: str | Path, validation_fraction: float = 0.1, seed: int = 0
) -> Split:
    """Split from a `path,label,split` CSV (paths relative to dataset.root).

    split values: train, validation (or val), test. With no validation rows, a stratified,
    seeded validation part is carved out of train. Rows naming skipped files are dropped.
    Rows naming files that do not exist are ignored and counted in Split.notes. A label
    that differs from the file's folder is used when it is one of the classes.

    Raises:
        DatasetError: unreadable CSV, missing columns, unknown split value or label, no test rows.
    """
    _check_fractions(validation_fraction, 0.0)
    csv_path = Path(csv_path)
    csv_name = images.printable(csv_path.name)
    chosen, tally = _assign_rows(dataset, _read_split_rows(csv_path), csv_name)
    for part in ("train", "test"):
        if not chosen[part]:
            raise DatasetError(
                f"{csv_name} has no {part} rows for images of this dataset; add rows with "
                f"split={part} or use a random split instead."
            )
    notes = _split_file_notes(csv_name, tally, unlisted=len(dataset.paths) - tally["listed"])
    train = _subset_from(dataset, chosen["train"])
    validation = _subset_from(dataset, chosen["validation"])
    if not validation:
        kept, carved = _stratified_parts(train.labels, (validation_fraction,), seed)
        train, validation = _take(train, kept), _take(train, carved)
        notes.append(
            f"{csv_name} has no validation rows: {len(validation)} training images were set "
            f"aside for validation ({validation_fraction:.0%} of each class, seed {seed})."
        )
    return Split(
        class_names=dataset.class_names,
        train=train,
        validation=validation,
        test=_subset_from(dataset, chosen["test"]),
        notes=tuple(notes),
    )


def _assign_rows(
    dataset: Dataset, rows: list[tuple[int, dict[str, str]]], csv_name: str
) -> tuple[dict[str, dict[int, int]], Counter[str]]:
    """{part: {dataset index: label}} from the CSV rows, and counts of rows per outcome."""
    index_of = {_relative(path, dataset.root): i for i, path in enumerate(dataset.paths)}
    class_index = {name: i for i, name in enumerate(dataset.class_names)}
    chosen: dict[str, dict[int, int]] = {"train": {}, "validation": {}, "test": {}}
    first_line: dict[int, int] = {}
    tally: Counter[str] = Counter()
    for line, row in rows:
        part = _SPLIT_NAMES.get(row["split"].strip().lower())
        if part is None:
            raise DatasetError(
                f"{csv_name} line {line}: split {row['split']!r} is not train, validation "
                "(or val) or test; fix the value."
            )
        key = posixpath.normpath(row["path"].strip().replace("\\", "/"))
        index = index_of.get(key)
        if index is None:
            tally["unusable" if (dataset.root / key).exists() else "missing"] += 1
            continue
        label = row["label"].strip()
        if label not in class_index:
            raise DatasetError(
                f"{csv_name} line {line}: label {label!r} is not one of the classes "
                f"({', '.join(dataset.class_names)}); fix the label or the folder names."
            )
        if index in first_line:
            raise DatasetError(
                f"{csv_name} line {line}: {key} is listed twice (first on line "
                f"{first_line[index]}); each photo belongs to exactly one split."
            )
        first_line[index] = line
        tally["listed"] += 1
        tally["relabelled"] += class_index[label] != dataset.labels[index]
        chosen[part][index] = class_index[label]
    return chosen, tally


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
    With shuffle=False batches follow subset order; with shuffle=True the order is seeded and
    changes every epoch. A file that can no longer be read raises a tf.errors.OpError when its
    batch is built; unwrap_pipeline_error turns it back into the ImageError naming the file.
    """
    # Bytes, not str: file names that are not valid UTF-8 cannot become tf.string otherwise.
    paths = tf.constant([os.fsencode(path) for path in subset.paths], dtype=tf.string)
    labels = tf.constant(subset.labels, dtype=tf.int32)
    load = partial(_load_for_pipeline, size=image_size, max_pixels=max_pixels)

    def decode(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        pixels = tf.numpy_function(load, [path], tf.uint8, name="load_image")
        pixels.set_shape((image_size, image_size, 3))
        return tf.cast(pixels, tf.float32), label

    pipeline = tf.data.Dataset.from_tensor_slices((paths, labels))
    if shuffle:
        # Only paths sit in the buffer, so it can hold the whole subset (a full shuffle).
        pipeline = pipeline.shuffle(max(1, len(subset)), seed=seed, reshuffle_each_iteration=True)
    # deterministic=True even when shuffling: the same seed gives the same batches.
    pipeline = pipeline.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return pipeline.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def decode_batches(
    subset: Subset, image_size: int, batch_size: int, max_pixels: int = 50_000_000
) -> Iterator[np.ndarray]:
    """Uint8 image batches [B,S,S,3] of subset, in order, for inference (nothing when empty).

    Each batch is decoded by every core at once, and only when it is asked for, so between
    model calls: decoding while the model runs (tf.data prefetch) slows the model's own
    multi-threaded ops far more than it saves (bench/inference.py). One batch is in memory.

    Raises:
        ImageError: a file cannot be read any more; the message names it.
    """
    load = partial(_load_for_pipeline, size=image_size, max_pixels=max_pixels)
    with ThreadPoolExecutor(thread_name_prefix="decode") as pool:  # Pillow releases the GIL
        for start in range(0, len(subset), batch_size):
            yield np.stack(list(pool.map(load, subset.paths[start : start + batch_size])))


def unwrap_pipeline_error(error: tf.errors.OpError) -> ImageError | None:
    """The ImageError raised inside a make_pipeline decode, without TensorFlow's wrapping.

    Returns None when the error did not come from decoding an image.
    """
    found = _WRAPPED_IMAGE_ERROR.search(error.message or "")
    return ImageError(found.group(1).strip()) if found else None


def import_zip(archive: str | Path, settings: Settings, *, name: str | None = None) -> Path:
    """Extract a dataset .zip into a new folder under settings.uploads_dir and return it.

    The returned folder is the one holding the class sub-folders (a single top-level wrapper
    folder is looked through). Entries with absolute paths or '..' and symlinks are refused,
    nested archives are skipped, and the total size / file count are capped
    (settings.max_archive_mb, settings.max_archive_files). Nothing is written elsewhere.
    `name` is what the user calls the archive (e.g. the uploaded file's name, when archive
    is a temporary copy); messages and the new folder's name use it.

    Raises:
        ArchiveError: not a zip, unsafe entry, too big, or no class folders inside.
    """
    return import_zip_report(archive, settings, name=name).folder


def import_zip_report(
    archive: str | Path, settings: Settings, *, name: str | None = None
) -> ZipImport:
    """import_zip, also returning the entries left out (nested archives) to show the user.

    Raises:
        ArchiveError: not a zip, unsafe entry, too big, or no class folders inside.
    """
    archive = Path(archive)
    name = images.printable(Path(name or archive).name)
    with _open_zip(archive, name) as bundle:
        members, skipped = _plan_extraction(bundle, name, settings)
        declared = sum(info.file_size for info, _ in members)
        if declared > settings.max_archive_mb * _MB:
            raise ArchiveError(_too_big_message(name, f"{declared / _MB:.1f} MB", settings))
        uploads = settings.uploads_dir.resolve()
        uploads.mkdir(parents=True, exist_ok=True)
        # Extract into a hidden sibling and rename at the end, so a failed import leaves
        # nothing behind and a half-extracted folder is never visible as a dataset.
        staging = Path(tempfile.mkdtemp(prefix=".importing-", dir=uploads))
        try:
            _extract(bundle, members, staging, name, settings)
            dataset_dir = _dataset_folder(staging, name)
            final = uploads / _fresh_name(name)
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return ZipImport(folder=final / dataset_dir.relative_to(staging), skipped=tuple(skipped))


def resolve_user_path(text: str, settings: Settings) -> Path:
    """Resolve a typed dataset path; it must exist and stay under settings.data_roots.

    `~` is expanded, relative paths start at the working directory and symlinks are
    followed before the check, so a link cannot point out of the allowed roots.

    Raises:
        PathNotAllowedError: outside every allowed root (message lists the roots).
        DatasetError: does not exist or is not a folder.
    """
    typed = text.strip()
    if not typed:
        raise DatasetError(
            "no folder given; type the path of a folder with one sub-folder per class."
        )
    path = Path(typed).expanduser().resolve()
    roots = settings.data_roots
    if not any(path.is_relative_to(root) for root in roots):
        raise PathNotAllowedError(
            f"{path} is outside the allowed data folders ({', '.join(map(str, roots))}). "
            "Choose a folder under one of them, or allow more by setting TLAB_DATA_ROOTS to "
            f"a list of folders separated by '{os.pathsep}'."
        )
    if not path.exists():
        raise DatasetError(f"{path} does not exist; check the spelling of the path.")
    if not path.is_dir():
        raise DatasetError(
            f"{path} is a file, not a folder; give the folder that holds one sub-folder per class."
        )
    return path


# --- scanning -------------------------------------------------------------------------


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


def _is_hidden(name: str) -> bool:
    """Dot files and macOS archive debris, which are never part of a dataset."""
    return name.startswith(".") or name == "__MACOSX"


def _visible_subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not _is_hidden(p.name) and p.is_dir())


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
        if not _is_utf8(class_dir.name):
            skipped.append(
                Skipped(
                    _relative(class_dir, folder) + "/", "folder name is not valid UTF-8; rename it"
                )
            )
            continue
        files = []
        for directory, subfolders, file_names in os.walk(class_dir):
            subfolders[:] = [d for d in subfolders if not _is_hidden(d)]
            files.extend(Path(directory, n) for n in file_names if not _is_hidden(n))
        candidates[class_dir] = []
        for path in sorted(files):
            if not _is_utf8(path.relative_to(class_dir)):
                reason = "file name is not valid UTF-8; rename the file"
            elif path.suffix.lower() not in images.IMAGE_EXTENSIONS:
                reason = f"not a supported image type (supported: {_SUPPORTED})"
            else:
                candidates[class_dir].append(path)
                continue
            skipped.append(Skipped(_relative(path, folder), reason))
    return candidates, skipped


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
        images.load_array(path, _SCAN_SIZE, max_pixels)
    except ImageError as error:
        return str(error)
    return None


def _relative(path: Path, root: Path) -> str:
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


# --- splitting ------------------------------------------------------------------------


def _check_fractions(validation_fraction: float, test_fraction: float) -> None:
    if validation_fraction < 0 or test_fraction < 0 or validation_fraction + test_fraction >= 1:
        raise DatasetError(
            f"validation fraction {validation_fraction} and test fraction {test_fraction} must "
            "each be 0 or more and add up to less than 1 (e.g. 0.1 and 0.2)."
        )


def _stratified_parts(
    labels: Sequence[int], fractions: tuple[float, ...], seed: int
) -> list[np.ndarray]:
    """Indices of [rest, part 1, part 2, ...] per fraction, stratified by label, seeded.

    Every class keeps at least one index in rest; a part with a fraction above 0 gets at
    least one index of each class that can spare it, earlier parts first.
    """
    rng = np.random.default_rng(seed)
    label_array = np.asarray(labels, dtype=np.int64)
    parts: list[list[np.ndarray]] = [[] for _ in range(len(fractions) + 1)]
    for label in np.unique(label_array):
        members = rng.permutation(np.flatnonzero(label_array == label))
        start = 0
        for number, fraction in enumerate(fractions, start=1):
            wanted = int(len(members) * fraction + 0.5)
            if fraction > 0:
                wanted = max(wanted, 1)
            taken = min(wanted, len(members) - 1 - start)
            parts[number].append(members[start : start + taken])
            start += taken
        parts[0].append(members[start:])
    return [np.sort(np.concatenate(chunks)) if chunks else np.array([], int) for chunks in parts]


def _take(source: Dataset | Subset, indices: np.ndarray) -> Subset:
    """The images of source (a dataset or a subset) at the given positions."""
    return Subset(
        paths=tuple(source.paths[i] for i in indices),
        labels=tuple(source.labels[i] for i in indices),
    )


def _subset_from(dataset: Dataset, labels_by_index: dict[int, int]) -> Subset:
    """Subset in dataset order from {dataset index: label} (labels may come from a CSV)."""
    ordered = sorted(labels_by_index)
    return Subset(
        paths=tuple(dataset.paths[i] for i in ordered),
        labels=tuple(labels_by_index[i] for i in ordered),
    )


def _read_split_rows(csv_path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, {path, label, split}) per data row; DatasetError when unreadable."""
    shown = images.printable(csv_path)
    columns = ("path", "label", "split")
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = {(column or "").strip().lower(): column for column in reader.fieldnames or []}
            absent = [column for column in columns if column not in header]
            if absent:
                raise DatasetError(
                    f"split file {shown} lacks the column(s) {', '.join(absent)}; its first "
                    "line must be the header path,label,split."
                )
            return [
                (reader.line_num, {column: row[header[column]] or "" for column in columns})
                for row in reader
            ]
    except FileNotFoundError as error:
        raise DatasetError(f"split file {shown} does not exist; check the path.") from error
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(
            f"cannot read split file {shown} ({error}); expected a UTF-8 CSV with the header "
            "path,label,split."
        ) from error


def _split_file_notes(csv_name: str, tally: Counter[str], unlisted: int) -> list[str]:
    """What the user should know about rows that were ignored or changed a label."""
    notes = []
    if tally["missing"]:
        notes.append(
            f"{tally['missing']} rows of {csv_name} name files that do not exist; ignored."
        )
    if tally["unusable"]:
        notes.append(
            f"{tally['unusable']} rows of {csv_name} name files skipped while scanning "
            "(unreadable or not images); ignored."
        )
    if tally["relabelled"]:
        notes.append(
            f"{tally['relabelled']} rows of {csv_name} give a label different from the "
            "file's folder; the CSV label was used."
        )
    if unlisted:
        notes.append(f"{unlisted} images of the folder are not in {csv_name}; left out.")
    return notes


# --- tf.data --------------------------------------------------------------------------


def _load_for_pipeline(path: bytes | str | Path, size: int, max_pixels: int) -> np.ndarray:
    """Decode one image for a batch; errors name the full path and what to do."""
    file_path = os.fsdecode(path)
    try:
        return images.load_array(file_path, size, max_pixels)
    except ImageError as error:
        raise ImageError(
            f"{error} (file: {images.printable(file_path)}; it changed after the dataset was "
            "scanned, so scan the folder again)"
        ) from error


# --- zip import -----------------------------------------------------------------------


def _open_zip(archive: Path, name: str) -> zipfile.ZipFile:
    if not archive.is_file():
        raise ArchiveError(f"{name} does not exist or is not a file; upload the .zip again.")
    try:
        if not zipfile.is_zipfile(archive):
            raise ArchiveError(
                f"{name} is not a zip archive (its content is not in ZIP format); expected a "
                ".zip made with e.g. 'Compress' (macOS) or 'Send to > Compressed folder' (Windows)."
            )
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError, ValueError) as error:
        raise ArchiveError(
            f"{name} is a damaged zip archive ({error}); create it again."
        ) from error


def _plan_extraction(
    bundle: zipfile.ZipFile, name: str, settings: Settings
) -> tuple[list[tuple[zipfile.ZipInfo, tuple[str, ...]]], list[Skipped]]:
    """Check every entry before anything is written: (entry, safe path parts) to extract."""
    entries = bundle.infolist()
    if len(entries) > settings.max_archive_files:
        raise ArchiveError(
            f"{name} holds {len(entries)} entries; the limit is {settings.max_archive_files} "
            "(TLAB_MAX_ARCHIVE_FILES). Split the dataset or raise the limit."
        )
    members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]] = []
    skipped: list[Skipped] = []
    for info in entries:
        parts = _safe_parts(info, name)
        if info.is_dir() or not parts or any(_is_hidden(part) for part in parts):
            continue
        if parts[-1].lower().endswith(_ARCHIVE_SUFFIXES):
            skipped.append(Skipped("/".join(parts), "archive inside the archive; not extracted"))
            continue
        members.append((info, parts))
    return members, skipped


def _safe_parts(info: zipfile.ZipInfo, name: str) -> tuple[str, ...]:
    """The entry's path parts; ArchiveError for entries that could write outside the folder."""
    entry = info.filename.replace("\\", "/")  # Windows tools sometimes write backslashes
    refuse = f"{name} is refused: entry {entry!r}"
    fix = "Create the zip again from inside the dataset folder."
    if entry.startswith("/") or _DRIVE_LETTER.match(entry):
        raise ArchiveError(f"{refuse} has an absolute path. {fix}")
    parts = tuple(part for part in entry.split("/") if part not in ("", "."))
    if ".." in parts:
        raise ArchiveError(f"{refuse} climbs out of the folder with '..'. {fix}")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveError(f"{refuse} is a symbolic link. Create the zip again without links.")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{refuse} is password-protected. Create the zip without a password.")
    return parts


def _too_big_message(name: str, size: str, settings: Settings) -> str:
    return (
        f"{name} expands to {size}; the limit is {settings.max_archive_mb} MB "
        "(TLAB_MAX_ARCHIVE_MB). Upload a smaller dataset or raise the limit."
    )


def _extract(
    bundle: zipfile.ZipFile,
    members: list[tuple[zipfile.ZipInfo, tuple[str, ...]]],
    staging: Path,
    name: str,
    settings: Settings,
) -> None:
    """Copy members under staging, counting real bytes: headers may understate sizes."""
    limit_bytes = settings.max_archive_mb * _MB
    written = 0
    try:
        for info, parts in members:
            target = staging.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(info) as source, open(target, "wb") as sink:
                while chunk := source.read(_COPY_CHUNK):
                    written += len(chunk)
                    if written > limit_bytes:
                        raise ArchiveError(
                            _too_big_message(
                                name, f"more than {settings.max_archive_mb} MB", settings
                            )
                        )
                    sink.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as error:
        raise ArchiveError(f"{name} could not be extracted ({error}); create it again.") from error


def _dataset_folder(staging: Path, name: str) -> Path:
    """The folder holding class sub-folders, looking through single wrapper folders."""
    folder = staging
    while True:
        subfolders = _visible_subfolders(folder)
        # A lone sub-folder is a wrapper when it holds folders but no images of its own;
        # otherwise it is a (single) class folder and scanning will say so.
        if len(subfolders) != 1 or not _visible_subfolders(subfolders[0]):
            break
        if any(p.suffix.lower() in images.IMAGE_EXTENSIONS for p in subfolders[0].iterdir()):
            break
        folder = subfolders[0]
    if not any(_holds_images(sub) for sub in _visible_subfolders(folder)):
        raise ArchiveError(
            f"{name} has no class sub-folders with images; expected e.g. cats/1.jpg and "
            "dogs/1.jpg inside the zip (optionally inside one top-level folder)."
        )
    return folder


def _holds_images(folder: Path) -> bool:
    return any(
        Path(name).suffix.lower() in images.IMAGE_EXTENSIONS
        for _, _, names in os.walk(folder)
        for name in names
    )


def _fresh_name(archive_name: str) -> str:
    """<archive stem>-<time>-<random>, limited to characters safe on every filesystem."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(archive_name).stem).strip("._")[:40]
    return f"{stem or 'dataset'}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
