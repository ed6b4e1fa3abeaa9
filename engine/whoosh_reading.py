"""Whoosh postings as numpy arrays, one snapshot per index generation.

Whoosh scores and collects one posting at a time in Python, which costs
hundreds of milliseconds for a common word over 40k articles, and every facet
count would visit every matching document again. Here a term's postings are
read block by block straight into arrays (cached, bounded by size), so that
scoring, filtering and counting are vectorised over document numbers.

Document numbers are the searcher's global ones (segment offset + local
number); deleted documents are masked out through `live`.

Whoosh segments are immutable (only their deleted-docs set changes), so what
is read from a segment once (field lengths, columns, term lexicons) is kept on
its reader in `SEGMENT_DATA`, and `open_reader` re-uses the readers of the
segments an index still has after a commit: a re-open reads only the new
segments, and a lexicon is updated by the terms of the segments that came and
went instead of being read again.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from cachetools import LRUCache
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.filedb.filestore import OverlayStorage
from whoosh.reading import EmptyReader, IndexReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

from indexer import derived
from indexer.backend import position_keys_from
from indexer.generations import (
    describe,
    newest_toc_stamp,
    open_generation,
    toc_generations,
    toc_path,
)
from indexer.whoosh_postings import decode_postings
from indexer.whoosh_storage import SharedMapStorage

__all__ = ["IndexView", "Segment", "describe", "generation_stamps", "holds_articles",
           "index_exists", "newest_stamp", "open_view"]

T = TypeVar("T")
V = TypeVar("V")

EMPTY_IDS = np.zeros(0, dtype=np.int32)
EMPTY_TF = np.zeros(0, dtype=np.float32)
#: Upper bound for cached postings, in bytes.
CACHE_BYTES = 192 * 1024 * 1024


def newest_stamp(index_dir: str | Path) -> tuple[int, int] | None:
    """(generation, TOC mtime) of the newest commit, None when there is none."""
    return newest_toc_stamp(index_dir)


def generation_stamps(index_dir: str | Path) -> Iterator[tuple[int, int]]:
    """(generation, TOC mtime) of every commit on disk, newest first."""
    for generation in toc_generations(index_dir):
        try:
            yield generation, os.stat(toc_path(index_dir, generation)).st_mtime_ns
        except OSError:  # removed by a commit meanwhile
            continue


def open_view(index_dir: str | Path, generation: int,
              previous: IndexView | None = None) -> IndexView:
    """Generation `generation` of the index in `index_dir`, re-using `previous`'s segments."""
    ix = open_generation(index_dir, generation, check=False)
    ix.storage = SharedMapStorage(str(index_dir))
    return IndexView(Searcher(open_reader(ix, previous), fromindex=ix), previous)


def index_exists(index_dir: str | Path) -> bool:
    """True when a Whoosh index has been committed in `index_dir`.

    Looks for a TOC file rather than opening the index: `whoosh.index.exists_in`
    reads the latest TOC, which a concurrent commit may delete in between
    (a FileNotFoundError under load).
    """
    path = Path(index_dir)
    return path.is_dir() and any(path.glob("_MAIN_*.toc"))


def holds_articles(index_dir: str | Path) -> bool:
    """True when the newest generation that opens holds at least one article.

    A damaged newest commit (a power cut) does not count as "no index": the
    generation before it, which the indexer keeps, still answers.
    """
    from indexer.generations import open_newest_readable

    opened = open_newest_readable(index_dir)
    if opened.index is None:
        return False
    try:
        return opened.index.doc_count() > 0
    except Exception:  # noqa: BLE001 - unreadable after all: the indexer decides
        return False


