"""Builds and checks the relevance development sets in bench/data/ (see its README).

    python bench/make_devsets.py known      # sample the VietNews known items, split them
    python bench/make_devsets.py split      # (re)write the tune / held-aside split files
    python bench/make_devsets.py candidates # the articles drawn to write questions about
    python bench/make_devsets.py pool qNNN  # candidates to judge for written questions
    python bench/make_devsets.py corpus questions OUT.jsonl
    python bench/make_devsets.py check      # validate every file against the corpora

Everything is drawn with the fixed seed of `devsets.SEED`, so rebuilding gives
the committed files again. No article text is written into the repository:
known-item queries are only ids plus the field used as the query.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import devsets  # noqa: E402
from bench.devsets import DATA, SEED, syllables  # noqa: E402

#: Known items sampled from VietNews val+test.
KNOWN_ITEMS = 2_000
#: Known items need a title and summary of at least this many syllables.
MIN_SYLLABLES = 4


def known(_: argparse.Namespace) -> int:
    """Samples the known items: articles whose title and summary are not shared by another."""
    docs = list(devsets.read_jsonl(devsets.VIETNEWS))
    keys = {"title": Counter(), "summary": Counter()}
    for d in docs:
        for field, counter in keys.items():
            counter[" ".join(syllables(d.get(field) or ""))] += 1
    eligible = []
    for d in docs:
        ok = True
        for field, counter in keys.items():
            key = " ".join(syllables(d.get(field) or ""))
            ok &= len(key.split()) >= MIN_SYLLABLES and counter[key] == 1
        if ok:
            eligible.append(d["id"])
    chosen = random.Random(SEED).sample(sorted(eligible), KNOWN_ITEMS)
    held = devsets.seeded_held(chosen, "known")
    lines = ["# qid\tdocid\tpart  (query: the article's summary or title, read from the corpus)"]
    for i, docid in enumerate(chosen, 1):
        lines.append(f"k{i:04d}\t{docid}\t{'held' if docid in held else 'tune'}")
    (DATA / "vietnews_known.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(eligible)} eligible of {len(docs)}; wrote {KNOWN_ITEMS} known items, "
          f"{len(held)} held aside")
    return 0


def split(_: argparse.Namespace) -> int:
    """Writes the split of the 62-query set (per query) and of the questions (per article)."""
    dev = [row[0] for row in devsets.read_tsv(DATA / "vietnews_dev.queries.tsv")]
    held = devsets.seeded_held(dev, "dev62")
    _write_split(DATA / "vietnews_dev.split.tsv", [(q, q in held) for q in dev])
    qids = [r[0] for r in devsets.read_tsv(DATA / "questions.queries.tsv")]
    group = _story_groups(qids, devsets.read_qrels(DATA / "questions.qrels"))
    held_groups = devsets.seeded_held(list(group.values()), "questions")
    _write_split(DATA / "questions.split.tsv", [(q, group[q] in held_groups) for q in qids])
    print(f"dev62: {len(held)} of {len(dev)} held; questions: "
          f"{sum(group[q] in held_groups for q in qids)} of {len(qids)} held "
          f"({len(held_groups)} of {len(set(group.values()))} stories)")
    return 0


def _story_groups(qids: list[str], qrels: dict[str, dict[str, int]]) -> dict[str, str]:
    """Questions that share a judged article belong to one story (its first qid),
    so that one story never lands in both parts."""
    parent = {q: q for q in qids}

    def root(q: str) -> str:
        while parent[q] != q:
            parent[q] = parent[parent[q]]
            q = parent[q]
        return q

    first_of: dict[str, str] = {}
    for q in qids:
        for doc in qrels.get(q, {}):
            if doc in first_of:
                a, b = sorted((root(q), root(first_of[doc])))
                parent[b] = a
            else:
                first_of[doc] = q
    return {q: root(q) for q in qids}


def _write_split(path: Path, rows: list[tuple[str, bool]]) -> None:
    lines = ["# qid\tpart (tune / held: held-aside, looked at only for the final check)"]
    lines += [f"{qid}\t{'held' if is_held else 'tune'}" for qid, is_held in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


#: Articles drawn per source to write questions about, and their minimum body length.
CANDIDATES = 110
MIN_BODY = 600


def candidates(args: argparse.Namespace) -> int:
    """Prints the seeded draw of articles the questions were written from (title + lead)."""
    records = list(devsets.corpus_records("questions"))
    long_enough = [d for d in records if len(d["body"]) >= MIN_BODY]
    crawl = [d for d in long_enough if d["id"].startswith("cn-")]
    baomoi = [d for d in long_enough if d["id"].startswith("baomoi-")]
    rng = random.Random(SEED)
    for i, d in enumerate(rng.sample(crawl, CANDIDATES) + rng.sample(baomoi, CANDIDATES)):
        lead = ((d.get("summary") or "") + " " + d["body"])[:args.lead].replace("\n", " ")
        print(f"#{i} {d['id']} | {d['title']}\n    {lead}\n")
    return 0


def corpus(args: argparse.Namespace) -> int:
    n = devsets.write_corpus(args.name, args.out)
    print(f"wrote {n} articles to {args.out}")
    return 0


def pool(args: argparse.Namespace) -> int:
    """Candidates to judge: BM25 top-n for the question and for its source article's title."""
    records = list(devsets.corpus_records("questions"))
    by_id = {d["id"]: d for d in records}
    bm25 = devsets.Bm25(list(by_id), [devsets.doc_text(d) for d in records], syllables)
    rows = {r[0]: r for r in devsets.read_tsv(DATA / "questions.queries.tsv")}
    qrels = devsets.read_qrels(DATA / "questions.qrels") if (DATA / "questions.qrels").exists() \
        else {}
    wanted = args.qids or sorted(rows)
    for qid in wanted:
        _, query, source = rows[qid]
        seen: dict[str, str] = {}
        for how, text in (("q", query), ("t", by_id[source]["title"])):
            for docid in bm25.search(text, args.n):
                seen[docid] = seen.get(docid, "") + how
        print(f"== {qid} {query}  [source {source}]")
        for docid, how in seen.items():
            d = by_id[docid]
            mark = "S" if docid == source else str(qrels.get(qid, {}).get(docid, "."))
            lead = (d.get("summary") or d["body"])[:args.lead].replace("\n", " ")
            print(f"  {mark} {how:2} {docid} | {d['title'][:100]} | {lead}")
    return 0


