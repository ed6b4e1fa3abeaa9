"""Locality extraction on 2026 news: 2025 provinces and communes against hand labels.

The labels (bench/data/localities_2026.jsonl) name the places each article
of ../shared/data/crawl-news-2026-sample states, read by a person before the
extractor was tuned, as 2025 units: `provinces` (2025 provinces) and
`communes` ("Province > commune/ward/special zone" under the 2025 name).
Other fields are neither required nor counted as wrong: `old` (units named
by their pre-2025 name only, e.g. "huyện Cẩm Thủy (cũ)"), `either` (names
the article leaves ambiguous, or that are part of a road's or a company's
name), `teaser` (places of another story appended to the body). `set`
splits the articles into the 44 used while tuning and the 20 held aside.
The repo holds only ids and place names, never article text.

A record's `province_2025` counts for the province, its `province_2025 >
commune_2025` for the commune. A place is wrong when it is extracted and
neither labelled nor neutral; the figure is wrong places / places extracted.

    python bench/extract_eval_2025.py [--data ../shared/data] [--set tuning|held-aside] [-v]
"""

from __future__ import annotations

import argparse
import json
import lzma
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.extract import extract_record  # noqa: E402
from indexer.localities import _exact_name_key  # noqa: E402

LABELS = ROOT / "bench" / "data" / "localities_2026.jsonl"
CRAWL = Path("crawl-news-2026-sample") / "crawl_news_2026.jsonl.xz"


def key(name: str) -> tuple[tuple[str, ...], ...]:
    """A place's comparison key: each part by its accented words (Hoà = Hòa, Đắk = Đăk)."""
    return tuple(_exact_name_key(part) for part in name.split(" > "))


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float]:
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def evaluate(labels: list[dict], records: dict[str, dict], verbose: bool) -> dict:
    """Counts for provinces and communes, and the articles with a wrong place."""
    counts = {"province": [0, 0, 0], "commune": [0, 0, 0]}
    wrong_articles = []
    for label in labels:
        article = extract_record(records[label["id"]])
        neutral = {key(x) for x in label["either"] + label["teaser"] + label["old"]}
        got_p = {key(x.province_2025) for x in article.localities if x.province_2025}
        got_c = {key(f"{x.province_2025} > {x.commune_2025}") for x in article.localities
                 if x.commune_2025}
        # an old name's record: neutral when the old unit is labelled
        for x in article.localities:
            names = " > ".join(n for n in (x.province, x.district, x.commune) if n)
            short = " > ".join(n for n in (x.province, x.commune) if n)
            if x.commune_2025 and (key(names) in neutral or key(short) in neutral):
                neutral.add(key(f"{x.province_2025} > {x.commune_2025}"))
        want_p = {key(x) for x in label["provinces"]}
        want_c = {key(x) for x in label["communes"]}
        wrong = []
        for name, got, want in (("province", got_p, want_p), ("commune", got_c, want_c)):
            extra = got - want - neutral
            counts[name][0] += len(got & want)
            counts[name][1] += len(extra)
            counts[name][2] += len(want - got)
            wrong += [" > ".join(" ".join(p) for p in x) for x in extra]
            if verbose and (extra or want - got):
                print(f"  {label['id']} {name}: wrong {sorted(extra)} missed {sorted(want - got)}")
        if wrong:
            wrong_articles.append((label["id"], wrong))
    return {"counts": counts, "wrong_articles": wrong_articles, "n": len(labels)}


def report(name: str, result: dict) -> None:
    counts = result["counts"]
    print(f"== {name}: {result['n']} articles")
    for kind in ("province", "commune"):
        tp, fp, fn = counts[kind]
        precision, recall = _prf(tp, fp, fn)
        print(f"{kind + ' (2025)':<16} precision {precision:.3f}  recall {recall:.3f}  "
              f"(tp {tp}, fp {fp}, fn {fn})")
    extracted = sum(c[0] + c[1] for c in counts.values())
    wrong = sum(c[1] for c in counts.values())
    print(f"wrong places     {wrong}/{extracted} = {wrong / max(1, extracted):.1%} of places "
          f"extracted; articles with a wrong place: {len(result['wrong_articles'])}/{result['n']}")
    for article_id, places in result["wrong_articles"]:
        print(f"    {article_id}: {', '.join(places)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--set", choices=("tuning", "held-aside", "all"), default="all")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()
    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    wanted = {lab["id"] for lab in labels}
    records = {}
    with lzma.open(args.data / CRAWL, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["id"] in wanted:
                records[record["id"]] = record
    sets = ("tuning", "held-aside") if args.set == "all" else (args.set,)
    for name in sets:
        chosen = [lab for lab in labels if lab["set"] == name]
        report(name, evaluate(chosen, records, args.verbose))


if __name__ == "__main__":
    main()
