"""Worker processes of an indexing run: forked, and never outliving their parent.

Reading processes (`reading.py`) and writer processes (`writers.py`) are
forked, so they inherit the run's lock descriptors. A worker orphaned by a
SIGKILLed parent must not live on holding them (flock locks are shared with
forked children), or the next run would find the index "busy".
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
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
