"""A Whoosh posting list as numpy arrays, block by block.

Whoosh's matchers hand out one posting per Python call; its W3 codec keeps
them in blocks of up to 128 that decode as a whole. Reading whole blocks is
what makes decoding every posting of a segment (at commit, `derived.py`) or
a common word's list (at query time) affordable. The codec's private block
calls live here only.
"""

from __future__ import annotations

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher


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
