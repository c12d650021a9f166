"""Every value a browser session keeps between reruns and page changes, under one set of keys.

Widget keys (prefixed by their page, e.g. 'train_epochs') belong to their widgets; these are
the values pages write themselves.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine.batch.photos import Photos
from engine.batch.result import BatchResult
from engine.data.archive import ZipImport
from engine.data.split import find_split_file
from engine.sample import sample_folder
from engine.settings import Settings

DATASET_DIR = "dataset_dir"  # the dataset every page uses (the Data page chooses it)
SPLIT_FILE = "split_file"  # its split file, "" for a random split
MAPPINGS = "zero_shot_mapping"  # dataset folder -> edited ImageNet->class mapping
IMPORTS = "data_imports"  # uploaded file id -> ZipImport, so a rerun never extracts twice
LAST_IMPORT = "data_last_import"  # (file name, ZipImport) of the zip this session uses
DEMO_REQUESTED = "home_requested"  # the Demo's button was pressed in this session
DEMO_JOB = "home_job"  # id of the training the Demo started (it shows its progress)
EXPORTED = "runs_exported"  # (run id, format, path) of the last prepared download
CONFIRM_DELETE = "runs_confirm_delete"  # run id awaiting "Yes, delete it"
JOB_STATE = "{}_job_state"  # the job state a progress widget last drew, per widget key
TRAIN_VALUES = "train_values"  # the Train form's last submitted values
UPLOADER_GENERATION = "data_uploader_generation"  # bumped to empty the zip uploader
HEALTH_CHECKED = "data_health_checked"  # dataset folders whose health check was asked for
REVIEW_ROUND = "review_round"  # dataset folder -> how often its suspects were looked for
REVIEW_JOB = "review_job"  # the retrain started on the Review page (see review_job)
FLIP_GROUP = "{}_flip_group"  # the flip-board box whose photos are open, per page
PRESENT_STEP = "present_step"  # the presenter's current step (index into its steps)
PRESENT_TRAINING = "present_training"  # the presenter asked for a training not started yet


def init(settings: Settings) -> None:
    """Defaults for a new session: the sample folder (and its split file) as the dataset."""
    sample = sample_folder(settings)
    split_file = find_split_file(sample) if sample else None
    st.session_state.setdefault(DATASET_DIR, str(sample) if sample else "")
    st.session_state.setdefault(SPLIT_FILE, str(split_file) if split_file else "")


def dataset() -> tuple[Path | None, Path | None]:
    """The chosen dataset folder and its split file (None when there is none)."""
    chosen, split_file = st.session_state.get(DATASET_DIR), st.session_state.get(SPLIT_FILE)
    return (Path(chosen) if chosen else None), (Path(split_file) if split_file else None)


def dataset_source(settings: Settings, sources: tuple[str, str, str]) -> str:
    """Which of the Data page's (sample, folder path, upload) sources the chosen dataset came
    from: widgets forget their state when a page is left, the chosen dataset does not."""
    sample, typed, uploaded = sources
    folder, _ = dataset()
    sample_dir = sample_folder(settings)
    if folder is None or (sample_dir and folder == Path(sample_dir)):
        return sample
    last = last_import()
    if last is not None and last[1].folder == folder:
        return uploaded
    return typed


def choose_dataset(folder: Path, split_file: Path | None) -> None:
    st.session_state[DATASET_DIR] = str(folder)
    st.session_state[SPLIT_FILE] = str(split_file or "")


def mapping(dataset_dir: Path) -> dict[str, list[int]] | None:
    """The ImageNet->class mapping edited on the Zero-shot page for this dataset, if any."""
    return st.session_state.setdefault(MAPPINGS, {}).get(str(dataset_dir))


def save_mapping(dataset_dir: Path, edited: dict[str, list[int]] | None) -> None:
    """Remember the edited mapping (None = automatic); the next training on it uses it."""
    saved = st.session_state.setdefault(MAPPINGS, {})
    if edited is None:
        saved.pop(str(dataset_dir), None)
    else:
        saved[str(dataset_dir)] = edited


def replace_mapping(dataset_dir: Path, mapping: dict[str, list[int]], editor_key: str) -> None:
    """Adopt a mapping changed outside its table (a suggestion accepted): the table's own
    edits, kept under editor_key, would otherwise be laid over it again."""
    save_mapping(dataset_dir, mapping)
    st.session_state.pop(editor_key, None)


def imported(file_id: str) -> ZipImport | None:
    return st.session_state.setdefault(IMPORTS, {}).get(file_id)


def remember_import(file_id: str, name: str, result: ZipImport) -> None:
    st.session_state.setdefault(IMPORTS, {})[file_id] = result
    st.session_state[LAST_IMPORT] = (name, result)


def forget_imports(settings: Settings) -> None:
    """After this session's upload was deleted: no upload, and the sample as the dataset."""
    st.session_state.pop(LAST_IMPORT, None)
    st.session_state.pop(IMPORTS, None)
    st.session_state[UPLOADER_GENERATION] = st.session_state.get(UPLOADER_GENERATION, 0) + 1
    st.session_state.pop(DATASET_DIR, None)
    st.session_state.pop(SPLIT_FILE, None)
    init(settings)


