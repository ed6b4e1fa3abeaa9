"""Worker processes of an indexing run: forked, and never outliving their parent.

Reading processes (`reading.py`) and writer processes (`writers.py`) are
forked, so they inherit the run's lock descriptors. A worker orphaned by a
SIGKILLed parent must not live on holding them (flock locks are shared with
forked children), or the next run would find the index "busy".
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.context import ForkContext

#: Workers are forked: they start at once and share the parent's loaded model.
FORK: ForkContext = multiprocessing.get_context("fork")


def child_init(close_fds: tuple[int, ...]) -> None:
    """Runs first in every worker: die with the parent, drop inherited locks."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    for fd in close_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


#: Allocations between two young-generation collections during a run (Python's default: 700).
GC_YOUNG_THRESHOLD = 100_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run with what is already loaded out of the collector's sight and fewer collections.

    Segmenting and writing allocate millions of small tuples, nearly all
    freed by reference counting; at Python's default thresholds the cyclic
    collector ran every 700 of them and kept walking the loaded models and
    caches, a fifth of segmentation's time. Forked workers inherit the
    setting.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
