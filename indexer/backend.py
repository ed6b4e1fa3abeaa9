"""The seam between vnsearch and the index store: what a backend must do.

An index backend has two faces:

- **reading**, used by the search engine (`engine/`): open a generation,
  postings and terms of a view, stored fields, facet columns, counts;
- **writing**, used by the indexer (`indexer/`): change a generation into
  the next one, durably.

The product ships one backend, Whoosh: `engine/whoosh_reading.py` and
`indexer/whoosh_writing.py`, the only modules that touch Whoosh internals.
A second backend (a Xapian cluster, say) implements both faces; nothing else
changes. The contracts are written here as `typing.Protocol`s, so that a
type checker holds an implementation to them, and `tests/test_backend.py`
tests the Whoosh implementation against them on a real index.

Common to both faces: an index is a sequence of **generations**, numbered,
each a complete, consistent set of documents. Readers see one generation at
a time; a writer turns one into the next in a single commit, which either
happened entirely or not at all, even after a power cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


class IndexUnavailable(RuntimeError):
    """The index cannot answer now (a shard with no answering copy); worth trying again."""


# ---------------------------------------------------------------- reading
#
# The engine serves one generation at a time through a `Generation`: dense
# arrays over its document numbers (0 .. doc_count_all-1, deleted documents
# included and masked out by `live`), so that scoring, filtering and facet
# counting are vector operations. A view is a field of `schema.build_schema`
# (`title`, `body_f`, `body_s`, ...); a term is the string `indexer.analysis`
# makes for that view, so both faces agree on terms by construction.
#
#     stamp = backend.newest_stamp(index_dir)             # (generation, TOC mtime)
#     view = backend.open_view(index_dir, generation, previous_view)
#     docs, tfs = view.postings("body_s", "dang")
#     backend.close_unused(previous_view, view)
#
# A generation never changes once committed: whatever a caller derives from
# one of its `segments` (facet tables, dates) may be kept with `Segment.memo`
# and is re-used by the next generation that still holds the segment.


@runtime_checkable
class Segment(Protocol):
    """An immutable part of a generation (a Whoosh segment, a shard of a cluster)."""

    #: The generation's number of this segment's first document.
    offset: int
    #: Documents in the segment, deleted ones included.
    doc_count_all: int

    def column(self, field: str) -> list:
        """A column field's value per local document (empty bytes where absent)."""

    def stored(self, docnum: int) -> dict:
        """The stored fields of one local document."""

    def memo(self, key: object, build: Callable[[], Any]) -> Any:
        """`build()`'s value, computed once per segment and kept while the segment lives."""

    def arrays(self) -> Any:
        """The segment's memory-mapped `indexer.derived.SegmentArrays`; None when absent."""


@runtime_checkable
class Generation(Protocol):
    """One committed generation, read-only; safe to share between threads."""

    generation: int
    #: Documents including deleted ones: the length of every per-document array.
    doc_count_all: int
    #: Live documents.
    doc_count: int
    #: Boolean array, True for live documents.
    live: Any
    #: Per view, the terms whose document frequency changed since the previous
    #: generation this one was opened from (filled by `lexicon(view)` when the
    #: previous generation's lexicon of that view had been read).
    lexicon_changes: dict[str, set[str]]

    @property
    def segments(self) -> Sequence[Segment]:
        """The generation's immutable parts, in document-number order."""

    def lengths(self, view: str) -> Any:
        """Float array: the number of terms of `view` per document."""

    def avg_length(self, view: str) -> float:
        """Mean length of `view` over live documents (at least 1)."""

    def postings(self, view: str, term: str) -> tuple[Any, Any]:
        """(sorted live document numbers, term frequencies) of `term` in `view`."""

    def df(self, view: str, term: str) -> int:
        """Live documents holding `term` in `view`."""

    def positions(self, view: str, term: str, docs: Any) -> dict[int, list[int]]:
        """Positions of `term` in `view` for the given sorted documents that hold it.

        Only the syllable views need positions (`schema.POSITIONAL_VIEWS`); a
        backend that keeps none for a view raises ValueError when asked.
        """

    def position_keys(self, view: str, term: str) -> Any:
        """Every live occurrence as sorted int64 keys `docnum << 24 | position`."""

    def position_keys_in(self, view: str, term: str, docs: Any) -> Any:
        """The occurrences in the given sorted documents, as `position_keys` gives them."""

    def lexicon(self, view: str) -> dict[str, int]:
        """Every term of `view` with its document frequency (deleted documents counted)."""

    def column(self, field: str) -> list:
        """A column field's value per document."""

    def stored(self, docnum: int) -> dict:
        """The stored fields of one document."""

    def forget_previous(self) -> None:
        """Drop the link to the generation this one was opened from."""


