"""Per-segment arrays written beside the index at commit, memory-mapped by every reader.

A search engine needs, for each immutable segment, every document's field
lengths (BM25), each facet's (document, value) pairs, the dates, and the
posting lists (documents and term frequencies) and lexicon of every text view. Decoded
from Whoosh's files that is hundreds of thousands of Python calls, done by
each server process on its first queries and kept in its own memory. Here
they are decoded once, when the segment is committed, into `.npy` files in
`derived/<segment id>/` of the index folder; readers open them with
`np.load(mmap_mode="r")`, so N server processes share one copy through the
page cache and a fresh process has them at once.

Whoosh's files stay the source of truth. A segment's folder is published by
one rename after its arrays and its manifest are written and flushed; the
manifest names the format version, the schema version and the segment's
document count, and a reader takes the arrays only when all of them agree
(`load`), else it decodes from Whoosh as before. So a crash between
Whoosh's commit and these files (or a power cut in the middle of them)
leaves a searchable index, and the next commit, or `vnsearch serve` before
it starts its workers, writes what is missing (`ensure`).
"""

from __future__ import annotations

import bisect
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .durable import fsync_dir, fsync_files
from .schema import FACET_SEP, SCHEMA_VERSION
from .whoosh_postings import decode_postings, decode_with_positions

#: Raised whenever what is written, or how, changes: older folders are then rebuilt.
#: 2: posting lists and lexicons of the text views. 3: the locality tree's pairs.
#: 4: positions of the positional views. 5: docnums of segments up to 65,536 in uint16.
#: 6: frequencies and offsets in the narrowest integers that hold them.
FORMAT_VERSION = 6
FOLDER = "derived"
MANIFEST = "manifest.json"
#: The column field holding each article's date (YYYY-MM-DD, empty when unknown).
DATE_COLUMN = "date"
FACET_PREFIX = "facet_"
#: The locality facets, top down: the levels of the locality tree.
TREE_LEVELS = ("province", "district", "commune")
#: Bytes of each term kept in the fixed-width array searched in C (`Postings.row`);
#: longer terms sharing a prefix are told apart in the full term blob.
TERM_PREFIX = 24
TERM_SEP = b"\n"  # terms are analysed tokens: never a line break


def segment_folder(index_dir: str | Path, segid: str) -> Path:
    return Path(index_dir) / FOLDER / segid


# -- reading --------------------------------------------------------------------------


class SegmentArrays:
    """The derived arrays of one segment, memory-mapped (read-only)."""

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.manifest = manifest
        self._open: dict[str, np.ndarray] = {}

    def array(self, name: str) -> np.ndarray:
        if name not in self._open:
            # A plain array over the map: slicing a np.memmap costs a subclass per slice.
            self._open[name] = np.load(self.folder / f"{name}.npy", mmap_mode="r",
                                       allow_pickle=False).view(np.ndarray)
        return self._open[name]

    def lengths(self, field: str) -> np.ndarray | None:
        """Tokens of `field` per local document, or None when not derived."""
        if field not in self.manifest["lengths"]:
            return None
        return self.array(f"len.{field}")

    def facet(self, name: str) -> tuple[list[str], np.ndarray, np.ndarray] | None:
        """(values, local docs, value ids) of facet `name`, or None when not derived."""
        values = self.manifest["facets"].get(name)
        if values is None:
            return None
        return values, self.array(f"facet.{name}.docs"), self.array(f"facet.{name}.vals")

    def dates(self) -> np.ndarray | None:
        return self.array("dates") if self.manifest.get("dates") else None

    def tree(self) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray] | None:
        """(node paths, local docs, node ids) of the locality tree, or None when not derived."""
        nodes = self.manifest.get("tree")
        if nodes is None:
            return None
        return [tuple(p) for p in nodes], self.array("tree.docs"), self.array("tree.vals")

    def postings(self, field: str) -> Postings | None:
        """The posting lists of text view `field`, or None when not derived."""
        if field not in self.manifest.get("postings", ()):
            return None
        key = f"post.{field}"
        if key not in self._open:
            self._open[key] = Postings(self, key)  # type: ignore[assignment]
        return self._open[key]  # type: ignore[return-value]


_NO_KEYS = np.zeros(0, dtype=np.int64)
#: The position bits of a key `docnum << 24 | position`.
POSITION_MASK = (1 << 24) - 1


