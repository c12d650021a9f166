"""The typed record of one run (what was trained on what, how it went, how it scored) and its
JSON files. Every field is checked when read, so a damaged file is named, never a crash later."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.backbones import get_backbone
from engine.config import TrainConfig
from engine.data.record import SplitRecord
from engine.data.scan import Skipped
from engine.evaluation import Evaluation, Prediction, ZeroShotResult
from engine.events import History
from engine.metrics import Metrics
from engine.schema import Fields, RecordError, number, read_list

# Version of the files a run folder holds; runs without the field were written as version 1,
# which has the same layout. Bump it when a field changes meaning or a required one is added.
FORMAT = 2
# 'partial': fine-tuning was cancelled; the run kept (and was evaluated with) its stage-1 model.
STATUSES = ("complete", "partial", "cancelled")
MAPPING_SOURCES = ("automatic", "edited", "unknown")  # 'unknown': saved before it was recorded
MAX_CLASSES = 1000  # ImageNet has 1000; a run.json with more is not one this product wrote
MAX_NAME_CHARS = 255  # a class is a folder name


@dataclass(frozen=True)
class RunInfo:
    """Headline facts of one run, as listed on the Runs page (run.json)."""

    run_id: str
    created: str  # ISO 8601, UTC
    status: str  # one of STATUSES
    dataset: str
    class_names: tuple[str, ...]
    config: TrainConfig
    test_accuracy: float | None
    zero_shot_accuracy: float | None
    train_seconds: float | None
    mapping_source: str = "automatic"  # how the zero-shot ImageNet->class mapping was chosen
    notes: str = ""  # the user's own words about the run (Runs page)

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def has_model(self) -> bool:
        """Whether the run saved a model and its evaluation (complete, or stage 1 of a cancel)."""
        return self.status in ("complete", "partial")

    @property
    def uses_defaults(self) -> bool:
        """Trained with the one-click recipe and the automatic mapping (what the Demo shows)."""
        return self.config == TrainConfig() and self.mapping_source == "automatic"

    @property
    def title(self) -> str:
        """How every page names the run: 'flowers · 84.0% · 1 Dec 22:13' (local time)."""
        accuracy = f"{self.test_accuracy:.1%}" if self.test_accuracy is not None else self.status
        when = self.created_at.astimezone()
        return f"{Path(self.dataset).name} · {accuracy} · {when.day} {when:%b %H:%M}"

    @property
    def created_at(self) -> datetime:
        """created as an aware datetime (UTC); the epoch start when it cannot be parsed."""
        try:
            return datetime.fromisoformat(self.created)
        except ValueError:
            return datetime.fromtimestamp(0, UTC)

    def input_spec(self) -> dict:
        """What every export of the run takes and returns (also shown on the Runs page)."""
        size = get_backbone(self.config.backbone).input_size
        return {
            "input": {
                "shape": [None, size, size, 3],
                "dtype": "float32",
                "range": [0, 255],
                "channel_order": "RGB",
                "layout": "NHWC (batch, height, width, channels)",
                "resize": f"whole photo resized to {size}x{size} (bilinear, aspect not kept)",
                "preprocessing": "inside the model: pass raw pixel values",
            },
            "output": {
                "shape": [None, len(self.class_names)],
                "meaning": "softmax probabilities, one per line of labels.txt, in that order",
            },
            "labels": list(self.class_names),
            "run_id": self.run_id,
        }

    def to_dict(self) -> dict:
        return {
            **dataclasses.asdict(self),
            "class_names": list(self.class_names),
            "config": dataclasses.asdict(self.config),
            "format": FORMAT,
        }

    @classmethod
    def from_dict(cls, data: object, run_id: str, where: str = "run.json") -> RunInfo:
        """Read run.json; the folder name is the id users see and pass back.

        Raises:
            RecordError: a field is missing or of the wrong type, or a newer version wrote it.
        """
        fields = Fields(data, where)
        version = fields.count("format", optional=True) or 1
        if version > FORMAT:
            raise RecordError(
                f"{where} was written by a newer version of Transfer Lab (format {version}; this "
                f"version reads up to {FORMAT}); update Transfer Lab to open it"
            )
        status = fields.text("status")
        if status not in STATUSES:
            raise RecordError(f"{where}: status {status!r} is not one of {', '.join(STATUSES)}")
        config = fields.fields("config")
        mapping_source = fields.text("mapping_source", optional=True) or "unknown"
        if mapping_source not in MAPPING_SOURCES:
            raise RecordError(f"{where}: mapping_source {mapping_source!r} is not known")
        return cls(
            run_id=run_id,
            created=fields.text("created"),
            status=status,
            dataset=fields.text("dataset"),
            class_names=_class_names(fields.texts("class_names"), where),
            config=_config(config),
            test_accuracy=fields.number("test_accuracy", optional=True),
            zero_shot_accuracy=fields.number("zero_shot_accuracy", optional=True),
            train_seconds=fields.number("train_seconds", optional=True),
            mapping_source=mapping_source,
            notes=fields.text("notes", optional=True) or "",
        )


def _class_names(names: tuple[str, ...], where: str) -> tuple[str, ...]:
    if not 2 <= len(names) <= MAX_CLASSES or len(set(names)) != len(names):
        raise RecordError(f"{where}: class_names must be 2 to {MAX_CLASSES} different names")
    if any(not name or len(name) > MAX_NAME_CHARS for name in names):
        raise RecordError(f"{where}: a class name is empty or over {MAX_NAME_CHARS} characters")
    return names


_CONFIG_READERS = {
    "int": Fields.count,
    "float": Fields.number,
    "bool": Fields.flag,
    "str": Fields.text,
}


def _config(fields: Fields) -> TrainConfig:
    """The saved TrainConfig, each value of its field's type; missing fields take today's
    defaults and a value out of today's range is kept (it is history, not input)."""
    values = {
        option.name: _CONFIG_READERS[option.type](fields, option.name)
        for option in dataclasses.fields(TrainConfig)
        if option.name in fields.data
    }
    return TrainConfig(**values)


