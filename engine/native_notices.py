"""Notices native libraries write straight to file descriptor 2, kept out of users' stderr.

TensorFlow (at import) and LiteRT (when it first creates its XNNPACK delegate) print lines
that no Python logging setting silences; they would turn the CLI's one-line errors into
several lines. Standard library only: `engine/__main__.py` uses it before TensorFlow loads.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator

LITERT_DELEGATE_NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU."

_FD_LOCK = threading.Lock()  # one redirection of fd 2 at a time, whichever thread asks


def quiet() -> bool:
    """Whether the user left native info notices off (TF_CPP_MIN_LOG_LEVEL 1 or more).

    The CLI defaults the level to 3; the app and library callers get TensorFlow's own
    default (0, everything shown) unless they set it.
    """
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0").strip()
    return level.isdigit() and int(level) >= 1


@contextlib.contextmanager
def filtered(keep: Callable[[bytes], bool], *, keep_all_on_error: bool = False) -> Iterator[None]:
    """Capture fd 2 while the block runs, then write back the lines keep() accepts.

    Lines other threads write meanwhile are written back too (later, never lost). With
    keep_all_on_error, a block that raises writes back every line: notices then help.
    """
    with _FD_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            failed = False
            try:
                yield
            except BaseException:
                failed = True
                raise
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                captured.seek(0)
                lines = captured.read().splitlines(keepends=True)
                shown = lines if failed and keep_all_on_error else [x for x in lines if keep(x)]
                if shown:
                    os.write(2, b"".join(shown))


def without_litert_notice() -> contextlib.AbstractContextManager[None]:
    """Drop LiteRT's 'Created ... XNNPACK delegate' line when notices are off."""
    if not quiet():
        return contextlib.nullcontext()
    return filtered(lambda line: not line.startswith(LITERT_DELEGATE_NOTICE))