class Postings:
    """One view's terms (sorted bytes), and per term its local docnums and frequencies.

    `starts[i]:starts[i + 1]` is term i's slice of `docs` and `tfs`. A term
    is found by a binary search over fixed-width prefixes (in C), then, only
    when several long terms share the prefix, over the full terms.
    """

    def __init__(self, arrays: SegmentArrays, key: str) -> None:
        self.prefixes = arrays.array(f"{key}.prefix")
        self.blob = arrays.array(f"{key}.blob")
        self.offsets = arrays.array(f"{key}.offsets")
        self.starts = arrays.array(f"{key}.starts")
        self.docs = arrays.array(f"{key}.docs")
        self.tfs = arrays.array(f"{key}.tfs")
        self.positional = f"{key}.positions" in arrays.manifest["arrays"]
        if self.positional:
            self.positions = arrays.array(f"{key}.positions")
            self.pos_starts = arrays.array(f"{key}.pos_starts")

    def term(self, row: int) -> bytes:
        return self.blob[self.offsets[row]:self.offsets[row + 1] - 1].tobytes()

    def row(self, term: str) -> int | None:
        raw = term.encode("utf-8")
        prefix = np.bytes_(raw[:TERM_PREFIX])
        lo = int(np.searchsorted(self.prefixes, prefix, side="left"))
        hi = int(np.searchsorted(self.prefixes, prefix, side="right"))
        if hi - lo > 1:
            lo = bisect.bisect_left(_Terms(self), raw, lo, hi)
        if lo < hi and self.term(lo) == raw:
            return lo
        return None

    def get(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(local docnums, frequencies) of `term`, views of the mapped arrays; None if absent.

        Both may be narrow integers (uint16): widen before adding to them.
        """
        row = self.row(term)
        if row is None:
            return None
        start, end = int(self.starts[row]), int(self.starts[row + 1])
        return self.docs[start:end], self.tfs[start:end]

    def positions_of(self, term: str, wanted: np.ndarray) -> dict[int, list[int]]:
        """Positions of `term` in each of the sorted local docnums `wanted` that hold it."""
        keys = self.position_keys_in(term, wanted)
        docs = keys >> 24
        bounds = np.flatnonzero(np.diff(docs)) + 1
        return {int(part[0] >> 24): (part & POSITION_MASK).tolist()
                for part in np.split(keys, bounds) if len(part)}

    def position_keys_in(self, term: str, wanted: np.ndarray) -> np.ndarray:
        """Occurrences of `term` in the sorted local docnums `wanted`, as sorted keys
        `local docnum << 24 | position`: gathered by index arithmetic, no loop per document."""
        row = self.row(term)
        if row is None or not len(wanted):
            return _NO_KEYS
        start, end = int(self.starts[row]), int(self.starts[row + 1])
        docs = self.docs[start:end]
        if not len(docs):  # a merge can keep a term whose documents were all deleted
            return _NO_KEYS
        at = np.minimum(np.searchsorted(docs, wanted), len(docs) - 1)
        hits = at[docs[at] == wanted]
        if not len(hits):
            return _NO_KEYS
        counts = self.tfs[start:end].astype(np.int64)
        first = int(self.pos_starts[row]) + np.cumsum(counts) - counts
        lengths = counts[hits]
        ends = np.cumsum(lengths)
        at_positions = np.repeat(first[hits] - (ends - lengths), lengths) + np.arange(ends[-1])
        return ((np.repeat(docs[hits].astype(np.int64), lengths) << 24)
                | self.positions[at_positions].astype(np.int64))

    def position_keys(self, term: str) -> np.ndarray:
        """Every occurrence of `term` as sorted keys `local docnum << 24 | position`."""
        row = self.row(term)
        if row is None:
            return np.zeros(0, dtype=np.int64)
        start, end = int(self.starts[row]), int(self.starts[row + 1])
        counts = self.tfs[start:end].astype(np.int64)
        docs = np.repeat(self.docs[start:end].astype(np.int64), counts)
        span = self.positions[int(self.pos_starts[row]):int(self.pos_starts[row + 1])]
        return (docs << 24) | span.astype(np.int64)

    def lexicon(self) -> dict[str, int]:
        """Every term with its document frequency."""
        terms = self.blob.tobytes().decode("utf-8").split(TERM_SEP.decode())[:-1]
        return dict(zip(terms, np.diff(self.starts).tolist(), strict=True))


class _Terms:
    """The full terms of a Postings as a sequence, for `bisect`."""

    def __init__(self, postings: Postings) -> None:
        self.postings = postings

    def __getitem__(self, row: int) -> bytes:
        return self.postings.term(row)

    def __len__(self) -> int:
        return len(self.postings.prefixes)


def _current_manifest(folder: Path, segid: str, doc_count_all: int) -> dict[str, Any] | None:
    """The manifest in `folder` when it describes this segment in this format, else None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION \
            or manifest.get("schema") != SCHEMA_VERSION \
            or manifest.get("segment") != segid \
            or manifest.get("doc_count_all") != doc_count_all:
        return None
    return manifest


#: The header `np.save` writes for a one-dimensional array (format 1.0), which numpy
#: reads as exactly this dtype and shape; any other header is left to numpy's parser.
_PLAIN_HEADER = re.compile(rb"\{'descr': '([<>|=][a-zA-Z]\d*)', 'fortran_order': "
                           rb"(?:False|True), 'shape': \((\d+),\), \} *\n")
_MAGIC_1_0 = b"\x93NUMPY\x01\x00"


def _header(handle: Any) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) of the `.npy` file open in `handle`, which is left at the data."""
    head = handle.read(10)
    if head[:8] == _MAGIC_1_0:
        header = handle.read(int.from_bytes(head[8:10], "little"))
        plain = _PLAIN_HEADER.fullmatch(header)
        if plain is not None:  # numpy's own parser costs ~0.1 ms (ast.literal_eval)
            return (int(plain[2]),), np.dtype(plain[1].decode("ascii"))
    handle.seek(0)
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    elif version == (2, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    return shape, dtype


def _whole(path: Path, length: int) -> bool:
    """Whether `np.load(path, mmap_mode="r")` gives an array of `length` rows, from its header.

    What `load` checks, without mapping the file: the indexer asks this of
    every kept segment after each commit, ~75 files each.
    """
    try:
        with open(path, "rb") as handle:
            shape, dtype = _header(handle)
            start = handle.tell()
            size = os.fstat(handle.fileno()).st_size
    except (OSError, ValueError, TypeError):
        return False
    if dtype.hasobject or not shape or shape[0] != length:
        return False
    return size >= start + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize


def is_current(index_dir: str | Path, segid: str, doc_count_all: int) -> bool:
    """Whether `load` would take the segment's arrays (read from their headers only)."""
    folder = segment_folder(index_dir, segid)
    manifest = _current_manifest(folder, segid, doc_count_all)
    if manifest is None:
        return False
    try:
        return all(_whole(folder / f"{name}.npy", length)
                   for name, length in manifest["arrays"].items())
    except (AttributeError, KeyError, TypeError):
        return False


