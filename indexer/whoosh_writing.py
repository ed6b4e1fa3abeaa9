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
import re
import zlib
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from pickle import dumps
from typing import Any

import numpy as np
from whoosh.codec.base import Segment
from whoosh.codec.whoosh3 import COMPRESSION_MIN_SIZE, WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex, LockError
from whoosh.reading import SegmentReader, TermNotFound
from whoosh.system import pack_int, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.util.numlists import delta_encode
from whoosh.writing import CLEAR, SegmentWriter

from . import derived
from .durable import fsync_dir, fsync_file
from .lock import IndexBusy
from .schema import build_schema, decode_state, index_schema_version
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


_STATE_STRING = rb'"(?:[^"\\\x00-\x1f\x80-\xff]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+"'
#: Values as `schema.encode_state` writes them, back to back: JSON arrays of three
#: ASCII-escaped strings, which `schema.decode_state` always reads.
_STATE_VALUES = re.compile(rb"(?:\[%s, %s, %s\])*+" % ((_STATE_STRING,) * 3))


class _StateColumn:
    """One segment's `index_state` column: its values back to back, and where each is."""

    def __init__(self, leaf: Any) -> None:
        self.leaf = leaf
        # VarBytesColumn keeps the values back to back, in document order.
        column = leaf.column_reader(STATE_COLUMN, translate=False)
        self.offsets, self.lengths = column._offsets, column._lengths
        count = len(self.lengths)
        self.end = self.offsets[count - 1] + self.lengths[count - 1] if count else 0
        self.data = column._dbfile.get(column._basepos, self.end)

    def value(self, docnum: int) -> bytes:
        start = self.offsets[docnum]
        return self.data[start:start + self.lengths[docnum]]

    def live_data(self) -> bytes:
        """The values of the live documents, back to back."""
        deleted = sorted(self.leaf.deleted_docs_set) if self.leaf.has_deletions() else []
        if not deleted:
            return self.data
        parts, pos = [], 0
        for docnum in deleted:
            parts.append(self.data[pos:self.offsets[docnum]])
            pos = self.offsets[docnum] + self.lengths[docnum]
        parts.append(self.data[pos:])
        return b"".join(parts)


class StateReader:
    """The `index_state` values of a generation, found without decoding them all.

    A run over a few files needs the state of those files and of the ids it
    reads, not of every article: values whose bytes hold a path are found by
    one substring search over each segment's column data, an id's value by
    its `id` term, and `check` tells (by one pattern over the data) whether
    every value reads. Held open for a run; `close` it.
    """

    def __init__(self, ix: GenerationIndex) -> None:
        self._reader = ix.reader()
        try:
            self._columns = [
                _StateColumn(leaf) for leaf, _offset in self._reader.leaf_readers()
                if leaf.doc_count_all() and leaf.has_column(STATE_COLUMN)]
        except BaseException:
            self._reader.close()
            raise

    def close(self) -> None:
        self._reader.close()

    def check(self) -> None:
        """Raise `schema.StateError` unless every live document's value reads.

        One pattern over each segment's data; only when it fails are the
        values decoded one by one (as `state_values` readers do).
        """
        for column in self._columns:
            if _STATE_VALUES.fullmatch(column.live_data()) is None:
                for docnum in range(len(column.lengths)):  # decode each: the bad one says
                    if not column.leaf.is_deleted(docnum) and column.lengths[docnum]:
                        decode_state(column.value(docnum))

    def values_containing(self, needle: bytes) -> Iterator[bytes]:
        """Every live document's value whose bytes contain `needle` (all of them for b"")."""
        for column in self._columns:
            data, offsets, lengths, end = column.data, column.offsets, column.lengths, column.end
            pos = data.find(needle)
            while 0 <= pos < end:
                docnum = bisect_right(offsets, pos) - 1  # the non-empty value holding pos
                start = offsets[docnum]
                stop = start + lengths[docnum]
                if pos + len(needle) <= stop and not column.leaf.is_deleted(docnum):
                    yield data[start:stop]
                pos = data.find(needle, max(stop, pos + 1))

    def value_of(self, article_id: str) -> bytes | None:
        """The value of the live document with this id (the last, should there be two)."""
        found = None
        for column in self._columns:
            try:
                matcher = column.leaf.postings("id", article_id)
            except TermNotFound:
                continue
            for docnum in matcher.all_ids():
                value = column.value(docnum)
                if value:
                    found = value
        return found


