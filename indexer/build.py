"""`vnsearch index`: full and incremental indexing on all cores, safe to kill.

How a run goes:

1. Take the index lock (`lock.py`); a second indexer is told the index is busy.
2. Start from the newest generation that reads (`generations.open_base`). A
   damaged newest commit (what a power cut can leave) is reported and the
   run continues from the last good one; its commit supersedes the damaged
   one. No index, `--rebuild`, or an index written with another
   `SCHEMA_VERSION` starts over; the old documents are dropped only by the
   final commit, so they stay searchable until then.
3. Load what the index holds for the articles under the run's paths, and
   later for any id the run reads: source file and content hash
   (`state.py`). A state this version cannot read means starting over.
4. Read the input files in watched reading processes (`reading.py`): a file
   whose bytes are unchanged is not even extracted, and a file that crashes
   its process or takes too long costs only itself (reported; its articles
   stay as they were).
5. Decide, article by article, what is new, changed or unchanged, and which
   file an id belongs to (`state.Claims`); analyse the new and changed ones
   into the index, in writer processes when there are many (`writers.py`).
6. Delete replaced and vanished articles, and commit everything as one new,
   durable generation (`whoosh_writing.py`). A kill at any point leaves the
   previous generation intact; the files a killed or failed run leaves
   behind are not in any kept generation and are removed.
7. Keep the generation the run started from beside the new one, so readers
   have a complete generation to fall back to if the newest is damaged.

Deletion is scoped: an article disappears only if its source file is under
one of the paths of this run and it was not found there again (indexing
folder B never touches folder A). A file that fails to read keeps its
articles.

The run returns a `Summary`; `vnsearch index` (vnsearch/cli.py) prints it
and chooses the exit status.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .article import Article
from .backend import IndexUpdate
from .durable import fsync_dir
from .generations import Base, ensure_derived, open_base, open_generation, remove_unused
from .lock import IndexLock
from .progress import Progress
from .reading import FileResult, ReaderPool, file_timeout
from .schema import StateError
from .state import (
    FILES_SIDECAR,
    Claims,
    ScopedState,
    State,
    load_file_digests,
    remove_sidecar_temps,
    save_file_digests,
    under,
)
from .whoosh_writing import open_update
from .workers import fewer_collections
from .writers import ArticleWriter, IndexingError


@dataclass
class Summary:
    """What a run did, for the user (`vnsearch index` prints it)."""

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

    def fail(self, where: str, reason: str) -> None:
        self.failures.append((where, reason))
        self.failed += 1

    def line(self) -> str:
        return (
            f"added {self.added}, updated {self.updated}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}, failed {self.failed}"
        )


def build_index(
    paths: list[str],
    index_dir: str | Path,
    rebuild: bool = False,
    workers: int | None = None,
    stream: TextIO | None = None,
) -> Summary:
    """Bring the index at `index_dir` up to date with `paths`; see the module doc.

    Progress goes to `stream` (default stderr). Raises `IndexBusy` when another
    indexer holds the index, `IndexingError` or `OSError` when the run fails
    (the index is then left as it was).
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    with IndexLock(index_dir) as lock, fewer_collections():
        base = open_base(index_dir, rebuild)
        summary.warnings.extend(base.warnings)
        # files of killed or failed runs: segments no kept TOC names, temp files
        remove_unused(index_dir, [base.ix, base.previous], keep_newer_than=base.ix.generation)
        remove_sidecar_temps(index_dir)
        inputs = _input_files(paths, summary)
        state = _starting_state(base, summary, inputs[1])
        try:
            update = open_update(base.ix, base.next_generation, replace=base.start_over)
            close_fds = tuple(fd for fd in (lock.fd, *update.lock_fds()) if fd is not None)
            try:
                _Run(base, update, index_dir, state, summary,
                     workers or os.cpu_count() or 1, close_fds, stream).run(paths, inputs)
            except StateError as err:
                _cleanup_failed_run(update, index_dir, base)
                raise IndexingError(f"the index state cannot be read ({err}); "
                                    "run again with --rebuild") from err
            except BaseException:
                _cleanup_failed_run(update, index_dir, base)
                raise
        finally:
            if isinstance(state, ScopedState):
                state.close()
    return summary


def _starting_state(base: Base, summary: Summary, roots: list[str]) -> State | ScopedState:
    """What the base holds under `roots` and, on demand, of any id; nothing when starting
    over (or when it cannot be read)."""
    if base.start_over:
        return {}
    try:
        return ScopedState(base.ix, roots)
    except StateError as err:
        summary.warnings.append(f"the index state cannot be read ({err}): rebuilding")
        base.start_over = True
        return {}


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
            summary.fail(raw, "no such file or folder")
    problems: list[tuple[str, str]] = []
    files = [os.path.abspath(p) for p in iter_input_files(existing, problems)]
    for where, reason in problems:
        summary.fail(where, reason)
    return list(dict.fromkeys(files)), roots


def _load_tables() -> None:
    """Load the place tables before the reading processes are forked.

    A new file is extracted (places found) in a reading process and its
    articles' place keys computed here: loaded once in this process, both
    share the tables instead of each loading them.
    """
    from .localities import gazetteer

    gazetteer()


