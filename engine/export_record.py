"""What checking an export measured (accuracy beside the app's model, largest probability
difference, size, one photo's time), saved with the run as export_checks.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.run_documents import load_document
from engine.runs import RunStore
from engine.schema import Fields, read_list, versioned

DOCUMENT = "export_checks"  # <run>/export_checks.json
FORMAT = 1
MAX_ACCURACY_DROP = 0.02  # an export may lose at most 2 points before the check warns


@dataclass(frozen=True)
class ExportCheck:
    """One export reloaded from its file and scored on the run's test photos beside the
    model the app runs (its 'app_' twin figures)."""

    export_format: str  # one of engine.runs.EXPORT_FORMATS
    model_bytes: int  # the model file (or SavedModel folder) inside the download
    download_bytes: int  # the whole .zip
    num_photos: int
    accuracy: float
    app_accuracy: float
    max_probability_difference: float  # largest |exported - app| over photos and classes
    latency_ms: float  # median time of one photo through the exported model
    app_latency_ms: float
    checked: str  # ISO 8601 UTC

    @property
    def accuracy_drop(self) -> float:
        """Points (as a fraction) the export loses against the app's model; negative: gains."""
        return self.app_accuracy - self.accuracy

    def warning(self) -> str | None:
        """What a user must know before shipping this export, or None."""
        if self.accuracy_drop > MAX_ACCURACY_DROP:
            return (
                f"the {self.export_format} export scores {self.accuracy_drop * 100:.1f} points "
                f"below the app's model on {self.num_photos} test photos"
            )
        return None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, where: str) -> ExportCheck:
        fields = Fields(data, where)
        return cls(
            export_format=fields.text("export_format"),
            model_bytes=fields.count("model_bytes"),
            download_bytes=fields.count("download_bytes"),
            num_photos=fields.count("num_photos"),
            accuracy=fields.number("accuracy"),
            app_accuracy=fields.number("app_accuracy"),
            max_probability_difference=fields.number("max_probability_difference"),
            latency_ms=fields.number("latency_ms"),
            app_latency_ms=fields.number("app_latency_ms"),
            checked=fields.text("checked"),
        )


@dataclass(frozen=True)
class ExportChecks:
    """The latest check of each export format of one run."""

    by_format: dict[str, ExportCheck]

    def with_check(self, check: ExportCheck) -> ExportChecks:
        """These checks with check replacing any earlier one of its format."""
        return ExportChecks({**self.by_format, check.export_format: check})

    def to_dict(self) -> dict:
        return {"format": FORMAT, "checks": [c.to_dict() for c in self.by_format.values()]}

    @classmethod
    def from_dict(cls, data: object, where: str) -> ExportChecks:
        """Raises RecordError: a field is missing or wrong, or a newer version wrote it."""
        fields = versioned(data, where, FORMAT)
        checks = read_list(fields.data.get("checks"), f"{where}.checks", ExportCheck.from_dict)
        return cls({check.export_format: check for check in checks})


def saved_checks(store: RunStore, run_id: str) -> ExportChecks:
    """The export checks saved with a run (none for a run never exported with a check).

    Raises:
        RunNotFoundError: no such run, or its export_checks.json is damaged (the message says
            how to measure again).
    """
    checks = load_document(
        store,
        run_id,
        DOCUMENT,
        lambda data: ExportChecks.from_dict(data, f"{DOCUMENT}.json"),
        "prepare an export again to measure it anew",
    )
    return checks if checks is not None else ExportChecks({})