def open_reader(ix: object, previous: IndexView | None = None) -> IndexReader:
    """A reader of the latest generation, re-using `previous`'s segment readers.

    A re-used reader gets the new segment object (its deletions may have
    changed); its files, and so what `SEGMENT_DATA` holds for it, have not.
    """
    toc = ix._read_toc()  # type: ignore[attr-defined]
    old: dict[str, SegmentReader] = {}
    if previous is not None:
        for leaf, _ in previous.leaves:
            if isinstance(leaf, SegmentReader) and not leaf.is_closed:
                old[leaf.segment().segid] = leaf
    readers: list[SegmentReader] = []
    try:
        for segment in toc.segments:
            reader = old.get(segment.segid)
            if reader is None:
                reader = SegmentReader(ix.storage, toc.schema, segment,  # type: ignore[attr-defined]
                                       generation=toc.generation)
            else:
                reader._segment = segment
                reader._perdoc._segment = segment
                # Whoosh caches the deleted set on the reader: a new commit may delete more
                reader.__dict__.pop("deleted_docs_set", None)
            readers.append(reader)
    except Exception:
        for reader in readers:
            if reader not in old.values():
                reader.close()
        raise
    if not readers:
        return EmptyReader(toc.schema)
    if len(readers) == 1:
        return readers[0]
    return MultiReader(readers, generation=toc.generation)


def close_view(view: IndexView) -> None:
    """Close every segment reader of `view` (it is not used again)."""
    for leaf, _ in view.leaves:
        try:
            leaf.close()
        except Exception:  # noqa: BLE001 - closing a reader must not fail its caller
            pass


def close_unused(previous: IndexView, current: IndexView) -> None:
    """Close the readers of `previous` that `current` does not re-use."""
    kept = {id(leaf) for leaf, _ in current.leaves}
    for leaf, _ in previous.leaves:
        if id(leaf) not in kept:
            try:
                leaf.close()
            except Exception:  # noqa: BLE001 - closing a stale reader must not fail a query
                pass


#: What has been read from each immutable segment, by its reader (re-used readers keep it).
_SEGMENT_DATA: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def remember(cache: LRUCache, key: object, value: V) -> V:
    """Keep `value` in a size-bounded LRU cache, unless it alone exceeds the budget."""
    try:
        cache[key] = value
    except ValueError:  # larger than the whole budget: used once, not kept
        pass
    return value


def _arrays_size(value: tuple[np.ndarray, np.ndarray]) -> int:
    return value[0].nbytes + value[1].nbytes + 100


def segment_data(leaf: object) -> dict:
    """What has been read from one immutable segment, kept as long as its reader lives."""
    data = _SEGMENT_DATA.get(leaf)
    if data is None:
        data = _SEGMENT_DATA.setdefault(leaf, {})
    return data


class Segment:
    """One immutable part of a generation, for data derived per part and kept across commits.

    Documents are numbered locally (0 .. doc_count_all-1); `offset` turns a
    local number into the generation's. `memo` keeps what a caller derives
    from the segment (facet tables, dates) for as long as the segment lives,
    so after a commit only new segments are read again.
    """

    def __init__(self, leaf: object, offset: int, known: frozenset[str]) -> None:
        self._leaf = leaf
        self.offset = offset
        self._known = known
        self.doc_count_all: int = leaf.doc_count_all()  # type: ignore[attr-defined]

    def column(self, field: str) -> list:
        """Values of a column field by local docnum (empty bytes where the field is absent)."""
        return leaf_column(self._leaf, field, field in self._known)

    def stored(self, docnum: int) -> dict:
        return self._leaf.stored_fields(docnum)  # type: ignore[attr-defined]

    def memo(self, key: object, build: Callable[[], T]) -> T:
        data = segment_data(self._leaf)
        if key not in data:
            data[key] = build()
        return data[key]

    def arrays(self) -> derived.SegmentArrays | None:
        return leaf_arrays(self._leaf)


