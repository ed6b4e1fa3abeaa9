"""Index generations on disk: which one to read, which one an indexing run
starts from, and which files to keep.

A Whoosh commit writes new segment files, then a table of contents
`_MAIN_<n>.toc` naming the segments of generation n. After a power cut the
newest TOC (or a segment it names) may be empty, truncated or garbage. Three
things make that survivable:

- A commit flushes its segment files before its TOC names them, and the TOC
  before it is renamed into place (`whoosh_writing`): a TOC that survives
  names segments that survive.
- The indexer keeps the generation it started from (its TOC and segments)
  beside the one it commits (`Base.retained`, `remove_unused`), so there is
  always one previous, complete generation to fall back to.
- Readers open the newest generation that reads (`open_newest_readable`);
  the indexer continues from it and its next commit supersedes the damaged
  one, the search engine serves it meanwhile.

This module knows Whoosh's file names; the Whoosh objects themselves are
handled in `whoosh_writing`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .schema import SCHEMA_VERSION
from .whoosh_writing import (
    INDEX_NAME,
    GenerationIndex,
    create_generation,
    open_generation,
    schema_version,
    segment_ids,
    write_derived,
)

__all__ = ["Base", "Opened", "describe", "ensure_derived", "newest_toc_stamp", "open_base",
           "open_generation", "open_newest_readable", "remove_unused", "toc_generations",
           "toc_path"]

_TOC_RE = re.compile(rf"^_{INDEX_NAME}_([0-9]+)\.toc$")
#: What Whoosh's TOC.write leaves when killed between writing and renaming.
_TOC_TEMP_RE = re.compile(rf"^_{INDEX_NAME}_[0-9]+\.toc\..+$")
_SEGMENT_RE = re.compile(rf"^({INDEX_NAME}_[0-9a-z]+)\.[A-Za-z0-9_.]+$")
#: Whoosh's folder for the sorting runs of a writer (`temp_storage`).
TEMP_FOLDER = f"{INDEX_NAME}.tmp"


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
    """An error in one line, for the messages that name a damaged generation."""
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


def ensure_derived(index_dir: str | Path, keep: Iterable[GenerationIndex | None],
                   prune: bool = True) -> None:
    """Write the derived arrays the kept generations lack; drop those of other segments.

    Called under the index lock, or without `prune` by `vnsearch serve`
    before it starts its workers. The arrays only speed reading up: failing to write them (a
    full disk) leaves readers decoding Whoosh's files, as before.
    """
    from . import derived

    live: set[str] = set()
    current: set[str] = set()  # kept generations share segments: each checked once
    for ix in keep:
        if ix is None or schema_version(ix) != SCHEMA_VERSION:
            continue
        try:
            live.update(write_derived(ix, current))
        except Exception:  # noqa: BLE001 - a cache: readers decode Whoosh's files instead
            return
    if prune:  # only under the index lock: no other writer has a folder half-written
        try:
            derived.prune(index_dir, live)
        except OSError:
            pass


@dataclass
class Base:
    """The generation an indexing run starts from, and what to keep beside its commit."""

    ix: GenerationIndex
    #: The commit holds only what the run writes: no index yet, `--rebuild`,
    #: or an index this version cannot continue.
    start_over: bool
    #: Number of the generation the run commits: above every TOC present.
    next_generation: int
    #: The previous complete generation kept while the run works (None: none).
    previous: GenerationIndex | None = None
    #: Newer TOCs that could not be read: the run commits even with no change.
    damaged: bool = False
    #: What the user should know about the index found (damage, rebuild reasons).
    warnings: list[str] = field(default_factory=list)

    def retained(self) -> GenerationIndex | None:
        """The generation to keep beside the run's commit: the one it started from.

        Not when it was written with another schema version (it could not be
        served), nor when it is an empty starting point.
        """
        if schema_version(self.ix) != SCHEMA_VERSION:
            return None
        return None if self.ix.is_empty() else self.ix


def open_base(index_dir: Path, rebuild: bool) -> Base:
    """The newest readable generation; a new, empty one when there is none.

    Starting over does not drop the old documents here: they stay searchable
    until the run's commit replaces them.
    """
    opened = open_newest_readable(index_dir)
    newest = opened.index.generation if opened.index is not None else -1
    damaged = [(gen, why) for gen, why in opened.damaged if gen > newest]
    warnings = [
        f"index generation {gen} (_{INDEX_NAME}_{gen}.toc) cannot be read ({why}), "
        "as a power cut or disk error can leave it"
        + (f"; continuing from generation {newest}, the last good one"
           if opened.index is not None else "")
        for gen, why in damaged
    ]
    if opened.index is None:
        if opened.present:
            warnings.append("no readable index generation left: rebuilding")
        ix = create_generation(index_dir, opened.next_generation)
        return Base(ix, True, opened.next_generation + 1, damaged=bool(damaged),
                    warnings=warnings)
    ix = opened.index
    previous = open_newest_readable(index_dir, below=ix.generation).index
    base = Base(ix, rebuild, opened.next_generation, previous, bool(damaged), warnings)
    version = schema_version(ix)
    if version != SCHEMA_VERSION:
        warnings.append(
            f"index was built with schema version {version or 'unknown'}, "
            f"this vnsearch uses {SCHEMA_VERSION}: rebuilding"
        )
        base.start_over = True
    return base
