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
import queue
import sys
import threading
from collections.abc import Iterator
from typing import TypeVar

BACKGROUND_NICE = 10  # weight 110 vs 1024 at nice 0: requests get ~90% of a contended core
TENSORFLOW_POOLS = ("tf_",)  # thread names of TensorFlow's compute and tf.data pools

logger = logging.getLogger(__name__)
T = TypeVar("T")


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


def in_background(items: Iterator[T]) -> Iterator[T]:
    """items, each computed in a thread at BACKGROUND_NICE (with the threads it starts:
    decoding, LiteRT's workers) while the caller uses the one before.

    The caller's thread keeps its priority (a page draws progress from it). Errors reach the
    caller; closing the iterator stops the work after the item being computed.
    """
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def work() -> None:
        lower_this_thread(tensorflow_pools=False)
        try:
            for item in items:
                if not _hand_over(handoff, ("item", item), stop):
                    return
            _hand_over(handoff, ("end", None), stop)
        except BaseException as error:  # the caller re-raises it; nothing else would see it
            _hand_over(handoff, ("error", error), stop)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="background-work", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join()


def _hand_over(handoff: queue.Queue, message: tuple[str, object], stop: threading.Event) -> bool:
    """Put message for the caller; False when the caller stopped listening."""
    while not stop.is_set():
        try:
            handoff.put(message, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
