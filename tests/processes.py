"""Test helper: the live child processes of a process, read from /proc.

Used to SIGKILL the indexer's reading processes. /proc/PID/task/*/children
is not available on every kernel, so every process's parent is read instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    """Pids of the live (not zombie) children of `pid`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        state, parent = stat[stat.rindex(")") + 2:].split()[:2]
        if int(parent) == pid and state != "Z":
            found.append(int(name))
    return found


def wait_for_children(pid: int, count: int, timeout: float = 60) -> list[int]:
    """The children of `pid` once there are at least `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = children(pid)
        if len(kids) >= count:
            return kids
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never had {count} children")
