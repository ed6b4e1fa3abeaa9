"""`SearchEngine`: search, article and completion answers as the contract's JSON.

It serves the newest index generation that opens (`snapshot.Snapshots`), so
a long-running web server sees new articles without a restart. Whoosh's
searcher reads files through shared handles, so one engine serialises its
queries with a lock; a query costs milliseconds.

Nothing a user types makes it raise: bad pages, sizes, sorts and facets are
clamped or ignored, and an unusable query is an empty result.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import numpy as np

from indexer.localities import query_place_name, relations
from indexer.schema import FACETS

from .completions import completions
from .documents import metadata, read_texts, word_offsets
from .public import public_source
from .query import ParsedQuery, parse
from .snapshot import Snapshot, Snapshots
from .snippets import Pattern, find_marks, highlight, snippet, text_syllables, word_spans
from .spelling import cased, corrected, suggestion
from .timeline import UNDATED, date_range, months, range_mask, undated_mask

SORTS = ("relevance", "date")
MAX_PER_PAGE = 100
#: Values per facet list for clients that need no more (the JSON API, the CLI).
DEFAULT_FACET_LIMIT = 100
#: The most values a limited facet list holds (`facet_limit`).
MAX_FACET_LIMIT = 10_000
#: Top hits whose text is read to find the suggested spelling as written.
SUGGESTION_DOCS = 10
#: Score of an article found only because it is about the place the query names
#: under another generation's name: below any text match.
PLACE_SCORE = 1e-6
#: Lines explaining old → new units shown with one result page.
MAX_RELATIONS = 5


class SearchEngine:
    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self._lock = threading.RLock()
        self._snapshots = Snapshots(self.index_dir)

    # -- search ----------------------------------------------------------------

    def search(
        self,
        q: str | None,
        filters: dict[str, list[str]] | None = None,
        sort: str = "relevance",
        page: int = 1,
        per_page: int = 10,
        date_from: str | None = None,
        date_to: str | None = None,
        timeline: bool = False,
        snippets: bool = True,
        facet_limit: int | None = None,
    ) -> dict:
        """Results for `q` as the /api/search JSON (see interface.md).

        `date_from`/`date_to` (`YYYY-MM-DD`, inclusive) bound the article date;
        with `timeline` the answer also holds the articles per month
        (`timeline`, the date range itself left out so every month shows) and
        the undated count (`undated`). `snippets=False` gives hits without
        snippet and marks (`snippet` empty, no suggestion): what exports need,
        for a tenth of the cost. `facet_limit` keeps that many values in each
        facet list and tree level (the most frequent, and the selected ones);
        `facet_totals` then says how many each facet has.
        """
        started = time.perf_counter()
        q = "" if q is None else str(q)
        sort = sort if sort in SORTS else "relevance"
        page = _clamp_int(page, 1, 1, 10**6)
        per_page = _clamp_int(per_page, 10, 1, MAX_PER_PAGE)
        filters = _clean_filters(filters)
        date_from, date_to = date_range(date_from, date_to)
        result: dict = {
            "query": q,
            "total": 0,
            "page": page,
            "per_page": per_page,
            "pages": 0,
            "sort": sort,
            "filters": filters,
            "from": date_from,
            "to": date_to,
            "suggestion": None,
            "unmatched": [],
            "hits": [],
            "facets": {**{name: [] for name in FACETS}, "locality_tree": [],
                       "locality_tree_2025": []},
            "relations": [],
        }
        if facet_limit is not None:
            facet_limit = _clamp_int(facet_limit, MAX_FACET_LIMIT, 1, MAX_FACET_LIMIT)
            result["facet_totals"] = {name: 0 for name in FACETS}
        if timeline:
            result["timeline"] = []
            result["undated"] = 0
        parsed = parse(q)
        with self._lock:
            snap = self._snapshots.current()
            if snap is None:
                result["took_ms"] = _ms(started)
                return result
            self._search(snap, parsed, filters, sort, page, per_page, result, snippets,
                         facet_limit)
            snap.settle()
        result["took_ms"] = _ms(started)
        return result

    def _search(self, snap: Snapshot, parsed: ParsedQuery, filters: dict[str, list[str]],
                sort: str, page: int, per_page: int, result: dict,
                snippets: bool = True, facet_limit: int | None = None) -> None:
        view, facets = snap.view, snap.facets
        years = filters.get("year", [])
        undated = UNDATED in years
        if undated:  # the undated articles are the year facet's "no date" value
            filters = {**filters, "year": [y for y in years if y != UNDATED]}
            if not filters["year"]:
                del filters["year"]
        masks = facets.filter_masks(filters)
        if undated:
            masks["year"] = masks.get("year", np.zeros(view.doc_count_all, dtype=bool)
                                      ) | undated_mask(facets.dates)
        dates = range_mask(facets.dates, result["from"], result["to"])
        named = query_place_name(result["query"]) if not parsed.is_empty else None
        allowed = view.live.copy()
        for mask in masks.values():
            allowed &= mask
        undated_base = allowed.copy()  # every filter but the year's and the range's
        if "year" in masks:
            undated_base = view.live.copy()
            for name, mask in masks.items():
                if name != "year":
                    undated_base &= mask
        if dates is not None:
            allowed &= dates
            masks["date"] = dates
        # Articles found as the place the query names, not by its words.
        as_place = np.zeros(view.doc_count_all, dtype=bool)
        if parsed.is_empty:
            if not parsed.negative and not filters and not undated and dates is None:
                return  # nothing asked: no results rather than the whole index
            # Facet counts ignore each facet's own selection.
            unfiltered = view.live & ~snap.scorer.excluded(parsed)
            matched = unfiltered & allowed
            scores = np.zeros(view.doc_count_all, dtype=np.float32)
            sort = "date"
        else:
            unfiltered, scores = snap.scorer.run(parsed, view.live.copy())
            result["unmatched"] = snap.scorer.unmatched(parsed)
            place = _place_docs(snap, named)
            if place is not None:
                # Articles about the place under another generation's name, after the text's.
                as_place = place & ~unfiltered & ~snap.scorer.excluded(parsed)
                unfiltered = unfiltered | as_place
                scores[as_place] = PLACE_SCORE
                if as_place.any():  # the query's words are the place's name: none is left out
                    result["unmatched"] = []
            matched = unfiltered & allowed
        if "timeline" in result:
            without_range = unfiltered & view.live
            for name, mask in masks.items():
                if name != "date":
                    without_range &= mask
            result["timeline"] = months(facets.dates, without_range)
            result["undated"] = int((without_range & undated_mask(facets.dates)).sum())
        docs = np.nonzero(matched)[0]
        total = len(docs)
        result["total"] = total
        result["pages"] = math.ceil(total / per_page) if total else 0
        if result["pages"] and page > result["pages"]:
            page = result["pages"]
            result["page"] = page
        result["facets"] = facets.counts(unfiltered, masks, filters, facet_limit,
                                         result.get("facet_totals"))
        if undated:
            result["filters"] = {**filters, "year": [*filters.get("year", []), UNDATED]}
        no_date = unfiltered & undated_base & undated_mask(facets.dates)
        if dates is not None:
            no_date &= dates  # a date range holds no undated article
        if no_date.any() or undated:
            result["facets"]["year"].append(
                {"value": UNDATED, "label": "Không rõ ngày", "count": int(no_date.sum())})
            if "facet_totals" in result:
                result["facet_totals"]["year"] += 1
        result["relations"] = _relations(snap, named, filters,
                                         {value for value, _ in
                                          facets.count("province_2025", matched)})
        if total:
            order = _order(docs, scores, facets.dates, sort, (page * per_page))
            page_docs = order[(page - 1) * per_page : page * per_page]
            patterns = snap.scorer.patterns(parsed) if not parsed.is_empty else []
            # Bodies are read only around the query's syllables (marks, snippet, suggestion).
            wanted = frozenset({f for p in patterns for f in p.folded}
                               | {syl.folded for syl in parsed.syllables}
                               ) if patterns and not any(p.prefix for p in patterns) else None
            seen: dict = {"wanted": wanted}
            if not snippets:  # metadata only: no words are read (documents.read_texts)
                patterns, seen["texts"] = [], False
            prefetch = getattr(snap.view, "prefetch", None)
            if prefetch is not None:  # a remote store sends the page's documents together
                prefetch(page_docs)
            hits = [self._hit(snap, int(d), float(scores[d]), patterns, seen) for d in page_docs]
            if not parsed.is_empty:  # a long query's partial matches say what they lack
                lacking = snap.scorer.missing(parsed, [int(d) for d in page_docs])
                for hit, d, words in zip(hits, page_docs, lacking, strict=True):
                    hit["missing"] = [] if as_place[d] else words
            result["hits"] = hits
            if not parsed.is_empty and snippets:
                top = order[:SUGGESTION_DOCS]
                result["suggestion"] = suggestion(snap, parsed, top, seen)
        if result["unmatched"]:  # a typo: the nearest indexed words, else accents alone
            result["suggestion"] = corrected(snap, parsed) or result["suggestion"]

    def timeline(self, q: str | None, filters: dict[str, list[str]] | None = None,
                 date_from: str | None = None, date_to: str | None = None) -> dict:
        """Matching articles per month (the /api/timeline JSON) and how many state no date."""
        result = self.search(q, filters=filters, per_page=1, date_from=date_from,
                             date_to=date_to, timeline=True)
        return {"query": result["query"], "from": result["from"], "to": result["to"],
                "buckets": result["timeline"], "undated": result["undated"]}

    def _hit(self, snap: Snapshot, docnum: int, score: float, patterns: list[Pattern],
             seen: dict) -> dict:
        stored, texts = read_texts(snap, docnum, seen)
        (title, title_syls), (body, body_syls) = texts
        title_marks = find_marks(title_syls, patterns)
        body_marks = find_marks(body_syls, patterns)
        meta = metadata(stored)
        return {
            "id": stored.get("id"),
            "title": title,
            "title_html": highlight(title, title_marks),
            "date": stored.get("date") or None,
            "author": stored.get("author") or None,
            "score": round(score, 4),
            "snippet": snippet(body, body_marks) if seen.get("texts", True) else "",
            "localities": meta.get("localities", []),
            "directives": meta.get("directives", []),
            "source": public_source(stored.get("source")),
            "source_url": meta.get("source_url") or None,
            "outlet": meta.get("outlet") or None,
        }

    # -- suggestion ------------------------------------------------------------

    # -- article ---------------------------------------------------------------

    def article(self, doc_id: str, q: str = "") -> dict | None:
        """One article with `q` highlighted, and a few related articles."""
        with self._lock:
            snap = self._snapshots.current()
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
            meta = metadata(stored)
            title_marks = find_marks(text_syllables(title, word_spans(title)), patterns)
            body_marks = find_marks(text_syllables(body, word_offsets(stored, body)), patterns)
            out = {
                "id": stored.get("id"),
                "title": title,
                "date": stored.get("date") or None,
                "author": stored.get("author") or None,
                "body": body,
                "source": public_source(stored.get("source")),
                "source_url": meta.get("source_url") or None,
                "outlet": meta.get("outlet") or None,
                "localities": meta.get("localities", []),
                "directives": meta.get("directives", []),
                "title_html": highlight(title, title_marks),
                "body_html": highlight(body, body_marks),
                "related": self._related(snap, docnum, title),
            }
            if meta.get("summary"):
                out["summary"] = meta["summary"]
            return out

    def _related(self, snap: Snapshot, docnum: int, title: str, limit: int = 5) -> list[dict]:
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
            snap = self._snapshots.current()
            if snap is None:
                return []
            lines = completions(str(prefix or ""), snap.vocab, limit, occurs=snap.scorer.occurs)
            return list(dict.fromkeys(cased(snap, line) for line in lines))



# -- helpers -------------------------------------------------------------------


def _place_docs(snap: Snapshot, place: tuple[str | None, str] | None) -> np.ndarray | None:
    """Documents about the place a query names, in either generation (None: not a place)."""
    keys = snap.facets.place_keys(place[1]) if place else []
    if not keys:
        return None
    return snap.facets.mask("locality_any", keys) & snap.view.live


def _relations(snap: Snapshot, place: tuple[str | None, str] | None,
               filters: dict[str, list[str]], provinces_2025: set[str]) -> list[str]:
    """What became of the old units asked for, and what the 2025 ones were made from."""
    asked = [(name, value) for name in ("district", "commune", "commune_2025")
             for value in filters.get(name, [])]
    if place is not None:
        level, name = place
        # "huyện Bình Lục" is the old district, "xã Bình Mỹ" the communes of either generation
        kinds = {"d": ("district",), "c": ("commune", "commune_2025")}.get(level or "",
                                                                            ("place",))
        asked.extend((kind, key[2:]) for key in snap.facets.place_keys(name) for kind in kinds)
    lines: list[str] = []
    for kind, value in asked:
        lines.extend(relations(kind, value, provinces_2025 or None))
    return list(dict.fromkeys(lines))[:MAX_RELATIONS]


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

