"""Facet counts from column arrays loaded once per index generation.

Whoosh's grouped collectors re-read every matching document for every query
(seconds at p95 on 40k articles). The indexer keeps each facet's values in a
column (`facet_<name>`, values joined by FACET_SEP); here they become two
parallel arrays (document, value id), so a count is one `bincount` over the
matched documents and a filter is one boolean mask.

Counting is disjunctive within a facet and conjunctive across facets: the
counts of a facet ignore that facet's own selection, so selecting one
province still shows how many articles the other provinces have.

`locality_tree` nests the three locality facets as the articles' locality
records do (a district under its own province, so two `Châu Thành` in two
provinces stay apart). Its (document, node) pairs come from the stored
records, read once per segment: segments are immutable, so after a commit
only the new segment is read. `locality_tree_2025` is the 2025 view: 2025
province → commune, ward or special zone (by official code, with its label).

Filters on a district, a commune or a 2025 unit also match the articles
about the other generation's units that one became or was made from: the
indexer stores those as keys of the hidden `locality_any` facet
(`indexer.localities.locality_keys`), so a filter is still one mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from indexer import derived
from indexer.backend import Generation, Segment
from indexer.derived import facet_pairs
from indexer.directives import directive_label
from indexer.localities import codes_2025, name_key, unit_2025
from indexer.normalize import fold
from indexer.schema import FACETS, HIDDEN_FACETS

#: The locality facets, top down: the levels of `locality_tree`.
LEVELS = derived.TREE_LEVELS
#: Filters that also match the other generation, and their `locality_any` key prefix.
_ACROSS = {"district": "d:", "commune": "c:", "commune_2025": "n:"}

class FacetIndex:
    """Per-facet (document, value) pairs as arrays, plus the date column."""

    def __init__(self, view: Generation) -> None:
        self.view = view
        self.doc_count = view.doc_count_all
        self.values: dict[str, list[str]] = {}
        self.value_ids: dict[str, dict[str, int]] = {}
        self.entry_doc: dict[str, np.ndarray] = {}
        self.entry_val: dict[str, np.ndarray] = {}
        for name in FACETS + HIDDEN_FACETS:
            self.values[name], self.entry_doc[name], self.entry_val[name] = _merge(
                [(_segment_facet(seg, name), seg.offset) for seg in view.segments])
            self.value_ids[name] = {v: i for i, v in enumerate(self.values[name])}
        parts = [_segment_dates(seg) for seg in view.segments]
        self.dates = np.concatenate(parts) if parts else np.zeros(0, dtype="U10")
        self._tree: _Tree | None = None
        self._folded_places: dict[str, list[str]] | None = None
        self._ranks: dict[str, np.ndarray] = {}

    def value_rank(self, name: str) -> np.ndarray:
        """Each value id's place in the facet's values sorted by name (built on first use)."""
        rank = self._ranks.get(name)
        if rank is None:
            values = self.values[name]
            rank = np.empty(len(values), dtype=np.int64)
            rank[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
            self._ranks[name] = rank
        return rank

    @property
    def tree_entries(self) -> _Tree:
        """The locality tree's nodes and (document, node) entries, built on first use."""
        if self._tree is None:
            nodes, docs, vals = _merge(
                [(_segment_tree(seg), seg.offset) for seg in self.view.segments])
            self._tree = _Tree(nodes, docs, vals)
        return self._tree

    def place_keys(self, name: str) -> list[str]:
        """The `q:` keys of `locality_any` for a place name: as typed, or folded when typed
        without marks (every place whose name folds to it)."""
        key = f"q:{name_key(name)}"
        if key in self.value_ids["locality_any"]:
            return [key]
        if fold(name) != name_key(name):
            return []
        if self._folded_places is None:
            self._folded_places = {}
            for value in self.values["locality_any"]:
                if value.startswith("q:"):
                    self._folded_places.setdefault(fold(value[2:]), []).append(value)
        return self._folded_places.get(fold(name), [])

    def mask(self, name: str, selected: list[str]) -> np.ndarray | None:
        """Documents having any of `selected` values of facet `name` (None: no filter)."""
        ids = [self.value_ids[name][v] for v in selected if v in self.value_ids.get(name, {})]
        out = np.zeros(self.doc_count, dtype=bool)
        if ids:
            entries = np.isin(self.entry_val[name], ids)
            out[self.entry_doc[name][entries]] = True
        return out

    def filter_masks(self, filters: Mapping[str, list[str]]) -> dict[str, np.ndarray]:
        masks = {}
        for name, values in filters.items():
            if not values:
                continue
            if name == "commune_2025":
                values = resolve_2025(values)
            mask = self.mask(name, values)
            if name in _ACROSS:
                mask |= self.mask("locality_any", [_ACROSS[name] + v for v in values])
            masks[name] = mask
        return masks

    def count(self, name: str, matched: np.ndarray) -> list[tuple[str, int]]:
        """(value, count) for the documents in boolean mask `matched`, most frequent first."""
        docs = self.entry_doc[name]
        if not len(docs):
            return []
        counts = np.bincount(self.entry_val[name][matched[docs]], minlength=len(self.values[name]))
        nonzero = np.nonzero(counts)[0]
        rank = self.value_rank(name)[nonzero]
        if name == "year":  # newest first
            order = nonzero[np.argsort(-rank)]
        else:  # most frequent first, then by name
            order = nonzero[np.lexsort((rank, -counts[nonzero]))]
        values = self.values[name]
        return [(values[i], int(c)) for i, c in zip(order.tolist(),
                                                    counts[order].tolist(), strict=True)]

    def counts(
        self, matched: np.ndarray, masks: dict[str, np.ndarray], selected: Mapping[str, list[str]],
        limit: int | None = None, totals: dict[str, int] | None = None,
    ) -> dict[str, list[dict]]:
        """All facets' counts: each facet filtered by every selection except its own.

        Selected values are always listed (with their count, possibly 0) so a
        user can see and undo their choice. With `limit`, each list (and each
        level of `locality_tree`) keeps its `limit` most frequent values and
        the selected ones; `totals` then gets how many values each facet has.
        """
        result: dict[str, list[dict]] = {}
        for name in FACETS:
            base = matched
            for other, mask in masks.items():
                if other != name:
                    base = base & mask
            pairs = self.count(name, base)
            chosen = selected.get(name, [])
            if name == "commune_2025":
                chosen = resolve_2025(chosen)
            if totals is not None:
                totals[name] = len(pairs)
            if limit is not None and len(pairs) > limit:
                wanted = set(chosen)
                pairs = pairs[:limit] + [p for p in pairs[limit:] if p[0] in wanted]
            present = {value for value, _ in pairs}
            for value in chosen:
                if value not in present:
                    pairs.append((value, 0))
            entries = []
            for value, count in pairs:
                entry: dict = {"value": value, "count": count}
                if name == "directive":
                    entry["label"] = directive_label(value)
                elif name == "commune_2025":
                    unit = unit_2025(value)
                    entry["label"] = unit.label if unit else value
                entries.append(entry)
            result[name] = entries
        result["locality_tree"] = self.tree(matched, masks, limit, selected)
        result["locality_tree_2025"] = tree_2025(result["province_2025"],
                                                 result["commune_2025"])
        return result

    def tree(self, matched: np.ndarray, masks: dict[str, np.ndarray], limit: int | None = None,
             selected: Mapping[str, list[str]] | None = None) -> list[dict]:
        """Province → district → commune with counts, each level's own selection ignored.

        A node is listed when it counts, or when a node below it does; with
        `limit`, only the `limit` most frequent nodes of each level count (and
        those named as `selected`).
        """
        tree = self.tree_entries
        if not len(tree.docs):
            return []
        counts = np.zeros(len(tree.nodes), dtype=np.int64)
        for level, name in enumerate(LEVELS, 1):
            base = matched
            for other, mask in masks.items():
                if other != name:
                    base = base & mask
            keep = tree.entry_level == level
            keep &= base[tree.docs]
            counts += np.bincount(tree.vals[keep], minlength=len(tree.nodes))
        shown = counts > 0
        if limit is not None:
            for level, name in enumerate(LEVELS, 1):
                at_level = np.nonzero(shown & (tree.depth == level))[0]
                if len(at_level) > limit:
                    order = at_level[np.lexsort((tree.rank[at_level], -counts[at_level]))]
                    wanted = set((selected or {}).get(name, []))
                    for i in order[limit:].tolist():
                        if tree.nodes[i][-1] not in wanted:
                            shown[i] = False
        for _ in range(2):  # the parents and grandparents of what counts
            up = tree.parent[shown]
            shown[up[up >= 0]] = True
        picked = np.nonzero(shown)[0]
        # Deepest first, then most frequent, then by name: children lists come out sorted.
        picked = picked[np.lexsort((tree.rank[picked], -counts[picked], -tree.depth[picked]))]
        children: dict[int, list[dict]] = {}
        roots: list[dict] = []
        for i in picked.tolist():
            entry: dict = {"value": tree.nodes[i][-1], "count": int(counts[i])}
            if tree.depth[i] < 3:
                entry["children"] = children.pop(i, [])
            parent = int(tree.parent[i])
            (children.setdefault(parent, []) if parent >= 0 else roots).append(entry)
        return roots


