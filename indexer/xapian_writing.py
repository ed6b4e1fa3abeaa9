"""The writing face of the index backend, for Xapian (contract in `backend.py`).

The same document as the Whoosh backend writes (`schema.document_fields`),
laid out for Xapian:

- every view (`title`, `body_f`, ...) and keyword field (`id`, facets,
  `date`) as prefixed terms, `<field>:<term>`, with the positions and
  frequencies `analysis.postings` gives (positions stored +1: Xapian's 0 is
  "no position");
- the stored fields (title, body, word offsets, record...) pickled as the
  document data;
- the per-document columns the engine reads for every document (facet
  columns, date, index state, view lengths, sequence number) pickled in value
  slot 0, so one value stream loads them all.

Documents are numbered for the engine by a sequence number given at write
time, so one database and N shards number the same documents in the same
order (ties in ranking break the same way). Documents written in worker
processes go into a temporary local database each (`XapianPartWriter`) and
are copied into their shards at the commit.
"""

from __future__ import annotations

import os
import pickle
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import xapian

from . import analysis
from .build import Summary, _Run
from .schema import FACETS, HIDDEN_FACETS, SCHEMA_VERSION
from .xapian_store import (
    GENERATION_KEY,
    SCHEMA_KEY,
    SEQ_KEY,
    Store,
    metadata_int,
    open_shard_readers,
    open_shard_writer,
    shard_of,
)

#: Text views: field → analysis view.
TEXT_VIEWS = {
    "title": "words", "title_f": "folded_words", "title_s": "folded_syllables",
    "title_a": "syllables", "body": "words", "body_f": "folded_words",
    "body_s": "folded_syllables", "body_a": "syllables",
}
#: Keyword fields (one term per value, no positions), as `schema.build_schema` has them.
KEYWORDS = ("id", "source", "date", *FACETS, *HIDDEN_FACETS)
#: Fields kept in the document data (what `Generation.stored` returns).
STORED = ("id", "source", "content_hash", "title", "body", "body_spans", "date", "author",
          "record")
#: Fields read per document for every document: value slot COLUMNS_SLOT.
COLUMNS = ("date", "index_state", *(f"facet_{name}" for name in FACETS + HIDDEN_FACETS))
COLUMNS_SLOT = 0
#: Xapian refuses terms longer than this (bytes, prefix included).
MAX_TERM_BYTES = 240
#: Sequence numbers of documents added by the update itself come after its parts'.
OWN_SEQ_OFFSET = 1 << 32


def term(field: str, value: str) -> str:
    """The Xapian term of `value` in `field`."""
    return f"{field}:{value}"


def make_document(fields: Mapping[str, Any], seq: int) -> xapian.Document:
    """One Xapian document from `schema.document_fields`' mapping."""
    doc = xapian.Document()
    lengths: dict[str, int] = {}
    for field, view in TEXT_VIEWS.items():
        value = fields.get(field)
        total = 0
        if isinstance(value, str) and value:
            for word, positions in analysis.postings(value, view).items():
                total += len(positions)
                name = term(field, word)
                if len(name.encode("utf-8")) > MAX_TERM_BYTES:
                    continue
                for position in positions:
                    doc.add_posting(name, position + 1)
        lengths[field] = total
    for field in KEYWORDS:
        value = fields.get(field)
        if not value:
            continue
        values = value.split(",") if field in FACETS + HIDDEN_FACETS else [value]
        for one in values:
            name = term(field, one)
            if one and len(name.encode("utf-8")) <= MAX_TERM_BYTES:
                doc.add_term(name, 1)
    columns = {name: fields.get(name) or b"" for name in COLUMNS}
    columns["date"] = fields.get("date") or ""
    columns["lengths"] = lengths
    columns["seq"] = seq
    doc.add_value(COLUMNS_SLOT, pickle.dumps(columns, protocol=pickle.HIGHEST_PROTOCOL))
    doc.set_data(pickle.dumps({name: fields[name] for name in STORED if name in fields},
                              protocol=pickle.HIGHEST_PROTOCOL))
    return doc


def read_columns(raw: bytes) -> dict:
    """The per-document columns of value slot COLUMNS_SLOT."""
    return pickle.loads(raw)


