"""The health report of a dataset (balance, copies and leakage across the split, odd photos),
typed and checked when read back (saved with every run as health.json)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.health.balance import Balance
from engine.schema import Fields, RecordError

FORMAT = 1
KINDS = ("exact", "near")  # same bytes; or the same picture re-encoded, resized or cropped
PARTS = ("train", "validation", "test", "")  # "": not in the split (a split file left it out)


@dataclass(frozen=True)
class PhotoRef:
    """One photo as the report names it: path under the dataset folder, label, split part."""

    path: str
    label: str
    part: str

    def to_dict(self) -> dict:
        return {"path": self.path, "label": self.label, "part": self.part}

    @classmethod
    def from_dict(cls, data: object, where: str) -> PhotoRef:
        fields = Fields(data, where)
        part = fields.text("part")
        if part not in PARTS:
            raise RecordError(f"{where}: part {part!r} is not train, validation or test")
        return cls(fields.text("path"), fields.text("label"), part)


@dataclass(frozen=True)
class DuplicateGroup:
    """Photos that are copies of one another."""

    kind: str  # one of KINDS
    photos: tuple[PhotoRef, ...]

    @property
    def crosses_split(self) -> bool:
        """Copies in different parts: the model is checked on photos it has seen (leakage)."""
        return len({photo.part for photo in self.photos if photo.part}) > 1

    @property
    def test_photos_leaked(self) -> int:
        """Test photos of the group whose copy the model trained or validated on."""
        parts = [photo.part for photo in self.photos]
        seen = "train" in parts or "validation" in parts
        return parts.count("test") if seen else 0

    @property
    def labels_disagree(self) -> bool:
        """Copies filed under different classes: at least one label is wrong."""
        return len({photo.label for photo in self.photos}) > 1

    def to_dict(self) -> dict:
        return {"kind": self.kind, "photos": [photo.to_dict() for photo in self.photos]}

    @classmethod
    def from_dict(cls, data: object, where: str) -> DuplicateGroup:
        fields = Fields(data, where)
        kind = fields.text("kind")
        if kind not in KINDS:
            raise RecordError(f"{where}: kind {kind!r} is not exact or near")
        photos = tuple(fields.items("photos", PhotoRef.from_dict))
        if len(photos) < 2:
            raise RecordError(f"{where} has fewer than 2 photos")
        return cls(kind, photos)


@dataclass(frozen=True)
class Oddity:
    """A photo worth a second look, and why."""

    photo: PhotoRef
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {**self.photo.to_dict(), "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: object, where: str) -> Oddity:
        return cls(PhotoRef.from_dict(data, where), Fields(data, where).texts("reasons"))


@dataclass(frozen=True)
class HealthReport:
    """What the health check found in one dataset, under one split."""

    root: str
    split_source: str  # e.g. "splits.csv" or "the engine's split (seed 0)"
    num_photos: int
    balance: Balance
    groups: tuple[DuplicateGroup, ...]
    oddities: tuple[Oddity, ...]
    features_checked: bool  # near copies confirmed with MobileNetV2 features (else hashes only)
    notes: tuple[str, ...] = ()

    @property
    def leaks(self) -> tuple[DuplicateGroup, ...]:
        """Groups whose copies sit in different parts of the split."""
        return tuple(group for group in self.groups if group.crosses_split)

    @property
    def test_photos_leaked(self) -> int:
        return sum(group.test_photos_leaked for group in self.groups)

    def warnings(self) -> list[str]:
        """One sentence per problem found, most serious first (empty when all is well)."""
        found = []
        leaked = self.test_photos_leaked
        if leaked:
            found.append(
                f"{_count(len(self.leaks), 'group')} of copies cross the split: "
                f"{_count(leaked, 'test photo')} {'has' if leaked == 1 else 'have'} a copy the "
                "model trains or validates on, so the test accuracy is too optimistic."
            )
        elif self.leaks:
            found.append(
                f"{_count(len(self.leaks), 'group')} of copies "
                f"{'sits' if len(self.leaks) == 1 else 'sit'} in both training and "
                "validation: the validation loss that picks when to stop is a little optimistic "
                "(the test photos are not affected)."
            )
        conflicts = sum(group.labels_disagree for group in self.groups)
        if conflicts:
            found.append(
                f"{_count(conflicts, 'group')} of copies {'is' if conflicts == 1 else 'are'} "
                "filed under different classes: "
                "one of each pair of labels is wrong."
            )
        if self.balance.warning():
            found.append(self.balance.warning())
        return found

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "root": self.root,
            "split_source": self.split_source,
            "num_photos": self.num_photos,
            "balance": self.balance.to_dict(),
            "features_checked": self.features_checked,
            "groups": [group.to_dict() for group in self.groups],
            "oddities": [oddity.to_dict() for oddity in self.oddities],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "health.json") -> HealthReport:
        """Raises RecordError naming the field that is missing, mistyped or from a newer version."""
        fields = Fields(data, where)
        version = fields.count("format")
        if version > FORMAT:
            raise RecordError(
                f"{where} was written by a newer Transfer Lab (format {version}); update to read it"
            )
        return cls(
            root=fields.text("root"),
            split_source=fields.text("split_source"),
            num_photos=fields.count("num_photos"),
            balance=Balance.from_dict(fields.data.get("balance"), f"{where}.balance"),
            groups=tuple(fields.items("groups", DuplicateGroup.from_dict)),
            oddities=tuple(fields.items("oddities", Oddity.from_dict)),
            features_checked=fields.flag("features_checked"),
            notes=fields.texts("notes"),
        )


def _count(number: int, noun: str) -> str:
    """'1 group', '3 groups'."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
