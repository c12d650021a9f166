"""Which photos a run trained, validated and tested on: paths, labels and content hashes.

Saved with every run, so a later evaluation can use the run's own test photos and can tell
when another split shares photos (even copies under another name) with the training ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from engine import images
from engine.data.split import Split, Subset
from engine.errors import DatasetError
from engine.schema import Fields, RecordError

PARTS = ("train", "validation", "test")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RecordedPhoto:
    """One photo of a split: where it is under the dataset root, its class and its content."""

    path: str  # relative to the dataset root, '/'-separated
    label: str
    sha1: str  # of the file's bytes

    def to_dict(self) -> dict:
        return {"path": self.path, "label": self.label, "sha1": self.sha1}

    @classmethod
    def from_dict(cls, data: object, where: str) -> RecordedPhoto:
        fields = Fields(data, where)
        return cls(fields.text("path"), fields.text("label"), fields.text("sha1"))


@dataclass(frozen=True)
class SplitRecord:
    """The photos of each part of a run's split (split.json in the run folder)."""

    root: str
    parts: dict[str, tuple[RecordedPhoto, ...]]

    @property
    def digest(self) -> str:
        """One hash of the whole split (every part, path, label and content), to compare runs."""
        text = "\n".join(
            f"{part}\t{photo.path}\t{photo.label}\t{photo.sha1}"
            for part in PARTS
            for photo in sorted(self.parts[part], key=lambda photo: photo.path)
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def counts(self) -> dict[str, int]:
        return {part: len(self.parts[part]) for part in PARTS}

    def training_hashes(self) -> set[str]:
        """Content hashes of every photo the model learned from or was tuned on."""
        return {photo.sha1 for part in ("train", "validation") for photo in self.parts[part]}

    def subset(self, part: str, class_names: tuple[str, ...], root: Path | None = None) -> Subset:
        """The recorded photos of one part as a Subset under root (default: the recorded root).

        Raises:
            DatasetError: none of the part's photos is there any more.
        """
        folder = Path(root or self.root)
        index = {name: i for i, name in enumerate(class_names)}
        photos = [photo for photo in self.parts[part] if (folder / photo.path).is_file()]
        if self.parts[part] and not photos:
            raise DatasetError(
                f"none of the run's {len(self.parts[part])} {part} photos is in "
                f"{images.printable(folder)} any more; give the folder it was trained on with "
                "--data, or a split file with --split-file."
            )
        return Subset(
            tuple(folder / photo.path for photo in photos),
            tuple(index[photo.label] for photo in photos),
        )

    def missing(self, part: str, root: Path | None = None) -> int:
        """How many recorded photos of a part are no longer under root."""
        folder = Path(root or self.root)
        return sum(not (folder / photo.path).is_file() for photo in self.parts[part])

    def to_dict(self) -> dict:
        return {
            "root": self.root,
            "digest": self.digest,
            **{part: [photo.to_dict() for photo in self.parts[part]] for part in PARTS},
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "split.json") -> SplitRecord:
        fields = Fields(data, where)
        parts = {part: tuple(fields.items(part, RecordedPhoto.from_dict)) for part in PARTS}
        record = cls(fields.text("root"), parts)
        if fields.text("digest") != record.digest:
            raise RecordError(f"{where} does not match its own digest (edited or damaged)")
        return record


def file_digest(path: Path) -> str:
    """SHA-1 of a file's bytes, read in chunks."""
    digest = hashlib.sha1()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_digests(paths: Iterable[Path]) -> list[str]:
    """file_digest of every path, on every core (hashlib releases the GIL)."""
    with ThreadPoolExecutor(thread_name_prefix="hash") as pool:
        return list(pool.map(file_digest, paths))


def record_split(split: Split, root: Path) -> SplitRecord:
    """The SplitRecord of split, whose photos lie under root.

    Raises:
        DatasetError: a photo cannot be read any more.
    """
    parts = {}
    for part in PARTS:
        subset: Subset = getattr(split, part)
        try:
            hashes = file_digests(subset.paths)
        except OSError as error:
            raise DatasetError(
                f"cannot read {images.printable(error.filename or '')} to record the split "
                f"({error.strerror}); scan the folder again."
            ) from error
        parts[part] = tuple(
            RecordedPhoto(
                images.printable(Path(path).relative_to(root).as_posix()),
                split.class_names[label],
                sha1,
            )
            for path, label, sha1 in zip(subset.paths, subset.labels, hashes, strict=True)
        )
    return SplitRecord(str(root), parts)


def overlap(record: SplitRecord, subset: Subset) -> int:
    """How many photos of subset (by content) the recorded run trained or validated on."""
    trained = record.training_hashes()
    return sum(sha1 in trained for sha1 in file_digests(subset.paths))
