"""The writing face of the index backend, for Whoosh (contract in `backend.py`).

Every use of Whoosh internals by the indexer is here, so that a Whoosh
upgrade is checked in one place and a second backend has one module to
mirror. Whoosh's public writer commits in one process and fsyncs nothing;
the indexer needs more: a commit numbered above damaged generations, parts
written by other processes joined in the same commit, and files flushed to
disk before the table of contents (TOC) that names them. That takes the
steps of `SegmentWriter.commit` one at a time, which Whoosh offers only as
private methods.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from whoosh.codec.base import Segment
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex, LockError
from whoosh.reading import SegmentReader
from whoosh.writing import CLEAR, SegmentWriter

from . import derived
from .durable import fsync_dir, fsync_file
from .lock import IndexBusy
from .schema import build_schema, index_schema_version
from .whoosh_storage import SharedMapStorage

#: Whoosh's name for the index in a folder: TOCs are `_MAIN_<n>.toc`, segments `MAIN_<id>.*`.
INDEX_NAME = "MAIN"
#: The column holding each document's `schema.encode_state` value.
STATE_COLUMN = "index_state"


class DurableStorage(SharedMapStorage):
    """The index folder, its renames durable: the TOC is on disk before it is named.

    Whoosh writes a TOC under a temporary name and renames it; flushing the
    temporary file first means the name never points at unwritten data.
    """

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        fsync_file(os.path.join(self.folder, oldname))
        super().rename_file(oldname, newname, safe=safe)
        fsync_dir(self.folder)


class GenerationIndex(FileIndex):
    """A Whoosh index fixed to one generation, which need not be the newest TOC.

    `FileIndex` always reads the highest-numbered TOC, which may be the
    damaged one; this reads the TOC of `generation` afresh each time (writers
    change the segment objects they get, so each gets its own copy).
    """

    def __init__(self, storage: FileStorage, generation: int) -> None:
        self.storage = storage
        self._schema = None
        self.indexname = INDEX_NAME
        self.generation = generation
        TOC.read(storage, INDEX_NAME, gen=generation)  # fails now if it cannot be read

    def _read_toc(self) -> TOC:
        return TOC.read(self.storage, self.indexname, gen=self.generation)

    def toc(self) -> TOC:
        """This generation's table of contents: its schema and segments."""
        return self._read_toc()

    def latest_generation(self) -> int:
        return self.generation

    def refresh(self) -> GenerationIndex:
        return self


def open_generation(index_dir: str | Path, generation: int, check: bool = True
                    ) -> GenerationIndex:
    """Generation `generation`; with `check`, every segment it names must open too."""
    ix = GenerationIndex(DurableStorage(str(index_dir)), generation)
    if check:
        ix.reader().close()
    return ix


def create_generation(index_dir: str | Path, generation: int) -> GenerationIndex:
    """Write an empty generation numbered `generation` (a new index) and open it."""
    TOC(build_schema(), [], generation).write(DurableStorage(str(index_dir)), INDEX_NAME)
    return open_generation(index_dir, generation, check=False)


def segment_ids(ix: GenerationIndex) -> set[str]:
    """The segments a generation names: its files are `<segment id>.*`."""
    return {segment.segment_id() for segment in ix.toc().segments}


def schema_version(ix: GenerationIndex) -> int | None:
    """The `schema.SCHEMA_VERSION` the generation was written with (None: unknown)."""
    return index_schema_version(ix.schema)


def state_values(ix: GenerationIndex) -> Iterator[bytes]:
    """The `index_state` value of every live document of the generation."""
    with ix.reader() as reader:
        if reader.doc_count_all() == 0 or not reader.has_column(STATE_COLUMN):
            return
        column = reader.column_reader(STATE_COLUMN)
        for docnum in reader.all_doc_ids():
            value = column[docnum]
            if value:
                yield value