@dataclass(frozen=True)
class DataFacts:
    """What the run was trained and tested on (part of metrics.json)."""

    dataset: str
    split_file: str | None
    num_train: int
    num_validation: int
    num_test: int
    skipped_files: tuple[Skipped, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "split_file": self.split_file,
            "split": {
                "train": self.num_train,
                "validation": self.num_validation,
                "test": self.num_test,
            },
            "skipped": len(self.skipped_files),
            "skipped_files": [dataclasses.asdict(skipped) for skipped in self.skipped_files],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, fields: Fields) -> DataFacts:
        split = fields.fields("split")
        return cls(
            dataset=fields.text("dataset"),
            split_file=fields.text("split_file", optional=True),
            num_train=split.count("train"),
            num_validation=split.count("validation"),
            num_test=split.count("test"),
            skipped_files=tuple(fields.items("skipped_files", _skipped, optional=True) or ()),
            warnings=fields.texts("warnings", optional=True) or (),
        )


def _skipped(data: object, where: str) -> Skipped:
    fields = Fields(data, where)
    return Skipped(fields.text("path"), fields.text("reason"))


@dataclass(frozen=True)
class Run:
    """Everything saved for one run except the model."""

    info: RunInfo
    history: History
    data: DataFacts
    zero_shot: ZeroShotResult | None  # None when the baseline could not be computed
    zero_shot_error: str | None  # why there is no baseline
    evaluation: Evaluation | None  # None for a cancelled run (it has no model)
    split: SplitRecord | None = None  # None for runs saved before splits were recorded
    # Documents features add beside the core files ({name: JSON-ready dict}, saved as
    # <name>.json; read back with RunStore.load_extra by the feature that owns each).
    extras: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def metrics_dict(self) -> dict:
        """metrics.json: the data facts, the zero-shot baseline and the fine-tuned metrics."""
        zero_shot = (
            self.zero_shot.to_dict()
            if self.zero_shot is not None
            else {"error": self.zero_shot_error or "not computed"}
        )
        metrics = {"class_names": list(self.info.class_names), **self.data.to_dict()}
        metrics["zero_shot"] = zero_shot
        if self.evaluation is not None:
            metrics.update(self.evaluation.metrics.to_dict())
        return metrics

    def predictions_list(self) -> list[dict]:
        """predictions.json: one row per test photo."""
        rows = self.evaluation.predictions if self.evaluation is not None else ()
        return [row.to_dict() for row in rows]

    @classmethod
    def from_files(
        cls,
        info: RunInfo,
        history: object,
        metrics: object,
        predictions: object,
        split: object | None = None,
    ) -> Run:
        """Assemble a run from its parsed JSON files (history, metrics, predictions, split).

        Raises:
            RecordError: a file does not have the shape this version writes.
        """
        classes = info.class_names
        fields = Fields(metrics, "metrics.json")
        zero_shot_fields = fields.fields("zero_shot", optional=True)
        zero_shot, zero_shot_error = None, None
        if zero_shot_fields is None or zero_shot_fields.has("error"):
            zero_shot_error = zero_shot_fields.text("error") if zero_shot_fields else "not computed"
        else:
            zero_shot = ZeroShotResult.from_dict(zero_shot_fields.data, classes, "metrics.json")
        evaluation = None
        if info.has_model:
            rows = read_list(predictions, "predictions.json", Prediction.from_dict)
            known = set(classes)
            if any(row.true not in known or row.predicted not in known for row in rows):
                raise RecordError("predictions.json names a class the run does not have")
            evaluation = Evaluation(
                metrics=Metrics.from_dict(metrics, classes, "metrics.json"),
                predictions=tuple(rows),
                zero_shot=zero_shot,
            )
        return cls(
            info=info,
            history=_history(history),
            data=DataFacts.from_dict(fields),
            zero_shot=zero_shot,
            zero_shot_error=zero_shot_error,
            evaluation=evaluation,
            split=None if split is None else SplitRecord.from_dict(split),
        )


def _epoch_value(data: object, where: str) -> float | None:
    """A metric of one epoch; null where training diverged (saved NaN, written as null)."""
    return None if data is None else number(data, where)


def _history(data: object) -> History:
    fields = Fields(data, "history.json")
    values: dict[str, list] = {}
    for name, series in fields.data.items():
        if name == "stage":
            values[name] = list(fields.texts(name))
        else:
            values[name] = read_list(series, f"history.json.{name}", _epoch_value)
    return History(values)
