"""Prove indexer.crfseg segments exactly like pyvi, and time both on the same sentences.

Runs ``pyvi.ViTokenizer.tokenize`` and ``indexer.crfseg.tokenize`` on every
sentence of the VietNews val+test set (title, summary, body split into
sentences), counts sentences whose outputs differ (must be 0), and reports
characters per CPU-second for each, measured side by side in the same
processes so the ratio holds on a noisy shared machine.

    .venv/bin/python bench/segment_identity.py               # whole set, 2 workers
    .venv/bin/python bench/segment_identity.py --limit 2000  # first 2000 articles
"""

from __future__ import annotations

import argparse
import json
import lzma
import multiprocessing
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "vietnews" / "vietnews_valtest.jsonl.xz"
FIELDS = ("title", "summary", "body")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def sentences(text: str) -> list[str]:
    """Split after . ! ? … unless the next piece starts in lower case (``TP. Đà Nẵng`` splits)."""
    out: list[str] = []
    for piece in _SENTENCE_END.split(text):
        first = next((c for c in piece if c.isalpha()), "")
        if out and first.islower():
            out[-1] = f"{out[-1]} {piece}"
        elif piece:
            out.append(piece)
    return out


@dataclass
class Tally:
    """Counts one worker returns for a chunk of articles."""

    articles: int = 0
    sentences: int = 0
    chars: int = 0
    differing: int = 0
    pyvi_seconds: float = 0.0
    crfseg_seconds: float = 0.0
    examples: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, other: Tally, keep: int) -> None:
        for name in ("articles", "sentences", "chars", "differing"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.pyvi_seconds += other.pyvi_seconds
        self.crfseg_seconds += other.crfseg_seconds
        self.examples.extend(other.examples[: max(0, keep - len(self.examples))])


def check_chunk(args: tuple[int, list[str]]) -> Tally:
    """Segment a chunk's sentences with each segmenter in turn, then compare.

    Each segmenter runs over the whole chunk in one go (as the indexer calls
    it, without the other evicting its caches), and the order alternates
    between chunks so neither gets a systematic warm-up advantage.
    """
    from pyvi import ViTokenizer

    from indexer import crfseg

    index, lines = args
    tally = Tally(articles=len(lines))
    found: list[tuple[str, str]] = []
    for line in lines:
        article = json.loads(line)
        for name in FIELDS:
            found += [(article.get("id", "?"), s) for s in sentences(article.get(name) or "")]
    texts = [s for _, s in found]
    runs = [("pyvi", ViTokenizer.tokenize), ("crfseg", crfseg.tokenize)]
    outputs: dict[str, list[str]] = {}
    for name, segment in runs if index % 2 == 0 else runs[::-1]:
        started = time.process_time()
        outputs[name] = [segment(text) for text in texts]
        setattr(tally, f"{name}_seconds", time.process_time() - started)
    tally.sentences = len(texts)
    tally.chars = sum(map(len, texts))
    for (article_id, text), want, got in zip(
        found, outputs["pyvi"], outputs["crfseg"], strict=True
    ):
        if got != want:
            tally.differing += 1
            if len(tally.examples) < 5:
                tally.examples.append((article_id, text, want, got))
    return tally


def chunks(path: Path, limit: int | None, size: int) -> Iterator[tuple[int, list[str]]]:
    with lzma.open(path, "rt", encoding="utf-8") as f:
        lines = islice(f, limit) if limit else f
        index = 0
        while batch := list(islice(lines, size)):
            yield index, batch
            index += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N articles only")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--chunk", type=int, default=200, help="articles per task")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"{args.data} not found (VietNews lives in ../shared/data/vietnews/)")

    total = Tally()
    started = time.perf_counter()
    work = chunks(args.data, args.limit, args.chunk)
    if args.workers > 1:
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            for tally in pool.imap_unordered(check_chunk, work):
                total.add(tally, keep=5)
    else:
        for item in work:
            total.add(check_chunk(item), keep=5)
    wall = time.perf_counter() - started

    pyvi_rate = total.chars / total.pyvi_seconds if total.pyvi_seconds else 0.0
    crf_rate = total.chars / total.crfseg_seconds if total.crfseg_seconds else 0.0
    print(f"data:        {args.data}")
    print(f"articles:    {total.articles:,}")
    print(f"sentences:   {total.sentences:,}")
    print(f"characters:  {total.chars:,}")
    print(f"differing:   {total.differing:,}")
    print(f"pyvi:        {pyvi_rate:,.0f} chars/CPU-s ({total.pyvi_seconds:.1f} s)")
    print(f"crfseg:      {crf_rate:,.0f} chars/CPU-s ({total.crfseg_seconds:.1f} s)")
    if pyvi_rate:
        print(f"speed-up:    {crf_rate / pyvi_rate:.2f}x")
    print(f"wall time:   {wall:.0f} s with {args.workers} worker(s)")
    for article_id, sentence, want, got in total.examples:
        print(f"\n{article_id}: {sentence!r}\n  pyvi:   {want!r}\n  crfseg: {got!r}")
    return 1 if total.differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
