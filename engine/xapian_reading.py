"""The reading face of the index backend over Xapian: one database or N shards as one.

The engine's ranking, facets and snippets read dense arrays over document
numbers (see `indexer/backend.py`); here those come from Xapian: postings
and positions from prefixed terms, lexicons from `allterms`, stored fields
from the document data, columns from value slot 0 (read once per
generation with a value stream per shard). Document numbers follow the
sequence numbers the writer gave, ranked over every shard, so one database
and N shards number the same documents alike.

The shards are opened as one database (`Database.add_database`), so
Xapian itself merges posting lists, term statistics and lexicons across
shards; the engine sees one generation.

Round trips: over the network (`xapian-tcpsrv`) every call the engine
makes may cost a round trip to each shard, so the view asks for whole
things. A posting list is read as one match on the shard servers
(`_read_postlist`: an MSet whose weights are the term frequencies); a
phrase is matched by Xapian's matcher there too (`phrase_match`: one query
per phrase, not one position list per document); the stored fields of a
page of hits are fetched together (`prefetch`, pipelined by `MSet.fetch`).
Postings, phrase matches and stored fields are cached per generation.
Ranking stays the engine's own: Xapian only says which documents hold a
term (with its frequency) or a phrase.

A shard that stops answering during a query is re-opened on one of its
replicas (logged) if that replica holds the same generation; otherwise the
query fails with `ShardUnavailable` and the next one opens whatever the
shards hold then.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import pickle
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import xapian
from cachetools import LRUCache
from whoosh.util.numeric import byte_to_length, length_to_byte

from indexer.backend import IndexUnavailable, position_keys_from
from indexer.schema import StateError, decode_state
from indexer.xapian_store import (
    CONNECT_TIMEOUT_MS,
    GENERATION_KEY,
    Store,
    StoreError,
    load_store,
    metadata_int,
    open_shard_readers,
    split_address,
)
from indexer.xapian_writing import (
    COLUMNS_SLOT,
    MAX_TERM_BYTES,
    TEXT_VIEWS,
    read_columns,
    term,
)

LOG = logging.getLogger("vnsearch.xapian")
T = TypeVar("T")
EMPTY_IDS = np.zeros(0, dtype=np.int32)
EMPTY_TF = np.zeros(0, dtype=np.float32)
CACHE_BYTES = 192 * 1024 * 1024
#: A phrase checked among at most this many documents is matched among those only
#: (their id terms filter the query); over more, in the whole index, once per generation.
PHRASE_FILTER_MAX = 1000
#: Stored fields kept per generation (documents of recent result pages).
STORED_CACHE = 512
#: Connections per shard reading the columns of a new generation at once.
COLUMN_READERS = 4


class ShardUnavailable(IndexUnavailable):
    """No copy of a shard answers with the generation being served."""


def describe(err: BaseException) -> str:
    text = err.get_msg() if isinstance(err, xapian.Error) else str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


#: Per index folder, the databases kept open to look for new commits cheaply.
_PROBES: dict[str, list[xapian.Database]] = {}
#: The generation each of those databases held when last read.
_HELD: dict[str, list[int]] = {}
_PROBE_LOCK = threading.Lock()


def _probe_generation(index_dir: str | Path) -> int | None:
    key = str(Path(index_dir).resolve())
    store = load_store(index_dir)
    with _PROBE_LOCK:
        dbs = _PROBES.get(key)
        try:
            if dbs is None:
                dbs = [open_shard_readers(store, i)[0] for i in range(len(store.shards))]
                _PROBES[key] = dbs
                _HELD[key] = [metadata_int(db, GENERATION_KEY, -1) for db in dbs]
            else:
                held = _HELD[key]
                for i, db in enumerate(dbs):
                    if db.reopen():  # a round trip; the generation is read only when it moved
                        held[i] = metadata_int(db, GENERATION_KEY, -1)
            return max(_HELD[key])
        except (xapian.Error, StoreError):
            _PROBES.pop(key, None)
            dbs = [open_shard_readers(store, i)[0] for i in range(len(store.shards))]
            _PROBES[key] = dbs
            _HELD[key] = [metadata_int(db, GENERATION_KEY, -1) for db in dbs]
            return max(_HELD[key])


def newest_stamp(index_dir: str | Path) -> tuple[int, int] | None:
    """(generation, generation) of what the shards hold now, None before the first commit."""
    try:
        generation = _probe_generation(index_dir)
    except (StoreError, xapian.Error) as err:
        LOG.warning("%s: cannot look for new commits (%s)", index_dir, describe(err))
        return None
    if generation is None or generation < 0:
        return None
    return generation, generation


def generation_stamps(index_dir: str | Path) -> Iterator[tuple[int, int]]:
    """Only the newest: Xapian serves the latest commit of each shard."""
    stamp = newest_stamp(index_dir)
    if stamp is not None:
        yield stamp


def index_exists(index_dir: str | Path) -> bool:
    try:
        return newest_stamp(index_dir) is not None
    except (StoreError, xapian.Error):
        return False


def holds_articles(index_dir: str | Path) -> bool:
    try:
        store = load_store(index_dir)
        return any(open_shard_readers(store, i)[0].get_doccount()
                   for i in range(len(store.shards)))
    except (StoreError, xapian.Error):
        return False


def open_view(index_dir: str | Path, generation: int,
              previous: XapianView | None = None) -> XapianView:
    return XapianView(load_store(index_dir), previous)


def close_unused(previous: XapianView, current: XapianView) -> None:
    """Close the shard connections `previous` holds (each view opens its own)."""
    for db in previous.dbs:
        if all(db is not other for other in current.dbs):
            try:
                db.close()
            except xapian.Error:
                pass


def _whoosh_length(n: int) -> float:
    """A field length as Whoosh stores it (one byte), so BM25 scores agree with Whoosh's."""
    return float(byte_to_length(length_to_byte(n)))


