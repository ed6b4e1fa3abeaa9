"""Progress for long indexing runs: a bar on a terminal, plain lines otherwise.

Goes to stderr, because stdout carries the one summary line scripts parse.
Plain lines (logs, CI, pipes) come at most every `interval` seconds
(default 5, or `$VNSEARCH_PROGRESS_INTERVAL`).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class Progress:
    """Counts done units of a total that may still grow (articles found while reading)."""

    def __init__(
        self, label: str, stream: TextIO | None = None, interval: float | None = None
    ) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        if interval is None:
            interval = float(os.environ.get("VNSEARCH_PROGRESS_INTERVAL") or 5.0)
        self.interval = 0.1 if self.tty else interval
        self.done = 0
        self.total = 0
        self.note = ""
        self.started = time.monotonic()
        self._last = 0.0 if self.tty else self.started
        self._shown = False

    def add_total(self, n: int) -> None:
        self.total += n
        self._maybe_show()

    def update(self, n: int = 1, note: str | None = None) -> None:
        self.done += n
        if note is not None:
            self.note = note
        self._maybe_show()

    def _maybe_show(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._show(now)

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        total = max(self.total, self.done)
        pct = 100.0 * self.done / total if total else 100.0
        note = f" {self.note}" if self.note else ""
        return f"{self.label}: {self.done}/{total} ({pct:.0f}%) {rate:.0f}/s{note}"

    def _show(self, now: float) -> None:
        self._shown = True
        if self.tty:
            total = max(self.total, self.done)
            width = 30
            filled = int(width * self.done / total) if total else width
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self._line(now)}\x1b[K")
        else:
            self.stream.write(self._line(now) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Final state (only if anything was shown, so quick runs stay quiet)."""
        if self._shown:
            self._show(time.monotonic())
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