def load(index_dir: str | Path, segid: str, doc_count_all: int) -> SegmentArrays | None:
    """The segment's arrays when they are there and current, else None (decode from Whoosh)."""
    folder = segment_folder(index_dir, segid)
    manifest = _current_manifest(folder, segid, doc_count_all)
    if manifest is None:
        return None
    arrays = SegmentArrays(folder, manifest)
    try:  # every file there, whole, and of the segment's length
        for name, length in manifest["arrays"].items():
            if len(arrays.array(name)) != length:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return arrays


# -- writing --------------------------------------------------------------------------


def facet_pairs(column: Iterable[Any]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(values, docnums, value ids) of a facet column: one pair per value a document holds."""
    vocab: dict[str, int] = {}
    docs: list[int] = []
    vals: list[int] = []
    for docnum, raw in enumerate(column):
        if not raw:
            continue
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        for value in text.split(FACET_SEP):
            if value:
                docs.append(docnum)
                vals.append(vocab.setdefault(value, len(vocab)))
    return list(vocab), np.asarray(docs, dtype=np.int32), np.asarray(vals, dtype=np.int32)


def tree_pairs(provinces: Sequence[Any], districts: Sequence[Any], communes: Sequence[Any],
               record: Callable[[int], Any]) -> tuple[list[tuple[str, ...]], np.ndarray,
                                                        np.ndarray]:
    """(node paths, docnums, node ids): each document's province, district and commune nodes.

    From the three locality facet columns; a document with provinces only
    needs no record, the others' stored records (`record(docnum)`, JSON) say
    which district lies in which province.
    """
    vocab: dict[tuple[str, ...], int] = {}
    docs: list[int] = []
    vals: list[int] = []
    for docnum, raw in enumerate(provinces):
        if not raw:
            continue
        paths: set[tuple[str, ...]] = set()
        if districts[docnum] or communes[docnum]:
            try:
                found = json.loads(record(docnum) or "{}")
            except (ValueError, TypeError, KeyError):
                found = {}
            for loc in (found.get("localities") if isinstance(found, dict) else None) or []:
                if not isinstance(loc, dict) or not loc.get("province"):
                    continue
                path = (str(loc["province"]),)
                paths.add(path)
                if loc.get("district"):
                    path += (str(loc["district"]),)
                    paths.add(path)
                    if loc.get("commune"):
                        paths.add(path + (str(loc["commune"]),))
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        paths.update((p,) for p in text.split(FACET_SEP) if p)
        for path in sorted(paths):
            docs.append(docnum)
            vals.append(vocab.setdefault(path, len(vocab)))
    return list(vocab), np.asarray(docs, dtype=np.int32), np.asarray(vals, dtype=np.int32)


def view_postings(reader: Any, field: str) -> dict[str, np.ndarray]:
    """The arrays of `Postings` for one text view of a segment reader.

    A positional view also gets every posting's positions, one after the
    other in posting order (`positions`), and where each term's begin
    (`pos_starts`): a posting's own are found from the frequencies, which
    count them.
    """
    positional = reader.schema[field].format.supports("positions")
    terms: list[bytes] = []
    doc_parts: list[np.ndarray] = []
    tf_parts: list[np.ndarray] = []
    pos_parts: list[np.ndarray] = []
    for raw in reader.lexicon(field):
        matcher = reader.postings(field, raw)
        if positional:
            docs, tfs, per_posting, positions = decode_with_positions(matcher)
            if not np.array_equal(per_posting, tfs):  # weights that are not counts
                positional = False
                pos_parts = []
            pos_parts.append(positions)
        else:
            docs, tfs = decode_postings(matcher)
        terms.append(raw)
        doc_parts.append(docs)
        tf_parts.append(tfs)
    return view_arrays(terms, doc_parts, tf_parts, pos_parts if positional else None,
                       reader.doc_count_all())


def view_arrays(terms: list[bytes], doc_parts: list[np.ndarray], tf_parts: list[np.ndarray],
                pos_parts: list[np.ndarray] | None, doc_count: int) -> dict[str, np.ndarray]:
    """`view_postings`' arrays from each term's (sorted) docnums, frequencies and positions.

    Also what a segment's writer gives from the postings it still holds
    (`whoosh_writing.BufferedSegmentWriter`), so it need not read them back.
    """
    starts = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in doc_parts], out=starts[1:])
    offsets = np.zeros(len(terms) + 1, dtype=np.int64)
    sizes = np.fromiter((len(t) + 1 for t in terms), dtype=np.int64, count=len(terms))
    np.cumsum(sizes, out=offsets[1:])
    # Local document numbers: two bytes each while a segment holds at most 65,536 documents.
    narrow = np.uint16 if doc_count <= 65536 else np.int32
    docs = np.concatenate(doc_parts).astype(narrow) if doc_parts else np.zeros(0, narrow)
    tfs = np.concatenate(tf_parts).astype(np.float32, copy=False) if tf_parts \
        else np.zeros(0, np.float32)
    if len(tfs) and tfs.max() < 65536 and np.array_equal(tfs, np.floor(tfs)):
        tfs = tfs.astype(np.uint8 if tfs.max() < 256 else np.uint16)  # plain counts: narrow
    out = {"prefix": np.asarray([t[:TERM_PREFIX] for t in terms], dtype=f"S{TERM_PREFIX}"),
           "blob": np.frombuffer(b"".join(t + TERM_SEP for t in terms), dtype=np.uint8),
           "offsets": _narrow(offsets), "starts": _narrow(starts), "docs": docs, "tfs": tfs}
    if pos_parts is not None:
        pos_starts = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in pos_parts], out=pos_starts[1:])
        positions = np.concatenate(pos_parts) if pos_parts else np.zeros(0, np.int64)
        small = not len(positions) or positions.max() < 65536
        out["positions"] = positions.astype(np.uint16 if small else np.uint32)
        out["pos_starts"] = _narrow(pos_starts)
    return out


def _narrow(offsets: np.ndarray) -> np.ndarray:
    """Ascending offsets in four bytes each when the last one allows."""
    return offsets.astype(np.int32) if not len(offsets) or offsets[-1] < 2**31 else offsets


def derive(reader: Any, views: dict[str, dict[str, np.ndarray]] | None = None
           ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and manifest entries of one Whoosh segment reader (public reader API only).

    `views` holds `view_arrays` already built for some fields by the segment's writer.
    """
    schema = reader.schema
    n = reader.doc_count_all()
    arrays: dict[str, np.ndarray] = {}
    lengths: list[str] = []
    facets: dict[str, list[str]] = {}
    for field in schema.names():
        if schema[field].scorable:
            arrays[f"len.{field}"] = np.asarray(
                [reader.doc_field_length(d, field, 0) or 0 for d in range(n)],
                dtype=np.float32)
            lengths.append(field)
            built = views.get(field) if views else None
            for part, array in (built or view_postings(reader, field)).items():
                arrays[f"post.{field}.{part}"] = array
        elif field.startswith(FACET_PREFIX) and schema[field].column_type is not None:
            name = field[len(FACET_PREFIX):]
            column = reader.column_reader(field) if reader.has_column(field) else [b""] * n
            values, docs, vals = facet_pairs(column)
            arrays[f"facet.{name}.docs"] = docs
            arrays[f"facet.{name}.vals"] = vals
            facets[name] = values
    tree = None
    levels = [f"{FACET_PREFIX}{level}" for level in TREE_LEVELS]
    if all(name in schema.names() for name in levels):
        columns = [reader.column_reader(name) if reader.has_column(name) else [b""] * n
                   for name in levels]
        tree, arrays["tree.docs"], arrays["tree.vals"] = tree_pairs(
            *columns, record=lambda d: reader.stored_fields(d).get("record"))
    has_dates = DATE_COLUMN in schema.names() and reader.has_column(DATE_COLUMN)
    if has_dates:
        dates = [d if isinstance(d, str) else (d or b"").decode()
                 for d in reader.column_reader(DATE_COLUMN)]
        arrays["dates"] = np.asarray(dates, dtype="U10") if dates else np.zeros(0, "U10")
    return arrays, {"lengths": lengths, "postings": lengths, "facets": facets,
                    "dates": has_dates, "tree": tree}


def write(index_dir: str | Path, segid: str, reader: Any,
          views: dict[str, dict[str, np.ndarray]] | None = None) -> Path:
    """Derive one segment and publish its folder with one rename (a no-op when one exists)."""
    final = segment_folder(index_dir, segid)
    parent = final.parent
    parent.mkdir(exist_ok=True)
    arrays, entries = derive(reader, views)
    work = Path(tempfile.mkdtemp(prefix=f".{segid}.", dir=parent))
    try:
        written = []
        for name, array in arrays.items():
            path = work / f"{name}.npy"
            np.save(path, array, allow_pickle=False)
            written.append(path)
        manifest = {"format": FORMAT_VERSION, "schema": SCHEMA_VERSION, "segment": segid,
                    "doc_count_all": reader.doc_count_all(),
                    "arrays": {name: len(array) for name, array in arrays.items()}, **entries}
        path = work / MANIFEST
        path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        written.append(path)
        fsync_files(written)  # all flushed before the folder is named
        fsync_dir(str(work))
        if final.exists():  # stale (an older format or schema): replaced whole
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(work, final)
        except OSError:  # another process published it meanwhile
            shutil.rmtree(work, ignore_errors=True)
        fsync_dir(str(parent))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def prune(index_dir: str | Path, keep: Iterable[str]) -> None:
    """Remove the folders of segments no longer on disk, and leftovers of killed writes."""
    parent = Path(index_dir) / FOLDER
    if not parent.is_dir():
        return
    kept = set(keep)
    _remove_folders([entry for entry in parent.iterdir() if entry.name not in kept])


#: Files unlinked at once by `_remove_folders`.
UNLINK_THREADS = 16


def _remove_folders(folders: list[Path]) -> None:
    """Remove folders of arrays, their files unlinked from several threads.

    Freeing a file's blocks dominates here (one by one, ~85 files of a
    segment of 50 articles take 0.1-0.2 s, every few commits, when small
    segments are merged), and the file system does it for many files at once
    as fast as for one. Best effort, like `shutil.rmtree(ignore_errors=True)`.
    """
    files: list[str] = []
    dirs: list[str] = []
    for folder in folders:
        if folder.is_dir() and not folder.is_symlink():
            for root, _subdirs, names in os.walk(folder, topdown=False):
                files.extend(os.path.join(root, name) for name in names)
                dirs.append(root)
        else:
            files.append(str(folder))

    def unlink(path: str) -> None:
        try:
            os.unlink(path)
        except OSError:
            pass

    if len(files) > 1:
        with ThreadPoolExecutor(min(UNLINK_THREADS, len(files))) as pool:
            for _ in pool.map(unlink, files):
                pass
    else:
        for path in files:
            unlink(path)
    for folder_path in dirs:  # deepest first
        try:
            os.rmdir(folder_path)
        except OSError:
            pass
    for folder in folders:  # whatever was left (a subfolder made meanwhile)
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