def resolve_2025(values: list[str]) -> list[str]:
    """The 2025 codes of typed `commune_2025` values: codes, or names (`xã Bình Mỹ`)."""
    return list(dict.fromkeys(code for v in values for code in (codes_2025(v) or [v])))


def tree_2025(provinces: list[dict], communes: list[dict]) -> list[dict]:
    """2025 province → commune/ward/special zone, from the two facets' counts.

    A commune's entry keeps its code as `value` (what the filter takes) and
    gets a `label` without the province its parent already shows.
    """
    roots = [{"value": p["value"], "count": p["count"], "children": []} for p in provinces]
    by_name = {root["value"]: root for root in roots}
    for entry in communes:
        unit = unit_2025(entry["value"])
        if unit is None:
            continue
        parent = by_name.get(unit.province)
        if parent is None:
            parent = by_name[unit.province] = {"value": unit.province, "count": 0,
                                               "children": []}
            roots.append(parent)
        label = unit.label.removesuffix(f" ({unit.province})")
        parent["children"].append({"value": entry["value"], "label": label,
                                   "count": entry["count"]})
    return roots


class _Tree:
    """Locality tree nodes (paths) with their depth, parent and name order, and entries."""

    def __init__(self, nodes: list[tuple[str, ...]], docs: np.ndarray, vals: np.ndarray) -> None:
        self.nodes = nodes
        self.docs = docs
        self.vals = vals
        ids = {path: i for i, path in enumerate(nodes)}
        self.depth = np.asarray([len(p) for p in nodes], dtype=np.int64)
        self.parent = np.asarray([ids.get(p[:-1], -1) for p in nodes], dtype=np.int64)
        self.rank = np.empty(len(nodes), dtype=np.int64)
        self.rank[sorted(range(len(nodes)), key=nodes.__getitem__)] = np.arange(len(nodes))
        self.entry_level = self.depth[vals] if len(vals) else np.zeros(0, dtype=np.int64)


