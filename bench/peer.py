"""Our engine beside tantivy on the same analysed tokens: index rate and query cost, one run.

    python bench/peer.py [--articles N | --full] [--workers 2] [--passes 2]
    python bench/peer.py --full --index /tmp/vn43k     # reuse a built index of the same articles
    python bench/peer.py --full --index /tmp/vn43k --skip-index   # and tantivy's, in --work

Needs the bench extra (`pip install -e '.[bench]'`: tantivy, the Rust engine's
Python binding). Reads the first N articles (default 2,000; `--full`: all
43,238) of VietNews val+test from ../shared/data and prints a table
`metric | ours | tantivy | ours/tantivy`, every figure taken in this run on
this machine.

What tantivy gets: our analysis, never its own. Each article goes through
our extraction (`indexer.extract.extract_record`) and `schema.document_fields`
(the document our writer stores), and each of the eight text fields (title
and body × words, folded words, folded syllables, accented syllables) is
the view's terms (`indexer.analysis.terms`) joined by single spaces into a
tantivy text field with the `whitespace` tokenizer (positions kept), so
tantivy does no Vietnamese work and sees the token streams our index holds
(positions are consecutive in both: these views drop no unit). Facets
(province, district, commune, province_2025, commune_2025, directive, year,
outlet) are multi-valued `raw` fast fields with the values our facet
columns hold; `locality_any` (the cross-generation filter keys) a `raw`
field; the locality tree one `raw` fast field of paths (`P`, `P␟D`,
`P␟D␟C`). Stored: id, date, one JSON of what ours stores (title, body,
author, source, record, hash) and the packed word offsets.

Indexing:
- ours: `indexer.build.build_index` (the `vnsearch index` path: reading,
  extraction, analysis in `--workers` writer processes, Whoosh, commit);
- tantivy incl. analysis: the same extraction and analysis in `--workers`
  processes feeding one tantivy writer with `--workers` threads (the
  analysed fields are pickled back to the main process: a cost ours does
  not pay);
- tantivy index only: the analysed documents already in memory, written
  again into a new tantivy index (Document building, writer, commit, merges).

Queries: the mix of bench/query.py (`query_mix`, built on our index), each
query timed through both engines in turn (warm-up pass first, then
`--passes` - 1 timed passes; the first pass is reported as cold):
- page: ours `SearchEngine.search` (all facet counts, 10 hits with
  snippets, missing words, suggestion); tantivy the top 10 with their stored
  JSON read and decoded plus every facet counted (below). Tantivy makes no
  snippets (its snippet generator needs text its own tokenizer analyses);
- facets: a query and all facets counted, no hits read: ours
  `Scorer.run` + `FacetIndex.counts`, tantivy the aggregations;
- top 10: ours `Scorer.run` with the filters, the 10 best, their stored
  fields; tantivy `search(limit=10)` and the 10 stored documents.

How a query is translated (our parser and our vocabulary, untimed, once per
query): `engine.query.parse`, then each clause as our scorer builds units
(`engine.ranking.Scorer.clause_units`). A free word (a concept, from
`concepts_of` over the index's lexicon) is a Should of: its accented
spellings fitting the typed marks in `title`/`body` (typed with marks) or
its folded word in `title_f`/`body_f` (typed without); directive codes a
number stands for; for a code, the `directive` facet (constant score 1, as
ours scores articles tagged with it); and a Must of its syllables, each
`title_s`/`body_s` (folded) or `title_a`/`body_a` (as typed), boosted 0.6
(our syllable weight). Every `X` is Should(title_X, body_X). A quoted
phrase: its concepts all Must, plus a Should of the whole word and a
PhraseQuery over the syllable fields (`_s`, or `_a` when every syllable is
typed with marks; mixed: a RegexPhraseQuery over `_a`, the marked
syllables as typed, the others as the alternation of their spellings in
the index). An OR group: a Should of its sides. `-word`: MustNot. Units no
article holds are left out, as ours leaves them out (read from our scorer).
Up to three content units (question words not counted) every unit is Must
and question words Should at boost 0.1; longer queries: all Should with
`minimum_number_should_match` = half the units, rounded up. Filters: Must of
a Should of the selected values (district, commune and commune_2025 also
through `locality_any`, as ours). Facet counts as ours: each facet ignores
its own selection (one extra aggregation per filtered facet), terms
aggregations sized to count every value.

Where the semantics differ (the comparison is about cost on the same token
streams, not about results): ours ranks by coordination (share of the
query's idf-weighted words held), rewards exact accented spellings and
their compounds, words standing together (proximity) and lowers words
found only apart (intended form); a long query needs half its idf weight,
relaxed rather than empty, and keeps its 100 best-scored articles; a query
naming a place also finds articles about it under the other generation's
name. Tantivy scores plain BM25 (k1 1.2, b 0.75 on every field; ours 0.5 on
titles) summed over the translated clauses, and a long query needs half its
units by count. The totals line (same total for how many queries) shows how
close the matching is.
"""

