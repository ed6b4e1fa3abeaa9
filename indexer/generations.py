"""Index generations on disk: durable commits, and the newest readable one.

A Whoosh commit writes new segment files, then a table of contents
`_MAIN_<n>.toc` naming the segments of generation n. Whoosh fsyncs nothing,
so after a power cut the newest TOC (or a segment it names) may be empty,
truncated or garbage. Three things make that survivable:

- `DurableStorage` fsyncs a file before Whoosh renames it into place and the
  folder after, and `fsync_segments` flushes a commit's new segment files
  before its TOC is written: a TOC that survives names segments that survive.
- The indexer keeps the generation it started from (its TOC and segments)
  beside the one it commits (`remove_unused`), so there is always one
  previous, complete generation to fall back to.
- Readers open the newest generation that reads (`open_newest_readable`);
  the indexer continues from it and its next commit supersedes the damaged
  one, the search engine serves it meanwhile.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex

INDEX_NAME = "MAIN"
_TOC_RE = re.compile(rf"^_{INDEX_NAME}_([0-9]+)\.toc$")
#: What Whoosh's TOC.write leaves when killed between writing and renaming.
_TOC_TEMP_RE = re.compile(rf"^_{INDEX_NAME}_[0-9]+\.toc\..+$")
_SEGMENT_RE = re.compile(rf"^({INDEX_NAME}_[0-9a-z]+)\.[A-Za-z0-9_.]+$")
#: Whoosh's folder for the sorting runs of a writer (`temp_storage`).
TEMP_FOLDER = f"{INDEX_NAME}.tmp"


def fsync_file(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | Path) -> None:
    """Make the folder's entries (new, renamed, removed files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DurableStorage(FileStorage):
    """A FileStorage whose renames are durable: the TOC is on disk before it is named.

    Whoosh writes a TOC under a temporary name and renames it; flushing the
    temporary file first means the name never points at unwritten data.
    """

    def rename_file(self, oldname: str, newname: str, safe: bool = False) -> None:
        fsync_file(self._fpath(oldname))
        super().rename_file(oldname, newname, safe=safe)
        fsync_dir(self.folder)


def toc_generations(index_dir: str | Path) -> list[int]:
    """Generation numbers of the TOC files in `index_dir`, newest first."""
    try:
        names = os.listdir(index_dir)
    except OSError:
        return []
    gens = [int(m.group(1)) for m in map(_TOC_RE.match, names) if m]
    return sorted(gens, reverse=True)


def toc_path(index_dir: str | Path, generation: int) -> Path:
    return Path(index_dir) / f"_{INDEX_NAME}_{generation}.toc"


def newest_toc_stamp(index_dir: str | Path) -> tuple[int, int] | None:
    """(generation, mtime in ns) of the highest-numbered TOC: changes with every commit."""
    for _attempt in range(3):
        gens = toc_generations(index_dir)
        if not gens:
            return None
        try:
            return gens[0], os.stat(toc_path(index_dir, gens[0])).st_mtime_ns
        except OSError:  # removed by a commit in between: look again
            continue
    return None


class GenerationIndex(FileIndex):
    """A Whoosh index fixed to one generation, which need not be the newest TOC.

    `FileIndex` always reads the highest-numbered TOC; this reads the TOC of
    `generation` afresh each time (writers change the segment objects they
    get, so each gets its own copy).
    """

    def __init__(self, storage: FileStorage, generation: int) -> None:  # noqa: D107
        self.storage = storage
        self._schema = None
        self.indexname = INDEX_NAME
        self.generation = generation
        TOC.read(storage, INDEX_NAME, gen=generation)  # fails now if it cannot be read

    def _read_toc(self) -> TOC:
        return TOC.read(self.storage, self.indexname, gen=self.generation)

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


@dataclass
class Opened:
    """The newest readable generation and what had to be skipped to reach it."""

    index: GenerationIndex | None
    #: (generation, why it could not be read), newest first.
    damaged: list[tuple[int, str]] = field(default_factory=list)
    #: Every TOC generation present, damaged ones included, newest first.
    present: list[int] = field(default_factory=list)

    @property
    def next_generation(self) -> int:
        """A number above every TOC present, so a commit supersedes damaged ones too."""
        return (self.present[0] + 1) if self.present else 0


def describe(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def open_newest_readable(index_dir: str | Path, below: int | None = None) -> Opened:
    """The newest generation whose TOC and segments open (optionally below `below`)."""
    present = toc_generations(index_dir)
    opened = Opened(None, present=present)
    for gen in present:
        if below is not None and gen >= below:
            continue
        try:
            opened.index = open_generation(index_dir, gen)
            return opened
        except Exception as err:  # noqa: BLE001 - any failure to read means damaged
            opened.damaged.append((gen, describe(err)))
    return opened


def segment_ids(ix: GenerationIndex | None) -> set[str]:
    if ix is None:
        return set()
    return {segment.segment_id() for segment in ix._read_toc().segments}


def fsync_segments(index_dir: str | Path, segments: Iterable[Any]) -> None:
    """Flush the files of `segments` and the folder, before a TOC names them."""
    wanted = {segment.segment_id() for segment in segments}
    for name in os.listdir(index_dir):
        match = _SEGMENT_RE.match(name)
        if match and match.group(1) in wanted:
            fsync_file(Path(index_dir) / name)
    fsync_dir(index_dir)


def remove_unused(index_dir: str | Path, keep: Iterable[GenerationIndex | None],
                  keep_newer_than: int | None = None) -> list[str]:
    """Delete every index file the kept generations do not need; the names removed.

    Removed: TOCs of other generations (damaged ones included, except those
    numbered above `keep_newer_than`: a run that has not committed yet
    leaves them for its commit to supersede), segment files no kept TOC
    names (what killed or failed runs wrote), Whoosh's temporary TOCs and
    its sorting-run folder. Only called under the index lock, so no other
    writer is producing files meanwhile. A file that cannot be removed is
    left for the next run.
    """
    index_dir = Path(index_dir)
    kept = [ix for ix in keep if ix is not None]
    gens = {ix.generation for ix in kept}
    live: set[str] = set()
    for ix in kept:
        live |= segment_ids(ix)
    removed = []
    try:
        names = os.listdir(index_dir)
    except OSError:
        return removed
    for name in names:
        toc = _TOC_RE.match(name)
        segment = _SEGMENT_RE.match(name)
        if toc:
            gen = int(toc.group(1))
            unused = gen not in gens and (keep_newer_than is None or gen <= keep_newer_than)
        elif segment:
            unused = segment.group(1) not in live
        else:
            unused = bool(_TOC_TEMP_RE.match(name))
        if unused:
            try:
                os.unlink(index_dir / name)
                removed.append(name)
            except OSError:
                pass
    temp = index_dir / TEMP_FOLDER
    if temp.is_dir():
        for name in os.listdir(temp):
            try:
                os.unlink(temp / name)
                removed.append(f"{TEMP_FOLDER}/{name}")
            except OSError:
                pass
        try:
            temp.rmdir()
        except OSError:
            pass
    return removed