class XapianBase:
    """The generation an update starts from: its number and what each shard held."""

    def __init__(self, store: Store) -> None:
        self.store = store
        readers = [open_shard_readers(store, i)[0] for i in range(len(store.shards))]
        self.generation = max(metadata_int(db, GENERATION_KEY, -1) for db in readers)
        self.next_seq = max(metadata_int(db, SEQ_KEY, 0) for db in readers)
        versions = {metadata_int(db, SCHEMA_KEY, 0) for db in readers if db.get_doccount()}
        self.schema_version = versions.pop() if len(versions) == 1 else (
            SCHEMA_VERSION if not versions else 0)
        #: Highest document id per shard: deletions touch only documents up to it.
        self.last_docids = [db.get_lastdocid() for db in readers]
        self.doc_count = sum(db.get_doccount() for db in readers)
        for db in readers:
            db.close()


def state_values(base: XapianBase) -> Iterator[bytes]:
    """The `index_state` value of every document of `base`."""
    for i in range(len(base.store.shards)):
        db, _ = open_shard_readers(base.store, i)
        try:
            for item in db.valuestream(COLUMNS_SLOT):
                value = read_columns(item.value).get("index_state")
                if value:
                    yield value
        finally:
            db.close()


class XapianPartWriter:
    """Documents written in a worker process into a temporary local database."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / f"part-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._db: xapian.WritableDatabase | None = None
        self._count = 0

    def add(self, fields: Mapping[str, Any]) -> None:
        if self._db is None:
            self._db = xapian.WritableDatabase(str(self.path), xapian.DB_CREATE_OR_OVERWRITE)
        self._db.add_document(make_document(fields, self._count))
        self._count += 1

    def finish(self) -> str | None:
        """The part's folder (copied into the shards at the commit), None when empty."""
        if self._db is None:
            return None
        self._db.commit()
        self._db.close()
        return str(self.path)


class XapianUpdate:
    """One change from generation `base` to the next; see `backend.IndexUpdate`.

    The index lock (`lock.IndexLock` on the index folder) keeps other runs
    out; local shards are also locked by Xapian itself. A commit is durable
    per shard (Xapian syncs its files); shards commit one after the other,
    so a reader that opens between two shard commits may see a mix: each
    shard stays consistent on its own.
    """

    def __init__(self, base: XapianBase, replace: bool = False) -> None:
        self.base = base
        self.store = base.store
        self.generation = base.generation + 1
        self.replace = replace
        self._parts_dir = self.store.folder / "parts"
        self._writers: list[xapian.WritableDatabase] = []
        try:
            for i in range(len(self.store.shards)):
                self._writers.append(open_shard_writer(self.store, i))
                # nothing reaches the shard before commit_transaction (close would commit)
                self._writers[-1].begin_transaction(True)
        except BaseException:
            self._close()
            raise
        self._own = 0
        self._deleted: list[tuple[int, str]] = []
        self._closed = False

    def _shard(self, article_id: str) -> int:
        return shard_of(article_id, len(self._writers))

    def add(self, fields: Mapping[str, Any]) -> None:
        seq = self.base.next_seq + OWN_SEQ_OFFSET + self._own
        self._own += 1
        self._writers[self._shard(fields["id"])].add_document(make_document(fields, seq))

    def delete(self, article_id: str) -> None:
        self._deleted.append((self._shard(article_id), article_id))

    def part_writer(self) -> XapianPartWriter:
        self._parts_dir.mkdir(exist_ok=True)
        return XapianPartWriter(self._parts_dir)

    def lock_fds(self) -> tuple[int, ...]:
        return ()

    def _apply_deletions(self) -> None:
        """Delete the base's documents (all of them when replacing), never the update's own."""
        for index, db in enumerate(self._writers):
            last = self.base.last_docids[index]
            if self.replace:
                doomed = [p.docid for p in db.postlist("") if p.docid <= last]
            else:
                doomed = []
                for shard, article_id in self._deleted:
                    if shard == index:
                        doomed += [p.docid for p in db.postlist(term("id", article_id))
                                   if p.docid <= last]
            for docid in doomed:
                db.delete_document(docid)

    def commit(self, parts: Sequence[Any] = ()) -> int:
        """Apply deletions, copy the parts in (numbered before the update's own documents),
        then commit every shard with the new generation number."""
        try:
            self._apply_deletions()
            seq = self.base.next_seq
            for part in parts:
                if not part:
                    continue
                source = xapian.Database(part)
                for item in source.postlist(""):
                    doc = source.get_document(item.docid)
                    stored = pickle.loads(doc.get_data())
                    columns = read_columns(doc.get_value(COLUMNS_SLOT))
                    columns["seq"] = seq
                    seq += 1
                    doc.add_value(COLUMNS_SLOT, pickle.dumps(columns,
                                                             protocol=pickle.HIGHEST_PROTOCOL))
                    self._writers[self._shard(stored["id"])].add_document(doc)
                source.close()
            next_seq = max(seq, self.base.next_seq + OWN_SEQ_OFFSET + self._own) \
                if self._own else seq
            for db in self._writers:
                db.set_metadata(GENERATION_KEY, str(self.generation))
                db.set_metadata(SEQ_KEY, str(next_seq))
                db.set_metadata(SCHEMA_KEY, str(SCHEMA_VERSION))
            for db in self._writers:
                db.commit_transaction()
        except BaseException:
            self.cancel()
            raise
        self._close()
        self._remove_parts()
        return self.generation

    def cancel(self) -> None:
        """Drop what was written and release the shards."""
        if self._closed:
            return
        for db in self._writers:
            try:
                db.cancel_transaction()
            except xapian.Error:  # committed already, or the shard is gone
                pass
        self._close()
        self._remove_parts()

    def _close(self) -> None:
        for db in self._writers:
            try:
                db.close()
            except xapian.Error:
                pass
        self._closed = True

    def _remove_parts(self) -> None:
        shutil.rmtree(self._parts_dir, ignore_errors=True)


