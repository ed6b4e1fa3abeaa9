"""Reading the input files in watched processes: one slow or crashing file costs only itself.

A file is hashed first; when its bytes are what the last run saw (the
digest sidecar, `state.py`), it is not even extracted. Otherwise its
articles are extracted and each is hashed (`schema.content_hash`), so the
run can tell new, changed and unchanged articles apart.

The time limit is on progress, not on the whole file: a JSON dump of 40,000
articles takes minutes to extract, and its reading process reports each
record it got through (at most once a second), so only a file on which no
progress is made for the limit is given up. The readers' own limits (bytes,
records and lines per file) bound the whole.

Test hooks: `VNSEARCH_READ_DELAY=<seconds>[:<glob>]` sleeps before each file
(whose name matches the glob) is read, so tests can make a file exceed the
time limit or kill a reading process half-way; `VNSEARCH_RECORD_DELAY=<seconds>`
sleeps after each record of a JSON file, a long dump that keeps progressing.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from .article import Article
from .schema import content_hash
from .workers import FORK, child_init

READ_DELAY_ENV = "VNSEARCH_READ_DELAY"
RECORD_DELAY_ENV = "VNSEARCH_RECORD_DELAY"
FILE_TIMEOUT_ENV = "VNSEARCH_FILE_TIMEOUT"
#: Seconds a file may go without progress (a record read) before its process is killed.
DEFAULT_FILE_TIMEOUT = 120.0
#: What a reading process sends while it is still getting through a file.
PROGRESS = "progress"
#: Seconds between two progress messages of one reading process (at most).
PROGRESS_EVERY = 1.0
#: How many files past the oldest unfinished one are handed out: results are
#: used in path order, so this bounds what waits in memory behind a slow file.
READ_AHEAD = 64


@dataclass
class FileResult:
    """What reading one input file gave (computed in a reading process)."""

    path: str  # absolute
    digest: str | None = None
    unchanged: bool = False  # bytes identical to the last successful run
    items: list[tuple[Article, str]] = field(default_factory=list)  # (article, hash)
    reason: str | None = None  # the whole file failed
    bad_records: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    notes: list[str] = field(default_factory=list)  # e.g. converted from a legacy encoding
    #: Some of the file's articles, sent while it is still being read; more results follow.
    partial: bool = False


def read_file(task: tuple[str, str | None],
              progress: Callable[[], None] | None = None,
              deliver: Callable[[FileResult], None] | None = None) -> FileResult:
    """Hash a file's bytes; if they differ from the known digest, extract and hash its articles.

    `progress` is called as records are read (see `extract_file_report`).
    With `deliver`, a JSON file's articles are also handed to it in partial
    results as they are read; the result returned holds the rest.
    """
    from .extract import extract_file_report
    from .readers import ReadError

    path, known_digest = task
    result = FileResult(path)
    try:
        digest = hashlib.sha1()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        result.digest = digest.hexdigest()
    except OSError as err:
        result.reason = err.strerror or str(err)
        return result
    if known_digest is not None and result.digest == known_digest:
        result.unchanged = True
        return result
    batches = None
    if deliver is not None:
        def batches(articles: list[Article]) -> None:
            deliver(FileResult(path, items=[(a, content_hash(a)) for a in articles],
                               partial=True))
    try:
        articles, warnings = extract_file_report(Path(path), result.notes, progress, batches)
    except ReadError as err:
        result.reason = err.reason
        return result
    except Exception as err:  # a bug or an odd file must not stop the run
        result.reason = f"could not extract: {type(err).__name__}: {err}"
        return result
    result.bad_records = [(path, warning) for warning in warnings]
    result.items = [(article, content_hash(article)) for article in articles]
    return result


def file_timeout() -> float:
    """The per-file time limit: `$VNSEARCH_FILE_TIMEOUT` seconds, else 120."""
    try:
        value = float(os.environ.get(FILE_TIMEOUT_ENV) or DEFAULT_FILE_TIMEOUT)
    except ValueError:
        return DEFAULT_FILE_TIMEOUT
    return value if value > 0 else DEFAULT_FILE_TIMEOUT


def _read_delay() -> tuple[float, str]:
    """The `VNSEARCH_READ_DELAY` test hook: (seconds, glob of file names)."""
    raw = os.environ.get(READ_DELAY_ENV) or ""
    seconds, _, pattern = raw.partition(":")
    try:
        return float(seconds or 0), pattern or "*"
    except ValueError:
        return 0.0, "*"


def _reader_process(conn: Connection, close_fds: tuple[int, ...]) -> None:
    """A reading process: reads the files it is sent, one at a time, until told to stop."""
    child_init(close_fds)
    delay, pattern = _read_delay()
    record_delay = float(os.environ.get(RECORD_DELAY_ENV) or 0)
    every = min(PROGRESS_EVERY, file_timeout() / 4)
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        if delay and fnmatch.fnmatchcase(os.path.basename(task[0]), pattern):
            time.sleep(delay)
        last = time.monotonic()

        def progress() -> None:
            nonlocal last
            if record_delay:
                time.sleep(record_delay)
            now = time.monotonic()
            if now - last >= every:
                last = now
                conn.send(PROGRESS)

        def deliver(part: FileResult) -> None:
            nonlocal last
            last = time.monotonic()
            conn.send(part)

        conn.send(read_file(task, progress, deliver))


@dataclass
class _Reader:
    process: BaseProcess
    conn: Connection
    task: int | None = None  # index of the file being read
    started: float = 0.0  # when the file was handed out, or progress last reported


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"killed by {name}"
    return f"exit status {exitcode}"


class ReaderPool:
    """Reading processes that each read one file at a time, watched by the main process.

    Unlike `multiprocessing.Pool`, which never notices a worker that died
    and waits for its result for ever, this knows which file every process
    is reading and since when: a process that dies costs only its file, one
    that exceeds the time limit is killed, and in both cases the file is
    reported as failed and a fresh process takes over. Results come back in
    the order of the tasks, so that which of two files claims an id first
    does not depend on timing.
    """

    def __init__(self, tasks: list[tuple[str, str | None]], workers: int,
                 close_fds: tuple[int, ...], timeout: float) -> None:
        self.tasks = tasks
        self.workers = max(1, min(workers, len(tasks)))
        self.close_fds = close_fds
        self.timeout = timeout
        self.readers: list[_Reader] = []
        #: Reading processes replaced because they died or ran out of time.
        self.replaced = 0
        self._todo: deque[int] = deque()
        self._done: dict[int, FileResult] = {}
        #: Partial results of files still being read, by task.
        self._parts: dict[int, list[FileResult]] = {}

    def _start(self) -> _Reader:
        parent_end, child_end = FORK.Pipe()
        process = FORK.Process(target=_reader_process, args=(child_end, self.close_fds),
                               daemon=True)
        process.start()
        child_end.close()  # so that its death reads as EOF here
        return _Reader(process, parent_end)

    def _stop(self, reader: _Reader) -> None:
        if reader.process.is_alive():
            reader.process.kill()
        reader.process.join()
        reader.conn.close()

    def _replace(self, reader: _Reader) -> None:
        self._stop(reader)
        self.readers[self.readers.index(reader)] = self._start()
        self.replaced += 1

    def _fail(self, reader: _Reader, reason: str) -> None:
        """Report the reader's file as failed and put a fresh process in its place."""
        assert reader.task is not None
        self._done[reader.task] = FileResult(self.tasks[reader.task][0], reason=reason)
        reader.task = None
        self._replace(reader)

    def results(self) -> Iterator[FileResult]:
        """FileResults of every task, in task order.

        A file's partial results (`FileResult.partial`) come before its last
        one, as soon as it is the oldest file not yet finished.
        """
        if not self.tasks:
            return
        self._todo = deque(range(len(self.tasks)))
        self._done = {}
        self._parts = {}
        next_out = 0
        self.readers = [self._start() for _ in range(self.workers)]
        while True:
            self._hand_out(next_out)
            while True:
                yield from self._parts.pop(next_out, ())
                if next_out not in self._done:
                    break
                yield self._done.pop(next_out)
                next_out += 1
            if next_out >= len(self.tasks):
                return
            self._collect()

    def _hand_out(self, next_out: int) -> None:
        """Give idle readers the next files, at most READ_AHEAD past the oldest unfinished."""
        for reader in self.readers:
            if reader.task is None and self._todo and self._todo[0] < next_out + READ_AHEAD:
                index = self._todo.popleft()
                reader.task, reader.started = index, time.monotonic()
                try:
                    reader.conn.send(self.tasks[index])
                except OSError:  # died while idle: it never saw the file
                    self._todo.appendleft(index)
                    reader.task = None
                    self._replace(reader)

    def _collect(self) -> None:
        """Wait for a result, a death or the next time limit, and handle what happened."""
        busy = [r for r in self.readers if r.task is not None]
        now = time.monotonic()
        wait_for = min((r.started + self.timeout for r in busy), default=now + 1.0) - now
        handles: list[Any] = [r.conn for r in busy]
        handles += [r.process.sentinel for r in self.readers]
        ready = set(wait(handles, timeout=max(0.0, wait_for)))
        now = time.monotonic()
        for reader in list(self.readers):
            if reader.task is not None and reader.conn in ready:
                try:
                    result = reader.conn.recv()
                except (EOFError, OSError):
                    result = None
                if isinstance(result, FileResult) and result.partial:
                    self._parts.setdefault(reader.task, []).append(result)
                    reader.started = now
                    continue
                if isinstance(result, FileResult):
                    self._done[reader.task] = result
                    reader.task = None
                    continue
                if result == PROGRESS:
                    reader.started = now
                    continue
            if reader.process.sentinel in ready or reader.conn in ready:
                reader.process.join()
                if reader.task is None:
                    self._replace(reader)
                else:
                    why = _exit_reason(reader.process.exitcode)
                    self._fail(reader, f"the reading process died ({why}); "
                                       "its articles, if any were indexed, are kept")
            elif reader.task is not None and now - reader.started >= self.timeout:
                self._fail(reader, f"took longer than {self.timeout:g} s to read "
                                   "(no progress); its articles, if any were indexed, are kept")

    def close(self) -> None:
        """Stop every reading process (politely when idle, by SIGKILL otherwise)."""
        for reader in self.readers:
            if reader.task is None and reader.process.is_alive():
                try:
                    reader.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + 2.0
        for reader in self.readers:
            reader.process.join(max(0.0, deadline - time.monotonic()))
            self._stop(reader)
        self.readers = []

    def __enter__(self) -> ReaderPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
