"""`vnsearch index`: full and incremental indexing on all cores, safe to kill.

How a run goes:

1. Take the index lock (`lock.py`); a second indexer is told the index is busy.
2. Open the newest generation that reads (`generations.py`). A damaged
   newest commit (what a power cut can leave) is reported and the run
   continues from the last good one; its commit supersedes the damaged one.
   No index, `--rebuild`, or an index written with another `SCHEMA_VERSION`
   starts over; the old documents are dropped only by the final commit
   (Whoosh's CLEAR merge), so they stay searchable until then.
3. Load what the index holds from its `index_state` column: for every
   article its id, the absolute path of its source file and its content
   hash. This state is committed in the same TOC generation as the documents,
   so it can never disagree with them, whatever happens to the process. A
   state this version cannot read means starting over.
4. Read the input files in reading processes (`ReaderPool`), one file at a
   time each. A file whose bytes hash like last time (sidecar
   `vnsearch-files.json`, trusted only when it names the generation the run
   starts from) is not even extracted; otherwise every article is hashed
   (`schema.content_hash`) and compared with the state. A reading process
   that dies, or takes longer than the time limit on one file
   (`$VNSEARCH_FILE_TIMEOUT`, default 120 s; it is then killed), costs only
   that file: it is reported, its articles stay as they were, and a new
   process takes over.
5. New and changed articles are analysed (pyvi segmentation and the three
   analyzers) by writer processes that each write their own Whoosh segment;
   the main process deletes replaced and vanished articles and commits all
   the segments at once: segment files are fsynced, then the TOC (written
   under a temporary name, fsynced, renamed, folder fsynced). A kill at any
   point leaves the previous generation intact; the files a killed or
   failed run leaves behind are not in any kept TOC and are removed.
6. After the commit, the generation the run started from is kept beside the
   new one (its TOC and segments, one generation only), so readers have a
   complete generation to fall back to if the newest is damaged.

Deletion is scoped: an article disappears only if its source file is under
one of the paths of this run and it was not found there again (indexing
folder B never touches folder A). A file that fails to read keeps its
articles.

Ids belong to the first file that holds them. An article whose id is
already indexed from another file is skipped with a warning, as long as
that file still exists outside the paths of this run, or is read in this
run and still holds the id (or could not be read). Once the owner no longer
holds the id (deleted, or re-indexed without it), the next run that reads
the other file gives it the id. In one run, the first file in path order
wins. Re-indexing the owner never loses its article to a later file.

Test hooks: `VNSEARCH_INDEX_DELAY=<seconds>` sleeps that long after each
article is analysed, and `VNSEARCH_READ_DELAY=<seconds>[:<glob>]` before
each file (whose name matches the glob) is read, so tests can kill a run
deterministically half-way or make a file exceed the time limit.
"""

from __future__ import annotations

import ctypes
import errno
import fnmatch
import hashlib
import json
import multiprocessing
import os
import queue
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, TextIO

from whoosh.index import TOC, LockError
from whoosh.writing import CLEAR, SegmentWriter

from .article import Article
from .generations import (
    DurableStorage,
    GenerationIndex,
    fsync_dir,
    fsync_segments,
    open_generation,
    open_newest_readable,
    remove_unused,
)
from .lock import IndexBusy, IndexLock
from .progress import Progress
from .schema import (
    SCHEMA_VERSION,
    StateError,
    build_schema,
    content_hash,
    decode_state,
    document_fields,
    index_schema_version,
)

FILES_SIDECAR = "vnsearch-files.json"
#: Below this many articles to analyse, the main process writes them itself
#: (starting writer processes costs more than it saves).
PARALLEL_THRESHOLD = 64
#: Articles per job sent to a writer process.
BATCH_SIZE = 16
DELAY_ENV = "VNSEARCH_INDEX_DELAY"
READ_DELAY_ENV = "VNSEARCH_READ_DELAY"
FILE_TIMEOUT_ENV = "VNSEARCH_FILE_TIMEOUT"
#: Seconds one file may take to read and extract before its process is killed.
DEFAULT_FILE_TIMEOUT = 120.0
#: How many files past the oldest unfinished one are handed out: results are
#: used in path order, so this bounds what waits in memory behind a slow file.
READ_AHEAD = 64
EXIT_FAILED = 1
EXIT_BUSY = 75  # EX_TEMPFAIL: try again later


class IndexingError(Exception):
    """The run could not complete; the index is left as it was."""


