"""A Whoosh posting list as numpy arrays, block by block.

Whoosh's matchers hand out one posting per Python call; its W3 codec keeps
them in blocks of up to 128 that decode as a whole. Reading whole blocks is
what makes decoding every posting of a segment (at commit, `derived.py`) or
a common word's list (at query time) affordable. The codec's private block
calls live here only.
"""

from __future__ import annotations

from itertools import chain
from pickle import loads
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.system import _INT_SIZE


def _blocks(matcher: Any, with_values: bool) -> list[tuple[np.ndarray, np.ndarray, list]]:
    """(docnums int64, weights float32, raw values) of each block left in `matcher`."""
    if not isinstance(matcher, W3LeafMatcher):  # inlined lists: one posting at a time
        docs, weights, values = [], [], []
        while matcher.is_active():
            docs.append(matcher.id())
            weights.append(matcher.weight())
            if with_values:
                values.append(matcher.value())
            matcher.next()
        return [(np.asarray(docs, dtype=np.int64), np.asarray(weights, dtype=np.float32),
                 values)]
    blocks = []
    while matcher.is_active():
        matcher._read_data()
        raw_ids, raw_weights, values = matcher._data
        ids = np.cumsum(np.asarray(raw_ids, dtype=np.int64))
        if raw_weights is None:
            block_weights = np.ones(len(ids), dtype=np.float32)
        elif isinstance(raw_weights, float):
            block_weights = np.full(len(ids), raw_weights, dtype=np.float32)
        else:
            block_weights = np.asarray(raw_weights, dtype=np.float32)
        blocks.append((ids, block_weights, values))
        matcher._next_block()
    return blocks


def decode_postings(matcher: object) -> tuple[np.ndarray, np.ndarray]:
    """(local docnums int64, weights float32) of every posting left in `matcher`."""
    blocks = _blocks(matcher, with_values=False)
    if not blocks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])


def decode_with_positions(matcher: object) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
    """(local docnums, weights, positions per posting, all positions) of a positional list.

    Whoosh's Positions format stores each posting as its count and a pickled
    list of gaps; the gaps are unpickled in C and summed with numpy, a block
    at a time, instead of one Python loop per posting.
    """
    blocks = _blocks(matcher, with_values=True)
    if not blocks:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0, dtype=np.float32), empty, empty
    gaps = [loads(raw[_INT_SIZE:] if raw.endswith(b".") else raw[_INT_SIZE:] + b".")
            for _, _, values in blocks for raw in values]
    counts = np.fromiter(map(len, gaps), dtype=np.int64, count=len(gaps))
    flat = np.fromiter(chain.from_iterable(gaps), dtype=np.int64, count=int(counts.sum()))
    total = np.cumsum(flat)
    first = np.cumsum(counts) - counts  # each posting's first position in `flat`
    base = np.repeat(total[first[counts > 0]] - flat[first[counts > 0]], counts[counts > 0])
    return (np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks]),
            counts, total - base)
