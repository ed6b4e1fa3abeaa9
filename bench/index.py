"""Indexing speed against bare pyvi, measured in one run (ratios, not absolutes).

    python bench/index.py [--limit N] [--full] [--keep DIR] [--compare-segmenter]
    python bench/index.py --add-one DIR [--runs N] [--before CHECKOUT --before-index DIR2]
    python bench/index.py --stages [--limit N]

Reads ../shared/data/vietnews/vietnews_valtest.jsonl.xz (43,238 articles; the
first --limit of them, default 2000, for the timed comparisons) and reports:

- full indexing (`indexer.build.build_index`: extraction, hashing,
  segmentation, analysis, Whoosh writing and commit) with 1 and 2 workers;
- bare pyvi (`ViTokenizer.tokenize` on title + summary + body) in 1 and 2
  processes, on the same texts;
- the ratio full(2 workers) / pyvi(2 processes) (target ≥ 0.8);
- for each, the CPU time per article of all its processes (the run's own
  and its children's): on a machine shared with other work, wall-clock
  rates swing with the load, CPU time much less;
- with --full: builds the index of all articles at --keep (default
  /tmp/vnsearch-bench/vietnews-index), then times adding one new article
  end to end (`vnsearch index new.txt --index DIR` as a subprocess; target ≤ 1 s);
- with --stages: only the CPU per article of bare pyvi, extraction,
  segmentation and the views' terms, one after the other in this process;
- with --add-one DIR: only that figure, over an existing index (use a copy:
  each run adds an article), --runs times, alternated with an older checkout
  (`--before`, run with its own .venv on its own copy `--before-index`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import lzma
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "vietnews" / "vietnews_valtest.jsonl.xz"
DEFAULT_KEEP = Path("/tmp/vnsearch-bench/vietnews-index")


class CpuClock:
    """CPU seconds of this process and its waited-for children since it was made."""

    def __init__(self) -> None:
        self.start = self._now()

    @staticmethod
    def _now() -> float:
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system

    def seconds(self) -> float:
        return self._now() - self.start


def _pyvi_chunk(texts: list[str]) -> int:
    from pyvi import ViTokenizer

    for text in texts:
        ViTokenizer.tokenize(text)
    return len(texts)


def _warm(_: int) -> int:
    from pyvi import ViTokenizer

    ViTokenizer.tokenize("khởi động")
    return 0


def pyvi_rate(texts: list[str], procs: int) -> tuple[float, float]:
    """(articles/s, CPU ms per article) of bare pyvi in `procs` processes."""
    if procs == 1:
        _warm(0)
        clock = CpuClock()
        start = time.perf_counter()
        _pyvi_chunk(texts)
        return len(texts) / (time.perf_counter() - start), 1000 * clock.seconds() / len(texts)
    pool = multiprocessing.get_context("fork").Pool(procs)
    pool.map(_warm, range(procs))
    warm = CpuClock()  # children count once reaped: the (tiny) warm-up is included
    chunks = [texts[i : i + 50] for i in range(0, len(texts), 50)]
    start = time.perf_counter()
    sum(pool.imap_unordered(_pyvi_chunk, chunks))
    elapsed = time.perf_counter() - start
    pool.close()
    pool.join()
    return len(texts) / elapsed, 1000 * warm.seconds() / len(texts)


def index_rate(jsonl: Path, count: int, workers: int, index_dir: Path
               ) -> tuple[float, float, str]:
    """(articles/s, CPU ms per article, summary) of a full run with `workers`."""
    from indexer.build import build_index

    shutil.rmtree(index_dir, ignore_errors=True)
    clock = CpuClock()
    start = time.perf_counter()
    summary = build_index([str(jsonl)], index_dir, rebuild=True, workers=workers)
    elapsed = time.perf_counter() - start
    return count / elapsed, 1000 * clock.seconds() / count, summary.line()


def index_rate_with_pyvi_tagger(jsonl: Path, count: int, workers: int, index_dir: Path) -> float:
    """The same run with the VNSEARCH_SEGMENTER=pyvi fallback (the segmenter comparison)."""
    from indexer import segment

    os.environ["VNSEARCH_SEGMENTER"] = "pyvi"
    segment.get_tagger.cache_clear()
    segment.segment.cache_clear()
    try:
        return index_rate(jsonl, count, workers, index_dir)[0]
    finally:
        del os.environ["VNSEARCH_SEGMENTER"]
        segment.get_tagger.cache_clear()
        segment.segment.cache_clear()


def add_one_article(index_dir: Path, workdir: Path, repo: Path = REPO,
                    python: str = sys.executable) -> tuple[float, str]:
    """Seconds for `vnsearch index NEW.txt --index DIR`, process start to exit; its line.

    Each call writes an article never seen before (a new file, a new sentence),
    so the run extracts, analyses and commits it. `repo` and `python` may name
    another checkout and its interpreter (the code before a change).
    """
    stamp = time.time_ns()
    new = workdir / f"bench_new_article_{stamp}.txt"
    new.write_text(
        f"Huyện ủy Bình Lục tổ chức hội nghị sơ kết công tác xây dựng Đảng lần {stamp}\n\n"
        "20/10/2024 08:00\n\n"
        + "Hội nghị đánh giá kết quả thực hiện Kết luận số 21-KL/TW của Ban Chấp hành "
        "Trung ương về đẩy mạnh xây dựng, chỉnh đốn Đảng và hệ thống chính trị. " * 8
        + f"Đợt này có {stamp % 1000} đại biểu dự tại xã Bình Mỹ, tỉnh Hà Nam.",
        "utf-8",
    )
    start = time.perf_counter()
    result = subprocess.run(
        [python, "-m", "vnsearch", "index", str(new), "--index", str(index_dir)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, result.stdout.strip()


def add_one_runs(index_dir: Path, runs: int, before: Path | None,
                 before_index: Path | None) -> None:
    """Time adding one article to an existing index `runs` times, alternated with the
    checkout `before` (its own .venv) on its own copy `before_index` when given."""
    with tempfile.TemporaryDirectory(prefix="vnsearch-bench-") as tmp:
        work = Path(tmp)
        for run in range(1, runs + 1):
            sides = [("now", REPO, sys.executable, index_dir)]
            if before is not None and before_index is not None:
                sides.append(("before", before, str(before / ".venv" / "bin" / "python"),
                              before_index))
            for label, repo, python, ix in sides:
                seconds, line = add_one_article(ix, work, repo, python)
                load = os.getloadavg()[0]
                print(f"run {run} {label:6s}: add one article, end to end: {seconds:.2f} s"
                      f"   (load {load:.2f}; {line})")


def stages(records: list[dict], texts: list[str]) -> None:
    """CPU per article of bare pyvi and of each indexing step, one process, same articles.

    Shows what the full run's rate can reach at best: the steps before any
    index writing (extraction, segmentation) against bare pyvi's cost.
    """
    from pyvi import ViTokenizer

    from indexer.extract import extract_record
    from indexer.schema import build_schema, content_hash, document_fields
    from indexer.segment import segment

    def cpu_ms(step: object, items: list) -> tuple[list, float]:
        clock = CpuClock()
        out = [step(item) for item in items]  # type: ignore[operator]
        return out, 1000 * clock.seconds() / len(items)

    schema = build_schema()
    views = [name for name in schema.names() if hasattr(schema[name], "index_with_positions")]

    def terms(fields: dict) -> int:
        return sum(1 for name in views for _ in schema[name].index_with_positions(fields[name]))

    ViTokenizer.tokenize("khởi động")
    _, pyvi = cpu_ms(ViTokenizer.tokenize, texts)
    articles, extraction = cpu_ms(lambda r: extract_record(r, "subset.jsonl"), records)
    segment.cache_clear()
    segmentation = analysis = 0.0
    for article in articles:  # each article's segmentation is still cached for its terms
        clock = CpuClock()
        fields = document_fields(article, content_hash(article), "subset.jsonl")
        segmentation += clock.seconds()
        clock = CpuClock()
        terms(fields)
        analysis += clock.seconds()
    segmentation, analysis = (1000 * x / len(articles) for x in (segmentation, analysis))
    print(f"bare pyvi:                          {pyvi:6.2f} ms CPU/article")
    print(f"extraction (text, metadata):        {extraction:6.2f}")
    print(f"segmentation (the indexed fields):  {segmentation:6.2f}")
    print(f"the {len(views)} views' terms and positions: {analysis:6.2f}")
    print(f"(extraction + segmentation) / pyvi: {(extraction + segmentation) / pyvi:.2f}; "
          f"a full run at 0.8x pyvi's rate has {pyvi / 0.8:.2f} ms for everything")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=2000, help="articles for the timed runs")
    parser.add_argument("--full", action="store_true", help="also index all 43,238 articles")
    parser.add_argument("--keep", type=Path, default=DEFAULT_KEEP, help="where --full leaves it")
    parser.add_argument(
        "--compare-segmenter",
        action="store_true",
        help="also index with VNSEARCH_SEGMENTER=pyvi (pyvi's own features) in the same run",
    )
    parser.add_argument("--stages", action="store_true",
                        help="only the CPU per article of each step, in one process")
    parser.add_argument("--add-one", type=Path, metavar="DIR",
                        help="only time adding one article to the existing index DIR (a copy)")
    parser.add_argument("--runs", type=int, default=3, help="with --add-one: how many times")
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="with --add-one: alternate with this checkout (its .venv)")
    parser.add_argument("--before-index", type=Path, metavar="DIR",
                        help="with --before: its own copy of the index")
    args = parser.parse_args()
    if args.add_one is not None:
        add_one_runs(args.add_one, args.runs, args.before, args.before_index)
        return

    with lzma.open(DATA, "rt", encoding="utf-8") as handle:
        lines = list(itertools.islice(handle, args.limit))
    records = [json.loads(line) for line in lines]
    texts = [f"{r['title']}\n{r.get('summary') or ''}\n{r['body']}" for r in records]
    chars = sum(map(len, texts)) / len(texts)
    print(f"{len(records)} articles from {DATA.name}, {chars:.0f} characters on average")
    print(f"cores: {os.cpu_count()}")

    from indexer.segment import segment

    segment("khởi động")  # imports and the model loaded before any clock starts
    if args.stages:
        stages(records, texts)
        return
    with tempfile.TemporaryDirectory(prefix="vnsearch-bench-") as tmp:
        work = Path(tmp)
        jsonl = work / "subset.jsonl"
        jsonl.write_text("".join(lines), "utf-8")
        p1, c1 = pyvi_rate(texts, 1)
        print(f"bare pyvi, 1 process:      {p1:7.1f} articles/s   CPU {c1:5.2f} ms/article")
        p2, c2 = pyvi_rate(texts, 2)
        print(f"bare pyvi, 2 processes:    {p2:7.1f} articles/s   CPU {c2:5.2f} ms/article")
        i1, d1, line1 = index_rate(jsonl, len(records), 1, work / "ix1")
        print(f"full indexing, 1 worker:   {i1:7.1f} articles/s   CPU {d1:5.2f} ms/article"
              f"   ({line1})")
        i2, d2, line2 = index_rate(jsonl, len(records), 2, work / "ix2")
        print(f"full indexing, 2 workers:  {i2:7.1f} articles/s   CPU {d2:5.2f} ms/article"
              f"   ({line2})")
        print(f"ratio full(2) / pyvi(2):   {i2 / p2:7.2f}   (target >= 0.8)")
        print(f"ratio full(1) / pyvi(1):   {i1 / p1:7.2f}")
        print(f"CPU per article, pyvi(2) / full(2): {c2 / d2:5.2f}   "
              f"(the ratio on an idle machine, if both used both cores fully)")
        if args.compare_segmenter:
            for workers, crfseg_rate in ((1, i1), (2, i2)):
                rate = index_rate_with_pyvi_tagger(jsonl, len(records), workers, work / "ixp")
                print(f"full indexing, {workers} worker(s), pyvi tagger: {rate:7.1f} articles/s"
                      f"   (crfseg gives {crfseg_rate / rate:.2f}x)")

        if args.full:
            args.keep.parent.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            from indexer.build import build_index

            summary = build_index([str(DATA)], args.keep, rebuild=True, workers=2)
            elapsed = time.perf_counter() - start
            print(
                f"full index of {DATA.name}: {elapsed:.0f} s, {summary.added / elapsed:.1f} "
                f"articles/s ({summary.line()}) at {args.keep}"
            )
            seconds, line = add_one_article(args.keep, work)
            print(f"add one article to the full index, end to end: {seconds:.2f} s ({line})")


if __name__ == "__main__":
    main()