class IndexView:
    """Read-only arrays over one searcher (one index generation)."""

    def __init__(self, searcher: Searcher, previous: IndexView | None = None) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.schema = searcher.schema
        self.generation = self.reader.generation()
        self.leaves: list[tuple[object, int]] = list(self.reader.leaf_readers())
        self.doc_count_all = self.reader.doc_count_all()
        live = np.ones(self.doc_count_all, dtype=bool)
        for leaf, offset in self.leaves:
            if leaf.has_deletions():
                deleted = np.fromiter(leaf.deleted_docs_set, dtype=np.int64)
                live[deleted + offset] = False
        self.live = live
        self.doc_count = int(live.sum())
        self._lengths: dict[str, np.ndarray] = {}
        self._avg: dict[str, float] = {}
        self._cache: LRUCache = LRUCache(CACHE_BYTES, getsizeof=_arrays_size)
        self._lock = threading.RLock()
        self._lexicons: dict[str, dict[str, int]] = {}
        self._mapped_fields: dict[str, bool] = {}
        #: Terms whose document frequency changed since `previous`, per field.
        self.lexicon_changes: dict[str, set[str]] = {}
        self._previous = previous

    @property
    def segments(self) -> list[Segment]:
        """The generation's immutable parts, in docnum order."""
        known = frozenset(self.schema.names())
        return [Segment(leaf, offset, known) for leaf, offset in self.leaves]

    # -- lengths ---------------------------------------------------------------

    def lengths(self, field: str) -> np.ndarray:
        """Number of tokens of `field` per document (Whoosh stores it rounded)."""
        with self._lock:
            if field not in self._lengths:
                parts = [_leaf_lengths(leaf, field) for leaf, _ in self.leaves]
                if len(parts) == 1:  # one segment: its mapped array as it is, not a copy
                    out = parts[0]
                else:
                    out = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
                self._lengths[field] = out
                live = out[self.live]
                self._avg[field] = float(live.mean()) if live.size else 1.0
            return self._lengths[field]

    def avg_length(self, field: str) -> float:
        self.lengths(field)
        return max(self._avg[field], 1.0)

    # -- postings --------------------------------------------------------------

    def postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(sorted live docnums, term frequencies) of `term` in `field`."""
        key = (field, term)
        with self._lock:
            hit = self._cache.get(key)
            if hit is None:
                hit = self._read_postings(field, term)
                if not self._mapped(field):  # a mapped list is sliced again at no cost
                    remember(self._cache, key, hit)
            return hit

    def _mapped(self, field: str) -> bool:
        """True when every segment's postings of `field` come from the derived arrays."""
        found = self._mapped_fields.get(field)
        if found is None:
            found = all(_mapped_postings(leaf, field) is not None for leaf, _ in self.leaves)
            self._mapped_fields[field] = found
        return found

    def df(self, field: str, term: str) -> int:
        return len(self.postings(field, term)[0])

    def _read_postings(self, field: str, term: str) -> tuple[np.ndarray, np.ndarray]:
        """A term's postings over all segments, each segment's read once (see SEGMENT_DATA)."""
        id_parts: list[np.ndarray] = []
        tf_parts: list[np.ndarray] = []
        fmt = self.schema[field].format if field in self.schema else None
        for leaf, offset in self.leaves:
            found = _leaf_postings(leaf, field, term, fmt)
            if found is not None and len(found[0]):
                id_parts.append(found[0].astype(np.int32) + offset)
                tf_parts.append(found[1])
        if not id_parts:
            return EMPTY_IDS, EMPTY_TF
        ids = np.concatenate(id_parts) if len(id_parts) > 1 else id_parts[0]
        tfs = np.concatenate(tf_parts) if len(tf_parts) > 1 else tf_parts[0]
        if self.doc_count < self.doc_count_all:
            keep = self.live[ids]
            ids, tfs = ids[keep], tfs[keep]
        return ids.astype(np.int32, copy=False), tfs.astype(np.float32, copy=False)

    def positions(self, field: str, term: str, docs: np.ndarray) -> dict[int, list[int]]:
        """Token positions of `term` in `field` for the given sorted docnums only.

        From the segment's mapped arrays when written at commit. Otherwise only
        the blocks holding a wanted document are read, found through the
        term's block directory (kept per segment) instead of walking every
        block header of a long posting list; decoded blocks are kept per
        segment too (the proximity check of long questions reads the same
        blocks of common syllables query after query).
        """
        out: dict[int, list[int]] = {}
        if not len(docs):
            return out
        docs = np.asarray(docs, dtype=np.int64)
        with self._lock:
            for leaf, offset in self.leaves:
                mapped = _mapped_positions(leaf, field)
                if mapped is not None:
                    local = docs - offset
                    local = local[(local >= 0) & (local < leaf.doc_count_all())]  # type: ignore[attr-defined]
                    if len(local):
                        for doc, found in mapped.positions_of(term, local).items():
                            out[doc + offset] = found
                    continue
                matcher = self._matcher(leaf, field, term)
                if matcher is None:
                    continue
                decode = _position_decoder(matcher, field)
                if isinstance(matcher, W3LeafMatcher):
                    starts, maxids = _block_directory(leaf, field, term, matcher)
                    local = docs - offset
                    local = local[(local >= 0) & (local <= maxids[-1])]
                    if not len(local):
                        continue
                    block_of = np.searchsorted(maxids, local, side="left")
                    bounds = np.flatnonzero(np.diff(block_of)) + 1
                    for wanted in np.split(local, bounds):
                        block = int(block_of[np.searchsorted(local, wanted[0])])
                        ids, values = _block_data(leaf, field, term, matcher, int(starts[block]))
                        at = np.minimum(np.searchsorted(ids, wanted), len(ids) - 1)
                        for i in at[ids[at] == wanted].tolist():
                            out[int(ids[i]) + offset] = decode(values[i])
                else:
                    wanted_set = set(docs.tolist())
                    while matcher.is_active():
                        doc = matcher.id() + offset
                        if doc in wanted_set:
                            out[doc] = decode(matcher.value())
                        matcher.next()
        return out

    def positions_mapped(self, field: str) -> bool:
        """True when every segment's positions of `field` are in the mapped arrays."""
        return all(_mapped_positions(leaf, field) is not None for leaf, _ in self.leaves)

    def position_keys_in(self, field: str, term: str, docs: np.ndarray) -> np.ndarray:
        """Occurrences of `term` in the sorted docnums `docs`, as sorted keys
        `docnum << 24 | position` (vectorised over the mapped arrays)."""
        docs = np.asarray(docs, dtype=np.int64)
        if not len(docs):
            return np.zeros(0, dtype=np.int64)
        mapped = [_mapped_positions(leaf, field) for leaf, _ in self.leaves]
        if any(m is None for m in mapped):
            return position_keys_from(self.positions(field, term, docs))
        parts = []
        for (leaf, offset), postings in zip(self.leaves, mapped, strict=True):
            lo, hi = np.searchsorted(docs, [offset, offset + leaf.doc_count_all()])  # type: ignore[attr-defined]
            if lo < hi:
                found = postings.position_keys_in(term, docs[lo:hi] - offset)  # type: ignore[union-attr]
                if len(found):
                    parts.append(found + (offset << 24))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def position_keys(self, field: str, term: str) -> np.ndarray:
        """Every occurrence of `term` as sorted int64 keys `docnum << 24 | position`.

        From the mapped arrays a few vectorised steps; decoded from Whoosh's
        files it is costly once and kept, so that afterwards a phrase over
        any number of documents is a few vectorised set operations.
        """
        key = (f"{field}\x00pos", term)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                return hit[0]
            parts: list[np.ndarray] = []
            decoded = False
            for leaf, offset in self.leaves:
                mapped = _mapped_positions(leaf, field)
                if mapped is not None:
                    found = mapped.position_keys(term)
                    if len(found):
                        found = found + (offset << 24)
                        if self.doc_count < self.doc_count_all:
                            found = found[self.live[found >> 24]]
                        parts.append(found)
                    continue
                matcher = self._matcher(leaf, field, term)
                if matcher is None:
                    continue
                decoded = True
                decode = _position_decoder(matcher, field)
                while matcher.is_active():
                    if isinstance(matcher, W3LeafMatcher):
                        matcher._read_data()
                        raw_ids, _, values = matcher._data
                        ids = np.cumsum(np.asarray(raw_ids, dtype=np.int64)) + offset
                        for doc, value in zip(ids.tolist(), values, strict=True):
                            if self.live[doc]:
                                pos = np.asarray(decode(value), dtype=np.int64)
                                parts.append((doc << 24) | pos)
                        matcher._next_block()
                    else:
                        doc = matcher.id() + offset
                        if self.live[doc]:
                            pos = np.asarray(decode(matcher.value()), dtype=np.int64)
                            parts.append((doc << 24) | pos)
                        matcher.next()
            keys = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
            if decoded:  # from the map alone it is quick to compute again: not kept
                remember(self._cache, key, (keys, EMPTY_TF))
            return keys

    def _matcher(self, leaf: object, field: str, term: str) -> Any:
        """Whoosh's matcher for `term` in one segment, or None when the segment lacks it."""
        if field not in self.schema:
            return None
        data = term.encode("utf-8")
        try:
            if (field, data) not in leaf:  # type: ignore[operator]
                return None
            return leaf._terms.matcher(field, data, self.schema[field].format)  # type: ignore[attr-defined]
        except (KeyError, AttributeError):
            return None

    # -- vocabulary ------------------------------------------------------------

    def lexicon(self, field: str) -> dict[str, int]:
        """Every term of `field` with its document frequency (deletions ignored).

        Summed segment by segment (a multi-segment reader looks every term up
        in every segment, 8x slower on an index grown by small commits); from
        the previous generation's sum when there is one, adding the new
        segments and taking away the ones gone (`lexicon_changes` says which
        terms moved).
        """
        with self._lock:
            if field not in self._lexicons:
                if field not in self.schema:
                    self._lexicons[field] = {}
                    return self._lexicons[field]
                prev = self._previous
                prev_lex = prev._lexicons.get(field) if prev is not None else None
                if prev is not None and prev_lex is not None:
                    now = {id(leaf) for leaf, _ in self.leaves}
                    before = {id(leaf) for leaf, _ in prev.leaves}
                    gone = [leaf for leaf, _ in prev.leaves if id(leaf) not in now]
                    added = [leaf for leaf, _ in self.leaves if id(leaf) not in before]
                    lex = dict(prev_lex)
                    changed: set[str] = set()
                    for leaf in gone:
                        for term, df in _leaf_lexicon(leaf, field).items():
                            left = lex.get(term, 0) - df
                            if left > 0:
                                lex[term] = left
                            else:
                                lex.pop(term, None)
                            changed.add(term)
                    for leaf in added:
                        for term, df in _leaf_lexicon(leaf, field).items():
                            lex[term] = lex.get(term, 0) + df
                            changed.add(term)
                    self.lexicon_changes[field] = changed
                elif len(self.leaves) == 1:  # read only, never changed: no copy needed
                    lex = _leaf_lexicon(self.leaves[0][0], field)
                else:
                    lex = {}
                    for leaf, _ in self.leaves:
                        for term, df in _leaf_lexicon(leaf, field).items():
                            lex[term] = lex.get(term, 0) + df
                self._lexicons[field] = lex
            return self._lexicons[field]

    def built_lexicons(self) -> dict[str, dict[str, int]]:
        """The lexicons summed so far, to hand to a view of this generation in another process."""
        with self._lock:
            return dict(self._lexicons)

    def adopt_lexicons(self, lexicons: dict[str, dict[str, int]]) -> None:
        """Lexicons of this very generation summed by another view (before a fork)."""
        with self._lock:
            for field, lex in lexicons.items():
                self._lexicons.setdefault(field, lex)

    def forget_previous(self) -> None:
        """Drop the link to the previous generation once everything is built from it."""
        self._previous = None

    # -- columns ---------------------------------------------------------------

    def column(self, field: str) -> list:
        """All values of a column field, by docnum (deleted documents included)."""
        values: list = []
        for leaf, _offset in self.leaves:
            values.extend(leaf_column(leaf, field, field in self.schema))
        return values

    def stored(self, docnum: int) -> dict:
        with self._lock:
            return self.searcher.stored_fields(int(docnum))


