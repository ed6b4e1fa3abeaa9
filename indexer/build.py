"""`vnsearch index`: full and incremental indexing on all cores, safe to kill.

How a run goes:

1. Take the index lock (`lock.py`); a second indexer is told the index is busy.
2. Open the index. A missing index, `--rebuild`, or an index written with
   another `SCHEMA_VERSION` starts over; the old documents are dropped only
   by the final commit (Whoosh's CLEAR merge), so they stay searchable until
   then.
3. Load what the index holds from its `index_state` column: for every
   article its id, the absolute path of its source file and its content
   hash. This state is committed in the same TOC generation as the documents,
   so it can never disagree with them, whatever happens to the process.
4. Read the input files in a process pool. A file whose bytes hash like last
   time (sidecar `vnsearch-files.json`, trusted only when it names the
   current generation) is not even extracted; otherwise every article is
   hashed (`schema.content_hash`) and compared with the state.
5. New and changed articles are analysed (pyvi segmentation and the three
   analyzers) by writer processes that each write their own Whoosh segment;
   the main process deletes replaced and vanished articles and commits all
   the segments at once. Whoosh writes the new TOC atomically, so a kill at
   any point leaves the previous generation intact; the files a killed run
   leaves behind are not in any TOC and the next commit removes them.

Deletion is scoped: an article disappears only if its source file is under
one of the paths of this run and it was not found there again (indexing
folder B never touches folder A). A file that fails to read keeps its
articles.

Test hook: `VNSEARCH_INDEX_DELAY=<seconds>` sleeps that long after each
article is analysed, so tests can kill a run deterministically half-way.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import multiprocessing
import os
import queue
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from whoosh import index
from whoosh.index import LockError
from whoosh.writing import CLEAR, SegmentWriter

from .article import Article
from .lock import IndexBusy, IndexLock
from .progress import Progress
from .schema import (
    SCHEMA_VERSION,
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


def _writer_process(
    ix: index.Index,
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
        ix: index.Index,
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


def load_state(ix: index.Index) -> dict[str, tuple[str, str]]:
    """id → (absolute source path, content hash) for every live document."""
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
    if data.get("generation") != generation or data.get("schema_version") != SCHEMA_VERSION:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def save_file_digests(index_dir: Path, generation: int, files: dict[str, str]) -> None:
    """Atomically replace the sidecar (write, fsync, rename)."""
    target = index_dir / FILES_SIDECAR
    tmp = index_dir / f".{FILES_SIDECAR}.{os.getpid()}.tmp"
    payload = {"generation": generation, "schema_version": SCHEMA_VERSION, "files": files}
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def _under(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def _remove_leftovers(ix: index.Index, index_dir: Path) -> None:
    """Files of killed or cancelled runs: segments no TOC names, sidecar temp files.

    Only called under the lock, so no other writer can be producing them.
    """
    if index.exists_in(str(index_dir)):
        toc = ix._read_toc()
        index.clean_files(ix.storage, ix.indexname, toc.generation, toc.segments)
    for stale in index_dir.glob(f".{FILES_SIDECAR}.*.tmp"):
        try:
            stale.unlink()
        except OSError:
            pass


# ---------------------------------------------------------------- the run


def _open_index(index_dir: Path, rebuild: bool, summary: Summary) -> tuple[index.Index, bool]:
    """(index, start_over). A new index is created empty; an old one stays until commit."""
    if not index.exists_in(str(index_dir)):
        return index.create_in(str(index_dir), build_schema()), True
    try:
        ix = index.open_dir(str(index_dir))
    except Exception as err:  # unreadable TOC: nothing left to preserve
        summary.warnings.append(f"existing index is unreadable ({err}); rebuilding")
        return index.create_in(str(index_dir), build_schema()), True
    version = index_schema_version(ix.schema)
    if version != SCHEMA_VERSION:
        summary.warnings.append(
            f"index was built with schema version {version or 'unknown'}, "
            f"this vnsearch uses {SCHEMA_VERSION}: rebuilding"
        )
        return ix, True
    return ix, rebuild


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


def _read_all(
    tasks: list[tuple[str, str | None]], workers: int, close_fds: tuple[int, ...]
) -> Iterator[FileResult]:
    if workers <= 1 or len(tasks) <= 1:
        yield from map(read_file, tasks)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(min(workers, len(tasks)), _child_init, (close_fds,)) as pool:
        yield from pool.imap(read_file, tasks, chunksize=1)


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
        ix, start_over = _open_index(index_dir, rebuild, summary)
        _remove_leftovers(ix, index_dir)
        try:
            writer = SegmentWriter(ix)
        except LockError:
            raise IndexBusy(
                f"index {index_dir} is being updated by another process (Whoosh write lock)"
            ) from None
        try:
            _run(ix, writer, index_dir, paths, start_over, workers, delay, lock, summary, stream)
        except BaseException:
            try:
                if not writer.is_closed:
                    writer.cancel()
                _remove_leftovers(ix, index_dir)  # free the space a failed run took
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass
            raise
    return summary


def _run(
    ix: index.Index,
    writer: SegmentWriter,
    index_dir: Path,
    paths: list[str],
    start_over: bool,
    workers: int,
    delay: float,
    lock: IndexLock,
    summary: Summary,
    stream: TextIO | None,
) -> None:
    schema = build_schema()
    writer.schema = schema
    state = {} if start_over else load_state(ix)
    old_digests = {} if start_over else load_file_digests(index_dir, writer.generation - 1)
    ids_by_path: dict[str, list[str]] = {}
    for article_id, (path, _) in state.items():
        ids_by_path.setdefault(path, []).append(article_id)

    files, roots = _input_files(paths, summary)
    close_fds = tuple(
        fd for fd in (lock.fd, getattr(writer.writelock, "fd", None)) if fd is not None
    )
    reading = Progress("reading files", stream)
    reading.add_total(len(files))
    indexing = Progress("indexing articles", stream)

    seen: dict[str, str] = {}  # id → path it was taken from in this run
    keep_paths: set[str] = set()  # failed files: their articles stay as they are
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

    tasks = [(path, old_digests.get(path)) for path in files]
    try:
        for result in _read_all(tasks, workers, close_fds):
            reading.update(1)
            path = result.path
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
                seen[article.id] = path
                old = state.get(article.id)
                if old == (path, hash_value):
                    summary.unchanged += 1
                    continue
                if old is None:
                    summary.added += 1
                else:
                    summary.updated += 1
                    writer.delete_by_term("id", article.id)
                pending.append((article, hash_value, path))
                indexing.add_total(1)
            if clean and result.digest is not None:
                new_digests[path] = result.digest
            flush(final=False)
        reading.close()
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

    changed = summary.added or summary.updated or summary.deleted or start_over
    if changed:
        _commit(writer, segments, start_over)
        summary.committed = True
    else:
        writer.cancel()
        _remove_leftovers(ix, index_dir)
    # Files of this run replace their old entries; vanished and failed ones go.
    digests = {p: d for p, d in old_digests.items() if not _under(p, roots)}
    digests.update(new_digests)
    try:
        save_file_digests(index_dir, ix.latest_generation(), digests)
    except OSError as err:
        for stale in index_dir.glob(f".{FILES_SIDECAR}.*.tmp"):
            stale.unlink(missing_ok=True)
        summary.warnings.append(
            f"could not save {FILES_SIDECAR} ({err.strerror or err}); "
            "the next run will read every file again"
        )


def _commit(writer: SegmentWriter, segments: list[Any], start_over: bool) -> None:
    """Write the worker segments, our own and the surviving old ones in one TOC."""
    try:
        final = writer._merge_segments(CLEAR if start_over else None, False, True)
        final.extend(segments)
        if writer._added:
            final.append(writer._finalize_segment())
        else:
            writer._close_segment()
        writer._commit_toc(final)
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
