"""Characters per second of our analyzers against bare pyvi, on the same texts, in one run.

    python bench/analyze.py [--articles 400] [--rounds 3] [--data PATH]

Texts are the title, summary and body of the first N VietNews val+test
articles (../shared/data/vietnews). Each method runs over all texts once per
round, rounds interleaved, and the best round counts (the machine is shared
and noisy). Ratios are cost relative to bare `ViTokenizer.tokenize`: below 1
is cheaper than pyvi.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer import segment as segment_module  # noqa: E402
from indexer.analysis import analyzer, postings  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "vietnews" / "vietnews_valtest.jsonl.xz"


def load_texts(path: Path, articles: int) -> list[str]:
    texts: list[str] = []
    with lzma.open(path, "rt", encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            if n >= articles:
                break
            record = json.loads(line)
            fields = (record.get("title"), record.get("summary"), record["body"])
            texts.extend(text for text in fields if text)
    return texts


def use_tagger(name: str) -> None:
    os.environ["VNSEARCH_SEGMENTER"] = name
    segment_module.get_tagger.cache_clear()
    segment_module.segment.cache_clear()


def analyzer_run(view: str, tagger: str) -> Callable[[list[str]], None]:
    analyze = analyzer(view)

    def run(texts: list[str]) -> None:
        use_tagger(tagger)
        for text in texts:
            for _ in analyze(text, positions=True, chars=True):
                pass

    return run


def all_fields_run(texts: list[str]) -> None:
    """What indexing one text costs: the three analyzers share one segmentation."""
    use_tagger("crfseg")
    analyzers = [analyzer(view) for view in ("words", "folded_words", "folded_syllables")]
    for text in texts:
        for analyze in analyzers:
            for _ in analyze(text, positions=True, chars=True):
                pass


def postings_run(texts: list[str]) -> None:
    """What the index writer runs: the three views' postings from one segmentation."""
    use_tagger("crfseg")
    for text in texts:
        for view in ("words", "folded_words", "folded_syllables"):
            postings(text, view)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from pyvi import ViTokenizer

    texts = load_texts(args.data, args.articles)
    chars = sum(len(t) for t in texts)
    methods: dict[str, Callable[[list[str]], None]] = {
        "pyvi ViTokenizer.tokenize": lambda ts: [ViTokenizer.tokenize(t) for t in ts],
    }
    try:
        from indexer import crfseg

        methods["crfseg.tokenize (same output)"] = lambda ts: [crfseg.tokenize(t) for t in ts]
    except ImportError:
        pass
    methods["words analyzer (pyvi tagger)"] = analyzer_run("words", "pyvi")
    methods["words analyzer"] = analyzer_run("words", "crfseg")
    methods["folded words analyzer"] = analyzer_run("folded_words", "crfseg")
    methods["folded syllables analyzer"] = analyzer_run("folded_syllables", "crfseg")
    methods["all three fields, one segmentation"] = all_fields_run
    methods["index postings, three fields"] = postings_run

    best = {name: float("inf") for name in methods}
    for _ in range(args.rounds):
        for name, run in methods.items():
            start = time.perf_counter()
            run(texts)
            best[name] = min(best[name], time.perf_counter() - start)

    base = best["pyvi ViTokenizer.tokenize"]
    print(f"{len(texts)} texts, {chars:,} characters, best of {args.rounds} rounds")
    print(f"{'method':40} {'chars/s':>10} {'cost vs pyvi':>13}")
    for name, seconds in best.items():
        print(f"{name:40} {chars / seconds:>10,.0f} {seconds / base:>12.2f}x")
    use_tagger("crfseg")


if __name__ == "__main__":
    main()
