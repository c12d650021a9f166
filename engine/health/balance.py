"""Class balance: photos per class, how lopsided they are, and the weights that even them out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from engine.schema import Fields, RecordError

IMBALANCE_RATIO = 3.0  # largest class / smallest class from which a warning is shown


@dataclass(frozen=True)
class Balance:
    """Photos per class and the ratio of the largest class to the smallest."""

    counts: dict[str, int]

    @property
    def ratio(self) -> float:
        """Largest class over smallest (inf when a class has no photos)."""
        sizes = list(self.counts.values())
        return max(sizes) / min(sizes) if min(sizes) else float("inf")

    @property
    def imbalanced(self) -> bool:
        return self.ratio >= IMBALANCE_RATIO

    def warning(self) -> str | None:
        """What to do about a lopsided dataset, or None when it is balanced enough."""
        if not self.imbalanced:
            return None
        largest = max(self.counts, key=self.counts.__getitem__)
        smallest = min(self.counts, key=self.counts.__getitem__)
        return (
            f"'{largest}' has {self.counts[largest]} photos and '{smallest}' only "
            f"{self.counts[smallest]} ({self.ratio:.1f}x): a model can score well by favouring "
            "the large classes. Add photos to the small ones, or train with class weights "
            "'balanced'."
        )

    def to_dict(self) -> dict:
        return {"counts": dict(self.counts)}

    @classmethod
    def from_dict(cls, data: object, where: str) -> Balance:
        counts = Fields(data, where).fields("counts")
        values = {name: counts.count(name) for name in counts.data}
        if len(values) < 2:
            raise RecordError(f"{where}.counts names fewer than 2 classes")
        return cls(values)


def balance_of(labels: Sequence[int], class_names: Sequence[str]) -> Balance:
    """The Balance of photos labelled with indices into class_names."""
    tally = Counter(labels)
    return Balance({name: tally[index] for index, name in enumerate(class_names)})


def class_weights(labels: Sequence[int], num_classes: int, mode: str) -> dict[int, float] | None:
    """Keras class_weight for TrainConfig.class_weight: None for 'none'; for 'balanced',
    n / (num_classes * n_c) per class c present (each class then weighs as much in the loss)."""
    if mode == "none" or not labels:
        return None
    tally = Counter(labels)
    return {
        c: len(labels) / (num_classes * tally[c]) if tally[c] else 1.0 for c in range(num_classes)
    }