from __future__ import annotations

import argparse
import itertools
import json
import lzma
import math
import multiprocessing
import re
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import tantivy  # noqa: E402  (bench extra)

from bench.devsets import VIETNEWS  # noqa: E402
from bench.index import index_rate  # noqa: E402
from bench.query import percentile, query_mix  # noqa: E402
from engine import SearchEngine  # noqa: E402
from engine.facets import _ACROSS, LEVELS, resolve_2025  # noqa: E402
from engine.query import ParsedQuery, Term, parse  # noqa: E402
from engine.ranking import QUESTION_WORDS, SHORT_QUERY, WEIGHTS, Concept, concepts_of  # noqa: E402
from engine.snapshot import Snapshot  # noqa: E402
from engine.timeline import UNDATED  # noqa: E402
from indexer import analysis  # noqa: E402
from indexer.extract import extract_record  # noqa: E402
from indexer.normalize import fold  # noqa: E402
from indexer.schema import FACET_SEP, FACETS, document_fields  # noqa: E402

DEFAULT_WORK = Path("/tmp/peer")
#: Our text fields and the analysis view each holds (indexer/schema.py).
TEXT_FIELDS = {"title": "words", "title_f": "folded_words", "title_s": "folded_syllables",
               "title_a": "syllables", "body": "words", "body_f": "folded_words",
               "body_s": "folded_syllables", "body_a": "syllables"}
TREE = "locality_tree"
#: Values a terms aggregation may return per facet (every value, as ours counts).
AGG_SIZE = 20_000
CHUNK = 16
Occur = tantivy.Occur


# -- the tantivy index ------------------------------------------------------------


