"""Whoosh, one Xapian database, and a Xapian cluster of 1 and 2 shards, in one run.

For each layout: index the corpus with `vnsearch index` (articles per
second), bytes on disk per article, query latency p50/p95 (every query
computes all facet counts and ten snippets; a cold pass right after opening,
then a warm pass) with the query mix of bench/query.py, and, on the
`questions` corpus, relevance on its development set (bench/relevance.py's
MRR@10, nDCG@10, Recall@10) beside plain BM25. Cluster layouts run as real
server processes on loopback (`vnsearch cluster`'s code, no replicas).

    python bench/cluster.py --corpus crawl2026          # 1,391 articles
    python bench/cluster.py --corpus questions --work /tmp/vnq-cluster   # 11,391 + relevance

Everything is written under --work (kept, so a second run re-uses the
indexes: delete it to measure indexing again).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import devsets  # noqa: E402
from bench.query import percentile, query_mix  # noqa: E402
from bench.relevance import FORMS, baselines, run_part  # noqa: E402
from engine import SearchEngine  # noqa: E402
from indexer.xapian_cluster import Cluster, free_ports  # noqa: E402
from vnsearch.cli import index_command  # noqa: E402

CRAWL = Path("/work/shared/data/crawl-news-2026-sample/crawl_news_2026.jsonl.xz")
LAYOUTS = ("whoosh", "xapian", "cluster-1", "cluster-2")


def folder_bytes(folder: Path, skip: tuple[str, ...] = ()) -> tuple[int, int]:
    """(bytes of the index, of which Xapian changesets kept for replicas)."""
    total = changesets = 0
    for path in folder.rglob("*"):
        if path.is_file() and not any(part in skip for part in path.parts):
            total += path.stat().st_size
            if path.name.startswith("changes"):
                changesets += path.stat().st_size
    return total, changesets


def corpus_folder(name: str, work: Path) -> tuple[Path, int]:
    """The corpus as input files (written once under `work`), and its size."""
    if name == "crawl2026":
        return CRAWL, sum(1 for _ in devsets.read_jsonl(CRAWL))
    folder = work / f"corpus-{name}"
    stamp = folder / ".count"
    if stamp.exists():
        return folder, int(stamp.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    count = devsets.write_corpus_chunks(name, folder)
    stamp.write_text(str(count))
    return folder, count


def measure_queries(engine: SearchEngine, mix: list[tuple[str, dict]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for label in ("cold", "warm"):
        took = []
        for text, filters in mix:
            started = time.perf_counter()
            engine.search(text, filters=filters)
            took.append((time.perf_counter() - started) * 1000)
        out[f"{label} p50"] = percentile(took, 50)
        out[f"{label} p95"] = percentile(took, 95)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", choices=("crawl2026", "questions"), default="crawl2026")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vnsearch-bench-cluster"))
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--workers", type=int, default=2, help="indexer processes")
    parser.add_argument("--queries", type=int, default=200, help="queries of the mix per pass")
    parser.add_argument("--limit", type=int, default=None, help="relevance queries per form")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = args.work / args.corpus
    work.mkdir(parents=True, exist_ok=True)
    corpus, count = corpus_folder(args.corpus, work)
    layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    print(f"corpus {args.corpus}: {count:,} articles; layouts {', '.join(layouts)}; "
          f"{os.cpu_count()} cores", flush=True)
    relevance = None
    if args.corpus == "questions":
        records = list(devsets.corpus_records("questions"))
        texts = {d["id"]: d for d in records}
        relevance = (devsets.load_set("questions", texts), baselines(records, set(texts)))
        del records
    rows = []
    for layout in layouts:
        index_dir = work / layout
        running = None
        try:
            if layout.startswith("cluster-"):
                shards = int(layout.split("-")[1])
                fresh = not (index_dir / "xapian.json").exists()
                if not fresh:
                    shutil.rmtree(index_dir)  # the servers' ports change: index again
                index_dir.mkdir(parents=True)
                running = Cluster(index_dir, shards, 0, "127.0.0.1",
                                  free_ports(Cluster.ports_needed(shards, 0)))
                running.start()
            built = (index_dir / "xapian.json").exists() and running is None \
                or any(index_dir.glob("_MAIN_*.toc"))
            rate = float("nan")
            if not built:
                started = time.perf_counter()
                backend = "whoosh" if layout == "whoosh" else "xapian"
                status = index_command([str(corpus)], str(index_dir), False, args.workers,
                                       backend)
                if status:
                    sys.exit(f"indexing for {layout} failed")
                rate = count / (time.perf_counter() - started)
            size, changesets = folder_bytes(index_dir / "shards" if running else index_dir,
                                            skip=("replicas",))
            engine = SearchEngine(index_dir)
            started = time.perf_counter()
            engine.search("khởi động")
            opened_ms = (time.perf_counter() - started) * 1000
            held = engine._snapshots.current().view.doc_count  # noqa: SLF001 - a check
            if held < count * 0.99:
                sys.exit(f"{layout}: {held:,} of {count:,} articles indexed")
            mix = query_mix(engine)[: args.queries]
            latency = measure_queries(engine, mix)
            row = {"layout": layout, "articles/s": rate, "bytes/article": size / count,
                   "of which changesets": changesets / count,
                   "open ms": opened_ms, **latency}
            if relevance is not None:
                dev, bm25 = relevance
                parts = run_part(engine, bm25, dev, "tune", args.limit, False, None)
                for label, _fold in FORMS:
                    eng, base = parts[label]
                    row[f"{label} MRR"] = eng.means()[0]
                    row[f"{label} nDCG"] = eng.means()[1]
                    row[f"{label} R@10"] = eng.means()[2]
                    row[f"{label} BM25 MRR"] = base.means()[0]
            rows.append(row)
            print("  ".join(f"{k} {v:.3f}" if isinstance(v, float) and v < 10 else
                            f"{k} {v:.0f}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in row.items()), flush=True)
        finally:
            if running is not None:
                running.stop()
    print(f"\n{len(mix)} queries per pass, all facets computed by every query")


if __name__ == "__main__":
    main()