# -- per-segment data ----------------------------------------------------------


def leaf_arrays(leaf: object) -> derived.SegmentArrays | None:
    """The segment's derived arrays, memory-mapped, when written and current (else None).

    Looked for once per segment reader: a segment whose arrays were missing
    is decoded from Whoosh's files for as long as this reader lives.
    """
    data = segment_data(leaf)
    if "derived" not in data:
        found = None
        if isinstance(leaf, SegmentReader) and not os.environ.get("VNSEARCH_NO_DERIVED"):
            folder = _index_folder(leaf)
            if folder is not None:
                found = derived.load(folder, leaf.segment().segid, leaf.doc_count_all())
        data["derived"] = found
    return data["derived"]


def _index_folder(leaf: SegmentReader) -> str | None:
    """The index folder a segment is read from (a compound one overlays the folder)."""
    storage = leaf.storage()
    if isinstance(storage, OverlayStorage):
        storage = storage.b
    return getattr(storage, "folder", None)


def _leaf_lengths(leaf: object, field: str) -> np.ndarray:
    data = segment_data(leaf)
    key = ("lengths", field)
    if key not in data:
        arrays = leaf_arrays(leaf)
        mapped = arrays.lengths(field) if arrays is not None else None
        if mapped is not None:
            data[key] = mapped
        else:
            n = leaf.doc_count_all()  # type: ignore[attr-defined]
            get = leaf._perdoc.doc_field_length_reader(field, 0)  # type: ignore[attr-defined]
            data[key] = np.asarray([get(d) or 0 for d in range(n)], dtype=np.float32)
    return data[key]


