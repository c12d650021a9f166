"""CPU priority of background training, so people using the app while it trains wait little.

Linux schedules each thread by its own nice value, and a thread starts with its creator's.
A training job lowers its own thread (so the threads it creates: decoding, tf.data, LiteRT's
workers) and TensorFlow's compute pools, which only training uses when frozen passes run on
LiteRT. Requests keep normal priority and get the cores first; the training takes the rest.
Elsewhere (macOS, Windows) priorities are left as they are.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

BACKGROUND_NICE = 10  # weight 110 vs 1024 at nice 0: requests get ~90% of a contended core
TENSORFLOW_POOLS = ("tf_",)  # thread names of TensorFlow's compute and tf.data pools

logger = logging.getLogger(__name__)


def supported() -> bool:
    return sys.platform.startswith("linux")


def current_nice() -> int:
    """This thread's nice value (0 where per-thread priorities are not supported)."""
    if not supported():
        return 0
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def lower_this_thread(tensorflow_pools: bool) -> None:
    """Run this thread (and threads it starts) at BACKGROUND_NICE; also TensorFlow's existing
    pools when tensorflow_pools (they cannot be raised again without privileges)."""
    if not supported():
        return
    threads = [threading.get_native_id()]
    if tensorflow_pools:
        threads += _native_threads(TENSORFLOW_POOLS)
    for tid in threads:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < BACKGROUND_NICE:
                os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
        except OSError as error:  # the thread ended meanwhile, or a sandbox forbids it
            logger.debug("Could not lower the priority of thread %s: %s", tid, error)


def _native_threads(prefixes: tuple[str, ...]) -> list[int]:
    """Native ids of this process's threads whose names start with one of prefixes."""
    found = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as name:
                if name.read().startswith(prefixes):
                    found.append(int(tid))
        except OSError:
            continue
    return found
