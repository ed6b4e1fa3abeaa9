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
    python bench/cluster.py --corpus vietnews --layouts cluster-2 --build-only   # 43,238
    python bench/cluster.py --corpus vietnews --layouts whoosh,cluster-1,cluster-2 \
        --whoosh-index /tmp/vn43k --limit 300       # latency, known-title relevance

Everything is written under --work and kept: a second run re-uses the
indexes (a cluster's shards are served again on new ports) and reports the
indexing rate measured when they were built; delete a layout's folder to
measure indexing again. Xapian layouts index a large corpus in runs of
--batch-files input files (a shard keeps a run's changes in memory until
its commit). `--source OLD_CHECKOUT` measures another checkout's engine
over the same indexes (a before/after in one sitting).
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
if "--source" in sys.argv[:-1]:  # another checkout's engine and indexer, this script
    sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--source") + 1]).resolve()))

from bench import devsets  # noqa: E402
from bench.query import percentile, query_mix  # noqa: E402
from bench.relevance import FORMS, baselines, run_part  # noqa: E402
from engine import SearchEngine  # noqa: E402
from indexer.xapian_cluster import Cluster, free_ports  # noqa: E402
from vnsearch.cli import index_command  # noqa: E402

CRAWL = Path("/work/shared/data/crawl-news-2026-sample/crawl_news_2026.jsonl.xz")
LAYOUTS = ("whoosh", "xapian", "cluster-1", "cluster-2")
#: The relevance set run over each corpus that has one.
RELEVANCE_SET = {"questions": "questions", "vietnews": "known-title",
                 "vietnews-nolead": "known-lead"}
#: Where a layout's measured indexing rate is kept, in its index folder.
RATE_FILE = ".bench-rate"


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


def shard_docs(index_dir: Path) -> int:
    """Documents the shards of a cluster folder hold (0 when there are none yet)."""
    import xapian

    total = 0
    for path in sorted((index_dir / "shards").glob("shard*")):
        if (path / "iamglass").exists():
            db = xapian.Database(str(path))
            total += db.get_doccount()
            db.close()
    return total


def index_in_runs(corpus: Path, index_dir: Path, workers: int, backend: str,
                  batch: int) -> None:
    """`vnsearch index` over the corpus, `batch` input files per run (0: one run)."""
    files = sorted(str(p) for p in corpus.glob("*.jsonl")) if corpus.is_dir() else []
    runs = [files[i:i + batch] for i in range(0, len(files), batch)] \
        if batch and len(files) > batch else [[str(corpus)]]
    for number, paths in enumerate(runs, 1):
        started = time.perf_counter()
        status = index_command(paths, str(index_dir), False, workers, backend)
        if status:
            sys.exit(f"indexing into {index_dir} failed (run {number} of {len(runs)})")
        print(f"  run {number}/{len(runs)}: {len(paths)} files in "
              f"{time.perf_counter() - started:.0f} s", flush=True)


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
    parser.add_argument("--corpus", choices=("crawl2026", "questions", "vietnews",
                                              "vietnews-nolead"), default="crawl2026")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vnsearch-bench-cluster"))
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--workers", type=int, default=2, help="indexer processes")
    parser.add_argument("--queries", type=int, default=200, help="queries of the mix per pass")
    parser.add_argument("--limit", type=int, default=None, help="relevance queries per form")
    parser.add_argument("--batch-files", type=int, default=5,
                        help="input files per indexing run of a Xapian layout (0: one run)")
    parser.add_argument("--build-only", action="store_true", help="index, measure nothing")
    parser.add_argument("--no-relevance", action="store_true", help="latency only")
    parser.add_argument("--whoosh-index", type=Path, default=None,
                        help="an existing Whoosh index of the corpus for the whoosh layout")
    parser.add_argument("--source", type=Path, default=None,
                        help="checkout whose engine is measured (default: this one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = args.work / args.corpus
    work.mkdir(parents=True, exist_ok=True)
    corpus, count = corpus_folder(args.corpus, work)
    layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    print(f"corpus {args.corpus}: {count:,} articles; layouts {', '.join(layouts)}; "
          f"{os.cpu_count()} cores", flush=True)
    if args.source:
        print(f"engine from {args.source}", flush=True)
    relevance = None
    if args.corpus in RELEVANCE_SET and not (args.build_only or args.no_relevance):
        records = list(devsets.corpus_records(args.corpus))
        texts = {d["id"]: d for d in records}
        relevance = (devsets.load_set(RELEVANCE_SET[args.corpus], texts),
                     baselines(records, set(texts)))
        del records, texts
    rows = []
    for layout in layouts:
        index_dir = work / layout
        if layout == "whoosh" and args.whoosh_index:
            index_dir = args.whoosh_index
        running = None
        try:
            if layout.startswith("cluster-"):
                shards = int(layout.split("-")[1])
                if (index_dir / "xapian.json").exists() and shard_docs(index_dir) < count * 0.99:
                    shutil.rmtree(index_dir)  # a build that did not finish: start again
                index_dir.mkdir(parents=True, exist_ok=True)
                # the shards are served again on new ports; xapian.json names them
                running = Cluster(index_dir, shards, 0, "127.0.0.1",
                                  free_ports(Cluster.ports_needed(shards, 0)))
                running.start()
                built = shard_docs(index_dir) >= count * 0.99
            else:
                built = (index_dir / "xapian.json").exists() \
                    or any(index_dir.glob("_MAIN_*.toc"))
            rate_file = index_dir / RATE_FILE
            rate = float(rate_file.read_text()) if rate_file.exists() else float("nan")
            if not built:
                started = time.perf_counter()
                backend = "whoosh" if layout == "whoosh" else "xapian"
                index_in_runs(corpus, index_dir, args.workers, backend,
                              0 if backend == "whoosh" else args.batch_files)
                rate = count / (time.perf_counter() - started)
                rate_file.write_text(f"{rate:.3f}")
            if args.build_only:
                print(f"{layout}: {rate:.1f} articles/s", flush=True)
                continue
            size, changesets = folder_bytes(index_dir / "shards" if running else index_dir,
                                            skip=("replicas", "derived"))
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
    if rows:
        print(f"\n{len(mix)} queries per pass, all facets computed by every query")


if __name__ == "__main__":
    main()