class Segment:
    """The whole generation as one part: its documents are numbered across every shard."""

    def __init__(self, view: XapianView) -> None:
        self._view = view
        self.offset = 0
        self.doc_count_all = view.doc_count_all

    def column(self, field: str) -> list:
        return self._view.column(field)

    def stored(self, docnum: int) -> dict:
        return self._view.stored(docnum)

    def memo(self, key: object, build: Callable[[], T]) -> T:
        memo = self._view.memo
        if key not in memo:
            memo[key] = build()
        return memo[key]

    def arrays(self) -> None:
        """No derived arrays: columns come from the document values."""
        return None

    def stored_field(self, docnums: list[int], field: str) -> dict[int, Any]:
        """One stored field of many documents (read over parallel connections)."""
        return self._view.stored_field(docnums, field)


class XapianView:
    """One generation of a Xapian store as the engine's `Generation`."""

    def __init__(self, store: Store, previous: XapianView | None = None) -> None:
        self.store = store
        self._lock = threading.RLock()
        self.dbs: list[xapian.Database] = []
        self.where: list[str] = []
        for i in range(len(store.shards)):
            db, where = open_shard_readers(store, i)
            self.dbs.append(db)
            self.where.append(where)
        self.generation = max(metadata_int(db, GENERATION_KEY, -1) for db in self.dbs)
        self.db = self._combined()
        # every document's columns, and the numbering by sequence number; a document id
        # of the combined database is (shard's id - 1) x shards + shard + 1
        docids, seqs = [], []
        columns: list[dict] = []
        for docid, value in self._column_values():
            cols = read_columns(value)
            columns.append(cols)
            docids.append(docid)
            seqs.append(cols["seq"])
        order = np.argsort(np.asarray(seqs, dtype=np.int64), kind="stable")
        self._columns = [columns[i] for i in order.tolist()]
        self.docid_of = np.asarray(docids, dtype=np.int64)[order]
        self.docnum_of = np.full(int(self.docid_of.max(initial=0)) + 1, -1, dtype=np.int64)
        self.docnum_of[self.docid_of] = np.arange(len(self.docid_of))
        self.doc_count_all = len(self._columns)
        self.doc_count = self.doc_count_all
        self.live = np.ones(self.doc_count_all, dtype=bool)
        self.lexicon_changes: dict[str, set[str]] = {}
        self._previous = previous
        self._lexicons: dict[str, dict[str, int]] = {}
        self._lengths: dict[str, np.ndarray] = {}
        self._cache: LRUCache = LRUCache(CACHE_BYTES, getsizeof=lambda v: v[0].nbytes
                                         + v[1].nbytes + 100)
        self._stored: LRUCache = LRUCache(STORED_CACHE)
        self._ids: list[str] | None = None
        self.memo: dict = {}

    def _column_values(self) -> list[tuple[int, bytes]]:
        """(combined docid, columns value) of every document.

        A remote shard answers a value stream one document at a time, so each
        shard's docid range is read in COLUMN_READERS slices at once, each over a
        connection of its own to the copy this view opened; if any of that fails,
        one stream over all shards (with fail-over) reads them instead.
        """
        count = len(self.dbs)
        try:
            jobs = []
            for index, (db, where) in enumerate(zip(self.dbs, self.where, strict=True)):
                last = db.get_lastdocid()
                step = max(1, -(-last // COLUMN_READERS))
                jobs += [(index, where, start, min(start + step, last + 1))
                         for start in range(1, last + 1, step)]

            def read(job: tuple[int, str, int, int]) -> list[tuple[int, bytes]]:
                index, where, start, stop = job
                db = _open_copy(where)
                try:
                    out = []
                    it = db.valuestream(COLUMNS_SLOT)
                    try:
                        first = it.skip_to(start)  # the item it moved to; next() moves on
                    except StopIteration:  # no document from `start` on
                        return out
                    for item in itertools.chain([first], it):
                        if item.docid >= stop:
                            break
                        out.append(((item.docid - 1) * count + index + 1, item.value))
                    return out
                finally:
                    db.close()

            if len(jobs) > 1:
                with ThreadPoolExecutor(max_workers=min(len(jobs), 16)) as pool:
                    parts = list(pool.map(read, jobs))
                return [pair for part in parts for pair in part]
        except (xapian.Error, StoreError, ValueError) as err:
            LOG.warning("reading the columns in parallel failed (%s): one stream instead",
                        describe(err))
        return self._retry(lambda db: [(item.docid, item.value)
                                       for item in db.valuestream(COLUMNS_SLOT)])

    # -- fail-over -------------------------------------------------------------

    def _combined(self) -> xapian.Database:
        """All shards as one database (Xapian merges their statistics and lists)."""
        combined = xapian.Database()
        for db in self.dbs:
            combined.add_database(db)
        return combined

    def _retry(self, call: Callable[[xapian.Database], T]) -> T:
        """`call(all shards as one database)`; a shard that fails is moved to a replica of
        the same generation and the call made again."""
        try:
            return call(self.db)
        except (xapian.NetworkError, xapian.DatabaseModifiedError) as err:
            LOG.warning("a shard failed: %s", describe(err))
        with self._lock:
            for index, db in enumerate(self.dbs):
                try:
                    db.reopen()
                    if metadata_int(db, GENERATION_KEY, -1) == self.generation:
                        continue
                except xapian.Error as err:
                    LOG.warning("shard %d (%s) does not answer: %s", index, self.where[index],
                                describe(err))
                try:
                    fresh, where = open_shard_readers(self.store, index)
                except StoreError as again:
                    raise ShardUnavailable(str(again)) from None
                held = metadata_int(fresh, GENERATION_KEY, -1)
                if held != self.generation:
                    raise ShardUnavailable(f"shard {index}: {where} holds generation {held}, "
                                           f"not {self.generation}") from None
                LOG.warning("shard %d: reading %s instead", index, where)
                self.dbs[index], self.where[index] = fresh, where
            self.db = self._combined()
        return call(self.db)

    # -- lengths ---------------------------------------------------------------

    def lengths(self, view: str) -> np.ndarray:
        with self._lock:
            if view not in self._lengths:
                self._lengths[view] = np.asarray(
                    [_whoosh_length(c["lengths"].get(view, 0)) for c in self._columns],
                    dtype=np.float32)
            return self._lengths[view]

    def avg_length(self, view: str) -> float:
        lengths = self.lengths(view)
        return max(float(lengths.mean()) if lengths.size else 1.0, 1.0)

    # -- postings --------------------------------------------------------------

    def postings(self, view: str, word: str) -> tuple[np.ndarray, np.ndarray]:
        key = (view, word)
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                hit = self._read_postings(view, word)
                try:
                    self._cache[key] = hit
                except ValueError:
                    pass
            return hit

    def _read_postings(self, view: str, word: str) -> tuple[np.ndarray, np.ndarray]:
        name = term(view, word)
        docids, wdfs = self._retry(lambda db: _read_postlist(db, name))
        if not len(docids):
            return EMPTY_IDS, EMPTY_TF
        ids, keep = self._docnums(docids)
        tfs = wdfs[keep]
        order = np.argsort(ids, kind="stable")
        return ids[order].astype(np.int32), tfs[order]

    def _docnums(self, docids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, mask of the docids that have one) of combined docids."""
        inside = docids < len(self.docnum_of)
        docs = np.full(len(docids), -1, dtype=np.int64)
        docs[inside] = self.docnum_of[docids[inside]]
        keep = docs >= 0
        return docs[keep], keep

    # -- phrases, matched where the positions are --------------------------------

    def phrase_match(self, keys: tuple[tuple[str, str], ...], docs: Any) -> np.ndarray:
        """Sorted document numbers among `docs` holding the (view, term) keys at consecutive
        positions, matched by the shard servers: no position crosses the network."""
        docs = np.asarray(docs, dtype=np.int32)
        if len(keys) < 2 or not len(docs):
            return docs
        phrase = xapian.Query(xapian.Query.OP_PHRASE, [term(v, t) for v, t in keys], len(keys))
        ids = self.article_ids()
        if len(docs) <= PHRASE_FILTER_MAX and all(
                0 < len(term("id", ids[d]).encode("utf-8")) <= MAX_TERM_BYTES
                and ids[d] for d in docs.tolist()):
            key = ("\x00among", keys, hashlib.blake2b(docs.tobytes(), digest_size=16).digest())
            with self._lock:
                hit = self._cache.get(key)
            if hit is None:
                among = xapian.Query(xapian.Query.OP_OR,
                                     [term("id", ids[d]) for d in docs.tolist()])
                found = self._match(xapian.Query(xapian.Query.OP_FILTER, phrase, among))
                hit = (np.intersect1d(found, docs, assume_unique=True).astype(np.int32),
                       EMPTY_TF)
                with self._lock:
                    try:
                        self._cache[key] = hit
                    except ValueError:
                        pass
            return hit[0]
        key = ("\x00phrase", keys)
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                hit = (self._match(phrase), EMPTY_TF)
                try:
                    self._cache[key] = hit
                except ValueError:
                    pass
        return np.intersect1d(hit[0], docs, assume_unique=True).astype(np.int32)

    def _match(self, query: xapian.Query) -> np.ndarray:
        """Sorted document numbers of every document matching `query` (no weights)."""
        def run(db: xapian.Database) -> list[int]:
            enquire = xapian.Enquire(db)
            enquire.set_query(query)
            enquire.set_weighting_scheme(xapian.BoolWeight())
            enquire.set_docid_order(xapian.Enquire.DONT_CARE)
            count = max(db.get_doccount(), 1)
            return [item.docid for item in enquire.get_mset(0, count, count)]

        docids = self._retry(run)
        docs, _ = self._docnums(np.asarray(docids, dtype=np.int64))
        return np.sort(docs).astype(np.int32)

    def article_ids(self) -> list[str]:
        """Each document's article id (from its index state column), read once."""
        with self._lock:
            if self._ids is None:
                ids = []
                for cols in self._columns:
                    try:
                        ids.append(decode_state(cols.get("index_state") or b"")[0])
                    except StateError:
                        ids.append("")
                self._ids = ids
            return self._ids

    def df(self, view: str, word: str) -> int:
        return len(self.postings(view, word)[0])

    def positions(self, view: str, word: str, docs: Any) -> dict[int, list[int]]:
        name = term(view, word)
        out: dict[int, list[int]] = {}
        with self._lock:
            for doc in np.asarray(docs, dtype=np.int64).tolist():
                docid = int(self.docid_of[doc])
                try:
                    found = self._retry(lambda db, d=docid: [
                        p - 1 for p in db.positionlist(d, name)])
                except xapian.RangeError:  # the document does not hold the term
                    continue
                if found:
                    out[doc] = found
        return out

    def position_keys_in(self, view: str, word: str, docs: Any) -> np.ndarray:
        return position_keys_from(self.positions(view, word, docs))

    def position_keys(self, view: str, word: str) -> np.ndarray:
        key = (f"{view}\x00pos", word)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                return hit[0]
            keys = self.position_keys_in(view, word, self.postings(view, word)[0])
            try:
                self._cache[key] = (keys, EMPTY_TF)
            except ValueError:
                pass
            return keys

    # -- vocabulary ------------------------------------------------------------

    def lexicon(self, view: str) -> dict[str, int]:
        with self._lock:
            if view not in self._lexicons:
                prefix = term(view, "")
                items = self._retry(lambda db: [(t.term, t.termfreq)
                                                for t in db.allterms(prefix)])
                lex = {raw.decode("utf-8")[len(prefix):]: df for raw, df in items}
                prev = self._previous
                old = prev._lexicons.get(view) if prev is not None else None
                if old is not None:
                    changed = {w for w, df in lex.items() if old.get(w) != df}
                    changed |= {w for w in old if w not in lex}
                    self.lexicon_changes[view] = changed
                self._lexicons[view] = lex
            return self._lexicons[view]

    def forget_previous(self) -> None:
        self._previous = None

    # -- columns and stored fields ---------------------------------------------

    @property
    def segments(self) -> list[Segment]:
        return [Segment(self)] if self.doc_count_all else []

    def column(self, field: str) -> list:
        empty = "" if field == "date" else b""
        return [c.get(field, empty) for c in self._columns]

    def stored(self, docnum: int) -> dict:
        with self._lock:
            hit = self._stored.get(docnum)
        if hit is not None:
            return dict(hit)
        docid = int(self.docid_of[docnum])
        fields = pickle.loads(self._retry(lambda db: db.get_document(docid).get_data()))
        with self._lock:
            self._stored[docnum] = fields
        return dict(fields)

    def stored_field(self, docnums: list[int], field: str) -> dict[int, Any]:
        """docnum → one stored field, for many documents at once (the locality tree reads
        the record of every article naming a district): slices read over connections of
        their own to the copies this view opened, else one document at a time."""
        count = len(self.dbs)
        slices = [docnums[i::COLUMN_READERS * count] for i in range(COLUMN_READERS * count)]

        def read(part: list[int]) -> dict[int, Any]:
            opened: dict[int, xapian.Database] = {}
            out = {}
            try:
                for docnum in part:
                    docid = int(self.docid_of[docnum])
                    shard = (docid - 1) % count
                    if shard not in opened:
                        opened[shard] = _open_copy(self.where[shard])
                    data = opened[shard].get_document((docid - 1) // count + 1).get_data()
                    out[docnum] = pickle.loads(data).get(field)
                return out
            finally:
                for db in opened.values():
                    db.close()

        try:
            if len(docnums) > 1:
                found: dict[int, Any] = {}
                with ThreadPoolExecutor(max_workers=len(slices)) as pool:
                    for part in pool.map(read, [p for p in slices if p]):
                        found.update(part)
                return found
        except (xapian.Error, StoreError, ValueError) as err:
            LOG.warning("reading stored fields in parallel failed (%s): one at a time",
                        describe(err))
        return {docnum: self.stored(docnum).get(field) for docnum in docnums}

    def prefetch(self, docnums: Any) -> None:
        """Fetch the stored fields of `docnums` together (a page of hits): Xapian pipelines
        the requests of an MSet's documents, so a page costs about one round trip."""
        with self._lock:
            wanted = [int(d) for d in docnums if int(d) not in self._stored]
        if len(wanted) < 2:
            return
        ids = self.article_ids()
        query = xapian.Query(xapian.Query.OP_OR, [term("id", ids[d]) for d in wanted])

        def fetch(db: xapian.Database) -> list[tuple[int, bytes]]:
            enquire = xapian.Enquire(db)
            enquire.set_query(query)
            enquire.set_weighting_scheme(xapian.BoolWeight())
            mset = enquire.get_mset(0, len(wanted) * 2)
            mset.fetch()
            return [(item.docid, item.document.get_data()) for item in mset]

        fetched = self._retry(fetch)
        with self._lock:
            for docid, data in fetched:
                if docid < len(self.docnum_of) and self.docnum_of[docid] >= 0:
                    self._stored[int(self.docnum_of[docid])] = pickle.loads(data)


def _open_copy(where: str) -> xapian.Database:
    """Another connection to the copy of a shard a view reads: a folder or host:port."""
    if ":" in where and not Path(where).exists():
        host, port = split_address(where)
        return xapian.remote_open(host, port, 10_000, CONNECT_TIMEOUT_MS)
    return xapian.Database(where)


def _read_postlist(db: xapian.Database, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(docids, wdfs) of a posting list, as one match on the shard servers.

    Weighted by TfIdfWeight("nnn") a document's weight is the term's frequency in
    it, so the MSet holds the posting list: one message per shard, where a posting
    iterator gets one message per posting (and the binding's `postlist()` items
    a round trip per posting for the document's length). The binding hands the
    items over one call each: the loop does nothing else (no comparison with the
    end, no rounding), a common word's 42,000 postings being read per query cold."""
    count = max(db.get_doccount(), 1)
    enquire = xapian.Enquire(db)
    enquire.set_query(xapian.Query(name))
    enquire.set_weighting_scheme(xapian.TfIdfWeight("nnn"))
    enquire.set_docid_order(xapian.Enquire.DONT_CARE)
    mset = enquire.get_mset(0, count, count)
    size = mset.size()
    it = mset._begin()  # noqa: SLF001 - a bare iterator: no item objects
    docid, weight, step = it.get_docid, it.get_weight, it.__next__
    docids = [0] * size
    weights = [0.0] * size
    for k in range(size):
        docids[k] = docid()
        weights[k] = weight()
        step()
    return np.asarray(docids, dtype=np.int64), np.rint(np.asarray(weights, dtype=np.float32))


def field_names() -> tuple[str, ...]:
    """The views this backend indexes with positions."""
    return tuple(TEXT_VIEWS)
