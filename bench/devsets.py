"""The relevance development sets in bench/data/ and the corpora they run over.

The repository holds only query strings written for it, article ids, judgments
and the tune / held-aside split. Article text (and so the summaries and titles
used as known-item queries) is read from ../shared/data at bench time: the
corpora are copyrighted news.

Sets:
- ``known-summary`` / ``known-title``: known-item search over VietNews val+test
  (43,238 articles); the query is an article's summary (lead) or its title, the
  one relevant document is that article (`vietnews_known.tsv`).
- ``known-lead``: the same summaries as queries, over the same articles indexed
  without their summaries (corpus ``vietnews-nolead``), so the query is not a
  passage of the article but its lead paraphrasing the body.
- ``questions``: questions written for this set about articles of the 2026
  crawl and a baomoi-2017 slice (`questions.*`), over the ``questions`` corpus.
- ``dev62``: the 62-query VietNews set (`vietnews_dev.*`).
"""

from __future__ import annotations

import hashlib
import json
import lzma
import math
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SHARED = HERE.parent.parent / "shared" / "data"
VIETNEWS = SHARED / "vietnews" / "vietnews_valtest.jsonl.xz"
BAOMOI = SHARED / "baomoi-2017" / "baomoi2017.jsonl.xz"
CRAWL = SHARED / "crawl-news-2026-sample" / "crawl_news_2026.jsonl.xz"

#: Seed of every sample and split below.
SEED = 20261127
#: Share of each set kept aside for the final check.
HELD_SHARE = 0.3
#: Articles of baomoi-2017 mixed with the whole 2026 crawl in the questions corpus.
BAOMOI_SLICE = 10_000

PARTS = ("tune", "held")
#: Each set and the corpus it runs over.
SET_CORPUS = {
    "known-summary": "vietnews",
    "known-title": "vietnews",
    "known-lead": "vietnews-nolead",
    "questions": "questions",
    "dev62": "vietnews",
}
SET_NAMES = tuple(SET_CORPUS)
CORPORA = ("vietnews", "vietnews-nolead", "questions")


# -- corpora -------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[dict]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def baomoi_slice_ids(ids: list[str]) -> set[str]:
    """The baomoi articles of the questions corpus: a seeded sample of the file's ids."""
    return set(random.Random(SEED).sample(sorted(ids), BAOMOI_SLICE))


def corpus_records(name: str) -> Iterator[dict]:
    """The articles of corpus `name` (one of `CORPORA`), in a fixed order."""
    if name == "vietnews":
        yield from read_jsonl(VIETNEWS)
    elif name == "vietnews-nolead":
        for record in read_jsonl(VIETNEWS):
            record.pop("summary", None)
            yield record
    elif name == "questions":
        yield from read_jsonl(CRAWL)
        baomoi = list(read_jsonl(BAOMOI))
        keep = baomoi_slice_ids([d["id"] for d in baomoi])
        yield from (d for d in baomoi if d["id"] in keep)
    else:
        raise ValueError(f"unknown corpus {name!r}")


def write_corpus(name: str, out: Path) -> int:
    """Writes corpus `name` as JSONL to `out` (outside the repository); returns its size."""
    count = 0
    with out.open("w", encoding="utf-8") as dst:
        for record in corpus_records(name):
            dst.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_corpus_chunks(name: str, folder: Path, size: int = 2_000) -> int:
    """Writes corpus `name` as JSONL files of `size` articles into `folder` (the
    indexer reads each file in one worker under a time limit); returns its size."""
    folder.mkdir(parents=True, exist_ok=True)
    count, out = 0, None
    try:
        for record in corpus_records(name):
            if count % size == 0:
                if out:
                    out.close()
                out = (folder / f"{name}-{count // size:04d}.jsonl").open("w", encoding="utf-8")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        if out:
            out.close()
    return count


def doc_text(record: dict) -> str:
    """The text the engine indexes for an article: title, summary (lead) and body."""
    return "\n".join(record.get(key) or "" for key in ("title", "summary", "body"))


# -- syllables (the baseline's tokens) -----------------------------------------

_WORD = re.compile(r"\w+")


def syllables(text: str) -> list[str]:
    """Accented syllables: ``\\w+`` after NFC and lower-casing."""
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


def _mark_table() -> dict[int, str | None]:
    """Latin letters with diacritics → base letter (đ → d), combining marks → nothing."""
    table: dict[int, str | None] = {ord("đ"): "d", ord("Đ"): "D"}
    for code in range(0x00C0, 0x2000):
        char = chr(code)
        if unicodedata.combining(char):
            table[code] = None
            continue
        decomposed = unicodedata.normalize("NFD", char)
        if len(decomposed) > 1 and all(unicodedata.combining(c) for c in decomposed[1:]):
            table[code] = decomposed[0]
    return table


_MARKS = _mark_table()