class _Run:
    """One run from `base`: read the files, write what changed, commit, save the digests."""

    def __init__(self, base: Base, update: IndexUpdate, index_dir: Path,
                 state: State | ScopedState,
                 summary: Summary, workers: int, close_fds: tuple[int, ...],
                 stream: TextIO | None) -> None:
        self.base = base
        self.update = update
        self.index_dir = index_dir
        self.state = state
        self.summary = summary
        self.workers = workers
        #: Lock descriptors that reading and writer processes must not keep.
        self.close_fds = close_fds
        self.reading = Progress("reading files", stream)
        self.indexing = Progress("indexing articles", stream)
        self.articles = ArticleWriter(update, workers, close_fds, self.indexing)
        #: path → digest of the files read whole and clean in this run
        self.new_digests: dict[str, str] = {}
        #: Files some of whose articles, streamed before the end, did not take their ids.
        self.unclean: set[str] = set()

    def run(self, paths: list[str], inputs: tuple[list[str], list[str]] | None = None) -> None:
        """Index `paths`; `inputs` is their `_input_files` if already listed."""
        files, roots = inputs if inputs is not None else _input_files(paths, self.summary)
        old_digests = ({} if self.base.start_over
                       else load_file_digests(self.index_dir, self.base.ix.generation))
        claims = Claims(self.state, files, roots, self.summary.warnings)
        self.reading.add_total(len(files))
        tasks = [(path, old_digests.get(path)) for path in files]
        if any(digest is None for _, digest in tasks):
            _load_tables()
        try:
            with ReaderPool(tasks, self.workers, self.close_fds, file_timeout()) as pool:
                for result in pool.results():
                    self.reading.update(1)
                    self._file(result, claims)
            self.reading.close()
            for article, hash_value, path in claims.settle():
                self._take(article, hash_value, path)
            for article_id in claims.vanished():
                self.update.delete(article_id)
                self.summary.deleted += 1
            parts = self.articles.finish()
            self.indexing.close()
        except BaseException:
            self.articles.terminate()
            raise
        generation = self._publish(parts)
        # Files of this run replace their old entries; vanished and failed ones go.
        digests = {p: d for p, d in old_digests.items() if not under(p, roots)}
        digests.update(self.new_digests)
        self._save_digests(generation, digests)

    def _file(self, result: FileResult, claims: Claims) -> None:
        """Take the articles of one file that are new or changed and belong to it.

        A long JSON file comes in several results, its articles first (written
        while the rest is read), its outcome last. If reading it fails half
        way, the articles already taken stay taken and the file's other
        articles stay as they were.
        """
        path = result.path
        claims.reading(path)
        if result.partial:
            if not self._claim(result, claims):
                self.unclean.add(path)
            return
        self.summary.warnings.extend(f"{path}: {note}" for note in result.notes)
        if result.reason is not None:
            self.summary.fail(path, result.reason)
            claims.failed(path)
            return
        if result.unchanged:
            self.summary.unchanged += claims.unchanged(path)
            assert result.digest is not None
            self.new_digests[path] = result.digest
            return
        for where, reason in result.bad_records:
            self.summary.fail(where, reason)
        taken_all = self._claim(result, claims)
        clean = taken_all and not result.bad_records and path not in self.unclean
        if clean and result.digest is not None:
            self.new_digests[path] = result.digest

    def _claim(self, result: FileResult, claims: Claims) -> bool:
        """Take the result's articles that belong to its file; whether all of them did."""
        taken_all = True
        for article, hash_value in result.items:
            if claims.claim(article, hash_value, result.path):
                self._take(article, hash_value, result.path)
            else:
                taken_all = False
        return taken_all

    def _take(self, article: Article, hash_value: str, path: str) -> None:
        """`path` holds `article`: write it unless the index has it as it is."""
        old = self.state.get(article.id)
        if old == (path, hash_value):
            self.summary.unchanged += 1
            return
        if old is None:
            self.summary.added += 1
        else:
            self.summary.updated += 1
            self.update.delete(article.id)
        self.articles.add(article, hash_value, path)

    def _publish(self, parts: list[Any]) -> int:
        """Commit if anything changed; remove what no kept generation needs; the generation."""
        base, summary = self.base, self.summary
        if summary.added or summary.updated or summary.deleted or base.start_over \
                or base.damaged:
            generation = self.update.commit(parts)
            summary.committed = True
            kept = [open_generation(self.index_dir, generation, check=False), base.retained()]
        else:
            self.update.cancel()
            generation = base.ix.generation
            kept = [base.ix, base.previous]
        try:
            remove_unused(self.index_dir, kept)
            fsync_dir(self.index_dir)
        except OSError:
            pass  # left for the next run
        ensure_derived(self.index_dir, kept)
        return generation

    def _save_digests(self, generation: int, digests: dict[str, str]) -> None:
        try:
            save_file_digests(self.index_dir, generation, digests)
        except OSError as err:
            remove_sidecar_temps(self.index_dir)
            self.summary.warnings.append(
                f"could not save {FILES_SIDECAR} ({err.strerror or err}); "
                "the next run will read every file again"
            )


def _cleanup_failed_run(update: IndexUpdate, index_dir: Path, base: Base) -> None:
    """Free what a failed run wrote (a full disk must not stay full).

    Each step on its own: cancelling the update may fail on the same full
    disk, which must not stop the files from being removed.
    """
    try:
        update.cancel()
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass
    try:
        remove_unused(index_dir, [base.ix, base.previous], keep_newer_than=base.ix.generation)
    except Exception:  # noqa: BLE001
        pass
    remove_sidecar_temps(index_dir)