def check(_: argparse.Namespace) -> int:
    """Validates formats, ids and splits, and prints each set's size per part."""
    vietnews = {d["id"]: d for d in devsets.read_jsonl(devsets.VIETNEWS)}
    qids = {d["id"] for d in devsets.corpus_records("questions")}
    corpus_ids = {"vietnews": set(vietnews), "vietnews-nolead": set(vietnews), "questions": qids}
    problems = []
    for name in devsets.SET_NAMES:
        s = devsets.load_set(name, vietnews)
        ids = corpus_ids[s.corpus]
        seen = set()
        for qid, query in s.queries:
            if qid in seen or not query.strip():
                problems.append(f"{name} {qid}: duplicate or empty")
            seen.add(qid)
            if not s.qrels.get(qid):
                problems.append(f"{name} {qid}: no judgment")
            if s.part.get(qid) not in devsets.PARTS:
                problems.append(f"{name} {qid}: no part")
            problems += [f"{name} {qid}: unknown doc {d}" for d in s.qrels.get(qid, {})
                         if d not in ids]
        problems += [f"{name}: judged unknown query {q}" for q in set(s.qrels) - seen]
        per = Counter(s.part[q] for q, _ in s.queries)
        judged = sum(len(v) for v in s.qrels.values())
        print(f"{name:14} corpus {s.corpus} ({len(ids)}): {len(s.queries)} queries "
              f"(tune {per['tune']}, held {per['held']}), {judged} judgments")
    rows = devsets.read_tsv(DATA / "questions.queries.tsv")
    qrels = devsets.read_qrels(DATA / "questions.qrels")
    problems += [f"questions {r[0]}: source {r[2]} not judged 2" for r in rows
                 if qrels.get(r[0], {}).get(r[2]) != 2]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("known", help="sample the VietNews known items").set_defaults(run=known)
    sub.add_parser("split", help="write the split files").set_defaults(run=split)
    p = sub.add_parser("candidates", help="print the articles drawn for writing questions")
    p.add_argument("--lead", type=int, default=600, help="characters of the lead shown")
    p.set_defaults(run=candidates)
    p = sub.add_parser("pool", help="print candidates to judge for questions")
    p.add_argument("qids", nargs="*")
    p.add_argument("-n", type=int, default=10)
    p.add_argument("--lead", type=int, default=160, help="characters of the lead shown")
    p.set_defaults(run=pool)
    p = sub.add_parser("corpus", help="write a corpus as JSONL (outside the repository)")
    p.add_argument("name", choices=devsets.CORPORA)
    p.add_argument("out", type=Path)
    p.set_defaults(run=corpus)
    sub.add_parser("check", help="validate the files").set_defaults(run=check)
    args = ap.parse_args()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