def uploader_key() -> str:
    """The Data page zip uploader's key: a new one empties it (Streamlit cannot clear it)."""
    return f"data_zip_{st.session_state.get(UPLOADER_GENERATION, 0)}"


def last_import() -> tuple[str, ZipImport] | None:
    """The uploaded zip this session chose last (the uploader itself forgets it on a page
    change)."""
    return st.session_state.get(LAST_IMPORT)


def request_demo() -> None:
    st.session_state[DEMO_REQUESTED] = True


def demo_requested() -> bool:
    return bool(st.session_state.get(DEMO_REQUESTED))


def watch_demo_job(job_id: str) -> None:
    st.session_state[DEMO_JOB] = job_id


def watching_demo_job(job_id: str) -> bool:
    """Whether this session's Demo started the job with this id."""
    return st.session_state.get(DEMO_JOB) == job_id


def remember_export(run_id: str, fmt: str, path: Path) -> None:
    st.session_state[EXPORTED] = (run_id, fmt, path)


def exported(run_id: str, fmt: str) -> Path | None:
    """The file prepared for this run and format in this session, if any."""
    last = st.session_state.get(EXPORTED)
    return last[2] if last and last[:2] == (run_id, fmt) else None


def ask_delete(run_id: str | None) -> None:
    """Mark a run as awaiting the delete confirmation (None clears it)."""
    if run_id is None:
        st.session_state.pop(CONFIRM_DELETE, None)
    else:
        st.session_state[CONFIRM_DELETE] = run_id


def delete_asked(run_id: str) -> bool:
    return st.session_state.get(CONFIRM_DELETE) == run_id


def swap_job_state(key: str, state: str) -> str | None:
    """Record the job state a progress widget draws now; return the one it drew before."""
    last = st.session_state.get(JOB_STATE.format(key))
    st.session_state[JOB_STATE.format(key)] = state
    return last


def train_values() -> dict | None:
    """The Train form's values as last submitted in this session (None before that)."""
    return st.session_state.get(TRAIN_VALUES)


def remember_train_values(values: dict) -> None:
    st.session_state[TRAIN_VALUES] = dict(values)


BATCH_IMPORTS = "batch_imports"  # uploaded file id -> Photos of a zip the Batch page extracted
BATCH_RESULT = "batch_result"  # (photos folder, run id) and the BatchResult shown for them


def batch_import(file_id: str) -> Photos | None:
    return st.session_state.setdefault(BATCH_IMPORTS, {}).get(file_id)


def remember_batch_import(file_id: str, photos: Photos) -> None:
    st.session_state.setdefault(BATCH_IMPORTS, {})[file_id] = photos


def batch_result(key: tuple[str, str | None]) -> BatchResult | None:
    """The last batch result of these photos and run in this session (kept across reruns:
    the CSV download reruns the page)."""
    saved = st.session_state.get(BATCH_RESULT)
    return saved[1] if saved and saved[0] == key else None


def remember_batch_result(key: tuple[str, str | None], result: BatchResult) -> None:
    st.session_state[BATCH_RESULT] = (key, result)


def flip_group(key: str) -> str | None:
    """The flip-board group whose photos the page shows (None: none open)."""
    return st.session_state.get(FLIP_GROUP.format(key))


def toggle_flip_group(key: str, group: str) -> None:
    """Open a group's photos; clicking the open one again closes them."""
    name = FLIP_GROUP.format(key)
    st.session_state[name] = None if st.session_state.get(name) == group else group


def present_step() -> int:
    """The presenter's step (0 = the first), kept across reruns and page changes."""
    return int(st.session_state.get(PRESENT_STEP, 0))


def set_present_step(step: int) -> None:
    st.session_state[PRESENT_STEP] = step


def request_present_training() -> None:
    st.session_state[PRESENT_TRAINING] = True


def present_training_requested() -> bool:
    return bool(st.session_state.get(PRESENT_TRAINING))


def forget_present_training() -> None:
    st.session_state.pop(PRESENT_TRAINING, None)


def ask_health_check(folder: Path) -> None:
    st.session_state.setdefault(HEALTH_CHECKED, set()).add(str(folder))


def health_check_asked(folder: Path) -> bool:
    return str(folder) in st.session_state.get(HEALTH_CHECKED, set())


def ask_review(folder: Path) -> None:
    """Look for suspects in folder (again: a new round, so fixes made since are seen)."""
    rounds = st.session_state.setdefault(REVIEW_ROUND, {})
    rounds[str(folder)] = rounds.get(str(folder), 0) + 1


def review_round(folder: Path) -> int:
    """How often this session looked for suspects in folder (0: not yet)."""
    return st.session_state.get(REVIEW_ROUND, {}).get(str(folder), 0)


def watch_review_job(
    job_id: str, before_run: str, folder: Path, counts: tuple[int, int, int]
) -> None:
    st.session_state[REVIEW_JOB] = (job_id, before_run, str(folder), counts)


def review_job() -> tuple[str, str, str, tuple[int, int, int]] | None:
    """(job id, run before the fixes, dataset folder, (moved, excluded, kept)) of the retrain
    this session started on the Review page."""
    return st.session_state.get(REVIEW_JOB)
