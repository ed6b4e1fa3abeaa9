"""Facet counts from column arrays loaded once per index generation.

Whoosh's grouped collectors re-read every matching document for every query
(seconds at p95 on 40k articles). The indexer keeps each facet's values in a
column (`facet_<name>`, values joined by FACET_SEP); here they become two
parallel arrays (document, value id), so a count is one `bincount` over the
matched documents and a filter is one boolean mask.

Counting is disjunctive within a facet and conjunctive across facets: the
counts of a facet ignore that facet's own selection, so selecting one
province still shows how many articles the other provinces have.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from indexer.schema import FACET_SEP, FACETS

from .postings import IndexView

_TYPE_NAMES = {
    "KL": "Kết luận",
    "NQ": "Nghị quyết",
    "CT": "Chỉ thị",
    "QĐ": "Quy định",
    "QD": "Quy định",
    "HD": "Hướng dẫn",
    "KH": "Kế hoạch",
    "TB": "Thông báo",
    "QC": "Quy chế",
    "CV": "Công văn",
    "BC": "Báo cáo",
}


def directive_label(code: str, kind: str | None = None) -> str:
    """`21-KL/TW` → `Kết luận 21-KL/TW` (the indexer's own labels when it has them)."""
    try:  # the extraction module knows the document types best
        from indexer import directives as _directives

        for name in ("label", "directive_label", "code_label"):
            func = getattr(_directives, name, None)
            if callable(func):
                try:
                    value = func(code)
                except Exception:  # noqa: BLE001 - a label is never worth an error
                    continue
                if isinstance(value, str) and value:
                    return value
    except ImportError:
        pass
    if not kind:
        letters = code.split("-", 1)[-1].split("/", 1)[0] if "-" in code else ""
        kind = _TYPE_NAMES.get(letters)
    return f"{kind} {code}" if kind else code


class FacetIndex:
    """Per-facet (document, value) pairs as arrays, plus the date column."""

    def __init__(self, view: IndexView) -> None:
        self.doc_count = view.doc_count_all
        self.values: dict[str, list[str]] = {}
        self.value_ids: dict[str, dict[str, int]] = {}
        self.entry_doc: dict[str, np.ndarray] = {}
        self.entry_val: dict[str, np.ndarray] = {}
        for name in FACETS:
            vocab: dict[str, int] = {}
            docs: list[int] = []
            vals: list[int] = []
            for docnum, raw in enumerate(view.column(f"facet_{name}")):
                if not raw:
                    continue
                text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
                for value in text.split(FACET_SEP):
                    if value:
                        docs.append(docnum)
                        vals.append(vocab.setdefault(value, len(vocab)))
            self.values[name] = list(vocab)
            self.value_ids[name] = vocab
            self.entry_doc[name] = np.asarray(docs, dtype=np.int32)
            self.entry_val[name] = np.asarray(vals, dtype=np.int32)
        dates = [d if isinstance(d, str) else (d or b"").decode() for d in view.column("date")]
        self.dates = np.asarray(dates, dtype="U10") if dates else np.zeros(0, dtype="U10")

    def mask(self, name: str, selected: list[str]) -> np.ndarray | None:
        """Documents having any of `selected` values of facet `name` (None: no filter)."""
        ids = [self.value_ids[name][v] for v in selected if v in self.value_ids.get(name, {})]
        out = np.zeros(self.doc_count, dtype=bool)
        if ids:
            entries = np.isin(self.entry_val[name], ids)
            out[self.entry_doc[name][entries]] = True
        return out

    def filter_masks(self, filters: Mapping[str, list[str]]) -> dict[str, np.ndarray]:
        return {name: self.mask(name, values) for name, values in filters.items() if values}

    def count(self, name: str, matched: np.ndarray) -> list[tuple[str, int]]:
        """(value, count) for the documents in boolean mask `matched`, most frequent first."""
        docs = self.entry_doc[name]
        if not len(docs):
            return []
        counts = np.bincount(self.entry_val[name][matched[docs]], minlength=len(self.values[name]))
        nonzero = np.nonzero(counts)[0]
        values = self.values[name]
        pairs = [(values[i], int(counts[i])) for i in nonzero]
        if name == "year":
            pairs.sort(key=lambda p: p[0], reverse=True)
        else:
            pairs.sort(key=lambda p: (-p[1], p[0]))
        return pairs

    def counts(
        self, matched: np.ndarray, masks: dict[str, np.ndarray], selected: Mapping[str, list[str]]
    ) -> dict[str, list[dict]]:
        """All facets' counts: each facet filtered by every selection except its own.

        Selected values are always listed (with their count, possibly 0) so a
        user can see and undo their choice.
        """
        result: dict[str, list[dict]] = {}
        for name in FACETS:
            base = matched
            for other, mask in masks.items():
                if other != name:
                    base = base & mask
            pairs = self.count(name, base)
            present = {value for value, _ in pairs}
            for value in selected.get(name, []):
                if value not in present:
                    pairs.append((value, 0))
            entries = []
            for value, count in pairs:
                entry: dict = {"value": value, "count": count}
                if name == "directive":
                    entry["label"] = directive_label(value)
                entries.append(entry)
            result[name] = entries
        return result
