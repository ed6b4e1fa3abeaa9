"""One indexer per index: an advisory lock file held for the whole run.

`flock` locks belong to the open file, so the kernel drops them when the
holder dies, even by SIGKILL: a killed run never leaves a stale lock behind.
The holder's pid is written into the file only to make the message useful.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

LOCK_NAME = "vnsearch.lock"


def _alive(pid: int) -> bool:
    """Whether `pid` runs: the file may name the last indexer while a backup holds the lock."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


class IndexBusy(Exception):
    """Another process is updating the same index."""


class IndexLock:
    """Context manager: exclusive, non-blocking lock on `<index_dir>/vnsearch.lock`."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self.path = self.index_dir / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() and _alive(int(holder)) else ""
            raise IndexBusy(
                f"index {self.index_dir} is being updated by another process{who}; "
                "try again when it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> IndexLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
