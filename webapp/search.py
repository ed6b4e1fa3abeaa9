"""The search layer behind `vnsearch search` and `/api/search`: one code path.

`SearchEngine` opens the index lazily and re-opens it when the indexer has
committed a new generation, so a long-running web server sees new articles
without a restart. Whoosh's searcher reads files through shared handles, so
one engine serialises its queries with a lock; a query costs milliseconds.

Nothing a user types makes it raise: bad pages, sizes, sorts and facets are
clamped or ignored, and an unusable query is an empty result.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import threading
import time
from html import unescape
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh.searching import Searcher

from indexer.directives import directive_label
from indexer.generations import (
    describe,
    newest_toc_stamp,
    open_generation,
    toc_generations,
    toc_path,
)
from indexer.normalize import lower, normalize, strip_diacritics
from indexer.schema import FACETS, unpack_spans

from .facets import FacetIndex
from .postings import IndexView, close_unused, open_reader
from .query import ParsedQuery, parse
from .ranking import Concept, Scorer, concepts_of
from .snippets import (
    Pattern,
    find_marks,
    highlight,
    snippet,
    syllables_near,
    text_syllables,
    word_spans,
)
from .suggest import completions
from .vocabulary import Vocabulary

LOG = logging.getLogger(__name__)
SORTS = ("relevance", "date")
#: Seconds before a generation that could not be opened is tried again.
REOPEN_RETRY = 30.0
MAX_PER_PAGE = 100
#: Top hits whose text is read to find the suggested spelling as written.
SUGGESTION_DOCS = 10
#: Articles per field read to find how a completion is written (capitals).
CASE_DOCS = 3


class _Snapshot:
    """Everything derived from one index generation, built lazily.

    Built from the `previous` generation's snapshot when there is one: its
    segment readers (with what was read from them) are re-used, and the
    vocabulary is updated by the terms of the new segments only, so the first
    query after a commit does not read the whole index again.
    """

    def __init__(self, ix: whoosh_index.Index, stamp: tuple,
                 previous: _Snapshot | None = None) -> None:
        self.stamp = stamp
        prev_view = previous.view if previous is not None else None
        reader = open_reader(ix, prev_view)
        self.view = IndexView(Searcher(reader, fromindex=ix), prev_view)
        self._vocab: Vocabulary | None = None
        self._facets: FacetIndex | None = None
        self._scorer: Scorer | None = None
        self._previous = previous
        self._prev_scorer: Scorer | None = None
        #: Completions as the articles write them (see SearchEngine._cased).
        self.cased: dict[str, str] = {}

    @property
    def vocab(self) -> Vocabulary:
        if self._vocab is None:
            prev = self._previous
            self._vocab = Vocabulary(self.view, prev._vocab if prev is not None else None)
            self._prev_scorer = prev._scorer if prev is not None else None
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
            self._scorer = Scorer(self.view, vocab, self._prev_scorer)
            self._prev_scorer = None
        return self._scorer

    def settle(self) -> None:
        """After a query, take what lives on (tables, caches) out of the collector's scans.

        The vocabulary, facet tables and caches are hundreds of thousands of
        long-lived objects; a full collection walking them cost 50-125 ms,
        once every ~20 queries on 43k articles: most of the p95. The young
        generations are collected first, so the query's own garbage is not
        frozen; frozen objects are still freed when no longer referenced.
        """
        if self._scorer is not None and self._facets is not None:
            gc.collect(1)
            gc.freeze()

    def close_replaced_by(self, current: _Snapshot) -> None:
        """Close this generation's readers that `current` does not re-use."""
        close_unused(self.view, current.view)


