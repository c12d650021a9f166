"""Entry point for `python -m engine`."""

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

# TensorFlow reads this once, at import: unless the user chose a level, show only fatal C++ logs.
# Level 2 would still print "failed call to cuInit" as an error on every machine without a GPU;
# real failures reach the user as Python exceptions, which the CLI turns into one line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _native_import_notices_hidden() -> Iterator[None]:
    """Send file descriptor 2 to a temp file while TensorFlow is imported.

    Its native code writes notices at import ("All log messages before absl::InitializeLog()",
    "Could not find cuda drivers") that TF_CPP_MIN_LOG_LEVEL does not silence; they would turn
    the CLI's one-line user errors into five lines. They are shown if the import fails, and
    kept whenever the user asked for TensorFlow's info or warning logs.
    """
    level = os.environ["TF_CPP_MIN_LOG_LEVEL"].strip()
    if not level.isdigit() or int(level) < 2:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as notices:
        os.dup2(notices.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            notices.seek(0)
            sys.stderr.buffer.write(notices.read())
            sys.stderr.flush()
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


with _native_import_notices_hidden():
    from engine.cli import main

sys.exit(main())
