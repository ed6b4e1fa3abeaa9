"""Test helpers: the live child processes of a process, and `vnsearch serve` as a process.

Children are used to SIGKILL the indexer's reading processes and the
server's workers. /proc/PID/task/*/children is not available on every
kernel, so every process's parent is read instead.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent


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


def child_log() -> IO[bytes]:
    """A temporary file for a child's output that the test may read while the child runs.

    O_APPEND: the child's writes always land at the end. Without it they land
    at the offset the child shares with the reader, which `seek(0)` moves, and
    a line written meanwhile would overwrite the start of the log.
    """
    log = tempfile.TemporaryFile()
    flags = fcntl.fcntl(log.fileno(), fcntl.F_GETFL)
    fcntl.fcntl(log.fileno(), fcntl.F_SETFL, flags | os.O_APPEND)
    return log


class Served:
    """`vnsearch serve --index DIR --port 0 OPTIONS` in a subprocess, once it listens."""

    def __init__(self, index_dir: Path, *options: str, timeout: float = 120) -> None:
        self.log = child_log()
        port = () if "--port" in options else ("--port", "0")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vnsearch", "serve", "--index", str(index_dir), *port,
             *options],
            cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while (found := re.search(r"Serving .* on http://\S+?:(\d+)/", self.output())) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"vnsearch serve did not start:\n{self.output()}")
            time.sleep(0.1)
        self.port = int(found.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