def open_update(base: XapianBase, generation: int | None = None,
                replace: bool = False) -> XapianUpdate:
    """Start changing the index from `base`; the commit will be base's generation + 1."""
    return XapianUpdate(base, replace)


# ---------------------------------------------------------------- the run


def build_index(paths: list[str], index_dir: str | Path, rebuild: bool = False,
                workers: int | None = None, stream: Any = None) -> Any:
    """`vnsearch index` on a Xapian store: the same run as `build.build_index`.

    Reading, change detection, writer processes and the summary are the
    Whoosh run's own (`build._Run`); only the base, the update and the
    publication differ. A store that is not described yet becomes one local
    database in `index_dir`.
    """
    from .lock import IndexLock
    from .schema import StateError, decode_state
    from .xapian_store import local_store

    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    with IndexLock(index_dir) as lock:
        store = local_store(index_dir)
        base = XapianBase(store)
        start_over = rebuild or base.generation < 0
        if base.doc_count and base.schema_version != SCHEMA_VERSION:
            summary.warnings.append(
                f"index was built with schema version {base.schema_version or 'unknown'}, "
                f"this vnsearch uses {SCHEMA_VERSION}: rebuilding")
            start_over = True
        state: dict[str, tuple[str, str]] = {}
        if not start_over:
            try:
                for value in state_values(base):
                    article_id, path, hash_value = decode_state(value)
                    state[article_id] = (path, hash_value)
            except StateError as err:
                summary.warnings.append(f"the index state cannot be read ({err}): rebuilding")
                start_over, state = True, {}
        run_base = _RunBase(base, start_over)
        update = open_update(base, replace=start_over)
        close_fds = tuple(fd for fd in (lock.fd,) if fd is not None)
        try:
            _XapianRun(run_base, update, index_dir, state, summary,  # type: ignore[arg-type]
                       workers or os.cpu_count() or 1, close_fds, stream).run(paths)
        except BaseException:
            update.cancel()
            raise
    return summary


class _RunBase:
    """What `build._Run` reads of its base."""

    def __init__(self, base: XapianBase, start_over: bool) -> None:
        self.ix = base
        self.start_over = start_over
        self.damaged = False


class _XapianRun(_Run):
    """`build._Run` publishing to Xapian: commit when anything changed, else cancel."""

    def _publish(self, parts: list[Any]) -> int:
        summary = self.summary
        if summary.added or summary.updated or summary.deleted or self.base.start_over:
            generation = self.update.commit(parts)
            summary.committed = True
            return generation
        self.update.cancel()
        return self.base.ix.generation