class SearchEngine:
    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self._lock = threading.RLock()
        self._snap: _Snapshot | None = None
        #: The newest TOC looked at, (generation, mtime), and when to look at
        #: it again when it could not be opened.
        self._seen: tuple[int, int] | None = None
        self._retry_at = 0.0

    # -- opening ---------------------------------------------------------------

    def _snapshot(self) -> _Snapshot | None:
        """The snapshot of the newest generation that opens (call under the lock).

        Each call looks for a new commit (one listing of the folder). A
        generation that does not open, such as a TOC a power cut left empty
        or truncated, is skipped for the one before it, which the indexer
        keeps; the damaged one is tried again every REOPEN_RETRY seconds and
        the next commit supersedes it. A generation already open keeps
        serving when its TOC is damaged afterwards (it was read intact), and
        whatever fails, the last snapshot keeps serving.
        """
        latest = newest_toc_stamp(self.index_dir)
        if latest is None:
            return self._snap
        now = time.monotonic()
        if latest == self._seen and now < self._retry_at:
            return self._snap
        self._seen, self._retry_at = latest, math.inf
        skipped = False
        for generation in toc_generations(self.index_dir):
            try:
                stamp = (generation, os.stat(toc_path(self.index_dir, generation)).st_mtime_ns)
            except OSError:  # removed by a commit meanwhile
                continue
            current = self._snap.stamp if self._snap is not None else None
            if current is not None and (stamp == current
                                        or (skipped and generation < current[0])):
                break  # what is being served is still the newest that opens
            try:
                snap = _Snapshot(open_generation(self.index_dir, generation, check=False),
                                 stamp, self._snap)
            except Exception as err:  # noqa: BLE001 - a damaged generation is skipped
                LOG.warning("index generation %d in %s cannot be opened (%s); "
                            "serving an older one", generation, self.index_dir, describe(err))
                self._retry_at = now + REOPEN_RETRY
                skipped = True
                continue
            if self._snap is not None:
                self._snap.close_replaced_by(snap)
            self._snap = snap
            break
        return self._snap

    # -- search ----------------------------------------------------------------

    def search(
        self,
        q: str | None,
        filters: dict[str, list[str]] | None = None,
        sort: str = "relevance",
        page: int = 1,
        per_page: int = 10,
    ) -> dict:
        """Results for `q` as the /api/search JSON (see interface.md)."""
        started = time.perf_counter()
        q = "" if q is None else str(q)
        sort = sort if sort in SORTS else "relevance"
        page = _clamp_int(page, 1, 1, 10**6)
        per_page = _clamp_int(per_page, 10, 1, MAX_PER_PAGE)
        filters = _clean_filters(filters)
        result: dict = {
            "query": q,
            "total": 0,
            "page": page,
            "per_page": per_page,
            "pages": 0,
            "sort": sort,
            "filters": filters,
            "suggestion": None,
            "hits": [],
            "facets": {**{name: [] for name in FACETS}, "locality_tree": []},
        }
        parsed = parse(q)
        with self._lock:
            snap = self._snapshot()
            if snap is None:
                result["took_ms"] = _ms(started)
                return result
            self._search(snap, parsed, filters, sort, page, per_page, result)
            snap.settle()
        result["took_ms"] = _ms(started)
        return result

    def _search(self, snap: _Snapshot, parsed: ParsedQuery, filters: dict[str, list[str]],
                sort: str, page: int, per_page: int, result: dict) -> None:
        view, facets = snap.view, snap.facets
        masks = facets.filter_masks(filters)
        allowed = view.live.copy()
        for mask in masks.values():
            allowed &= mask
        if parsed.is_empty:
            if not parsed.negative and not filters:
                return  # nothing asked: no results rather than the whole index
            matched = allowed.copy()
            for clause in parsed.negative:
                for term in clause.alternatives:
                    matched &= ~snap.scorer.term_unit(term).match
            scores = np.zeros(view.doc_count_all, dtype=np.float32)
            sort = "date"
            # Facet counts ignore each facet's own selection.
            unfiltered = view.live.copy()
            for clause in parsed.negative:
                for term in clause.alternatives:
                    unfiltered &= ~snap.scorer.term_unit(term).match
        else:
            unfiltered, scores = snap.scorer.run(parsed, view.live.copy())
            matched = unfiltered & allowed
        docs = np.nonzero(matched)[0]
        total = len(docs)
        result["total"] = total
        result["pages"] = math.ceil(total / per_page) if total else 0
        if result["pages"] and page > result["pages"]:
            page = result["pages"]
            result["page"] = page
        result["facets"] = facets.counts(unfiltered, masks, filters)
        if total:
            order = _order(docs, scores, facets.dates, sort, (page * per_page))
            page_docs = order[(page - 1) * per_page : page * per_page]
            patterns = snap.scorer.patterns(parsed) if not parsed.is_empty else []
            # Bodies are read only around the query's syllables (marks, snippet, suggestion).
            wanted = frozenset({f for p in patterns for f in p.folded}
                               | {syl.folded for syl in parsed.syllables}
                               ) if patterns and not any(p.prefix for p in patterns) else None
            seen: dict = {"wanted": wanted}
            hits = [self._hit(snap, int(d), float(scores[d]), patterns, seen) for d in page_docs]
            result["hits"] = hits
            if not parsed.is_empty:
                top = order[:SUGGESTION_DOCS]
                result["suggestion"] = self._suggestion(snap, parsed, top, seen)

    def _hit(self, snap: _Snapshot, docnum: int, score: float, patterns: list[Pattern],
             seen: dict) -> dict:
        stored, texts = _texts(snap, docnum, seen)
        (title, title_syls), (body, body_syls) = texts
        title_marks = find_marks(title_syls, patterns)
        body_marks = find_marks(body_syls, patterns)
        record = _record(stored)
        return {
            "id": stored.get("id"),
            "title": title,
            "title_html": highlight(title, title_marks),
            "date": stored.get("date") or None,
            "author": stored.get("author") or None,
            "score": round(score, 4),
            "snippet": snippet(body, body_marks),
            "localities": record.get("localities", []),
            "directives": record.get("directives", []),
            "source": stored.get("source") or None,
        }

    # -- suggestion ------------------------------------------------------------

    def _suggestion(self, snap: _Snapshot, parsed: ParsedQuery, top: np.ndarray,
                    seen: dict) -> str | None:
        """The query with the accents the index most likely meant, or None."""
        syllables = parsed.syllables
        if not syllables or all(s.accented for s in syllables if s.folded.isalpha()):
            return None
        if any(c.negated or len(c.alternatives) > 1 for c in parsed.clauses):
            return None
        texts = []
        for docnum in top:
            texts.extend(_texts(snap, int(docnum), seen)[1])
        partly_accented = any(s.accented for s in syllables)
        parts = []
        for clause in parsed.positive:
            term = clause.alternatives[0]
            concepts = concepts_of(term.syllables, snap.vocab)
            if partly_accented:
                # Words typed without accents but spelled as real words stay as typed
                # (`thu hồi`: `thu` is a word); pretend the user typed them.
                concepts = [_as_typed(c, snap.vocab) for c in concepts]
            written = self._written(texts, concepts, snap.vocab)
            parts.append(f'"{written}"' if term.phrase else written)
        suggestion = " ".join(parts)
        if lower(suggestion).replace('"', "") == " ".join(s.text for s in syllables):
            return None
        return suggestion

    @staticmethod
    def _written(texts: list, concepts: list[Concept], vocab: Vocabulary) -> str:
        """Longest runs of concepts found as written in the top hits, else the lexicon's."""
        out: list[str] = []
        i = 0
        while i < len(concepts):
            for j in range(min(len(concepts), i + 6), i, -1):
                folded = tuple(f for c in concepts[i:j] for f in c.folded)
                typed = tuple(t for c in concepts[i:j] for t in c.typed)
                found = _as_written(texts, folded, typed)
                if found is not None:
                    out.append(found)
                    i = j
                    break
            else:
                out.append(_restore(concepts[i], vocab))
                i += 1
        return " ".join(out)

    # -- article ---------------------------------------------------------------

    def article(self, doc_id: str, q: str = "") -> dict | None:
        """One article with `q` highlighted, and a few related articles."""
        with self._lock:
            snap = self._snapshot()
            if snap is None or not doc_id:
                return None
            ids, _ = snap.view.postings("id", str(doc_id))
            if not len(ids):
                return None
            docnum = int(ids[0])
            stored = snap.view.stored(docnum)
            parsed = parse(q)
            patterns = snap.scorer.patterns(parsed) if q and not parsed.is_empty else []
            title = stored.get("title") or ""
            body = stored.get("body") or ""
            record = _record(stored)
            title_marks = find_marks(text_syllables(title, word_spans(title)), patterns)
            body_marks = find_marks(text_syllables(body, _spans(stored, body)), patterns)
            out = {
                "id": stored.get("id"),
                "title": title,
                "date": stored.get("date") or None,
                "author": stored.get("author") or None,
                "body": body,
                "source": stored.get("source") or None,
                "localities": record.get("localities", []),
                "directives": record.get("directives", []),
                "title_html": highlight(title, title_marks),
                "body_html": highlight(body, body_marks),
                "related": self._related(snap, docnum, title),
            }
            if record.get("summary"):
                out["summary"] = record["summary"]
            return out

    def _related(self, snap: _Snapshot, docnum: int, title: str, limit: int = 5) -> list[dict]:
        """Articles sharing the title's words: a long query with partial matching."""
        parsed = parse(title)
        if parsed.is_empty:
            return []
        allowed = snap.view.live.copy()
        allowed[docnum] = False
        matched, scores = snap.scorer.run(parsed, allowed, min_coverage=0.2)
        docs = np.nonzero(matched)[0]
        if not len(docs):
            return []
        order = docs[np.argsort(-scores[docs], kind="stable")][:limit]
        out = []
        for d in order:
            stored = snap.view.stored(int(d))
            out.append({"id": stored.get("id"), "title": stored.get("title") or "",
                        "date": stored.get("date") or None})
        return out

    # -- completion ------------------------------------------------------------

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Completions of a typed prefix from the index's vocabulary, accents restored."""
        limit = _clamp_int(limit, 8, 1, 50)
        with self._lock:
            snap = self._snapshot()
            if snap is None:
                return []
            lines = completions(str(prefix or ""), snap.vocab, limit)
            return list(dict.fromkeys(self._cased(snap, line) for line in lines))

    @staticmethod
    def _cased(snap: _Snapshot, line: str) -> str:
        """A completion as the index's articles write it: `Hà Nội`, not `hà nội`.

        Read from a few articles holding its last word(s), capitals at a title or
        sentence start not counting (see `_as_written`); cached per generation.
        """
        cached = snap.cased.get(line)
        if cached is not None:
            return cached
        words = line.split()
        wanted = frozenset(strip_diacritics(w) for w in words)
        out = line
        for j in range(len(words)):
            term = "_".join(words[j:])
            texts = _case_texts(snap, term, wanted)
            if not texts:
                continue
            for start in (0, j) if j else (0,):
                part = words[start:]
                found = _as_written(texts, tuple(strip_diacritics(w) for w in part), tuple(part))
                if found is not None:
                    out = " ".join(words[:start] + [found])
                    break
            break
        if len(snap.cased) > 10_000:
            snap.cased.clear()
        snap.cased[line] = out
        return out


