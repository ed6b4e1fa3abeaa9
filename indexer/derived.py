"""Per-segment arrays written beside the index at commit, memory-mapped by every reader.

A search engine needs, for each immutable segment, every document's field
lengths (BM25), each facet's (document, value) pairs and the dates. Decoded
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

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .durable import fsync_dir, fsync_file
from .schema import FACET_SEP, SCHEMA_VERSION

#: Raised whenever what is written, or how, changes: older folders are then rebuilt.
FORMAT_VERSION = 1
FOLDER = "derived"
MANIFEST = "manifest.json"
#: The column field holding each article's date (YYYY-MM-DD, empty when unknown).
DATE_COLUMN = "date"
FACET_PREFIX = "facet_"


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
            self._open[name] = np.load(self.folder / f"{name}.npy", mmap_mode="r",
                                       allow_pickle=False)
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


def load(index_dir: str | Path, segid: str, doc_count_all: int) -> SegmentArrays | None:
    """The segment's arrays when they are there and current, else None (decode from Whoosh)."""
    folder = segment_folder(index_dir, segid)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION \
            or manifest.get("schema") != SCHEMA_VERSION \
            or manifest.get("segment") != segid \
            or manifest.get("doc_count_all") != doc_count_all:
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


def derive(reader: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and manifest entries of one Whoosh segment reader (public reader API only)."""
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
        elif field.startswith(FACET_PREFIX) and schema[field].column_type is not None:
            name = field[len(FACET_PREFIX):]
            column = reader.column_reader(field) if reader.has_column(field) else [b""] * n
            values, docs, vals = facet_pairs(column)
            arrays[f"facet.{name}.docs"] = docs
            arrays[f"facet.{name}.vals"] = vals
            facets[name] = values
    has_dates = DATE_COLUMN in schema.names() and reader.has_column(DATE_COLUMN)
    if has_dates:
        dates = [d if isinstance(d, str) else (d or b"").decode()
                 for d in reader.column_reader(DATE_COLUMN)]
        arrays["dates"] = np.asarray(dates, dtype="U10") if dates else np.zeros(0, "U10")
    return arrays, {"lengths": lengths, "facets": facets, "dates": has_dates}


def write(index_dir: str | Path, segid: str, reader: Any) -> Path:
    """Derive one segment and publish its folder with one rename (a no-op when one exists)."""
    final = segment_folder(index_dir, segid)
    parent = final.parent
    parent.mkdir(exist_ok=True)
    arrays, entries = derive(reader)
    work = Path(tempfile.mkdtemp(prefix=f".{segid}.", dir=parent))
    try:
        for name, array in arrays.items():
            path = work / f"{name}.npy"
            np.save(path, array, allow_pickle=False)
            fsync_file(str(path))
        manifest = {"format": FORMAT_VERSION, "schema": SCHEMA_VERSION, "segment": segid,
                    "doc_count_all": reader.doc_count_all(),
                    "arrays": {name: len(array) for name, array in arrays.items()}, **entries}
        path = work / MANIFEST
        path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        fsync_file(str(path))
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
    for entry in parent.iterdir():
        if entry.name not in kept:
            shutil.rmtree(entry, ignore_errors=True)
