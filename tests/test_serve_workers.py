"""`vnsearch serve --workers N`: several server processes answering on one port.

The real `vnsearch serve` in a subprocess on loopback over the session's
index of the sample corpus; worker processes are found as the children of
the serving process in /proc (Linux).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import processes
from conftest import REPO
from processes import children

#: A liveness bound (a server that never comes back), not a speed.
PATIENCE = 120


def total_for(url: str, query: str) -> int:
    with urllib.request.urlopen(f"{url}/api/search?q={query}", timeout=60) as reply:
        assert reply.status == 200
        return json.load(reply)["total"]


def wait_for(condition, what: str, proc: subprocess.Popen, log) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise AssertionError(f"{what}:\n{log.read().decode('utf-8', 'replace')}")
        time.sleep(0.1)


class Served(processes.Served):
    """`vnsearch serve --workers 2`, started and its workers up."""

    def __init__(self, index_dir: Path, *options: str) -> None:
        super().__init__(index_dir, "--workers", "2", *options, timeout=PATIENCE)
        wait_for(lambda: len(children(self.proc.pid)) == 2, "two workers never ran",
                 self.proc, self.log)


def test_workers_share_one_port_and_a_killed_worker_is_replaced(search_index: Path) -> None:
    """Two processes answer on the port; one killed, the site keeps answering and gets it back."""
    log = processes.child_log()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "serve", "--index", str(search_index),
         "--port", "0", "--workers", "2"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )

    def output() -> str:
        log.seek(0)
        return log.read().decode("utf-8", "replace")

    try:
        wait_for(lambda: re.search(r"Serving .* on http://\S+?:(\d+)/", output()),
                 "vnsearch serve did not start", proc, log)
        port = re.search(r"Serving .* on http://\S+?:(\d+)/", output()).group(1)  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}"
        assert "with 2 processes" in output()
        wait_for(lambda: len(children(proc.pid)) == 2, "two workers never ran", proc, log)
        expected = total_for(url, "binh+luc")
        assert expected >= 1

        victim = min(children(proc.pid))
        os.kill(victim, signal.SIGKILL)
        for _ in range(10):  # the other worker answers meanwhile
            assert total_for(url, "binh+luc") == expected
        wait_for(lambda: len(children(proc.pid)) == 2 and victim not in children(proc.pid),
                 "the killed worker was not replaced", proc, log)
        for _ in range(10):
            assert total_for(url, "binh+luc") == expected
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output()
    assert "Traceback" not in output()


def test_serve_refuses_a_busy_port_with_a_clear_message(search_index: Path) -> None:
    """A port already taken is one line naming it and exit status 1, before any worker starts."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "vnsearch", "serve", "--index", str(search_index),
             "--port", str(port), "--workers", "2"],
            cwd=REPO, capture_output=True, text=True, timeout=PATIENCE, check=False,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_killed_server_takes_its_workers_along_and_restarts_on_its_port(
        search_index: Path) -> None:
    """SIGKILL to `vnsearch serve`: no worker outlives it, and it starts again on the port."""
    first = Served(search_index, "--port", "0")
    workers = children(first.proc.pid)
    assert len(workers) == 2
    first.proc.kill()
    first.proc.wait()
    deadline = time.monotonic() + PATIENCE
    while any(Path(f"/proc/{pid}").exists() and "zombie" not in
              Path(f"/proc/{pid}/status").read_text().lower() for pid in workers):
        assert time.monotonic() < deadline, "workers outlived the server"
        time.sleep(0.05)
    again = Served(search_index, "--port", str(first.port))
    try:
        assert total_for(f"http://127.0.0.1:{first.port}", "binh+luc") >= 1
    finally:
        again.stop()
