"""Entry point for `python -m engine`."""

import contextlib
import os
import sys

# TensorFlow reads this once, at import: unless the user chose a level, show only fatal C++ logs.
# Level 2 would still print "failed call to cuInit" as an error on every machine without a GPU;
# real failures reach the user as Python exceptions, which the CLI turns into one line.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from engine import native_notices  # noqa: E402  (standard library only: TensorFlow not yet)

# TensorFlow's native code writes notices at import ("All log messages before
# absl::InitializeLog()", "Could not find cuda drivers") that the level does not silence. They
# are shown if the import fails, and kept whenever the user asked for info or warning logs.
level = os.environ["TF_CPP_MIN_LOG_LEVEL"].strip()
hidden = level.isdigit() and int(level) >= 2
with (
    native_notices.filtered(lambda line: False, keep_all_on_error=True)
    if hidden
    else contextlib.nullcontext()
):
    from engine.cli import main

sys.exit(main())