def _mapped_postings(leaf: object, field: str) -> derived.Postings | None:
    """The segment's mapped postings of `field`, or None when they were not written."""
    arrays = leaf_arrays(leaf)
    return arrays.postings(field) if arrays is not None else None


def _mapped_positions(leaf: object, field: str) -> derived.Postings | None:
    """The segment's mapped postings of `field` when they hold positions, else None."""
    mapped = _mapped_postings(leaf, field)
    return mapped if mapped is not None and mapped.positional else None


def _position_decoder(matcher: Any, field: str) -> Callable[[bytes], list[int]]:
    """The format's position decoder; ValueError for a view written without positions."""
    if not matcher.format.supports("positions"):
        raise ValueError(f"view {field!r} has no positions")
    return matcher.format.decode_positions


def _leaf_lexicon(leaf: object, field: str) -> dict[str, int]:
    data = segment_data(leaf)
    key = ("lexicon", field)
    if key not in data:
        mapped = _mapped_postings(leaf, field)
        if mapped is not None:  # quick to read again from the map: not kept a second time
            return mapped.lexicon()
        lex: dict[str, int] = {}
        for raw, info in leaf.iter_field(field):  # type: ignore[attr-defined]
            term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            lex[term] = lex.get(term, 0) + info.doc_frequency()
        data[key] = lex
    return data[key]


