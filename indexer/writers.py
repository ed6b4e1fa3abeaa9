"""Analysing articles into the index: in writer processes when there are many.

Analysis (pyvi segmentation and the three views of title and body) is what
an indexing run spends its time on, so it runs in one writer process per
core, each writing its own part of the update (`backend.PartWriter`); the
commit joins the parts. A few articles are written by the main process
itself, as starting processes would cost more than it saves.

Test hook: `VNSEARCH_INDEX_DELAY=<seconds>` sleeps that long after each
article is analysed, so tests can kill a run deterministically half-way.
"""

from __future__ import annotations

import os
import queue
import time
import traceback
from typing import Any

from .article import Article
from .backend import IndexUpdate
from .progress import Progress
from .schema import document_fields
from .workers import FORK, child_init

#: Below this many articles to analyse, the main process writes them itself.
PARALLEL_THRESHOLD = 64
#: Articles per job sent to a writer process.
BATCH_SIZE = 16
DELAY_ENV = "VNSEARCH_INDEX_DELAY"

#: An article to write: (article, content hash, absolute source path).
Item = tuple[Article, str, str]


class IndexingError(Exception):
    """The run could not complete; the index is left as it was."""


def index_delay() -> float:
    """The `VNSEARCH_INDEX_DELAY` test hook, in seconds."""
    return float(os.environ.get(DELAY_ENV) or 0)


def _writer_process(update: IndexUpdate, jobs: Any, results: Any, close_fds: tuple[int, ...],
                    delay: float) -> None:
    """A writer process: analyses articles into its own, uncommitted part."""
    child_init(close_fds)
    parent = os.getppid()
    try:
        part = update.part_writer()
        while True:
            try:
                job = jobs.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:
                    return
                continue
            if job is None:
                break
            for article, hash_value, path in job:
                part.add(document_fields(article, hash_value, path))
                if delay:
                    time.sleep(delay)
            results.put(("progress", len(job)))
        results.put(("done", part.finish()))
    except OSError as err:  # a full disk is the user's to fix, not a bug to show
        results.put(("oserror", (err.errno, err.strerror, err.filename)))
    except BaseException:
        results.put(("error", traceback.format_exc()))


class ParallelWriter:
    """Writer processes fed with batches of articles; each returns one part.

    Like Whoosh's own MpWriter with multisegment=True, but it ships Article
    records (not field dicts) so that segmentation, including the stored word
    offsets, happens once and only in the workers, and a dead worker is
    noticed instead of silently losing its documents.
    """

    def __init__(self, update: IndexUpdate, procs: int, close_fds: tuple[int, ...],
                 progress: Progress, delay: float) -> None:
        self.jobs = FORK.Queue(procs * 4)
        self.results = FORK.Queue()
        self.progress = progress
        self.parts: list[Any] = []
        self.finished = 0
        self.procs = [
            FORK.Process(target=_writer_process,
                         args=(update, self.jobs, self.results, close_fds, delay),
                         daemon=True)
            for _ in range(procs)
        ]
        for proc in self.procs:
            proc.start()

    def _handle(self, kind: str, value: Any) -> None:
        if kind == "progress":
            self.progress.update(value)
        elif kind == "done":
            self.finished += 1
            if value is not None:
                self.parts.append(value)
        elif kind == "oserror":
            raise OSError(*value)
        else:
            raise IndexingError(f"a writer process failed:\n{value}")

    def _poll(self, timeout: float) -> None:
        """Handle one message, waiting up to `timeout`; notice dead workers.

        A worker that finished cleanly has posted "done" before exiting, so
        more exited workers than "done" messages (once the queue is drained)
        means one died.
        """
        try:
            self._handle(*self.results.get(timeout=timeout))
            return
        except queue.Empty:
            pass
        if sum(not p.is_alive() for p in self.procs) > self.finished:
            try:  # its last messages may still be in the pipe
                while True:
                    self._handle(*self.results.get(timeout=1.0))
            except queue.Empty:
                pass
            if sum(not p.is_alive() for p in self.procs) > self.finished:
                codes = [p.exitcode for p in self.procs]
                raise IndexingError(f"a writer process died unexpectedly (exit codes {codes})")

    def _drain(self) -> None:
        while True:
            try:
                self._handle(*self.results.get_nowait())
            except queue.Empty:
                return

    def send(self, batch: list[Item]) -> None:
        while True:
            try:
                self.jobs.put(batch, timeout=0.2)
                break
            except queue.Full:
                self._poll(0.05)
        self._drain()

    def finish(self) -> list[Any]:
        """Tell the workers to finish; their parts, once all are written."""
        for _ in self.procs:
            self.jobs.put(None)
        while self.finished < len(self.procs):
            self._poll(1.0)
        for proc in self.procs:
            proc.join()
        return self.parts

    def terminate(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
        for proc in self.procs:
            proc.join()


class ArticleWriter:
    """Where the articles of a run go: the main process or, past a threshold, writer processes.

    Articles wait until `PARALLEL_THRESHOLD` of them have been found; then
    writer processes start and get them in batches as they come. A run that
    finds fewer writes them in the main process at the end.
    """

    def __init__(self, update: IndexUpdate, workers: int, close_fds: tuple[int, ...],
                 progress: Progress) -> None:
        self.update = update
        self.workers = workers
        #: Lock descriptors the writer processes must not keep (`workers.child_init`).
        self.close_fds = close_fds
        self.progress = progress
        self.delay = index_delay()
        self.pending: list[Item] = []
        self.parallel: ParallelWriter | None = None

    def add(self, article: Article, hash_value: str, path: str) -> None:
        self.pending.append((article, hash_value, path))
        self.progress.add_total(1)
        if self.parallel is None and len(self.pending) >= PARALLEL_THRESHOLD and self.workers > 1:
            self.parallel = ParallelWriter(self.update, self.workers, self.close_fds,
                                           self.progress, self.delay)
        if self.parallel is not None:
            while len(self.pending) >= BATCH_SIZE:
                self.parallel.send(self.pending[:BATCH_SIZE])
                del self.pending[:BATCH_SIZE]

    def finish(self) -> list[Any]:
        """Write what is left; the parts the writer processes wrote."""
        if self.parallel is not None:
            if self.pending:
                self.parallel.send(self.pending)
                self.pending = []
            return self.parallel.finish()
        for article, hash_value, path in self.pending:
            self.update.add(document_fields(article, hash_value, path))
            self.progress.update(1)
            if self.delay:
                time.sleep(self.delay)
        self.pending = []
        return []

    def terminate(self) -> None:
        """Stop the writer processes at once (the run failed)."""
        if self.parallel is not None:
            self.parallel.terminate()