# -- helpers -------------------------------------------------------------------


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _clamp_int(value: object, default: int, low: int, high: int) -> int:
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return default
    return max(low, min(high, number))


def _clean_filters(filters: object) -> dict[str, list[str]]:
    """Known facets only, values as non-empty strings, in the order given."""
    clean: dict[str, list[str]] = {}
    if not isinstance(filters, dict):
        return clean
    for name, values in filters.items():
        if name not in FACETS or values is None:
            continue
        if isinstance(values, str | int):
            values = [values]
        try:
            items = [str(v).strip()[:200] for v in values]
        except TypeError:
            continue
        items = [v for v in dict.fromkeys(items) if v]
        if items:
            clean[name] = items
    return clean


def _order(docs: np.ndarray, scores: np.ndarray, dates: np.ndarray, sort: str,
           needed: int) -> np.ndarray:
    """Matched docnums in display order (relevance: score, then newest)."""
    doc_dates = dates[docs] if len(dates) else np.full(len(docs), "", dtype="U10")
    doc_scores = scores[docs]
    if sort == "date":
        keys = (docs, -doc_scores, np.char.str_len(doc_dates) == 0, _desc(doc_dates))
    else:
        keys = (docs, _desc(doc_dates), -doc_scores)
    return docs[np.lexsort(keys)]


