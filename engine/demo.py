"""Which run the Demo and presenter mode show: the pinned one, else the newest default run on
the sample photos."""

from __future__ import annotations

from pathlib import Path

from engine.run_record import RunInfo
from engine.runs import RunStore


def same_dataset(recorded: str, folder: Path) -> bool:
    """Whether a run's dataset field names this folder (as typed or resolved)."""
    return recorded == str(folder) or Path(recorded).resolve() == folder.resolve()


def find_demo_run(store: RunStore, data_dir: Path) -> RunInfo | None:
    """The run the presenter pinned, else the newest one on the sample folder made with the
    default recipe and the automatic mapping (a 1-epoch test or an edited mapping never is)."""
    pinned = store.demo_pin()
    if pinned is not None:
        return store.info(pinned)
    runs = store.list(status="complete")
    return next(
        (info for info in runs if info.uses_defaults and same_dataset(info.dataset, data_dir)),
        None,
    )