def tantivy_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in TEXT_FIELDS:
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    for name in (*FACETS, TREE):
        builder.add_text_field(name, tokenizer_name="raw", fast=True, index_option="basic")
    builder.add_text_field("locality_any", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("date", stored=True, tokenizer_name="raw", fast=True,
                           index_option="basic")
    builder.add_bytes_field("stored", stored=True)
    builder.add_bytes_field("body_spans", stored=True)
    return builder.build()


def analyse(line: str) -> dict[str, Any] | None:
    """One JSONL record as tantivy's document: our extraction and views, terms space-joined."""
    try:
        article = extract_record(json.loads(line), "vietnews.jsonl")
    except ValueError:
        return None
    doc = document_fields(article)
    out: dict[str, Any] = {"id": article.id, "date": doc["date"]}
    for name, view in TEXT_FIELDS.items():
        out[name] = " ".join(t.text for t in analysis.terms(doc[name], view))
    for name in (*FACETS, "locality_any"):
        raw = doc[f"facet_{name}"].decode("utf-8")
        out[name] = raw.split(FACET_SEP) if raw else []
    paths: set[str] = set()
    for loc in article.localities:
        path = [part for part in (loc.province, loc.district, loc.commune) if part]
        paths.update(FACET_SEP.join(path[:i]) for i in range(1, len(path) + 1))
    out[TREE] = sorted(paths)
    out["stored"] = json.dumps({key: doc[key] for key in ("title", "body", "author", "source",
                                                          "record", "content_hash")},
                               ensure_ascii=False).encode("utf-8")
    out["body_spans"] = doc["body_spans"]
    return out


def analyse_chunk(lines: list[str]) -> list[dict[str, Any]]:
    return [doc for doc in map(analyse, lines) if doc is not None]


def _warm(_: int) -> int:
    analyse_chunk(['{"id": "warm", "title": "Khởi động", "body": "Xây dựng Đảng ở Hà Nam."}'])
    return 0


def tantivy_document(doc: dict[str, Any]) -> tantivy.Document:
    out = tantivy.Document()
    out.add_text("id", doc["id"])
    if doc["date"]:
        out.add_text("date", doc["date"])
    for name in TEXT_FIELDS:
        out.add_text(name, doc[name])
    for name in (*FACETS, "locality_any", TREE):
        for value in doc[name]:
            out.add_text(name, value)
    out.add_bytes("stored", doc["stored"])
    out.add_bytes("body_spans", doc["body_spans"])
    return out


def open_tantivy(folder: Path, fresh: bool) -> tantivy.Index:
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    return tantivy.Index(tantivy_schema(), path=str(folder))


def write_tantivy(index: tantivy.Index, docs: Iterator[dict[str, Any]], threads: int,
                  keep: list[dict[str, Any]] | None = None) -> int:
    writer = index.writer(heap_size=256_000_000, num_threads=threads)
    count = 0
    for doc in docs:
        writer.add_document(tantivy_document(doc))
        if keep is not None:
            keep.append(doc)
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return count


def tantivy_with_analysis(lines: list[str], folder: Path, workers: int
                          ) -> tuple[float, list[dict[str, Any]]]:
    """Articles/s of extraction + analysis in `workers` processes feeding tantivy."""
    chunks = [lines[i : i + CHUNK] for i in range(0, len(lines), CHUNK)]
    docs: list[dict[str, Any]] = []
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_warm, range(workers))
        start = time.perf_counter()
        index = open_tantivy(folder, fresh=True)
        stream = (doc for chunk in pool.imap(analyse_chunk, chunks) for doc in chunk)
        count = write_tantivy(index, stream, workers, keep=docs)
        elapsed = time.perf_counter() - start
    return count / elapsed, docs


def tantivy_index_only(docs: list[dict[str, Any]], folder: Path, threads: int) -> float:
    start = time.perf_counter()
    write_tantivy(open_tantivy(folder, fresh=True), iter(docs), threads)
    return len(docs) / (time.perf_counter() - start)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# -- query translation --------------------------------------------------------------


