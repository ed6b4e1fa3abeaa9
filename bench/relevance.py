"""Relevance of the search engine on a judged query set: MRR@10, nDCG@10, Recall@10.

Indexes a JSONL corpus with the real indexer (`vnsearch index`), unless the
index folder already holds it, then runs every query twice, as written and
with accents stripped (what users often type), through `SearchEngine.search`.

    python bench/relevance.py                          # VietNews valtest, dev set
    python bench/relevance.py --index /tmp/vn43k       # reuse a built index
    python bench/relevance.py --limit 5000             # judged docs + 5,000 others

Target: accent-free MRR@10 ≥ 0.95 × accented MRR@10.
"""

from __future__ import annotations

import argparse
import json
import lzma
import math
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from whoosh import index as whoosh_index  # noqa: E402

from indexer.normalize import normalize, strip_diacritics  # noqa: E402
from webapp.search import SearchEngine  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "vietnews" / "vietnews_valtest.jsonl.xz"
QUERIES = REPO / "bench" / "data" / "vietnews_dev.queries.tsv"
QRELS = REPO / "bench" / "data" / "vietnews_dev.qrels"
K = 10


def read_queries(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            qid, query = line.split("\t", 1)
            out.append((qid.strip(), query.strip()))
    return out


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 4 and int(parts[3]) > 0:
            qrels[parts[0]][parts[2]] = int(parts[3])
    return qrels


def metrics(ranked: list[str], judged: dict[str, int]) -> tuple[float, float, float]:
    """(reciprocal rank, nDCG, recall) at K for one query."""
    rr = next((1.0 / (i + 1) for i, d in enumerate(ranked[:K]) if d in judged), 0.0)
    dcg = sum((2 ** judged.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:K]))
    ideal = sorted(judged.values(), reverse=True)[:K]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    recall = len([d for d in ranked[:K] if d in judged]) / max(len(judged), 1)
    return rr, (dcg / idcg if idcg else 0.0), recall


def subset_corpus(corpus: Path, keep: set[str], limit: int, out: Path) -> int:
    """Judged articles plus the first `limit` others, as JSONL."""
    count = 0
    opener = lzma.open if corpus.suffix == ".xz" else open
    with opener(corpus, "rt", encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        others = 0
        for line in src:
            record = json.loads(line)
            if record["id"] in keep or others < limit:
                others += record["id"] not in keep
                dst.write(line)
                count += 1
    return count


def build(corpus: Path, index_dir: Path, workers: int | None) -> None:
    from indexer.build import index_command

    started = time.perf_counter()
    code = index_command([str(corpus)], str(index_dir), False, workers)
    if code:
        sys.exit(f"indexing failed ({code})")
    print(f"indexed {corpus} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def evaluate(engine: SearchEngine, queries: list[tuple[str, str]],
             qrels: dict[str, dict[str, int]], fold: bool,
             verbose: bool) -> tuple[float, float, float, float]:
    totals = [0.0, 0.0, 0.0]
    took = []
    for qid, query in queries:
        text = strip_diacritics(normalize(query)) if fold else query
        started = time.perf_counter()
        result = engine.search(text, per_page=K)
        took.append(time.perf_counter() - started)
        ranked = [hit["id"] for hit in result["hits"]]
        scores = metrics(ranked, qrels.get(qid, {}))
        for i, value in enumerate(scores):
            totals[i] += value
        if verbose:
            print(f"{qid}\t{scores[0]:.2f}\t{scores[1]:.2f}\t{scores[2]:.2f}\t{text}"
                  f"\t{result['suggestion'] or ''}")
    n = max(len(queries), 1)
    took.sort()
    return totals[0] / n, totals[1] / n, totals[2] / n, took[len(took) // 2] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DATA)
    parser.add_argument("--queries", type=Path, default=QUERIES)
    parser.add_argument("--qrels", type=Path, default=QRELS)
    parser.add_argument("--index", type=Path, default=None,
                        help="index folder (built when missing; default: a temporary one)")
    parser.add_argument("--limit", type=int, default=None,
                        help="index only the judged articles and this many others")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per query")
    args = parser.parse_args()

    queries = read_queries(args.queries)
    qrels = read_qrels(args.qrels)
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index or Path(tmp) / "index"
        if not whoosh_index.exists_in(str(index_dir)):
            corpus = args.corpus
            if args.limit is not None:
                judged = {d for docs in qrels.values() for d in docs}
                corpus = Path(tmp) / "subset.jsonl"
                n = subset_corpus(args.corpus, judged, args.limit, corpus)
                print(f"subset: {n} articles", file=sys.stderr)
            build(corpus, index_dir, args.workers)
        engine = SearchEngine(index_dir)
        engine.search("khởi động")  # open the index and load its arrays once
        print(f"queries: {len(queries)}, judged: {sum(len(v) for v in qrels.values())}")
        rows = {}
        for label, fold in (("accented", False), ("accent-free", True)):
            rows[label] = evaluate(engine, queries, qrels, fold, args.verbose)
        print(f"{'':12} {'MRR@10':>7} {'nDCG@10':>8} {'R@10':>6} {'p50 ms':>7}")
        for label, (mrr, ndcg, recall, p50) in rows.items():
            print(f"{label:12} {mrr:7.3f} {ndcg:8.3f} {recall:6.3f} {p50:7.1f}")
        ratio = rows["accent-free"][0] / max(rows["accented"][0], 1e-9)
        print(f"accent-free / accented MRR@10 = {ratio:.3f} (target ≥ 0.95)")


if __name__ == "__main__":
    main()
