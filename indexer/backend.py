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

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

# ---------------------------------------------------------------- reading
#
# The reading face, used by engine/: its protocols belong in this section.


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
# `state_values` to find what changed since. Because the state is a field of
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
