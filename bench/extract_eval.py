"""Precision and recall of locality and directive extraction on hand-labelled articles.

The labels (tests/data/extract/labels.jsonl) were written by reading each
article, not by running the extractor. The article texts stay in
../shared/data (copyrighted, never copied into the repo).

Localities are compared as the set of units an article names, each record
expanded to its province, district and commune (what the facets show):
"Hà Tĩnh > Cẩm Xuyên > Cẩm Huy" counts the province, the district and the
commune. Directives are compared by canonical code.

    python bench/extract_eval.py [--data ../shared/data] [-v] [--timing N] [--labels FILE ...]

`--timing N` also times extraction on the first N records of VietNews
(val+test) and prints milliseconds per article.
"""

from __future__ import annotations

import argparse
import json
import lzma
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.extract import extract_record  # noqa: E402
from indexer.normalize import normalize  # noqa: E402

LABELS = ROOT / "tests" / "data" / "extract" / "labels.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "extract" / "labels_holdout.jsonl"


def _units(chains: list[list[str]]) -> set[tuple[str, ...]]:
    """Every prefix of every chain: the province, the district, the commune."""
    out = set()
    for chain in chains:
        names = tuple(normalize(n).lower() for n in chain)
        for i in range(1, len(names) + 1):
            out.add(names[:i])
    return out


def _load_records(data: Path, wanted: dict[str, str]) -> dict[str, dict]:
    by_file: dict[str, set[str]] = {}
    for id_, dataset in wanted.items():
        by_file.setdefault(dataset, set()).add(id_)
    records = {}
    for dataset, ids in by_file.items():
        with lzma.open(data / dataset, "rt", encoding="utf-8") as handle:
            for line in handle:
                if not any(f'"{i}"' in line[:200] for i in ids):
                    continue
                record = json.loads(line)
                if record["id"] in ids:
                    records[record["id"]] = record
                    if len(records) == len(wanted):
                        return records
    return records


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("-v", "--verbose", action="store_true", help="List every miss.")
    parser.add_argument("--timing", type=int, default=0, metavar="N")
    parser.add_argument("--labels", type=Path, nargs="+", default=[LABELS, HOLDOUT])
    args = parser.parse_args()
    for path in args.labels:
        print(f"== {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        evaluate(path, args.data, args.verbose)
    if args.timing:
        time_extraction(args.data, args.timing)


def evaluate(path: Path, data: Path, verbose: bool) -> None:
    """Print precision and recall of one label file."""
    labels = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records = _load_records(data, {lab["id"]: lab["dataset"] for lab in labels})
    counts = {"loc": [0, 0, 0], "dir": [0, 0, 0]}
    for label in labels:
        record = records.get(label["id"])
        if record is None:
            print(f"missing in data: {label['id']}", file=sys.stderr)
            continue
        article = extract_record(record)
        got_loc = _units([[n for n in (x.province, x.district, x.commune) if n]
                          for x in article.localities])
        want_loc = _units([chain.split(" > ") for chain in label["localities"]])
        got_dir = {d.code for d in article.directives}
        want_dir = set(label["directives"])
        for key, got, want in (("loc", got_loc, want_loc), ("dir", got_dir, want_dir)):
            counts[key][0] += len(got & want)
            counts[key][1] += len(got - want)
            counts[key][2] += len(want - got)
            if verbose and got != want:
                extra, missed = sorted(got - want), sorted(want - got)
                print(f"{label['id']} {key}: extra {extra} missed {missed}")
    print(f"{len(labels)} hand-labelled articles ({len(records)} found in {data})")
    for key, name in (("loc", "localities"), ("dir", "directives")):
        tp, fp, fn = counts[key]
        precision, recall = _prf(tp, fp, fn)
        print(f"{name:<11} precision {precision:.3f}  recall {recall:.3f}  "
              f"(tp {tp}, fp {fp}, fn {fn})")



def time_extraction(data: Path, count: int) -> None:
    """Milliseconds per article over the first `count` VietNews val/test records."""
    sample = []
    with lzma.open(data / "vietnews" / "vietnews_valtest.jsonl.xz", "rt") as handle:
        for line in handle:
            sample.append(json.loads(line))
            if len(sample) >= count:
                break
    extract_record(sample[0])  # load the gazetteer once, as each worker does
    start = time.perf_counter()
    for record in sample:
        extract_record(record)
    elapsed = time.perf_counter() - start
    chars = sum(len(r.get("body", "")) for r in sample) / len(sample)
    print(f"extraction: {1000 * elapsed / len(sample):.2f} ms per article "
          f"({len(sample)} VietNews articles, {chars:.0f} body characters on average)")


if __name__ == "__main__":
    main()