# -- per-segment entries --------------------------------------------------------


def _merge(parts: list[tuple[tuple[list, np.ndarray, np.ndarray], int]]
           ) -> tuple[list, np.ndarray, np.ndarray]:
    """Segments' (values, local docs, local value ids) as one global triple."""
    values: list = []
    ids: dict = {}
    docs: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for (local_values, local_docs, local_vals), offset in parts:
        mapping = np.asarray([ids.setdefault(v, len(ids)) for v in local_values], dtype=np.int32)
        if len(local_docs):
            docs.append(local_docs + offset)
            vals.append(mapping[local_vals])
    values = list(ids)
    if not docs:
        return values, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    return values, np.concatenate(docs).astype(np.int32), np.concatenate(vals).astype(np.int32)


def _segment_facet(seg: Segment, name: str) -> tuple[list, np.ndarray, np.ndarray]:
    """(values, local docs, value ids) of one facet in one segment.

    Memory-mapped from the segment's derived arrays when it has them
    (`indexer.derived` writes the same triple at commit), else decoded here.
    """

    def build() -> tuple[list, np.ndarray, np.ndarray]:
        arrays = seg.arrays()
        mapped = arrays.facet(name) if arrays is not None else None
        if mapped is not None:
            return mapped
        return facet_pairs(seg.column(f"facet_{name}"))

    return seg.memo(("facet", name), build)


def _segment_dates(seg: Segment) -> np.ndarray:
    def build() -> np.ndarray:
        arrays = seg.arrays()
        mapped = arrays.dates() if arrays is not None else None
        if mapped is not None:
            return mapped
        dates = [d if isinstance(d, str) else (d or b"").decode() for d in seg.column("date")]
        return np.asarray(dates, dtype="U10") if dates else np.zeros(0, dtype="U10")

    return seg.memo("dates", build)


def _segment_tree(seg: Segment) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray]:
    """(node paths, local docs, node ids): every document's province, district, commune nodes.

    A document with provinces only needs no record; the others' locality
    records say which district lies in which province.
    """
    return seg.memo("tree", lambda: _build_tree(seg))


def _build_tree(seg: Segment) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray]:
    arrays = seg.arrays()
    mapped = arrays.tree() if arrays is not None else None
    if mapped is not None:
        return mapped
    columns = [seg.column(f"facet_{name}") for name in LEVELS]
    provinces, districts, communes = columns
    records: dict[int, Any] = {}
    reader = getattr(seg, "stored_field", None)
    if reader is not None:  # a remote store reads the records together
        records = reader([d for d in range(seg.doc_count_all)
                          if provinces[d] and (districts[d] or communes[d])], "record")
    return derived.tree_pairs(*columns, record=lambda d: records[d] if d in records
                              else seg.stored(d).get("record"))
