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

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.system import _INT_SIZE


def decode_postings(matcher: object) -> tuple[np.ndarray, np.ndarray]:
    """(local docnums int64, weights float32) of every posting left in `matcher`."""
    id_parts: list[np.ndarray] = []
    tf_parts: list[np.ndarray] = []
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            matcher._read_data()
            raw_ids, raw_weights, _ = matcher._data
            ids = np.cumsum(np.asarray(raw_ids, dtype=np.int64))
            if raw_weights is None:
                tfs = np.ones(len(ids), dtype=np.float32)
            elif isinstance(raw_weights, float):
                tfs = np.full(len(ids), raw_weights, dtype=np.float32)
            else:
                tfs = np.asarray(raw_weights, dtype=np.float32)
            id_parts.append(ids)
            tf_parts.append(tfs)
            matcher._next_block()
    else:  # inlined or other posting lists: the generic interface
        ids_list, tf_list = [], []
        while matcher.is_active():  # type: ignore[attr-defined]
            ids_list.append(matcher.id())  # type: ignore[attr-defined]
            tf_list.append(matcher.weight())  # type: ignore[attr-defined]
            matcher.next()  # type: ignore[attr-defined]
        id_parts.append(np.asarray(ids_list, dtype=np.int64))
        tf_parts.append(np.asarray(tf_list, dtype=np.float32))
    if not id_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate(id_parts), np.concatenate(tf_parts)


def decode_with_positions(matcher: object) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
    """(local docnums, weights, positions per posting, all positions) of a positional list.

    Whoosh's Positions format stores each posting as its count and a pickled
    list of gaps; the gaps are unpickled in C and summed with numpy, a block
    at a time, instead of one Python loop per posting.
    """
    if not isinstance(matcher, W3LeafMatcher):  # inlined lists: one posting at a time
        docs, weights, values = [], [], []
        while matcher.is_active():  # type: ignore[attr-defined]
            docs.append(matcher.id())  # type: ignore[attr-defined]
            weights.append(matcher.weight())  # type: ignore[attr-defined]
            values.append(matcher.value())  # type: ignore[attr-defined]
            matcher.next()  # type: ignore[attr-defined]
        blocks = [(np.asarray(docs, dtype=np.int64), np.asarray(weights, dtype=np.float32),
                   values)]
    else:
        blocks = []
        while matcher.is_active():
            matcher._read_data()
            raw_ids, raw_weights, values = matcher._data
            block_ids = np.cumsum(np.asarray(raw_ids, dtype=np.int64))
            if raw_weights is None:
                block_weights = np.ones(len(block_ids), dtype=np.float32)
            elif isinstance(raw_weights, float):
                block_weights = np.full(len(block_ids), raw_weights, dtype=np.float32)
            else:
                block_weights = np.asarray(raw_weights, dtype=np.float32)
            blocks.append((block_ids, block_weights, values))
            matcher._next_block()
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