def _desc(values: np.ndarray) -> np.ndarray:
    """Sort keys that put larger strings first."""
    _, inverse = np.unique(values, return_inverse=True)
    return -inverse


def _texts(snap: _Snapshot, docnum: int, seen: dict) -> tuple[dict, list]:
    """Stored fields and [(title, syllables), (body, syllables)], once per query."""
    if docnum not in seen:
        stored = snap.view.stored(docnum)
        title = stored.get("title") or ""
        body = stored.get("body") or ""
        wanted = seen.get("wanted")
        spans = _spans(stored, body)
        body_syls = (syllables_near(body, spans, wanted) if wanted
                     else text_syllables(body, spans))
        seen[docnum] = (stored, [(title, text_syllables(title, word_spans(title))),
                                 (body, body_syls)])
    return seen[docnum]


def _case_texts(snap: _Snapshot, term: str, wanted: frozenset[str]) -> list:
    """[(text, syllables)] of a few titles holding `term`, else of a few bodies."""
    for field in ("title", "body"):
        docs = snap.view.postings(field, term)[0][:CASE_DOCS].tolist()
        if not docs:
            continue
        texts = []
        for docnum in docs:
            stored = snap.view.stored(docnum)
            text = stored.get(field) or ""
            if field == "title":
                texts.append((text, text_syllables(text, word_spans(text))))
            elif all(w.isalnum() for w in wanted):
                texts.append((text, syllables_near(text, _spans(stored, text), wanted)))
            else:
                texts.append((text, text_syllables(text, _spans(stored, text))))
        return texts
    return []