# A generation whose positions live far away (remote shards) may also offer
#
#     phrase_match(keys, docs) -> sorted docnums among `docs` holding the
#         (view, term) keys at consecutive positions
#     prefetch(docnums) -> None: fetch those documents' stored fields together
#
# which the engine then uses instead of reading positions document by document
# and stored fields one at a time (`engine/xapian_reading.py`).


@runtime_checkable
class ReadingBackend(Protocol):
    """The reading face as a whole; `engine.whoosh_reading` is one (a module)."""

    def newest_stamp(self, index_dir: str) -> tuple[int, int] | None:
        """(generation, stamp) of the newest commit on disk, None when there is none."""

    def generation_stamps(self, index_dir: str) -> Iterator[tuple[int, int]]:
        """(generation, stamp) of every commit on disk, newest first."""

    def open_view(self, index_dir: str, generation: int,
                  previous: Generation | None = None) -> Generation:
        """Open one generation (raises if it is damaged), re-using `previous`'s segments."""

    def close_unused(self, previous: Generation, current: Generation) -> None:
        """Release what `previous` holds that `current` does not re-use."""


# ---------------------------------------------------------------- writing
#
# The indexer reads its input, decides which articles are new, changed or
# gone, and then changes the index through an `IndexUpdate`:
#
#     update = backend.open_update(base, generation, replace=start_over)
#     update.add(document_fields(article, hash, path))   # new and changed articles
#     update.delete(article_id)                          # changed and vanished ones
#     part = update.part_writer()   # in each writer process (forked after open_update)
#     part.add(fields) ...; parts.append(part.finish())  # finished parts go to the parent
#     update.commit(parts)                               # or update.cancel()
#
# A document is the mapping `schema.document_fields` returns; its "id" is
# unique in a generation, and its "index_state" value (`schema.encode_state`:
# id, source path, content hash) is what the indexer reads back with
# `state_values` to find what changed since (a Whoosh run over a few files reads only
# the values it needs, `whoosh_writing.StateReader`). Because the state is a field of
# the documents, it is committed with them and can never disagree with them.


@runtime_checkable
class PartWriter(Protocol):
    """Documents written by one worker process, joined to the update at its commit.

    Created with `IndexUpdate.part_writer` in a process forked from the one
    that opened the update. Nothing it writes is visible before the update
    commits with its part; a part writer whose process dies leaves only
    files that `cancel` or the next run's clean-up removes.
    """

    def add(self, fields: Mapping[str, Any]) -> None:
        """Write one document (fields as `schema.document_fields` gives)."""

    def finish(self) -> Any | None:
        """Close the part; what to hand to `IndexUpdate.commit` (picklable).

        None when no document was added.
        """


@runtime_checkable
class IndexUpdate(Protocol):
    """A change from one generation (the base) to the next, exclusive until it ends.

    Opening an update takes the index's write lock: a second one raises
    `lock.IndexBusy`. Deletions apply to the base's documents only, so a
    changed article is deleted and added again in any order. The base stays
    readable, unchanged, until the commit.
    """

    #: The number the commit will have: above every generation present, damaged ones too.
    generation: int

    def add(self, fields: Mapping[str, Any]) -> None:
        """Write one document into the update."""

    def delete(self, article_id: str) -> None:
        """Remove the base's document with this id, if any."""

    def part_writer(self) -> PartWriter:
        """A writer of one part, to be called in a worker process."""

    def lock_fds(self) -> tuple[int, ...]:
        """File descriptors of the locks the update holds.

        A forked worker closes them, so that it can never keep the index
        locked after the process that opened the update has died.
        """

    def commit(self, parts: Sequence[Any] = ()) -> int:
        """Publish the base's surviving documents (none if `replace`), the documents added and
        those of `parts` as one new generation; return its number.

        Durable: once this returns, the generation survives a power cut, and
        if the process dies before, the base is what readers find. The lock
        is released either way; on an error nothing is published.
        """

    def cancel(self) -> None:
        """Publish nothing and release the lock.

        Safe to call again, and after a failed commit. Files the update
        wrote may remain until `generations.remove_unused` removes them.
        """


@runtime_checkable
class WritingBackend(Protocol):
    """The writing face as a whole; `indexer.whoosh_writing` is one (a module)."""

    def open_update(self, base: Any, generation: int, replace: bool = False) -> IndexUpdate:
        """Start changing `base` (a generation); with `replace`, the commit holds only the
        documents written by this update."""

    def state_values(self, base: Any) -> Iterator[bytes]:
        """The "index_state" value of every document of `base`."""


def position_keys_from(positions: dict[int, list[int]]) -> np.ndarray:
    """Positions by document as sorted int64 keys `docnum << 24 | position`."""
    parts = [(doc << 24) | np.asarray(found, dtype=np.int64)
             for doc, found in sorted(positions.items())]
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
