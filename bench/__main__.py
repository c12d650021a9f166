"""python -m bench [--only NAME[,NAME]] [--quick] [--out PATH]: run benchmarks, print the table."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench import (
    app_start,
    batch_classify,
    curve,
    decode,
    gradcam,
    health,
    inference,
    large_dataset,
    memory,
    responsiveness,
    runtimes,
    scaling,
    single_photo,
    training_time,
)
from bench.context import ROOT, Context, apply_offline_defaults
from bench.report import Outcome, Row, machine_info, render, write
from engine.errors import first_line

# Training comes first: it leaves the fine-tuned model the next two benchmarks use.
BENCHMARKS: dict[str, Callable[[Context], Outcome]] = {
    "runtimes": runtimes.run,
    "training": training_time.run,
    "inference": inference.run,
    "single_photo": single_photo.run,
    "memory": memory.run,
    "decode": decode.run,
    "app_start": app_start.run,
    "demo": responsiveness.run_demo,
    "responsiveness": responsiveness.run,
    "scaling": scaling.run,
    "large_dataset": large_dataset.run,
    "batch_classify": batch_classify.run,
    "curve": curve.run,
    "gradcam": gradcam.run,
    "health": health.run,
}
DEFAULT_OUT = ROOT / "bench" / "results" / "latest.md"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="smaller counts (smoke test)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown report path")
    args = parser.parse_args(argv)
    args.names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, print the report and write it; 1 if any benchmark failed."""
    args = _parse(argv)
    apply_offline_defaults()
    outcomes: dict[str, Outcome] = {}
    failed = False
    start = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tlab-bench-") as workdir:
        ctx = Context(Path(workdir), quick=args.quick)
        for name in args.names:
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            try:
                outcomes[name] = BENCHMARKS[name](ctx)
            # One broken benchmark must not hide the others' numbers; it is reported instead.
            except Exception as exc:
                traceback.print_exc()
                failed = True
                message = f"failed: {type(exc).__name__}: {first_line(exc)} (traceback on stderr)"
                outcomes[name] = Outcome([Row(name, message)])
    machine = machine_info()
    # Other processes skew every timing; the load average tells a reader how much to trust them.
    machine["load average (1 min) at start / end"] = (
        f"{load_at_start:.1f} / {os.getloadavg()[0]:.1f}"
    )
    text = render(outcomes, machine, args.quick, time.perf_counter() - start)
    print(text)
    write(text, args.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