_SENTENCE_ENDS = frozenset('.!?:;"“”\'‘’…-–—(')
_INDEXES: dict[int, tuple[list, dict[str, list[int]]]] = {}


def _first_index(syls: list) -> dict[str, list[int]]:
    """Positions of each folded syllable in `syls` (kept for the last few lists)."""
    cached = _INDEXES.get(id(syls))
    if cached is not None and cached[0] is syls:
        return cached[1]
    index: dict[str, list[int]] = {}
    for i, syl in enumerate(syls):
        index.setdefault(syl.folded, []).append(i)
    if len(_INDEXES) > 64:
        _INDEXES.clear()
    _INDEXES[id(syls)] = (syls, index)
    return index


def _spans(stored: dict, body: str) -> list[tuple[int, int]]:
    packed = stored.get("body_spans")
    if packed:
        try:
            spans = unpack_spans(packed)
            if not spans or spans[-1][1] <= len(body):
                return spans
        except (ValueError, TypeError):
            pass
    return word_spans(body)


def _record(stored: dict) -> dict:
    try:
        record = json.loads(stored.get("record") or "{}")
    except (TypeError, ValueError):
        return {}
    for directive in record.get("directives") or []:
        if isinstance(directive, dict) and directive.get("code"):
            directive.setdefault("label", directive_label(directive["code"]))
    return record