def leaf_column(leaf: object, field: str, known: bool = True) -> list:
    """One segment's values of a column field, by local docnum."""
    data = segment_data(leaf)
    key = ("column", field)
    if key not in data:
        if known and leaf.has_column(field):  # type: ignore[attr-defined]
            data[key] = list(leaf.column_reader(field))  # type: ignore[attr-defined]
        else:
            data[key] = [b""] * leaf.doc_count_all()  # type: ignore[attr-defined]
    return data[key]


#: Block directories kept per segment before the oldest are dropped.
MAX_DIRECTORIES = 50_000


def _block_directory(leaf: object, field: str, term: str,
                     matcher: W3LeafMatcher) -> tuple[np.ndarray, np.ndarray]:
    """(file offset, last local docnum) of every block of a term's postings in a segment."""
    data = segment_data(leaf)
    directories: LRUCache = data.setdefault("blocks", LRUCache(MAX_DIRECTORIES))
    key = (field, term)
    found = directories.get(key)
    if found is None:
        starts: list[int] = []
        maxids: list[int] = []
        position = matcher._baseoffset
        matcher._goto(position)
        while True:
            starts.append(position)
            maxids.append(matcher._maxid)
            if matcher._lastblock:
                break
            position = matcher._nextoffset
            matcher._goto(position)
        found = (np.asarray(starts, dtype=np.int64), np.asarray(maxids, dtype=np.int64))
        directories[key] = found
    return found


