"""First query after an indexer commit: what the first visitor after each update waits.

Opens a `SearchEngine` on a built index and warms it (queries with and without
accents, a filter, a completion), then, round after round, writes one new
article into a small corpus folder, runs the real `vnsearch index` on that
folder (a commit adding one segment) and times the next search (the re-open
plus the query) and a second, warm one. THE INDEX IS MODIFIED: pass a copy.

    cp -r /tmp/s5/vn43k /tmp/s8/vn43k
    python bench/reopen.py --index /tmp/s8/vn43k [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine import SearchEngine  # noqa: E402

QUERIES = ("xay dung chinh don dang", "giá xăng tăng", "Hà Nội")


def article(number: int) -> dict:
    return {
        "id": f"bench-reopen-{number:04d}-{time.time_ns()}",
        "title": f"Huyện ủy Bình Lục triển khai nghị quyết số {number} về xây dựng Đảng",
        "date": "2026-11-22",
        "body": ("Sáng nay, Huyện ủy Bình Lục, tỉnh Hà Nam tổ chức hội nghị triển khai "
                 "Kết luận 21-KL/TW về đẩy mạnh xây dựng, chỉnh đốn Đảng và hệ thống chính "
                 f"trị. Đây là bài viết số {number} của đợt đo."),
    }


def timed(engine: SearchEngine, q: str, **kwargs: object) -> tuple[float, dict]:
    started = time.perf_counter()
    result = engine.search(q, **kwargs)  # type: ignore[arg-type]
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="a COPY of a built index")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = SearchEngine(args.index)
    started = time.perf_counter()
    for q in QUERIES:
        engine.search(q)
    engine.search("Việt Nam", filters={"year": ["2019"]})
    engine.suggest("xay d")
    print(f"open + warm-up: {(time.perf_counter() - started) * 1000:.0f} ms")
    firsts, seconds, rest = [], [], []
    with tempfile.TemporaryDirectory(prefix="vnsearch-reopen-") as tmp:
        corpus = Path(tmp)
        for number in range(args.rounds):
            record = article(number)
            (corpus / f"added_{number:04d}.jsonl").write_text(
                json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "vnsearch", "index", str(corpus),
                            "--index", str(args.index)],
                           cwd=REPO, check=True, capture_output=True, text=True)
            indexed = time.perf_counter() - t0
            first, result = timed(engine, "huyen uy binh luc")
            found = engine.article(record["id"]) is not None
            second, _ = timed(engine, "huyen uy binh luc")
            others = sum(timed(engine, q)[0] for q in QUERIES)
            firsts.append(first)
            seconds.append(second)
            rest.append(others)
            print(f"round {number + 1}: indexer {indexed:5.1f} s   first query {first:7.0f} ms"
                  f"   same again {second:5.0f} ms   {len(QUERIES)} warm-up queries again "
                  f"{others:5.0f} ms   new article found: {found}")
    print(f"first query after a commit: median {statistics.median(firsts):.0f} ms "
          f"(the same query again {statistics.median(seconds):.0f} ms; the {len(QUERIES)} "
          f"warm-up queries after the commit {statistics.median(rest):.0f} ms)")


if __name__ == "__main__":
    main()