@dataclass
class Summary:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    #: (path, reason) for every file or record that could not be indexed.
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: Notes that are not failures (duplicate ids, rebuild reasons).
    warnings: list[str] = field(default_factory=list)
    committed: bool = False

    def line(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}, failed {self.failed}"
        )


@dataclass
class FileResult:
    """What reading one input file gave (computed in a pool worker)."""

    path: str  # absolute
    digest: str | None = None
    unchanged: bool = False  # bytes identical to the last successful run
    items: list[tuple[Article, str]] = field(default_factory=list)  # (article, hash)
    reason: str | None = None  # the whole file failed
    bad_records: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    notes: list[str] = field(default_factory=list)  # e.g. converted from a legacy encoding


# ---------------------------------------------------------------- processes


def _child_init(close_fds: tuple[int, ...]) -> None:
    """Runs first in every worker: die with the parent, drop inherited locks.

    A worker orphaned by a SIGKILLed parent must not live on holding the
    inherited lock descriptors (flock locks are shared with forked children),
    or the next run would find the index "busy".
    """
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


def _extract(path: Path, notes: list[str]) -> tuple[list[Article], list[tuple[str, str]]]:
    """Articles of one file and the records skipped in it, as (where, reason)."""
    from .extract import extract_file_report

    articles, warnings = extract_file_report(path, notes)
    return articles, [(str(path), warning) for warning in warnings]


def read_file(task: tuple[str, str | None]) -> FileResult:
    """Hash a file's bytes; if they changed, extract and hash its articles."""
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
    try:
        articles, result.bad_records = _extract(Path(path), result.notes)
    except ReadError as err:
        result.reason = err.reason
        return result
    except Exception as err:  # a bug or an odd file must not stop the run
        result.reason = f"could not extract: {type(err).__name__}: {err}"
        return result
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
    _child_init(close_fds)
    delay, pattern = _read_delay()
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        if delay and fnmatch.fnmatchcase(os.path.basename(task[0]), pattern):
            time.sleep(delay)
        conn.send(read_file(task))