def write_derived(ix: GenerationIndex, current: set[str] | None = None) -> list[str]:
    """Derived arrays (`derived.py`) for every segment of `ix` without current ones.

    Returns the ids of the generation's segments. `current` holds segments
    already known to have current arrays (not checked again) and gets those
    of `ix`. A test may slow this step down (VNSEARCH_DERIVED_DELAY,
    seconds) to kill the process right after Whoosh's commit.
    """
    delay = float(os.environ.get("VNSEARCH_DERIVED_DELAY") or 0)
    if delay:
        import time

        time.sleep(delay)
    toc = ix.toc()
    folder = ix.storage.folder
    if current is None:
        current = set()
    for segment in toc.segments:
        if segment.segid in current \
                or derived.is_current(folder, segment.segid, segment.doc_count_all()):
            current.add(segment.segid)
            continue
        derive_segment(ix.storage, toc.schema, segment)
        current.add(segment.segid)
    return [segment.segid for segment in toc.segments]


def derive_segment(storage: FileStorage, schema: Any, segment: Segment,
                   views: dict[str, dict[str, Any]] | None = None) -> None:
    """Write one segment's derived arrays, read back from its finished files
    but for the text `views` its writer kept (`BufferedSegmentWriter.keep_views`)."""
    reader = SegmentReader(storage, schema, segment)
    try:
        derived.write(storage.folder, segment.segid, reader, views)
    finally:
        reader.close()


def fsync_segments(storage: FileStorage, segments: Sequence[Segment]) -> None:
    """Flush the files of `segments` and their folder, before a TOC names them."""
    wanted = {segment.segment_id() for segment in segments}
    for name in storage.list():
        if name.partition(".")[0] in wanted:
            fsync_file(os.path.join(storage.folder, name))
    fsync_dir(storage.folder)


#: Postings a `BufferedSegmentWriter` holds in memory before its part starts a new
#: segment: about 40 bytes each with their terms, so some 400 MB per writer process
#: (about 12,000 articles of VietNews; Whoosh's own pool spilled to disk past 128 MB).
MAX_BUFFERED_POSTINGS = 10_000_000


class _TermPostings:
    """One term's postings in a segment being written, in document order."""

    __slots__ = ("docnums", "weights", "values", "positions")

    def __init__(self) -> None:
        self.docnums = array("I")
        self.weights = array("d")
        self.values: list[bytes] = []
        #: Every posting's positions, one after the other (positional views only).
        self.positions: array | None = None


