"""An uploaded file as a temporary copy on disk, named as the user named it (messages say it)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from streamlit.runtime.uploaded_file_manager import UploadedFile


@contextlib.contextmanager
def upload_copy(upload: UploadedFile) -> Iterator[Path]:
    """The upload copied into a temporary folder for the engine; removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        copy_path = Path(folder) / Path(upload.name).name
        with copy_path.open("wb") as copy:
            shutil.copyfileobj(upload, copy)
        yield copy_path
