"""What a run records about its zero-shot mapping: each class's labels and why (extra document)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import RunNotFoundError
from engine.evaluation import ZeroShotResult
from engine.mapping import MappedClass, explain_edited
from engine.run_documents import load_document
from engine.runs import RunStore
from engine.schema import Fields, RecordError, read_list, versioned

DOCUMENT = "zero_shot_mapping"  # saved as zero_shot_mapping.json beside the run's core files
FORMAT = 1
SOURCES = ("automatic", "edited")


@dataclass(frozen=True)
class ClassMapping:
    """One class: its ImageNet labels (indices and names), the rule and the reason."""

    indices: tuple[int, ...]
    labels: tuple[str, ...]
    rule: str
    why: str

    def to_dict(self) -> dict:
        return {
            "labels": list(self.labels),
            "indices": list(self.indices),
            "rule": self.rule,
            "why": self.why,
        }

    @classmethod
    def from_dict(cls, data: object, where: str) -> ClassMapping:
        fields = Fields(data, where)
        indices = tuple(read_list(fields.data.get("indices"), f"{where}.indices", _index))
        labels = fields.texts("labels")
        if len(labels) != len(indices):
            raise RecordError(f"{where}: 'labels' and 'indices' differ in length")
        return cls(indices, labels, fields.text("rule"), fields.text("why"))


@dataclass(frozen=True)
class MappingRecord:
    """The mapping a run's zero-shot baseline used, with reasons, and its score on the classes
    ImageNet can name (so the Runs table needs no other file)."""

    source: str  # one of SOURCES
    classes: dict[str, ClassMapping]
    named_accuracy: float | None

    @property
    def named_classes(self) -> tuple[str, ...]:
        return tuple(name for name, mapped in self.classes.items() if mapped.indices)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "source": self.source,
            "classes": {name: mapped.to_dict() for name, mapped in self.classes.items()},
            "named_accuracy": self.named_accuracy,
        }

    @classmethod
    def from_dict(cls, data: object, where: str = f"{DOCUMENT}.json") -> MappingRecord:
        """Raises RecordError: a field is missing or of the wrong type, or a newer format."""
        fields = versioned(data, where, FORMAT)
        source = fields.text("source")
        if source not in SOURCES:
            raise RecordError(f"{where}: source {source!r} is not one of {', '.join(SOURCES)}")
        classes = fields.fields("classes")
        return cls(
            source=source,
            classes={
                name: ClassMapping.from_dict(value, f"{where}.classes.{name}")
                for name, value in classes.data.items()
            },
            named_accuracy=fields.number("named_accuracy", optional=True),
        )


def _index(data: object, where: str) -> int:
    if isinstance(data, bool) or not isinstance(data, int) or not 1 <= data <= 1000:
        raise RecordError(f"{where} is not an ImageNet label index (1 to 1000)")
    return data


def mapping_record(result: ZeroShotResult, labels: tuple[str, ...], edited: bool) -> MappingRecord:
    """The record of the mapping a zero-shot result used; labels are the classifier's."""
    class_names = result.metrics.class_names
    explained = explain_edited(result.mapping, class_names, labels)
    return MappingRecord(
        source="edited" if edited else "automatic",
        classes={name: _class(explained[name], labels) for name in class_names},
        named_accuracy=result.named_accuracy,
    )


def _class(mapped: MappedClass, labels: tuple[str, ...]) -> ClassMapping:
    names = tuple(labels[i].split(",")[0].strip() for i in mapped.indices)
    return ClassMapping(mapped.indices, names, mapped.rule, mapped.why)


def load_mapping_record(store: RunStore, run_id: str) -> MappingRecord | None:
    """The run's record; None for runs saved before it existed or without a baseline.

    Raises:
        RunNotFoundError: no such run, or the document is damaged (the message says which
            field; the run's other files still work).
    """
    return load_document(
        store,
        run_id,
        DOCUMENT,
        MappingRecord.from_dict,
        "the rest of the run still opens, and a new training records the mapping again",
    )


def named_accuracy(store: RunStore, run_id: str) -> float | None:
    """Zero-shot accuracy on the classes ImageNet can name, from the record or, for runs saved
    before it, from the run's own metrics; None when the run has no baseline.

    Raises:
        RunNotFoundError: no such run, or a file of it is damaged.
    """
    try:
        record = load_mapping_record(store, run_id)
    except RunNotFoundError:
        record = None  # a damaged record (or no run: loading it below says so)
    if record is not None:
        return record.named_accuracy
    zero_shot = store.load(run_id).zero_shot
    return None if zero_shot is None else zero_shot.named_accuracy