class BufferedSegmentWriter(SegmentWriter):
    """A SegmentWriter that keeps postings per field and term in memory, already in order.

    Whoosh's writer sends every posting through a tuple, an external sort
    (pickled runs on disk) and the codec's per-posting checks; at about 850
    postings per article that cost more than segmenting the text. Here a
    document's postings are appended to their term's arrays (documents come
    in number order, so each list is sorted as it grows), and the segment is
    written term by term, a block at a time (`_TermWriter`), into the files
    `SegmentWriter` writes, with the same bytes. Merging other segments in
    (`add_reader`) is left to the update's own SegmentWriter.
    """

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        #: field name → term bytes → postings
        self._postings: dict[str, dict[bytes, _TermPostings]] = {}
        self.buffered = 0
        #: Whether to keep each text view's derived posting arrays (`derived.view_arrays`)
        #: in `views` as the segment is written, so they need not be read back.
        self.keep_views = False
        self.views: dict[str, dict[str, Any]] = {}

    def add_document(self, **fields: Any) -> None:
        self._check_state()
        schema = self.schema
        if any(schema[name].vector or schema[name].separate_spelling()
               for name in fields if name in schema):
            raise NotImplementedError("term vectors and separate spelling words are not written")
        perdocwriter = self.perdocwriter
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        added = 0
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    terms = self._postings.get(fieldname)
                    if terms is None:
                        terms = self._postings[fieldname] = {}
                    scorable = field.scorable
                    positional = False
                    if isinstance(value, str) and hasattr(field, "index_with_positions"):
                        entries = field.index_with_positions(value)
                        positional = field.format.supports("positions")
                    else:
                        entries = ((*entry, ()) for entry in field.index(value))
                    for tbytes, freq, weight, vbytes, positions in entries:
                        postings = terms.get(tbytes)
                        if postings is None:
                            postings = terms[tbytes] = _TermPostings()
                        postings.docnums.append(docnum)
                        postings.weights.append(weight * fieldboost)
                        postings.values.append(vbytes)
                        if positional:
                            if postings.positions is None:
                                postings.positions = array("I", positions)
                            else:
                                postings.positions.extend(positions)
                        added += 1
                        if scorable:
                            length += freq
                customval = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, customval if field.stored else None,
                                       length)
                column = field.column_type
                if column and customval is not None:
                    perdocwriter.add_column_value(fieldname, column,
                                                  field.to_column_value(customval))
        except ValueError:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self.buffered += added
        self._added = True
        self.docnum += 1

    def add_reader(self, reader: Any) -> None:
        raise NotImplementedError("segments are merged by the update's own SegmentWriter")

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        try:
            self._write_postings(pdr)
        finally:
            if pdr is not None:
                pdr.close()
        self.fieldwriter.close()
        self._postings = {}

    def _write_postings(self, pdr: Any) -> None:
        """Every field's terms in order, as `W3FieldWriter` and `W3PostingsWriter` write them."""
        fieldwriter = self.fieldwriter
        doccount = self.docnum
        for fieldname in sorted(self._postings):
            terms = self._postings[fieldname]
            if not terms:
                continue
            fieldwriter.start_field(fieldname, self.schema[fieldname])
            postwriter = fieldwriter._postwriter
            lengths: list[int | None] = [None] * doccount
            if pdr is not None:
                get = pdr.doc_field_length_reader(fieldname)
                lengths = [get(docnum) for docnum in range(doccount)]
            term_writer = _TermWriter(postwriter, fieldwriter._format.fixed_value_size(),
                                      lengths)
            prefix = pack_ushort(fieldwriter._fieldid)
            add_term = fieldwriter._tindex.add
            ordered = sorted(terms)
            for tbytes in ordered:
                add_term(prefix + tbytes, term_writer.write(terms[tbytes]).to_bytes())
            fieldwriter.finish_field()
            field = self.schema[fieldname]
            if self.keep_views and field.scorable:
                self.views[fieldname] = self._view(field, [terms[t] for t in ordered], ordered)

    def _view(self, field: Any, postings: list[_TermPostings], terms: list[bytes]
              ) -> dict[str, Any]:
        """`derived.view_arrays` of one field from the postings written."""
        docs = [np.frombuffer(p.docnums, dtype=np.uint32) for p in postings]
        tfs = [np.frombuffer(p.weights, dtype=np.float64) for p in postings]
        positions = None
        if field.format.supports("positions"):
            positions = [np.frombuffer(p.positions or b"", dtype=np.uint32) for p in postings]
            # Positions are kept only for views whose weights count them.
            if sum(map(len, positions)) != sum(sum(p.weights) for p in postings):
                positions = None
        return derived.view_arrays(terms, docs, tfs, positions, self.docnum)


class _TermWriter:
    """One term's posting list in blocks, byte for byte what `W3PostingsWriter` writes.

    A block is pickled (ids delta-coded, weights and values minified),
    compressed when long enough, and preceded by its pickled statistics;
    the term's statistics over all blocks go to the term index. The same
    steps as Whoosh's, per block instead of per posting.
    """

    def __init__(self, postwriter: Any, fixed_size: int | None, lengths: list[int | None]
                 ) -> None:
        self.postfile = postwriter._postfile
        self.limit = postwriter._blocklimit
        self.compression = postwriter._compression
        self.fixed_size = fixed_size
        self.lengths = lengths
        #: Where the next byte goes: counted here, as asking the file is a system call.
        self.offset = self.postfile.tell()

    def write(self, postings: _TermPostings) -> W3TermInfo:
        postfile, limit, lengths = self.postfile, self.limit, self.lengths
        info = W3TermInfo()
        start = self.offset
        out: list[bytes] = [WHOOSH3_HEADER_MAGIC]
        docnums, weights, values = postings.docnums, postings.weights, postings.values
        count = len(docnums)
        for first in range(0, count, limit):
            last = min(first + limit, count)
            ids = docnums[first:last]
            block_weights = array("f", weights[first:last])
            maxweight = max(0, max(weights[first:last]))
            known = [length for length in map(lengths.__getitem__, ids) if length]
            minlength = min(known) if known else None
            maxlength = max(known) if known else 0
            # W3TermInfo.add_block
            info._weight += sum(block_weights)
            info._df += len(ids)
            if info._minlength is None:
                info._minlength = minlength
            else:
                info._minlength = min(info._minlength, minlength)
            info._maxlength = max(info._maxlength, maxlength)
            info._maxweight = max(info._maxweight, maxweight)
            if info._minid is None:
                info._minid = ids[0]
            info._maxid = ids[-1]
            # W3PostingsWriter._write_block
            databytes = dumps((tuple(delta_encode(ids)), _mini_weights(block_weights),
                               self._mini_values(values[first:last])), 2)
            compression = self.compression
            if len(databytes) < COMPRESSION_MIN_SIZE:
                compression = 0
            if compression:
                databytes = zlib.compress(databytes, compression)
            infobytes = dumps((len(ids), ids[-1], maxweight, compression,
                               length_to_byte(minlength), length_to_byte(maxlength)), 2)
            blocklength = len(infobytes) + len(databytes)
            out += (pack_int(-blocklength if last == count else blocklength), infobytes,
                    databytes)
        data = b"".join(out)
        postfile.write(data)
        self.offset += len(data)
        info.set_extent(start, len(data))
        return info

    def _mini_values(self, values: list[bytes]) -> Any:
        values = [value for value in values if value]
        if self.fixed_size is None or self.fixed_size < 0:
            return tuple(values)
        if self.fixed_size == 0:
            return None
        return b"".join(values)