@dataclass
class _Reader:
    process: Any
    conn: Connection
    task: int | None = None  # index of the file being read
    started: float = 0.0


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
        self.ctx = multiprocessing.get_context("fork")
        self.readers: list[_Reader] = []
        #: Reading processes replaced because they died or ran out of time.
        self.replaced = 0

    def _start(self) -> _Reader:
        parent_end, child_end = self.ctx.Pipe()
        process = self.ctx.Process(target=_reader_process, args=(child_end, self.close_fds),
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

    def _failed(self, reader: _Reader, reason: str) -> tuple[int, FileResult]:
        assert reader.task is not None
        index = reader.task
        reader.task = None
        return index, FileResult(self.tasks[index][0], reason=reason)

    def results(self) -> Iterator[FileResult]:
        """FileResults of every task, in task order."""
        if not self.tasks:
            return
        todo = deque(range(len(self.tasks)))
        done: dict[int, FileResult] = {}
        next_out = 0
        self.readers = [self._start() for _ in range(self.workers)]
        while next_out < len(self.tasks):
            for reader in self.readers:
                if reader.task is None and todo and todo[0] < next_out + READ_AHEAD:
                    index = todo.popleft()
                    reader.task, reader.started = index, time.monotonic()
                    try:
                        reader.conn.send(self.tasks[index])
                    except OSError:  # died while idle: it never saw the file
                        todo.appendleft(index)
                        reader.task = None
                        self._replace(reader)
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
            if next_out >= len(self.tasks):
                break
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
                    if isinstance(result, FileResult):
                        done[reader.task] = result
                        reader.task = None
                        continue
                if reader.process.sentinel in ready or reader.conn in ready:
                    reader.process.join()
                    if reader.task is not None:
                        why = _exit_reason(reader.process.exitcode)
                        index, result = self._failed(
                            reader, f"the reading process died ({why}); "
                                    "its articles, if any were indexed, are kept")
                        done[index] = result
                    self._replace(reader)
                elif reader.task is not None and now - reader.started >= self.timeout:
                    index, result = self._failed(
                        reader, f"took longer than {self.timeout:g} s to read; "
                                "its articles, if any were indexed, are kept")
                    done[index] = result
                    self._replace(reader)

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


def _writer_process(
    ix: GenerationIndex,
    schema: Any,
    jobs: Any,
    results: Any,
    close_fds: tuple[int, ...],
    delay: float,
) -> None:
    """A writer process: analyses articles into its own, uncommitted segment."""
    _child_init(close_fds)
    parent = os.getppid()
    writer = None
    try:
        writer = SegmentWriter(ix, _lk=False)
        writer.schema = schema
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
                writer.add_document(**document_fields(article, hash_value, path))
                if delay:
                    time.sleep(delay)
            results.put(("progress", len(job)))
        if writer._added:
            segment = writer._finalize_segment()
        else:
            writer._close_segment()
            segment = None
        results.put(("done", segment))
    except OSError as err:  # a full disk is the user's to fix, not a bug to show
        results.put(("oserror", (err.errno, err.strerror, err.filename)))
    except BaseException:
        results.put(("error", traceback.format_exc()))


class ParallelWriter:
    """Writer processes fed with batches of articles; each returns one segment.

    Like Whoosh's own MpWriter with multisegment=True, but it ships Article
    records (not field dicts) so that segmentation, including the stored word
    offsets, happens once and only in the workers, and a dead worker is
    noticed instead of silently losing its documents.
    """

    def __init__(
        self,
        ix: GenerationIndex,
        schema: Any,
        procs: int,
        close_fds: tuple[int, ...],
        progress: Progress,
        delay: float,
    ) -> None:
        ctx = multiprocessing.get_context("fork")
        self.jobs = ctx.Queue(procs * 4)
        self.results = ctx.Queue()
        self.progress = progress
        self.segments: list[Any] = []
        self.finished = 0
        self.procs = [
            ctx.Process(
                target=_writer_process,
                args=(ix, schema, self.jobs, self.results, close_fds, delay),
                daemon=True,
            )
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
                self.segments.append(value)
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

    def send(self, batch: list[tuple[Article, str, str]]) -> None:
        while True:
            try:
                self.jobs.put(batch, timeout=0.2)
                break
            except queue.Full:
                self._poll(0.05)
        self._drain()

    def finish(self) -> list[Any]:
        """Tell the workers to finish; their segments, once all are written."""
        for _ in self.procs:
            self.jobs.put(None)
        while self.finished < len(self.procs):
            self._poll(1.0)
        for proc in self.procs:
            proc.join()
        return self.segments

    def terminate(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
        for proc in self.procs:
            proc.join()


# ---------------------------------------------------------------- state


def load_state(ix: GenerationIndex) -> dict[str, tuple[str, str]]:
    """id → (absolute source path, content hash) for every live document.

    Raises StateError when a value cannot be read (the run then starts over).
    """
    state: dict[str, tuple[str, str]] = {}
    with ix.reader() as reader:
        if reader.doc_count_all() == 0 or not reader.has_column("index_state"):
            return state
        column = reader.column_reader("index_state")
        for docnum in reader.all_doc_ids():
            value = column[docnum]
            if value:
                article_id, path, hash_value = decode_state(value)
                state[article_id] = (path, hash_value)
    return state


def load_file_digests(index_dir: Path, generation: int) -> dict[str, str]:
    """The sidecar's file digests, if it describes this very generation."""
    try:
        data = json.loads((index_dir / FILES_SIDECAR).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("generation") != generation \
            or data.get("schema_version") != SCHEMA_VERSION:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def save_file_digests(index_dir: Path, generation: int, files: dict[str, str]) -> None:
    """Atomically replace the sidecar (write, fsync, rename).

    ASCII-escaped JSON: a path that is not valid UTF-8 is kept by Python as
    lone surrogates, which only the escaped form can carry.
    """
    target = index_dir / FILES_SIDECAR
    tmp = index_dir / f".{FILES_SIDECAR}.{os.getpid()}.tmp"
    payload = {"generation": generation, "schema_version": SCHEMA_VERSION, "files": files}
    with open(tmp, "w", encoding="ascii") as handle:
        json.dump(payload, handle, ensure_ascii=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def _under(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _remove_sidecar_temps(index_dir: Path) -> None:
    for stale in index_dir.glob(f".{FILES_SIDECAR}.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


# ---------------------------------------------------------------- the run


@dataclass
class Base:
    """The generation a run starts from, and what to keep beside its commit."""

    ix: GenerationIndex
    start_over: bool
    #: Number of the generation this run commits: above every TOC present.
    next_generation: int
    #: The previous complete generation kept while this run works (None: none).
    previous: GenerationIndex | None = None
    #: Newer TOCs that could not be read: the run commits even with no change.
    damaged: bool = False

    def retained(self) -> GenerationIndex | None:
        """The generation to keep beside this run's commit: the one it started from.

        Not when it was written with another schema version (it could not be
        served), nor when it is an empty starting point.
        """
        if index_schema_version(self.ix.schema) != SCHEMA_VERSION:
            return None
        return self.ix if self.ix._read_toc().segments else None


def _empty_generation(index_dir: Path, generation: int) -> GenerationIndex:
    """Write an empty TOC numbered `generation` and open it (a new index)."""
    storage = DurableStorage(str(index_dir))
    TOC(build_schema(), [], generation).write(storage, "MAIN")
    return open_generation(index_dir, generation, check=False)


def _open_index(index_dir: Path, rebuild: bool, summary: Summary) -> Base:
    """The newest readable generation; the old documents stay until commit."""
    opened = open_newest_readable(index_dir)
    newest = opened.index.generation if opened.index is not None else -1
    damaged = [(gen, why) for gen, why in opened.damaged if gen > newest]
    for gen, why in damaged:
        summary.warnings.append(
            f"index generation {gen} (_MAIN_{gen}.toc) cannot be read ({why}), "
            "as a power cut or disk error can leave it"
            + (f"; continuing from generation {newest}, the last good one"
               if opened.index is not None else "")
        )
    if opened.index is None:
        if opened.present:
            summary.warnings.append("no readable index generation left: rebuilding")
        ix = _empty_generation(index_dir, opened.next_generation)
        return Base(ix, True, opened.next_generation + 1, damaged=bool(damaged))
    ix = opened.index
    previous = open_newest_readable(index_dir, below=ix.generation).index
    base = Base(ix, rebuild, opened.next_generation, previous, damaged=bool(damaged))
    version = index_schema_version(ix.schema)
    if version != SCHEMA_VERSION:
        summary.warnings.append(
            f"index was built with schema version {version or 'unknown'}, "
            f"this vnsearch uses {SCHEMA_VERSION}: rebuilding"
        )
        base.start_over = True
    return base


def _input_files(paths: list[str], summary: Summary) -> tuple[list[str], list[str]]:
    """(absolute input files, absolute roots whose vanished articles may be deleted)."""
    from .extract import iter_input_files

    roots = []
    existing = []
    for raw in paths:
        if os.path.exists(raw):
            existing.append(raw)
            roots.append(os.path.abspath(raw))
        else:
            summary.failures.append((raw, "no such file or folder"))
            summary.failed += 1
    problems: list[tuple[str, str]] = []
    files = [os.path.abspath(p) for p in iter_input_files(existing, problems)]
    for where, reason in problems:
        summary.failures.append((where, reason))
        summary.failed += 1
    return list(dict.fromkeys(files)), roots


def _cleanup_failed_run(writer: SegmentWriter, index_dir: Path, base: Base) -> None:
    """Free what a failed run wrote (a full disk must not stay full).

    Each step on its own: cancelling the writer may fail on the same full
    disk, which must not stop the files from being removed.
    """
    try:
        if not writer.is_closed:
            writer.cancel()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        try:
            writer._cleanup_on_error()
        except Exception:  # noqa: BLE001
            pass
    try:
        remove_unused(index_dir, [base.ix, base.previous], keep_newer_than=base.ix.generation)
    except Exception:  # noqa: BLE001
        pass
    _remove_sidecar_temps(index_dir)


def build_index(
    paths: list[str],
    index_dir: str | Path,
    rebuild: bool = False,
    workers: int | None = None,
    stream: TextIO | None = None,
) -> Summary:
    """Bring the index at `index_dir` up to date with `paths`; see the module doc."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    workers = workers or os.cpu_count() or 1
    delay = float(os.environ.get(DELAY_ENV) or 0)
    summary = Summary()
    with IndexLock(index_dir) as lock:
        base = _open_index(index_dir, rebuild, summary)
        # files of killed or failed runs: segments no kept TOC names, temp files
        remove_unused(index_dir, [base.ix, base.previous], keep_newer_than=base.ix.generation)
        _remove_sidecar_temps(index_dir)
        state: dict[str, tuple[str, str]] = {}
        if not base.start_over:
            try:
                state = load_state(base.ix)
            except StateError as err:
                summary.warnings.append(f"the index state cannot be read ({err}): rebuilding")
                base.start_over = True
        try:
            writer = SegmentWriter(base.ix)
        except LockError:
            raise IndexBusy(
                f"index {index_dir} is being updated by another process (Whoosh write lock)"
            ) from None
        writer.generation = base.next_generation
        try:
            _run(base, writer, index_dir, paths, state, workers, delay, lock, summary, stream)
        except BaseException:
            _cleanup_failed_run(writer, index_dir, base)
            raise
    return summary


def _run(
    base: Base,
    writer: SegmentWriter,
    index_dir: Path,
    paths: list[str],
    state: dict[str, tuple[str, str]],
    workers: int,
    delay: float,
    lock: IndexLock,
    summary: Summary,
    stream: TextIO | None,
) -> None:
    ix, start_over = base.ix, base.start_over
    schema = build_schema()
    writer.schema = schema
    old_digests = {} if start_over else load_file_digests(index_dir, ix.generation)
    ids_by_path: dict[str, list[str]] = {}
    for article_id, (path, _) in state.items():
        ids_by_path.setdefault(path, []).append(article_id)

    files, roots = _input_files(paths, summary)
    run_files = set(files)
    close_fds = tuple(
        fd for fd in (lock.fd, getattr(writer.writelock, "fd", None)) if fd is not None
    )
    reading = Progress("reading files", stream)
    reading.add_total(len(files))
    indexing = Progress("indexing articles", stream)

    seen: dict[str, str] = {}  # id → path it was taken from in this run
    keep_paths: set[str] = set()  # failed files: their articles stay as they are
    read_paths: set[str] = set()  # files whose result has been handled
    #: id → (article, hash, path) claimed by a file while the file that owns
    #: the id in the index is still to be read in this run.
    deferred: dict[str, tuple[Article, str, str]] = {}
    new_digests: dict[str, str] = {}
    pending: list[tuple[Article, str, str]] = []
    parallel: ParallelWriter | None = None

    def flush(final: bool) -> None:
        nonlocal parallel
        if parallel is None and (len(pending) >= PARALLEL_THRESHOLD and workers > 1):
            parallel = ParallelWriter(ix, schema, workers, close_fds, indexing, delay)
        if parallel is not None:
            while len(pending) >= BATCH_SIZE or (final and pending):
                parallel.send(pending[:BATCH_SIZE])
                del pending[:BATCH_SIZE]
        elif final:
            for article, hash_value, path in pending:
                writer.add_document(**document_fields(article, hash_value, path))
                indexing.update(1)
                if delay:
                    time.sleep(delay)
            pending.clear()

    def skip_duplicate(article_id: str, path: str, owner: str) -> None:
        summary.warnings.append(
            f"{path}: article id {article_id!r} is already indexed from {owner}; "
            "this copy is skipped (an id stays with the first file that holds it)"
        )

    def owner_keeps(owner: str) -> bool:
        """Whether the file that holds an id in the index still holds it."""
        if owner in run_files:
            return owner in keep_paths  # read in this run: it did not list the id again
        return not _under(owner, roots) and os.path.exists(owner)

    def take(article: Article, hash_value: str, path: str) -> None:
        seen[article.id] = path
        old = state.get(article.id)
        if old == (path, hash_value):
            summary.unchanged += 1
            return
        if old is None:
            summary.added += 1
        else:
            summary.updated += 1
            writer.delete_by_term("id", article.id)
        pending.append((article, hash_value, path))
        indexing.add_total(1)

    tasks = [(path, old_digests.get(path)) for path in files]
    try:
        with ReaderPool(tasks, workers, close_fds, file_timeout()) as pool:
            for result in pool.results():
                reading.update(1)
                path = result.path
                read_paths.add(path)
                summary.warnings.extend(f"{path}: {note}" for note in result.notes)
                if result.reason is not None:
                    summary.failures.append((path, result.reason))
                    summary.failed += 1
                    keep_paths.add(path)
                    continue
                if result.unchanged:
                    for article_id in ids_by_path.get(path, []):
                        if article_id not in seen:
                            seen[article_id] = path
                            summary.unchanged += 1
                    assert result.digest is not None
                    new_digests[path] = result.digest
                    continue
                for where, reason in result.bad_records:
                    summary.failures.append((where, reason))
                    summary.failed += 1
                clean = not result.bad_records
                for article, hash_value in result.items:
                    if article.id in seen:
                        summary.warnings.append(
                            f"{path}: article id {article.id!r} already read from "
                            f"{seen[article.id]}; this copy is skipped"
                        )
                        clean = False
                        continue
                    old = state.get(article.id)
                    owner = old[0] if old is not None else path
                    if owner != path:
                        if owner in run_files and owner not in read_paths:
                            if article.id in deferred:
                                skip_duplicate(article.id, path, deferred[article.id][2])
                            else:
                                deferred[article.id] = (article, hash_value, path)
                            clean = False
                            continue
                        if owner_keeps(owner):
                            skip_duplicate(article.id, path, owner)
                            clean = False
                            continue
                    take(article, hash_value, path)
                if clean and result.digest is not None:
                    new_digests[path] = result.digest
                flush(final=False)
        reading.close()
        for article_id, (article, hash_value, path) in deferred.items():
            owner = state[article_id][0]
            if article_id in seen:
                skip_duplicate(article_id, path, seen[article_id])
            elif owner_keeps(owner):
                skip_duplicate(article_id, path, owner)
            else:
                take(article, hash_value, path)
        flush(final=True)

        for article_id, (path, _) in state.items():
            if article_id not in seen and path not in keep_paths and _under(path, roots):
                writer.delete_by_term("id", article_id)
                summary.deleted += 1

        segments = parallel.finish() if parallel is not None else []
        indexing.close()
    except BaseException:
        if parallel is not None:
            parallel.terminate()
        raise

    changed = summary.added or summary.updated or summary.deleted or start_over or base.damaged
    generation = ix.generation
    if changed:
        generation = base.next_generation
        _commit(writer, segments, start_over, index_dir, generation)
        summary.committed = True
        kept = [open_generation(index_dir, generation, check=False), base.retained()]
    else:
        writer.cancel()
        kept = [ix, base.previous]
    try:
        remove_unused(index_dir, kept)
        fsync_dir(index_dir)
    except OSError:
        pass  # left for the next run
    # Files of this run replace their old entries; vanished and failed ones go.
    digests = {p: d for p, d in old_digests.items() if not _under(p, roots)}
    digests.update(new_digests)
    try:
        save_file_digests(index_dir, generation, digests)
    except OSError as err:
        _remove_sidecar_temps(index_dir)
        summary.warnings.append(
            f"could not save {FILES_SIDECAR} ({err.strerror or err}); "
            "the next run will read every file again"
        )


def _commit(writer: SegmentWriter, segments: list[Any], start_over: bool, index_dir: Path,
            generation: int) -> None:
    """Write the worker segments, our own and the surviving old ones in one durable TOC.

    Every segment file is flushed to disk before the TOC that names it is
    written (and the TOC before it is renamed into place, see
    `DurableStorage`), so a TOC that survives a power cut names only
    segments that survived it too.
    """
    try:
        final = writer._merge_segments(CLEAR if start_over else None, False, True)
        final.extend(segments)
        if writer._added:
            final.append(writer._finalize_segment())
        else:
            writer._close_segment()
        fsync_segments(index_dir, final)
        TOC(writer.schema, final, generation).write(writer.storage, writer.indexname)
    except BaseException:
        writer._cleanup_on_error()
        raise
    writer._finish()


def index_command(paths: list[str], index_dir: str, rebuild: bool, workers: int | None) -> int:
    """The `vnsearch index` command: summary on stdout, problems on stderr."""
    try:
        summary = build_index(paths, index_dir, rebuild=rebuild, workers=workers)
    except IndexBusy as err:
        print(f"vnsearch index: {err}", file=sys.stderr)
        return EXIT_BUSY
    except IndexingError as err:
        print(f"vnsearch index: {err}; the index was not changed", file=sys.stderr)
        return EXIT_FAILED
    except OSError as err:  # full disk (ENOSPC), file size limit (EFBIG), permissions
        hint = " (free some space and run again)" if err.errno == errno.ENOSPC else ""
        where = f" ({err.filename})" if err.filename else ""
        print(
            f"vnsearch index: cannot write the index in {index_dir}: "
            f"{err.strerror or err}{where}{hint}; the index was not changed",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("vnsearch index: interrupted; the index was not changed", file=sys.stderr)
        return 130
    for warning in summary.warnings:
        print(f"vnsearch index: {warning}", file=sys.stderr)
    for where, reason in summary.failures:
        print(f"failed: {where}: {reason}", file=sys.stderr)
    print(summary.line())
    return 0