class Translator:
    """Our parsed query as tantivy clauses over the same terms (see the module docstring)."""

    def __init__(self, snap: Snapshot, schema: tantivy.Schema) -> None:
        self.snap = snap
        self.vocab = snap.vocab
        self.schema = schema
        self.directives: dict[str, list[str]] = {}
        for value in snap.view.lexicon("directive"):
            self.directives.setdefault(fold(value), []).append(value)
        #: Per title/body, each folded syllable's accented spellings (`hoa` → hoa, hòa, hoà…).
        self.spellings: dict[str, dict[str, list[str]]] = {}
        for side in ("title", "body"):
            forms = self.spellings[side] = {}
            for syllable in snap.view.lexicon(f"{side}_a"):
                forms.setdefault(analysis.folded(syllable), []).append(syllable)

    def term(self, field: str, text: str) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, field, text, index_option="freq")

    def both(self, suffix: str, text: str) -> tantivy.Query:
        title = self.term(f"title{suffix}", text)
        if WEIGHTS.title != 1.0:
            title = tantivy.Query.boost_query(title, WEIGHTS.title)
        return _any([title, self.term(f"body{suffix}", text)])

    def concept(self, concept: Concept) -> tantivy.Query:
        key = concept.key
        word: list[tantivy.Query] = []
        if concept.accented:
            word += [self.both("", spelling)
                     for spelling, _ in self.vocab.variants(key, concept.typed)]
        elif key in self.vocab.word_df:
            word.append(self.both("_f", key))
        word += [self.both("_f", code) for code in concept.codes]
        if len(concept.folded) == 1 and key[:1].isdigit() and "/" in key:
            word += [tantivy.Query.const_score_query(self.term("directive", value), 1.0)
                     for value in self.directives.get(key, ())]
        syllables = [self.both("_s", f) if t is None else self.both("_a", t)
                     for f, t in zip(concept.folded, concept.typed, strict=True)]
        whole = _all(syllables)
        if WEIGHTS.syllable != 1.0:
            whole = tantivy.Query.boost_query(whole, WEIGHTS.syllable)
        return _any([*word, whole])

    def phrase(self, term: Term, concepts: list[Concept]) -> tantivy.Query:
        folded = tuple(s.folded for s in term.syllables)
        typed = tuple(t for c in concepts for t in c.typed)
        key = "_".join(folded)
        together: list[tantivy.Query] = []
        if key in self.vocab.word_df:
            if any(t is not None for t in typed):
                together += [self.both("", w) for w, _ in self.vocab.variants(key, typed)]
            else:
                together.append(self.both("_f", key))
        for side in ("title", "body"):
            if all(t is None for t in typed):
                together.append(tantivy.Query.phrase_query(self.schema, f"{side}_s", list(folded)))
            elif all(t is not None for t in typed):
                together.append(tantivy.Query.phrase_query(self.schema, f"{side}_a", list(typed)))
            else:  # marked syllables as typed, the others in any spelling
                words = [re.escape(t) if t is not None else "|".join(
                    re.escape(form) for form in self.spellings[side].get(f, [f]))
                    for f, t in zip(folded, typed, strict=True)]
                together.append(
                    tantivy.Query.regex_phrase_query(self.schema, f"{side}_a", words))
        return _all([*(self.concept(c) for c in concepts), _any(together)])

    def term_unit(self, term: Term) -> tantivy.Query:
        concepts = concepts_of(term.syllables, self.vocab)
        if term.phrase:
            return self.phrase(term, concepts)
        return _all([self.concept(c) for c in concepts])

    def units(self, parsed: ParsedQuery) -> list[tuple[tantivy.Query, bool]]:
        """(query, is a question word) per unit, in the order of `Scorer.units`."""
        out = []
        for clause in parsed.positive:
            alternatives = clause.alternatives
            if len(alternatives) == 1 and not alternatives[0].phrase:
                for c in concepts_of(alternatives[0].syllables, self.vocab):
                    out.append((self.concept(c), c.key in QUESTION_WORDS))
            else:
                out.append((_any([self.term_unit(t) for t in alternatives]), False))
        return out

    def kept(self, parsed: ParsedQuery) -> list[tuple[tantivy.Query, bool]]:
        """The units some article holds (ours leaves the others out and names them)."""
        live = self.snap.view.live
        ours = self.snap.scorer.units(parsed)
        mine = self.units(parsed)
        assert len(ours) == len(mine), (parsed.text, len(ours), len(mine))
        return [(q, question) for (q, question), unit in zip(mine, ours, strict=True)
                if (unit.match & live).any()]

    def is_short(self, parsed: ParsedQuery) -> bool:
        kept = self.kept(parsed)
        weighted = not all(question for _, question in kept)
        return sum(1 for _, question in kept if not (question and weighted)) <= SHORT_QUERY

    def text_query(self, parsed: ParsedQuery) -> tantivy.Query:
        kept = self.kept(parsed)
        if not kept:
            return tantivy.Query.empty_query()
        weighted = not all(question for _, question in kept)
        clauses: list[tuple[Any, tantivy.Query]] = []
        if self.is_short(parsed):
            for q, question in kept:
                if question and weighted:
                    clauses.append((Occur.Should,
                                    tantivy.Query.boost_query(q, WEIGHTS.question_word)))
                else:
                    clauses.append((Occur.Must, q))
            minimum = None
        else:
            for q, question in kept:
                boost = WEIGHTS.question_word if question and weighted else 1.0
                clauses.append((Occur.Should, tantivy.Query.boost_query(q, boost)
                                if boost != 1.0 else q))
            minimum = math.ceil(WEIGHTS.min_coverage * len(kept))
        for clause in parsed.negative:
            clauses += [(Occur.MustNot, self.term_unit(t)) for t in clause.alternatives]
        return tantivy.Query.boolean_query(clauses, minimum_number_should_match=minimum)

    def filter_query(self, name: str, values: list[str]) -> tantivy.Query:
        if name == "commune_2025":
            values = resolve_2025(values)
        options = [self.term(name, v) for v in values if not (name == "year" and v == UNDATED)]
        if name == "year" and UNDATED in values:  # ours: the articles without a date
            options.append(tantivy.Query.boolean_query([
                (Occur.Must, tantivy.Query.all_query()),
                (Occur.MustNot, tantivy.Query.exists_query("year"))]))
        if name in _ACROSS:
            options += [self.term("locality_any", _ACROSS[name] + v) for v in values]
        return _any(options)