def _as_written(texts: list, folded: tuple[str, ...],
                typed: tuple[str | None, ...]) -> str | None:
    """The most frequent spelling of the syllables in a row in the top hits, as written.

    Only spellings agreeing with the accents the user typed count.
    """
    counts: dict[str, int] = {}
    initial: dict[str, int] = {}
    k = len(folded)
    for text, syls in texts:
        index = _first_index(syls)
        for i in index.get(folded[0], ()):
            run = syls[i : i + k]
            if len(run) != k or any(r.folded != f for r, f in zip(run, folded, strict=True)):
                continue
            if any(t is not None and t != r.lowered for t, r in zip(typed, run, strict=True)):
                continue
            form = " ".join(normalize(text[r.start : r.end]) for r in run)
            before = text[max(0, run[0].start - 3) : run[0].start].strip()
            # Capitals at a title or sentence start say nothing about the word.
            target = initial if not before or before[-1] in _SENTENCE_ENDS else counts
            target[form] = target.get(form, 0) + 1
    if not counts and initial:
        # Seen only at sentence starts: `Giá nho` is `giá nho`, `Hà Nội` stays.
        best = max(initial.items(), key=lambda kv: (kv[1], kv[0]))[0]
        words = best.split()
        if len(words) > 1 and all(w == lower(w) for w in words[1:]):
            return lower(best[:1]) + best[1:]
        return best
    if not counts:
        return None
    best = max(counts.items(), key=lambda kv: (kv[1], kv[0] == lower(kv[0]), kv[0]))[0]
    # A form seen capitalised only at sentence starts is better in lowercase.
    low = lower(best)
    if best != low and best[:1].isupper() and best[1:] == low[1:]:
        if counts.get(low, 0) * 2 >= counts[best]:
            return low
    return best


def _as_typed(concept: Concept, vocab: Vocabulary) -> Concept:
    """The concept with its unaccented syllables fixed when, as typed, it is a real word."""
    typed = "_".join(t or f for t, f in zip(concept.typed, concept.folded, strict=True))
    if any(word == typed for word, _df in vocab.accented.get(concept.key, ())):
        return Concept(concept.folded, tuple(typed.split("_")), concept.codes)
    return concept


def _restore(concept: Concept, vocab: Vocabulary) -> str:
    word = vocab.restore(concept.key, concept.typed)
    if word is None:
        return " ".join(t or f for t, f in zip(concept.typed, concept.folded, strict=True))
    return word.replace("_", " ")


def format_results(result: dict) -> str:
    """Plain text for the terminal: totals, suggestion, hits with snippets, facets.

    Everything that comes from the articles or the query goes through
    `printable`: a title holding escape sequences (an index written before
    the indexer cleaned them, or a query typed with them) must not recolour
    the terminal, rename its window or hide text.
    """
    from indexer.terminal import printable as safe

    lines: list[str] = []
    total = result.get("total", 0)
    query = result.get("query", "")
    header = f"{total} kết quả cho «{safe(query)}»" if query else f"{total} kết quả"
    if result.get("pages"):
        header += f" (trang {result.get('page')}/{result.get('pages')})"
    lines.append(header)
    if result.get("suggestion"):
        lines.append(f"Có phải bạn muốn tìm: {safe(result['suggestion'])}")
    start = (result.get("page", 1) - 1) * result.get("per_page", 10)
    for i, hit in enumerate(result.get("hits", []), start + 1):
        lines.append("")
        date = hit.get("date") or "không rõ ngày"
        lines.append(f"{i}. {safe(hit.get('title'))}  [{safe(date)}]  {safe(hit.get('id'))}")
        lines.append(f"   {safe(_plain(hit.get('snippet', '')))}")
    facets = result.get("facets") or {}
    names = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã",
             "province_2025": "Tỉnh (2025)", "directive": "Văn bản", "year": "Năm"}
    shown = False
    for name in FACETS:
        entries = facets.get(name) or []
        if entries:
            if not shown:
                lines.append("")
                shown = True
            values = ", ".join(
                f"{safe(e.get('label') or e['value'])} ({e['count']})" for e in entries[:8]
            )
            lines.append(f"{names.get(name, name)}: {values}")
    return "\n".join(lines)


def _plain(html: str) -> str:
    return unescape(html.replace("<mark>", "[").replace("</mark>", "]"))
