"""Exception types the engine raises; each message tells the user what to do next."""


class TransferLabError(Exception):
    """Base class: anything a page shows with st.error and the CLI prints as one line."""


class SettingsError(TransferLabError):
    """An environment setting has a value the engine cannot use."""


class ImageError(TransferLabError):
    """One image cannot be read (corrupt, not an image, too many pixels, ...)."""


class DatasetError(TransferLabError):
    """A dataset folder or split file cannot be used (too few classes, bad CSV, ...)."""


class ArchiveError(DatasetError):
    """An uploaded .zip is unsafe or not a dataset (traversal, bomb, no class folders, ...)."""


class PathNotAllowedError(TransferLabError):
    """A user-typed path resolves outside the allowed data roots."""


class BadPathError(TransferLabError):
    """A user-given path cannot be used at all (NUL byte, too long, unknown ~user, link loop)."""


class ModelUnavailableError(TransferLabError):
    """A model or labels file cannot be loaded; the message names the setting that fixes it."""


class ConfigError(TransferLabError):
    """A training configuration value is out of range."""


class RunNotFoundError(TransferLabError):
    """No finished run with that id exists in the run store."""


class RunStoreError(TransferLabError):
    """The run store cannot be written (read-only folder, disk full, ...)."""


class JobBusyError(TransferLabError):
    """A training job is already running; only one runs at a time."""


class StorageFullError(TransferLabError):
    """A folder's size cap (or the disk) has no room for what was asked; nothing was written."""


class ReadOnlyError(TransferLabError):
    """A change was asked for in viewer mode (TLAB_MODE=viewer): looking only."""


class TrainingCancelled(TransferLabError):
    """Training stopped because the user cancelled it."""

    kept_model = False  # True when the run kept a model trained before the cancel


def first_line(error: BaseException, limit: int = 200) -> str:
    """The human part of an exception in one short line (OSError's strerror, else its first line).

    TensorFlow and Keras messages can run to pages (whole tensors, stack dumps); a page or the
    CLI shows only what says why.
    """
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    lines = text.strip().splitlines()
    return (lines[0][:limit] if lines else type(error).__name__).rstrip(".")