def _any(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(Occur.Should, q) for q in queries])


def _all(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return tantivy.Query.boolean_query([(Occur.Must, q) for q in queries])


class Prepared:
    """One query of the mix, translated: the searched query and one per facet aggregation."""

    def __init__(self, tr: Translator, text: str, filters: dict[str, list[str]]) -> None:
        parsed = parse(text)
        text_query = tr.text_query(parsed)
        #: Every word needed (ours and tantivy match the same articles), not a share.
        self.short = tr.is_short(parsed)
        masks = {name: tr.filter_query(name, values) for name, values in filters.items()}
        self.search = _all([text_query, *masks.values()])
        #: (query, aggregation): the unfiltered facets together, each filtered one alone.
        terms = {name: {"terms": {"field": name, "size": AGG_SIZE}} for name in (*FACETS, TREE)}
        terms["year"]["terms"]["missing"] = UNDATED  # ours counts the undated articles too
        own = [n for n in (*FACETS, TREE) if n in filters or (n == TREE and
                                                              set(filters) & set(LEVELS))]
        self.aggs = [(self.search, {n: terms[n] for n in terms if n not in own})]
        for name in own:
            others = [q for other, q in masks.items()
                      if other != name and not (name == TREE and other in LEVELS)]
            self.aggs.append((_all([text_query, *others]), {name: terms[name]}))


def tantivy_top(searcher: tantivy.Searcher, prep: Prepared) -> int:
    result = searcher.search(prep.search, 10)
    for _score, address in result.hits:
        json.loads(searcher.doc(address).get_first("stored"))
    return result.count


def tantivy_facets(searcher: tantivy.Searcher, prep: Prepared) -> dict:
    counts: dict = {}
    for query, agg in prep.aggs:
        counts.update(searcher.aggregate(query, agg))
    return counts


def tantivy_page(searcher: tantivy.Searcher, prep: Prepared) -> int:
    total = tantivy_top(searcher, prep)
    tantivy_facets(searcher, prep)
    return total


# -- ours through the engine's parts -------------------------------------------------


def ours_top(engine: SearchEngine, text: str, filters: dict[str, list[str]]) -> int:
    """The 10 best and their stored fields: `Scorer.run` within the filters."""
    with engine._lock:
        snap = engine._snapshots.current()
        assert snap is not None
        allowed = snap.view.live.copy()
        for mask in snap.facets.filter_masks(filters).values():
            allowed &= mask
        matched, scores = snap.scorer.run(parse(text), allowed)
        docs = np.nonzero(matched)[0]
        if len(docs) > 10:
            docs = docs[np.argpartition(-scores[docs], 10)[:10]]
        for d in docs[np.argsort(-scores[docs], kind="stable")]:
            snap.view.stored(int(d))
        return int(matched.sum())


def ours_facets(engine: SearchEngine, text: str, filters: dict[str, list[str]]) -> dict:
    """Every facet counted for a query, as `SearchEngine._search` counts them."""
    with engine._lock:
        snap = engine._snapshots.current()
        assert snap is not None
        unfiltered, _ = snap.scorer.run(parse(text), snap.view.live.copy())
        masks = snap.facets.filter_masks(filters)
        return snap.facets.counts(unfiltered, masks, filters)


# -- the run ---------------------------------------------------------------------------


def timed(call, *args) -> tuple[float, Any]:
    start = time.perf_counter()
    value = call(*args)
    return (time.perf_counter() - start) * 1000, value


def run_queries(engine: SearchEngine, searcher: tantivy.Searcher,
                mix: list[tuple[str, dict]], prepared: list[Prepared], passes: int
                ) -> tuple[dict[str, list[float]], list[tuple[bool, int, int]]]:
    """Per metric and engine, the times of the last pass (and the cold page times)."""
    times: dict[str, list[float]] = {}
    totals: list[tuple[bool, int, int]] = []
    for p in range(passes):
        last = p == passes - 1
        for (text, filters), prep in zip(mix, prepared, strict=True):
            ms, result = timed(engine.search, text, filters, "relevance", 1, 10)
            t_ms, t_total = timed(tantivy_page, searcher, prep)
            if p == 0:
                times.setdefault("cold page ours", []).append(ms)
                times.setdefault("cold page tantivy", []).append(t_ms)
            if last:
                totals.append((prep.short, result["total"], t_total))
                times.setdefault("page ours", []).append(ms)
                times.setdefault("page tantivy", []).append(t_ms)
            for metric, ours, theirs in (("facets", ours_facets, tantivy_facets),
                                         ("top10", ours_top, tantivy_top)):
                ms, _ = timed(ours, engine, text, filters)
                t_ms, _ = timed(theirs, searcher, prep)
                if last:
                    times.setdefault(f"{metric} ours", []).append(ms)
                    times.setdefault(f"{metric} tantivy", []).append(t_ms)
    return times, totals


def row(metric: str, ours: float | None, theirs: float | None, unit: str = "") -> str:
    def cell(v: float | None) -> str:
        return "—" if v is None else f"{v:,.1f}{unit}"

    ratio = f"{ours / theirs:.2f}" if ours is not None and theirs else "—"
    return f"| {metric} | {cell(ours)} | {cell(theirs)} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000, help="first N of VietNews val+test")
    parser.add_argument("--full", action="store_true", help="all 43,238 articles")
    parser.add_argument("--workers", type=int, default=2,
                        help="our writer processes = tantivy's analysis processes and threads")
    parser.add_argument("--passes", type=int, default=2, help="query passes (the last is timed)")
    parser.add_argument("--index", type=Path, default=None,
                        help="our existing index of the same articles: our indexing not timed")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help="where both indexes are built (tantivy's stays there)")
    parser.add_argument("--skip-index", action="store_true",
                        help="reuse the tantivy index left in --work (with --index)")
    args = parser.parse_args()
    if args.skip_index and args.index is None:
        parser.error("--skip-index needs --index")

    with lzma.open(VIETNEWS, "rt", encoding="utf-8") as handle:
        lines = list(handle) if args.full else list(itertools.islice(handle, args.articles))
    n = len(lines)
    args.work.mkdir(parents=True, exist_ok=True)
    tantivy_dir = args.work / f"tantivy-{n}"
    print(f"{n} articles of {VIETNEWS.name}; {args.workers} workers; "
          f"{getattr(tantivy, '__version__', 'tantivy')}")

    rates: dict[str, float | None] = {"ours": None, "incl": None, "only": None}
    if not args.skip_index:
        rates["incl"], docs = tantivy_with_analysis(lines, tantivy_dir, args.workers)
        print(f"tantivy incl. analysis: {rates['incl']:.1f} articles/s ({len(docs)} documents)")
        rates["only"] = tantivy_index_only(docs, args.work / "tantivy-again", args.workers)
        shutil.rmtree(args.work / "tantivy-again", ignore_errors=True)
        print(f"tantivy index only:     {rates['only']:.1f} articles/s")
        del docs
    if args.index is None:
        jsonl = args.work / f"articles-{n}.jsonl"
        jsonl.write_text("".join(lines), "utf-8")
        index_dir = args.work / f"ours-{n}"
        rates["ours"], _, line = index_rate(jsonl, n, args.workers, index_dir)
        print(f"ours (build_index):     {rates['ours']:.1f} articles/s ({line})")
        jsonl.unlink()
    else:
        index_dir = args.index
    del lines

    engine = SearchEngine(index_dir)
    engine.search("khởi động")
    tindex = tantivy.Index.open(str(tantivy_dir))
    tindex.reload()
    searcher = tindex.searcher()
    mix = query_mix(engine)
    snap = engine._snapshots.current()
    assert snap is not None
    print(f"documents: ours {snap.view.doc_count}, tantivy {searcher.num_docs}")
    translator = Translator(snap, tindex.schema)
    start = time.perf_counter()
    prepared = [Prepared(translator, text, filters) for text, filters in mix]
    print(f"query mix: {len(mix)} queries ({sum(1 for _, f in mix if f)} with filters), "
          f"translated in {(time.perf_counter() - start) * 1000 / len(mix):.1f} ms each "
          "(untimed below)")
    times, totals = run_queries(engine, searcher, mix, prepared, max(2, args.passes))
    for short, label in ((True, "every word needed"), (False, "longer (a share needed)")):
        part = [(a, b) for s, a, b in totals if s == short]
        ratios = [b / a for a, b in part if a] or [1.0]
        print(f"totals, {label}: the same for {sum(1 for a, b in part if a == b)} of "
              f"{len(part)} queries; tantivy/ours median {statistics.median(ratios):.2f}, "
              f"p5 {percentile(ratios, 5):.2f}, p95 {percentile(ratios, 95):.2f}")

    short = [prep.short for prep in prepared]

    def p(name: str, q: float, only_short: bool = False) -> float:
        values = times[name]
        if only_short:  # the queries both engines match the same articles for
            values = [v for v, s in zip(values, short, strict=True) if s]
        return percentile(values, q)

    print()
    print("| metric | ours | tantivy | ours/tantivy |")
    print("|---|---|---|---|")
    print(row(f"index, articles/s ({args.workers} workers), tantivy incl. analysis",
              rates["ours"], rates["incl"]))
    print(row(f"index, articles/s ({args.workers} workers), tantivy index only",
              rates["ours"], rates["only"]))
    print(row("index bytes/article", folder_bytes(index_dir) / n,
              folder_bytes(tantivy_dir) / n))
    for label, key, only_short in (
            ("page (all facets, 10 hits), cold pass", "cold page", False),
            ("page (all facets, 10 hits)", "page", False),
            ("query + all facets", "facets", False), ("plain top 10", "top10", False),
            (f"page, the {sum(short)} queries needing every word", "page", True),
            (f"query + all facets, the {sum(short)} needing every word", "facets", True)):
        for q in (50, 95):
            print(row(f"{label} p{q}, ms", p(f"{key} ours", q, only_short),
                      p(f"{key} tantivy", q, only_short)))
    print()
    print("ours' page also makes 10 snippets, the missing words and a suggestion; tantivy's "
          "does not. Ranking differs (coordination, accents, proximity: see the docstring).")


if __name__ == "__main__":
    main()
