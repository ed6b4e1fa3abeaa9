"""Query latency on a built index: p50/p95 of a query mix, versus naive Whoosh faceting.

Every query goes through `SearchEngine.search`, which computes all facet
counts and ten snippets. The mix: the dev-set queries as written and without
accents (1–3 words, names, questions, codes), quoted two-word phrases, and
the same with facet filters. The naive figure runs comparable Whoosh queries
with `groupedby` facets over the same index, in the same run.

    python bench/query.py --index /tmp/vn43k [--naive 40] [--passes 2]
    python bench/query.py --index /tmp/vn43k --derived-compare [--queries 1000]

`--derived-compare` runs two fresh processes one after the other on the
same index: one as before (every array decoded from Whoosh's files,
VNSEARCH_NO_DERIVED=1, and segments read through Whoosh's own mapping,
which copies them), one memory-mapping the arrays written at commit
(written first if missing) and reading segments through one shared map. Each reports the
time to open and answer a first query, the cold first pass and a warm pass
over the mix, and its resident memory after `--queries` queries.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from whoosh import query as wq  # noqa: E402
from whoosh import sorting  # noqa: E402

from engine import SearchEngine  # noqa: E402
from engine.query import parse  # noqa: E402
from indexer.normalize import fold  # noqa: E402
from indexer.schema import FACETS  # noqa: E402

QUERIES = REPO / "bench" / "data" / "vietnews_dev.queries.tsv"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def query_mix(engine: SearchEngine) -> list[tuple[str, dict]]:
    base = [line.split("\t", 1)[1].strip()
            for line in QUERIES.read_text(encoding="utf-8").splitlines() if "\t" in line]
    mix: list[tuple[str, dict]] = []
    for q in base:
        mix.append((q, {}))
        mix.append((fold(q, keep_case=True), {}))
        words = q.split()
        if len(words) >= 2:
            mix.append((f'"{words[0]} {words[1]}"', {}))
    # Filters: the most frequent values of each facet over a broad query.
    facets = engine.search("Việt Nam")["facets"]
    chosen = {name: [facets[name][0]["value"]] for name in FACETS if facets.get(name)}
    filtered = []
    for i, q in enumerate(base):
        if not chosen:
            break
        name = list(chosen)[i % len(chosen)]
        filtered.append((fold(q, keep_case=True) if i % 2 else q, {name: chosen[name]}))
    return mix + filtered


def naive(engine: SearchEngine, mix: list[tuple[str, dict]], n: int) -> list[float]:
    """The same queries through Whoosh: folded syllables (AND) with groupedby facets."""
    snap = engine._snapshots.current()
    assert snap is not None, "no index generation opens"
    searcher = snap.view.searcher
    groups = {name: sorting.FieldFacet(name, allow_overlap=True) for name in FACETS}
    times = []
    for text, _filters in mix[:n]:
        syllables = parse(text).syllables
        if not syllables:
            continue
        terms = [wq.Or([wq.Term("title_s", s.folded, boost=2.5), wq.Term("body_s", s.folded)])
                 for s in syllables]
        started = time.perf_counter()
        results = searcher.search(wq.And(terms), limit=10, groupedby=groups)
        for name in FACETS:
            results.groups(name)
        for hit in results:
            hit.get("title")
        times.append((time.perf_counter() - started) * 1000)
    return times


def rss_mb() -> dict[str, float]:
    """VmRSS, RssAnon (the process's own) and RssFile (mapped index files, shared) in MB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            out[name] = round(int(value.split()[0]) / 1024, 1)
    return out


def whooshs_own_reading() -> None:
    """Read segments as Whoosh does (its mmap, each part copied into a BytesIO): the before."""
    from whoosh.filedb.filestore import FileStorage

    import engine.whoosh_reading as reading

    reading.SharedMapStorage.__init__ = (  # type: ignore[method-assign]
        lambda self, path: FileStorage.__init__(self, path))
    reading.SharedMapStorage.open_file = FileStorage.open_file  # type: ignore[method-assign]


def child(index: Path, total: int) -> dict:
    """One fresh process's figures (see --derived-compare), as a dict."""
    if os.environ.get("VNSEARCH_NO_DERIVED"):
        whooshs_own_reading()
    engine = SearchEngine(index)
    started = time.perf_counter()
    engine.search("khởi động")
    first = (time.perf_counter() - started) * 1000
    mix = query_mix(engine)
    out: dict = {"open_and_first_query_ms": round(first), "mix": len(mix)}
    done = 1
    for name in ("cold", "warm"):
        times = []
        for text, filters in mix:
            t0 = time.perf_counter()
            engine.search(text, filters=filters, per_page=10)
            times.append((time.perf_counter() - t0) * 1000)
        done += len(mix)
        out[name] = {"p50": round(statistics.median(times), 1),
                     "p95": round(percentile(times, 95), 1)}
    while done < total:
        for text, filters in mix[: total - done]:
            engine.search(text, filters=filters, per_page=10)
        done += min(len(mix), total - done)
    out["queries"] = done
    out["rss_mb"] = rss_mb()
    return out


def derived_compare(index: Path, total: int) -> None:
    from indexer.generations import ensure_derived, open_newest_readable

    ensure_derived(index, [open_newest_readable(index).index], prune=False)
    results = {}
    for label, env in (("before (decoded, copied)", {"VNSEARCH_NO_DERIVED": "1"}),
                       ("after (memory-mapped)", {})):
        proc = subprocess.run(
            [sys.executable, __file__, "--index", str(index), "--child", str(total)],
            env={**os.environ, **env}, capture_output=True, text=True, check=True)
        results[label] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = results[label]
        print(f"{label:24} open+first {r['open_and_first_query_ms']:5d} ms   cold p50 "
              f"{r['cold']['p50']:6.1f} p95 {r['cold']['p95']:6.1f} ms   warm p50 "
              f"{r['warm']['p50']:6.1f} p95 {r['warm']['p95']:6.1f} ms   RSS after "
              f"{r['queries']} queries (MB) {r['rss_mb']}")
    before, after = results.values()
    print(f"after/before: open+first {after['open_and_first_query_ms'] / max(1, before['open_and_first_query_ms']):.2f}, "  # noqa: E501
          f"cold p95 {after['cold']['p95'] / before['cold']['p95']:.2f}, "
          f"warm p95 {after['warm']['p95'] / before['warm']['p95']:.2f}, "
          f"RssAnon {after['rss_mb']['RssAnon'] / before['rss_mb']['RssAnon']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--naive", type=int, default=40, help="queries for the naive figure")
    parser.add_argument("--derived-compare", action="store_true")
    parser.add_argument("--queries", type=int, default=1000,
                        help="queries before the memory is read (--derived-compare)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.index, args.child)))
        return
    if args.derived_compare:
        derived_compare(args.index, args.queries)
        return
    engine = SearchEngine(args.index)
    started = time.perf_counter()
    engine.search("khởi động")
    print(f"open + arrays: {(time.perf_counter() - started) * 1000:.0f} ms")
    mix = query_mix(engine)
    print(f"query mix: {len(mix)} queries "
          f"({sum(1 for _, f in mix if f)} with filters), each with all facets + 10 snippets")
    best = [float("inf")] * len(mix)
    for p in range(1, args.passes + 1):
        times = []
        for i, (text, filters) in enumerate(mix):
            t0 = time.perf_counter()
            engine.search(text, filters=filters, per_page=10)
            times.append((time.perf_counter() - t0) * 1000)
            if p > 1:
                best[i] = min(best[i], times[-1])
        p50, p95 = statistics.median(times), percentile(times, 95)
        print(f"pass {p}: p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   max {max(times):6.1f} ms")
    if args.passes > 2:  # a shared machine's hiccups land on a different query each pass
        print(f"warm, each query's fastest of passes 2-{args.passes}: "
              f"p50 {statistics.median(best):6.1f} ms   p95 {percentile(best, 95):6.1f} ms")
    if args.naive:
        times = naive(engine, mix, args.naive)
        p50, p95 = statistics.median(times), percentile(times, 95)
        print(f"naive Whoosh groupedby ({len(times)} queries): "
              f"p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