def write_derived(ix: GenerationIndex) -> list[str]:
    """Derived arrays (`derived.py`) for every segment of `ix` without current ones.

    Returns the ids of the generation's segments. A test may slow this step
    down (VNSEARCH_DERIVED_DELAY, seconds) to kill the process right after
    Whoosh's commit.
    """
    delay = float(os.environ.get("VNSEARCH_DERIVED_DELAY") or 0)
    if delay:
        import time

        time.sleep(delay)
    toc = ix.toc()
    folder = ix.storage.folder
    for segment in toc.segments:
        if derived.load(folder, segment.segid, segment.doc_count_all()) is not None:
            continue
        reader = SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation)
        try:
            derived.write(folder, segment.segid, reader)
        finally:
            reader.close()
    return [segment.segid for segment in toc.segments]


def fsync_segments(storage: FileStorage, segments: Sequence[Segment]) -> None:
    """Flush the files of `segments` and their folder, before a TOC names them."""
    wanted = {segment.segment_id() for segment in segments}
    for name in storage.list():
        if name.partition(".")[0] in wanted:
            fsync_file(os.path.join(storage.folder, name))
    fsync_dir(storage.folder)


class WhooshPartWriter:
    """Documents written in a worker process into a segment of their own.

    The segment is not named by any TOC until the update commits it; if the
    process dies, its files are left for the update's clean-up.
    """

    def __init__(self, base: GenerationIndex, schema: Any) -> None:
        self._writer = SegmentWriter(base, _lk=False)  # the update holds the lock
        self._writer.schema = schema

    def add(self, fields: Mapping[str, Any]) -> None:
        self._writer.add_document(**fields)

    def finish(self) -> Segment | None:
        """The finished segment (picklable), or None when no document was added."""
        writer = self._writer
        if writer._added:
            return writer._finalize_segment()
        writer._close_segment()
        return None


class WhooshUpdate:
    """One change of the index from generation `base` to `generation`; see `backend.IndexUpdate`.

    Holds Whoosh's write lock from the start until `commit` or `cancel`.
    """

    def __init__(self, base: GenerationIndex, generation: int, replace: bool) -> None:
        try:
            self._writer = SegmentWriter(base)
        except LockError:
            raise IndexBusy(
                f"index {base.storage.folder} is being updated by another process "
                "(Whoosh write lock)"
            ) from None
        self._writer.schema = build_schema()
        self._base = base
        self.generation = generation
        self.replace = replace

    def add(self, fields: Mapping[str, Any]) -> None:
        self._writer.add_document(**fields)

    def delete(self, article_id: str) -> None:
        self._writer.delete_by_term("id", article_id)

    def part_writer(self) -> WhooshPartWriter:
        return WhooshPartWriter(self._base, self._writer.schema)

    def lock_fds(self) -> tuple[int, ...]:
        fd = getattr(self._writer.writelock, "fd", None)
        return () if fd is None else (fd,)

    def commit(self, parts: Sequence[Segment] = ()) -> int:
        """One durable TOC naming the parts, this writer's own segment and the surviving old ones.

        Every segment file is flushed to disk before the TOC that names it is
        written (and the TOC before it is renamed into place, see
        `DurableStorage`), so a TOC that survives a power cut names only
        segments that survived it too.
        """
        writer = self._writer
        try:
            final = writer._merge_segments(CLEAR if self.replace else None, False, True)
            final.extend(parts)
            if writer._added:
                final.append(writer._finalize_segment())
            else:
                writer._close_segment()
            fsync_segments(writer.storage, final)
            TOC(writer.schema, final, self.generation).write(writer.storage, writer.indexname)
        except BaseException:
            writer._cleanup_on_error()
            raise
        writer._finish()
        return self.generation

    def cancel(self) -> None:
        """Give up the update and release the lock (also when cancelling itself fails)."""
        writer = self._writer
        if writer.is_closed:
            return
        try:
            writer.cancel()
        except BaseException:
            writer._cleanup_on_error()
            raise


def open_update(base: GenerationIndex, generation: int, replace: bool = False) -> WhooshUpdate:
    """Start changing the index from `base`; the commit will be `generation`."""
    return WhooshUpdate(base, generation, replace)