def _mini_weights(weights: array) -> Any:
    """`W3PostingsWriter._mini_weights`: None when all are 1, one number when all are equal."""
    if all(weight == 1.0 for weight in weights):
        return None
    if all(weight == weights[0] for weight in weights):
        return weights[0]
    return tuple(weights)


class WhooshPartWriter:
    """Documents written into segments of their own (in a worker process, or the main one).

    The segments are not named by any TOC until the update commits them; if
    the process dies, their files are left for the update's clean-up. A new
    segment is started past `MAX_BUFFERED_POSTINGS`, so memory stays bounded.
    With `derive`, each segment's derived arrays are written as soon as it is
    finished, in this process, rather than one segment after another after
    the commit; failing that (a full disk), the commit's `ensure_derived`
    writes them.
    """

    def __init__(self, base: GenerationIndex, schema: Any, derive: bool = False) -> None:
        self._base = base
        self._schema = schema
        self._derive = derive
        self._done: list[Segment] = []
        self._writer = self._new_writer()

    def _new_writer(self) -> BufferedSegmentWriter:
        writer = BufferedSegmentWriter(self._base, _lk=False)  # the update holds the lock
        writer.schema = self._schema
        writer.keep_views = self._derive
        return writer

    def add(self, fields: Mapping[str, Any]) -> None:
        self._writer.add_document(**fields)
        if self._writer.buffered >= MAX_BUFFERED_POSTINGS:
            self._finalize()
            self._writer = self._new_writer()

    def _finalize(self) -> None:
        writer = self._writer
        segment = writer._finalize_segment()
        self._done.append(segment)
        if self._derive:
            try:
                derive_segment(self._base.storage, self._schema, segment, writer.views)
            except Exception:  # noqa: BLE001 - a cache: ensure_derived tries again
                pass
            writer.views = {}

    def finish(self) -> list[Segment] | None:
        """The finished segments (picklable), or None when no document was added."""
        if self._writer._added:
            self._finalize()
        else:
            self._writer._close_segment()
        return self._done or None

    def close(self) -> None:
        """Close the open segment's files without finishing it (a cancelled update)."""
        self._writer._close_segment()


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
        #: Documents added in this process go to segments of their own, as a worker's do.
        self._own: WhooshPartWriter | None = None

    def add(self, fields: Mapping[str, Any]) -> None:
        if self._own is None:  # derived after the commit, with the rest
            self._own = WhooshPartWriter(self._base, self._writer.schema)
        self._own.add(fields)

    def delete(self, article_id: str) -> None:
        self._writer.delete_by_term("id", article_id)

    def part_writer(self) -> WhooshPartWriter:
        return WhooshPartWriter(self._base, self._writer.schema, derive=True)

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
            if self._own is not None:
                parts = [*parts, self._own.finish()]
                self._own = None
            for part in parts:
                final.extend(part or ())
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
        own, self._own = self._own, None
        try:
            if own is not None:  # its files are left for `generations.remove_unused`
                own.close()
        finally:
            try:
                writer.cancel()
            except BaseException:
                writer._cleanup_on_error()
                raise


def open_update(base: GenerationIndex, generation: int, replace: bool = False) -> WhooshUpdate:
    """Start changing the index from `base`; the commit will be `generation`."""
    return WhooshUpdate(base, generation, replace)
