"""One index generation as the engine sees it, and the newest one that opens.

A `Snapshot` holds everything derived from one generation (postings view,
vocabulary, facet tables, scorer), built lazily and, after a commit, from the
previous generation's snapshot so that only new segments are read again.
`Snapshots` finds the newest generation that opens, falling back to the one
before a damaged commit.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from pathlib import Path
from types import ModuleType

from cachetools import LRUCache

from indexer.backend import Generation

from . import whoosh_reading
from .facets import FacetIndex
from .ranking import Scorer
from .vocabulary import Vocabulary

LOG = logging.getLogger(__name__)
#: Seconds before a generation that could not be opened is tried again.
REOPEN_RETRY = 30.0
#: Vocabularies built by a server's master process before it forks its
#: workers, with the lexicons summed for them, by (index folder, generation
#: stamp). A worker opening that very generation adopts both instead of
#: building its own, so the ~120 MB of tables at 43k articles stay in pages
#: all workers share, and after the next commit its vocabulary is updated
#: by the new terms only, as one it built itself.
_PREBUILT: dict[tuple[str, tuple[int, int]],
                tuple[Vocabulary, dict[str, dict[str, int]]]] = {}


def prebuild_vocabulary(index_dir: str | Path) -> bool:
    """Build the newest generation's vocabulary for workers forked after this call.

    Only for an index this process reads through memory maps (Whoosh): its
    readers are closed again here, nothing but Python objects crosses the
    fork. Any vocabulary built earlier for another generation is dropped.
    Returns False when there is nothing to build (no index, or Xapian).
    """
    key_dir = str(Path(index_dir).resolve())
    for key in [k for k in _PREBUILT if k[0] == key_dir]:
        del _PREBUILT[key]
    snaps = Snapshots(index_dir)
    if snaps.backend is not whoosh_reading:
        return False
    snap = snaps.current()
    if snap is None:
        return False
    try:
        vocab = snap.vocab
        vocab.sorted_keys  # noqa: B018 - built now, shared, instead of in every worker
        vocab.syllable_list  # noqa: B018
        vocab.compounds  # noqa: B018
        _PREBUILT[(key_dir, snap.stamp)] = (vocab, snap.view.built_lexicons())
    finally:
        whoosh_reading.close_view(snap.view)
    return True


def prebuilt_is_current(index_dir: str | Path) -> bool:
    """True when the vocabulary built before forking is the newest generation's."""
    key_dir = str(Path(index_dir).resolve())
    stamps = [stamp for d, stamp in _PREBUILT if d == key_dir]
    return bool(stamps) and whoosh_reading.newest_stamp(index_dir) in stamps


def reading_backend(index_dir: str | Path) -> ModuleType:
    """The reading face for an index folder: Xapian when it names Xapian shards, else Whoosh."""
    from indexer.xapian_store import store_exists

    if store_exists(index_dir):
        from . import xapian_reading

        return xapian_reading
    return whoosh_reading


def index_exists(index_dir: str | Path) -> bool:
    """True when an index has been committed in `index_dir` (either backend)."""
    return bool(reading_backend(index_dir).index_exists(index_dir))


def holds_articles(index_dir: str | Path) -> bool:
    """True when the newest generation that opens holds at least one article."""
    return bool(reading_backend(index_dir).holds_articles(index_dir))


class Snapshot:
    """Everything derived from one index generation, built lazily.

    Built from the `previous` generation's snapshot when there is one: its
    segment readers (with what was read from them) are re-used, and the
    vocabulary is updated by the terms of the new segments only, so the first
    query after a commit does not read the whole index again.
    """

    def __init__(self, view: Generation, stamp: tuple[int, int],
                 previous: Snapshot | None = None, backend: ModuleType = whoosh_reading,
                 vocab: Vocabulary | None = None) -> None:
        self.backend = backend
        self.stamp = stamp
        self.view = view
        self._settled = False
        self._vocab: Vocabulary | None = vocab
        self._facets: FacetIndex | None = None
        self._scorer: Scorer | None = None
        self._previous = previous
        #: Completions as the articles write them (see spelling.cased).
        self.cased: LRUCache = LRUCache(10_000)

    @property
    def vocab(self) -> Vocabulary:
        if self._vocab is None:
            prev = self._previous
            self._vocab = Vocabulary(self.view, prev._vocab if prev is not None else None)
            self._previous = None  # built from it: let it go
            self.view.forget_previous()
        return self._vocab

    @property
    def facets(self) -> FacetIndex:
        if self._facets is None:
            self._facets = FacetIndex(self.view)
        return self._facets

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            vocab = self.vocab
            self._scorer = Scorer(self.view, vocab)
        return self._scorer

    def settle(self) -> None:
        """Once the generation's tables exist, take them out of the collector's scans.

        The vocabulary, facet tables and scorer are hundreds of thousands of
        long-lived objects; a full collection walking them cost 50-125 ms,
        once every ~20 queries on 43k articles: most of the p95. Done once
        per generation, after its first query built them; frozen objects are
        still freed when no longer referenced.
        """
        if not self._settled and self._scorer is not None and self._facets is not None:
            self._settled = True
            gc.collect(1)
            gc.freeze()

    def close_replaced_by(self, current: Snapshot) -> None:
        """Close this generation's readers that `current` does not re-use."""
        self.backend.close_unused(self.view, current.view)



class Snapshots:
    """The snapshot of the newest generation of an index folder that opens."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self.backend = reading_backend(index_dir)
        self._snap: Snapshot | None = None
        #: The newest TOC looked at, (generation, mtime), and when to look at
        #: it again when it could not be opened.
        self._seen: tuple[int, int] | None = None
        self._retry_at = 0.0

    def current(self) -> Snapshot | None:
        """The snapshot of the newest generation that opens (not thread-safe: callers lock).

        Each call looks for a new commit (one listing of the folder). A
        generation that does not open, such as a TOC a power cut left empty
        or truncated, is skipped for the one before it, which the indexer
        keeps; the damaged one is tried again every REOPEN_RETRY seconds and
        the next commit supersedes it. A generation already open keeps
        serving when its TOC is damaged afterwards (it was read intact), and
        whatever fails, the last snapshot keeps serving.
        """
        backend = self.backend
        latest = backend.newest_stamp(self.index_dir)
        if latest is None:
            return self._snap
        now = time.monotonic()
        if latest == self._seen and now < self._retry_at:
            return self._snap
        self._seen, self._retry_at = latest, math.inf
        skipped = False
        for stamp in backend.generation_stamps(self.index_dir):
            generation = stamp[0]
            current = self._snap.stamp if self._snap is not None else None
            if current is not None and (stamp == current
                                        or (skipped and generation < current[0])):
                break  # what is being served is still the newest that opens
            try:
                previous = self._snap
                view = backend.open_view(self.index_dir, generation,
                                         previous.view if previous is not None else None)
                prebuilt = _PREBUILT.pop((str(self.index_dir.resolve()), stamp), None) \
                    if previous is None and backend is whoosh_reading else None
                if prebuilt is not None:
                    view.adopt_lexicons(prebuilt[1])
                snap = Snapshot(view, stamp, previous, backend,
                                prebuilt[0] if prebuilt is not None else None)
            except Exception as err:  # noqa: BLE001 - a damaged generation is skipped
                LOG.warning("index generation %d in %s cannot be opened (%s); "
                            "serving an older one", generation, self.index_dir,
                            backend.describe(err))
                self._retry_at = now + REOPEN_RETRY
                skipped = True
                continue
            if self._snap is not None:
                self._snap.close_replaced_by(snap)
            self._snap = snap
            break
        return self._snap
