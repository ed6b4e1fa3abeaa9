"""Relevance of the engine beside a plain BM25 baseline, on the development sets.

For every set (see bench/data/README.md) and part (tune / held-aside), runs
each query twice, as written and without accents, through the engine
(`SearchEngine.search`, the code path of /api/search) and through plain Okapi
BM25 (k1 1.2, b 0.75) over syllables (``\\w+`` after NFC + lower case) of
title + summary + body, one OR query: accented syllables for the queries as
written, folded syllables for the accent-free ones. Prints MRR@10, nDCG@10
and Recall@10 for both and the engine / baseline ratio.

    python bench/relevance.py --index /tmp/vn43k --lindex /tmp/vn43k-nolead --qindex /tmp/vnq
    python bench/relevance.py --sets questions,dev62 --part held --limit 5

The engine indexes are built with the real indexer when a folder holds none
(VietNews val+test: 43,238 articles, twice with and without summaries, each
a while on 2 cores: keep the folders).
The held-aside parts are for the final check only: `--part tune` is the default.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from whoosh import index as whoosh_index  # noqa: E402

from bench import devsets  # noqa: E402
from bench.devsets import Bm25, DevSet, K, metrics  # noqa: E402

# The engine under test; its import path lives here only.
from engine import SearchEngine  # noqa: E402

#: Engine and baseline views per query form: accented queries against accented
#: syllables, accent-free ones against folded syllables.
FORMS = (("accented", False), ("accent-free", True))


@dataclass
class Scores:
    """Summed per-query metrics (RR, nDCG, recall) and query times in seconds."""

    sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    n: int = 0
    took: list[float] = field(default_factory=list)

    def add(self, ranked: list[str], judged: dict[str, int], took: float) -> tuple:
        values = metrics(ranked, judged)
        for i, value in enumerate(values):
            self.sums[i] += value
        self.n += 1
        self.took.append(took)
        return values

    def means(self) -> list[float]:
        return [s / max(self.n, 1) for s in self.sums]

    def p(self, q: float) -> float:
        ordered = sorted(self.took)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def ensure_index(name: str, index_dir: Path, workers: int | None, tmp: Path) -> None:
    """Builds the engine index of corpus `name` in `index_dir` unless one is there."""
    if whoosh_index.exists_in(str(index_dir)):
        from indexer.schema import SCHEMA_VERSION, index_schema_version

        found = index_schema_version(whoosh_index.open_dir(str(index_dir)).schema)
        if found != SCHEMA_VERSION:
            print(f"warning: {index_dir} was written by index schema {found}, the indexer "
                  f"now writes {SCHEMA_VERSION}: delete the folder to measure a fresh index",
                  file=sys.stderr)
        return
    from vnsearch.cli import index_command

    source = tmp / name
    size = devsets.write_corpus_chunks(name, source)
    started = time.perf_counter()
    print(f"indexing {name} ({size:,} articles) into {index_dir} ...", file=sys.stderr)
    if index_command([str(source)], str(index_dir), False, workers):
        sys.exit(f"indexing {name} failed")
    print(f"indexed {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def indexed_ids(index_dir: Path) -> set[str]:
    ix = whoosh_index.open_dir(str(index_dir))
    with ix.reader() as reader:
        return {term.decode("utf-8") for term in reader.lexicon("id")}


def baselines(records: list[dict], keep: set[str]) -> dict[bool, Bm25]:
    """BM25 over accented and over folded syllables of the articles the engine indexed."""
    docs = [d for d in records if d["id"] in keep]
    ids = [d["id"] for d in docs]
    texts = [devsets.doc_text(d) for d in docs]
    return {False: Bm25(ids, texts, devsets.syllables),
            True: Bm25(ids, texts, devsets.folded_syllables)}


def run_part(engine: SearchEngine, bm25: dict[bool, Bm25], s: DevSet, part: str,
             limit: int | None, verbose: bool,
             dump: TextIO | None) -> dict[str, tuple[Scores, Scores]]:
    queries = s.select(part, limit)
    rows: dict[str, tuple[Scores, Scores]] = {}
    for label, fold in FORMS:
        eng, base = Scores(), Scores()
        for qid, query in queries:
            text = devsets.strip_marks(query) if fold else query
            judged = s.qrels[qid]
            started = time.perf_counter()
            hits = engine.search(text, per_page=K)["hits"]
            e = eng.add([h["id"] for h in hits], judged, time.perf_counter() - started)
            started = time.perf_counter()
            ranked = bm25[fold].search(text, K)
            b = base.add(ranked, judged, time.perf_counter() - started)
            if verbose:
                print(f"  {qid}\t{label}\tengine {e[0]:.2f}\tbm25 {b[0]:.2f}\t{text[:90]}")
            if dump:
                dump.write(json.dumps({"set": s.name, "part": part, "qid": qid, "form": label,
                                       "engine": [h["id"] for h in hits], "bm25": ranked},
                                      ensure_ascii=False) + "\n")
        rows[label] = (eng, base)
    return rows


def report(s: DevSet, part: str, size: int, rows: dict[str, tuple[Scores, Scores]]) -> None:
    n = next(iter(rows.values()))[0].n
    print(f"\n{s.name} / {part}: {n} queries, corpus {s.corpus} ({size:,} articles)")
    print(f"  {'':12} {'engine MRR':>10} {'nDCG':>6} {'R@10':>6}   {'BM25 MRR':>8} {'nDCG':>6}"
          f" {'R@10':>6}   {'ratio MRR':>9} {'nDCG':>6}   {'p50/p95 ms':>11}")
    for label, (eng, base) in rows.items():
        e, b = eng.means(), base.means()
        ratio = [x / y if y else float("nan") for x, y in zip(e, b, strict=True)]
        print(f"  {label:12} {e[0]:10.3f} {e[1]:6.3f} {e[2]:6.3f}   {b[0]:8.3f} {b[1]:6.3f}"
              f" {b[2]:6.3f}   {ratio[0]:9.3f} {ratio[1]:6.3f}   "
              f"{eng.p(0.5):5.0f}/{eng.p(0.95):<5.0f}")
    acc, free = rows["accented"][0].means()[0], rows["accent-free"][0].means()[0]
    print(f"  engine accent-free / accented MRR@10 = {free / acc if acc else float('nan'):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=",".join(devsets.SET_NAMES),
                        help=f"comma-separated, of {', '.join(devsets.SET_NAMES)}")
    parser.add_argument("--part", choices=("tune", "held", "both"), default="tune",
                        help="held-aside parts only for the final check (default: tune)")
    parser.add_argument("--index", type=Path, default=None,
                        help="engine index of VietNews val+test (built when missing)")
    parser.add_argument("--lindex", type=Path, default=None,
                        help="engine index of VietNews without summaries (built when missing)")
    parser.add_argument("--qindex", type=Path, default=None,
                        help="engine index of the questions corpus (built when missing)")
    parser.add_argument("--limit", type=int, default=None, help="at most N queries per part")
    parser.add_argument("--workers", type=int, default=None, help="indexer processes")
    parser.add_argument("--dump", type=Path, default=None,
                        help="write both rankings of every query here (JSON lines)")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per query")
    args = parser.parse_args()

    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = set(names) - set(devsets.SET_NAMES)
    if unknown:
        parser.error(f"unknown sets: {', '.join(sorted(unknown))}")
    parts = ("tune", "held") if args.part == "both" else (args.part,)
    started = time.perf_counter()
    dump = args.dump.open("w", encoding="utf-8") if args.dump else None
    with tempfile.TemporaryDirectory() as tmp:
        given = {"vietnews": args.index, "vietnews-nolead": args.lindex,
                 "questions": args.qindex}
        folders = {name: given[name] or Path(tmp) / name for name in devsets.CORPORA}
        by_corpus: dict[str, list[str]] = {}
        for name in names:
            by_corpus.setdefault(devsets.SET_CORPUS[name], []).append(name)
        for corpus, set_names in by_corpus.items():
            ensure_index(corpus, folders[corpus], args.workers, Path(tmp))
            t0 = time.perf_counter()
            records = list(devsets.corpus_records(corpus))
            keep = indexed_ids(folders[corpus])
            missing = len({d["id"] for d in records} - keep)
            if missing > len(records) // 100:
                sys.exit(f"{missing:,} of {len(records):,} articles of {corpus} are not in "
                         f"{folders[corpus]}: rebuild it (delete the folder)")
            if missing:
                print(f"note: {missing} articles of {corpus} are not in the engine index; "
                      "the baseline leaves them out too", file=sys.stderr)
            bm25 = baselines(records, keep)
            print(f"baseline BM25 for {corpus} ({len(keep):,} articles) built in "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
            texts = {d["id"]: d for d in records}
            del records
            engine = SearchEngine(folders[corpus])
            engine.search("khởi động")  # open the index and load its arrays once
            for name in set_names:
                s = devsets.load_set(name, texts)
                for part in parts:
                    t1 = time.perf_counter()
                    rows = run_part(engine, bm25, s, part, args.limit, args.verbose, dump)
                    report(s, part, len(keep), rows)
                    print(f"  ({time.perf_counter() - t1:.0f} s)")
    if dump:
        dump.close()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