#: Bytes of decoded postings kept per document of a segment (~86 MB at 43k).
LEAF_CACHE_BYTES_PER_DOC = 2000


def _leaf_postings(leaf: object, field: str, term: str,
                   fmt: object) -> tuple[np.ndarray, np.ndarray] | None:
    """(local docnums int64, term frequencies) of a term in one segment, cached on it.

    Kept across index generations: after a commit only the new segment's
    postings are read, not every common word's again.
    """
    if fmt is None:
        return None
    mapped = _mapped_postings(leaf, field)
    if mapped is not None:  # written at commit: slices of the shared map, nothing to keep
        return mapped.get(term) or (EMPTY_IDS, EMPTY_TF)
    data = segment_data(leaf)
    budget = LEAF_CACHE_BYTES_PER_DOC * max(leaf.doc_count_all(), 1)  # type: ignore[attr-defined]
    cache: LRUCache = data.setdefault("postings", LRUCache(budget, getsizeof=_arrays_size))
    key = (field, term)
    found = cache.get(key)
    if found is not None:
        return found
    raw_term = term.encode("utf-8")
    try:
        if (field, raw_term) not in leaf:  # type: ignore[operator]
            found = (EMPTY_IDS.astype(np.int64), EMPTY_TF)
        else:
            matcher = leaf._terms.matcher(field, raw_term, fmt)  # type: ignore[attr-defined]
            found = decode_postings(matcher)
    except (KeyError, AttributeError):
        return None
    return remember(cache, key, found)


#: Bytes of decoded position blocks kept per document of a segment (~170 MB at 43k;
#: 1000 gave back only a third of the gain, bench/query.py p95 92 ms against 50 ms).
BLOCK_CACHE_BYTES_PER_DOC = 4000


def _block_data(leaf: object, field: str, term: str, matcher: W3LeafMatcher,
                start: int) -> tuple[np.ndarray, list]:
    """(local docnums, raw values) of the postings block at `start`, cached on the segment."""
    data = segment_data(leaf)
    budget = BLOCK_CACHE_BYTES_PER_DOC * max(leaf.doc_count_all(), 1)  # type: ignore[attr-defined]
    cache: LRUCache = data.setdefault("block_data", LRUCache(budget, getsizeof=_block_size))
    key = (field, term, start)
    found = cache.get(key)
    if found is not None:
        return found
    matcher._goto(start)
    matcher._read_data()
    raw_ids, _, values = matcher._data
    return remember(cache, key, (np.cumsum(np.asarray(raw_ids, dtype=np.int64)), values))


def _block_size(block: tuple[np.ndarray, list]) -> int:
    ids, values = block
    return ids.nbytes + 200 + sum(len(v) + 40 if v else 8 for v in values or ())
