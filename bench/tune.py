"""Grid search of the ranking weights (`engine.ranking.Weights`) on the tuning parts.

Coordinate descent over a small grid per weight: every value of one weight
is tried with the others fixed, the best mean MRR@10 (over the chosen sets,
queries as written and without accents) is kept, and the round repeats until
nothing improves. Only the tuning parts are read; the held-aside parts are
for `bench/relevance.py --part held` at the end.

    python bench/tune.py --set questions=/tmp/vnq --set known-lead=/tmp/vn43k-nolead \\
        --limit known-lead=400

The indexes must exist (`bench/relevance.py` builds them). Ranking runs
through the engine's own scorer (no snippets or facets), so a round over a
few hundred queries takes seconds to minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import devsets  # noqa: E402
from engine import SearchEngine, whoosh_reading  # noqa: E402
from engine.query import parse  # noqa: E402
from engine.ranking import WEIGHTS, Scorer, Weights  # noqa: E402

#: A change is kept only when it gains more than this (one query of a few hundred
#: moving one rank is noise, not a better ranking).
MARGIN = 0.002
#: Values tried per weight (the current value is always tried too).
GRID: dict[str, tuple[float, ...]] = {
    "title": (0.5, 1.0, 1.5, 2.5),
    "word": (0.0, 0.5, 1.0, 1.5),
    "syllable": (0.3, 0.6, 1.0, 1.5),
    "accent": (0.0, 0.5, 1.0),
    "proximity": (0.0, 0.5, 1.0, 1.5, 2.0),
    "coordination": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
    "min_coverage": (0.2, 0.35, 0.5),
    "question_word": (0.0, 0.1, 0.3, 1.0),
    "loose": (0.25, 0.5, 1.0),
}


class Target:
    """One set's tuning queries over its index, ranked by the engine's scorer."""

    def __init__(self, name: str, index: Path, limit: int | None) -> None:
        self.name = name
        texts = None
        self.set = devsets.load_set(name, texts)
        self.queries = self.set.select("tune", limit)
        self.engine = SearchEngine(index)
        self.engine.search("khởi động")
        snap = self.engine._snapshots.current()
        assert snap is not None, f"no index in {index}"
        self.snap = snap
        self._ids: dict[int, str] = {}

    def doc_id(self, docnum: int) -> str:
        if docnum not in self._ids:
            self._ids[docnum] = self.snap.view.stored(docnum).get("id") or ""
        return self._ids[docnum]

    def mrr(self, weights: Weights) -> tuple[float, float]:
        """Mean MRR@10 as written and without accents."""
        scorer = Scorer(self.snap.view, self.snap.vocab, weights=weights)
        out = []
        for fold in (False, True):
            total = 0.0
            for qid, query in self.queries:
                text = devsets.strip_marks(query) if fold else query
                parsed = parse(text)
                ranked: list[str] = []
                if not parsed.is_empty:
                    matched, scores = scorer.run(parsed, self.snap.view.live.copy())
                    docs = np.nonzero(matched)[0]
                    top = docs[np.argsort(-scores[docs], kind="stable")][: devsets.K]
                    ranked = [self.doc_id(int(d)) for d in top]
                total += devsets.metrics(ranked, self.set.qrels[qid])[0]
            out.append(total / max(len(self.queries), 1))
        return out[0], out[1]


def evaluate(targets: list[Target], weights: Weights) -> tuple[float, list[str]]:
    values, lines = [], []
    for t in targets:
        acc, free = t.mrr(weights)
        values.extend((acc, free))
        lines.append(f"{t.name} {acc:.3f}/{free:.3f}")
    return float(np.mean(values)), lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", required=True, metavar="NAME=INDEX",
                        help="a development set and the engine index it runs over")
    parser.add_argument("--limit", action="append", default=[], metavar="NAME=N",
                        help="at most N tuning queries of a set")
    parser.add_argument("--only", default="", help="comma-separated weights to tune")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--block-cache", type=int, default=50_000, metavar="BYTES",
                        help="decoded position blocks kept per document: the same queries run "
                             "again and again, so keep them all")
    args = parser.parse_args()
    whoosh_reading.BLOCK_CACHE_BYTES_PER_DOC = args.block_cache
    limits = {k: int(v) for k, v in (item.split("=", 1) for item in args.limit)}
    targets = []
    for item in args.set:
        name, index = item.split("=", 1)
        targets.append(Target(name, Path(index), limits.get(name)))
    names = [n for n in args.only.split(",") if n] or list(GRID)
    best = WEIGHTS
    started = time.perf_counter()
    score, lines = evaluate(targets, best)
    print(f"start {score:.4f}  {'  '.join(lines)}  {best}", flush=True)
    for round_no in range(args.rounds):
        improved = False
        for name in names:
            current = getattr(best, name)
            for value in sorted(set(GRID[name]) | {current}):
                if value == current:
                    continue
                trial = dataclasses.replace(best, **{name: value})
                value_score, value_lines = evaluate(targets, trial)
                print(f"  {name}={value}: {value_score:.4f}  {'  '.join(value_lines)}",
                      flush=True)
                if value_score > score + MARGIN:
                    best, score, lines, improved = trial, value_score, value_lines, True
            print(f"round {round_no + 1} {name}: keep {getattr(best, name)} -> {score:.4f}",
                  flush=True)
        if not improved:
            break
    print(f"\nbest {score:.4f}  {'  '.join(lines)}  ({time.perf_counter() - started:.0f} s)")
    print(best)


if __name__ == "__main__":
    main()
