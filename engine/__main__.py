"""Entry point for `python -m engine`."""

import os
import sys

# TensorFlow reads this once, at import: silence its C++ info logs unless the user chose a level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from engine.cli import main  # noqa: E402 (must follow the TF log setting above)

sys.exit(main())
