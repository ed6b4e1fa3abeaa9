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
    python bench/extract_eval_2025.py --mentions   # over the whole sample, unlabelled

`--mentions` counts, over all 1,391 articles, the places written "xã / phường
/ đặc khu + the name of a 2025 unit" (outside a trailing teaser) and how many
of them the extractor returns as that 2025 unit (same name, any province):
a recall proxy that needs no labels.
"""

from __future__ import annotations

import argparse
import json
import lzma
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.extract import extract_record  # noqa: E402
from indexer.localities import _exact_name_key, gazetteer, story_end  # noqa: E402

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


_UNIT_WORD = re.compile(r"\b(?:xã|phường|đặc khu)\s+((?:[A-ZĐ0-9À-Ỹ][^\s,.;:()]*\s*){1,5})")


def mention_recall(records: list[dict]) -> None:
    """How many "xã/phường/đặc khu + 2025 name" places are extracted as that unit."""
    gaz = gazetteer()
    new_names = {_exact_name_key(u.name) for u in gaz.units.values() if u.gen == 2025}
    old_names = {_exact_name_key(u.name) for u in gaz.units.values()
                 if u.gen == 2022 and u.level == "c"}
    written = found = brand_new = brand_new_found = 0
    for record in records:
        article = extract_record(record)
        text = f"{article.title}\n\n{article.body}"
        text = text[:story_end(text)]
        got = {_exact_name_key(x.commune_2025) for x in article.localities if x.commune_2025}
        names = set()
        for m in _UNIT_WORD.finditer(text):
            words = m.group(1).split()
            for n in range(len(words), 0, -1):
                name = _exact_name_key(" ".join(words[:n]))
                if name in new_names:
                    names.add(name)
                    break
        for name in names:
            written += 1
            found += name in got
            if name not in old_names:
                brand_new += 1
                brand_new_found += name in got
    print(f"== whole sample: {len(records)} articles")
    print(f"'xã/phường/đặc khu + 2025 name' places (one per article and name): {written}, "
          f"extracted as that 2025 unit: {found} ({found / max(1, written):.0%})")
    print(f"  of which names that were no 2022 commune: {brand_new}, extracted: "
          f"{brand_new_found} ({brand_new_found / max(1, brand_new):.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--set", choices=("tuning", "held-aside", "all"), default="all")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    parser.add_argument("--mentions", action="store_true",
                        help="recall of 'xã/phường/đặc khu + 2025 name' over the whole sample")
    args = parser.parse_args()
    with lzma.open(args.data / CRAWL, "rt", encoding="utf-8") as handle:
        everything = [json.loads(line) for line in handle]
    if args.mentions:
        mention_recall(everything)
        return
    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    wanted = {lab["id"] for lab in labels}
    records = {r["id"]: r for r in everything if r["id"] in wanted}
    sets = ("tuning", "held-aside") if args.set == "all" else (args.set,)
    for name in sets:
        chosen = [lab for lab in labels if lab["set"] == name]
        report(name, evaluate(chosen, records, args.verbose))


if __name__ == "__main__":
    main()
