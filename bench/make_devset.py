"""Helpers used to build the VietNews relevance dev set (bench/data/vietnews_dev.*).

The judgments themselves were made by hand; this script only
- pools candidates for a query (``pool``): a small phrase-BM25 over folded
  (lower-cased, unidecoded) title + summary + body, title x3, summary x2;
- checks the committed files (``check``): formats, qids, that every judged id
  exists in the corpus, and prints counts.

It reads the corpus from ../shared and never writes article text anywhere.
"""

from __future__ import annotations

import argparse
import collections
import json
import lzma
import math
import re
import sys
import unicodedata
from pathlib import Path

from unidecode import unidecode

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent.parent / "shared/data/vietnews/vietnews_valtest.jsonl.xz"
QUERIES = HERE / "data/vietnews_dev.queries.tsv"
QRELS = HERE / "data/vietnews_dev.qrels"


def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ→d), keep a-z0-9 / - ; pad with spaces."""
    text = unidecode(unicodedata.normalize("NFC", text).lower())
    return " " + re.sub(r"[^a-z0-9/\-]+", " ", text).strip() + " "


def load(path: Path) -> list[dict]:
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def pool(docs: list[dict], phrases: list[str], must: list[str], n: int) -> list[tuple[float, dict]]:
    """Rank documents by a phrase BM25 (each phrase = one term)."""
    folded = [(fold(d["title"]), fold(d["summary"]), fold(d["body"])) for d in docs]
    lengths = [len(t) + len(s) + len(b) for t, s, b in folded]
    avg = sum(lengths) / len(lengths)
    scores: dict[int, float] = collections.defaultdict(float)
    for phrase in phrases:
        f = fold(phrase)
        hits = [
            (i, b.count(f) + 3 * t.count(f) + 2 * s.count(f)) for i, (t, s, b) in enumerate(folded)
        ]
        hits = [(i, tf) for i, tf in hits if tf]
        if not hits:
            continue
        idf = math.log(1 + (len(docs) - len(hits) + 0.5) / (len(hits) + 0.5))
        for i, tf in hits:
            scores[i] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * lengths[i] / avg))
    musts = [fold(m) for m in must]
    ranked = sorted(
        (s, i) for i, s in scores.items() if all(m in "".join(folded[i]) for m in musts)
    )[::-1]
    return [(s, docs[i]) for s, i in ranked[:n]]


def check(docs: list[dict]) -> int:
    ids = {d["id"] for d in docs}
    queries: dict[str, str] = {}
    for line in QUERIES.read_text(encoding="utf-8").splitlines():
        qid, text = line.split("\t")
        assert re.fullmatch(r"q\d{3}", qid) and qid not in queries and text.strip(), line
        queries[qid] = text
    per_q: collections.Counter[str] = collections.Counter()
    grades: collections.Counter[str] = collections.Counter()
    seen = set()
    for line in QRELS.read_text(encoding="utf-8").splitlines():
        qid, zero, docid, grade = line.split(" ")
        assert zero == "0" and grade in {"1", "2"} and qid in queries, line
        assert docid in ids, f"unknown doc id {docid}"
        assert (qid, docid) not in seen, f"duplicate {line}"
        seen.add((qid, docid))
        per_q[qid] += 1
        grades[grade] += 1
    missing = set(queries) - set(per_q)
    assert not missing, f"queries without judgments: {sorted(missing)}"
    print(
        f"{len(queries)} queries, {sum(per_q.values())} judgments "
        f"(grade 2: {grades['2']}, grade 1: {grades['1']}), "
        f"per query min {min(per_q.values())} max {max(per_q.values())}"
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pool", help="print candidate ids + titles for judging")
    p.add_argument("phrases", help="phrases separated by ';'")
    p.add_argument("--must", default="", help="comma-separated phrases that must occur")
    p.add_argument("-n", type=int, default=30)
    sub.add_parser("check", help="validate the committed queries/qrels")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    args = ap.parse_args()
    docs = load(args.corpus)
    if args.cmd == "check":
        return check(docs)
    must = [m for m in args.must.split(",") if m.strip()]
    for rank, (score, d) in enumerate(pool(docs, args.phrases.split(";"), must, args.n)):
        print(f"{rank:2d} {d['id']} {score:5.1f} | {d['title'][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