def strip_marks(text: str) -> str:
    """The text as typed without accents (đ → d), case kept."""
    return unicodedata.normalize("NFC", text).translate(_MARKS)


def fold(text: str) -> str:
    """Lower case without diacritics."""
    return strip_marks(text.lower())


def folded_syllables(text: str) -> list[str]:
    return _WORD.findall(fold(text))


# -- sets ----------------------------------------------------------------------


@dataclass
class DevSet:
    """Queries, graded judgments and the tune / held-aside part of each query."""

    name: str
    corpus: str
    queries: list[tuple[str, str]] = field(default_factory=list)
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    part: dict[str, str] = field(default_factory=dict)

    def select(self, part: str, limit: int | None = None) -> list[tuple[str, str]]:
        chosen = [(qid, q) for qid, q in self.queries if self.part[qid] == part]
        return chosen[:limit] if limit is not None else chosen


def read_tsv(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append([cell.strip() for cell in line.split("\t")])
    return rows


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 4 and int(parts[3]) > 0:
            qrels[parts[0]][parts[2]] = int(parts[3])
    return dict(qrels)


def read_split(path: Path) -> dict[str, str]:
    return {qid: part for qid, part in read_tsv(path)}


def load_set(name: str, texts: dict[str, dict] | None = None) -> DevSet:
    """Set `name`. The known-item queries are read from VietNews: from `texts`
    (id → record) when it holds them, else from the corpus file."""
    if name in ("known-summary", "known-title", "known-lead"):
        key = "title" if name == "known-title" else "summary"
        rows = read_tsv(DATA / "vietnews_known.tsv")
        if texts is None or any(key not in texts.get(r[1], {}) for r in rows):
            wanted = {r[1] for r in rows}
            texts = {d["id"]: d for d in read_jsonl(VIETNEWS) if d["id"] in wanted}
        out = DevSet(name, SET_CORPUS[name])
        for qid, docid, part in rows:
            out.queries.append((qid, texts[docid][key]))
            out.qrels[qid] = {docid: 1}
            out.part[qid] = part
        return out
    if name == "questions":
        rows = read_tsv(DATA / "questions.queries.tsv")
        return DevSet(name, "questions", [(r[0], r[1]) for r in rows],
                      read_qrels(DATA / "questions.qrels"),
                      read_split(DATA / "questions.split.tsv"))
    if name == "dev62":
        rows = read_tsv(DATA / "vietnews_dev.queries.tsv")
        return DevSet(name, "vietnews", [(r[0], r[1]) for r in rows],
                      read_qrels(DATA / "vietnews_dev.qrels"),
                      read_split(DATA / "vietnews_dev.split.tsv"))
    raise ValueError(f"unknown set {name!r}")


def seeded_held(keys: list[str], salt: str) -> set[str]:
    """The held-aside share of `keys`, drawn with the fixed seed (salted per set)."""
    rng = random.Random(f"{SEED}:{salt}")
    ordered = sorted(set(keys))
    return set(rng.sample(ordered, round(HELD_SHARE * len(ordered))))


def digest(ids: list[str]) -> str:
    """Short fingerprint of an id list, to notice a corpus that changed."""
    return hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()[:12]


# -- metrics -------------------------------------------------------------------

K = 10


def metrics(ranked: list[str], judged: dict[str, int]) -> tuple[float, float, float]:
    """(reciprocal rank, nDCG, recall) at K for one query; gains 2^grade - 1."""
    rr = next((1.0 / (i + 1) for i, d in enumerate(ranked[:K]) if d in judged), 0.0)
    dcg = sum((2 ** judged.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:K]))
    ideal = sorted(judged.values(), reverse=True)[:K]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    recall = len([d for d in ranked[:K] if d in judged]) / max(len(judged), 1)
    return rr, (dcg / idcg if idcg else 0.0), recall


# -- the baseline ----------------------------------------------------------------


class Bm25:
    """Plain Okapi BM25 (k1 1.2, b 0.75, Lucene's idf) over one token view of
    title + summary + body, queried as one OR query of the query's tokens
    (a repeated token counts again, as a repeated clause would)."""

    def __init__(self, ids: list[str], texts: list[str], tokenize) -> None:
        import bm25s  # bench extra: pip install -e .[bench]

        self.ids = ids
        self.tokenize = tokenize
        vocab: dict[str, int] = {}
        corpus = [[vocab.setdefault(t, len(vocab)) for t in tokenize(text)] for text in texts]
        self.vocab = vocab
        self.retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        self.retriever.index((corpus, vocab), show_progress=False)

    def search(self, query: str, k: int = K) -> list[str]:
        tokens = [self.vocab[t] for t in self.tokenize(query) if t in self.vocab]
        if not tokens:
            return []
        import numpy as np

        scores = self.retriever.get_scores(tokens)
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        top = top[np.lexsort((top, -scores[top]))]
        return [self.ids[i] for i in top if scores[i] > 0]
