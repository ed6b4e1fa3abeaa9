"""The index's own vocabulary: compounds for accent-free queries, accents back.

pyvi cannot segment accent-free text (`xay dung` stays two syllables), so
the folded query is segmented here against the folded word lexicon of the
index, by dynamic programming over syllables maximising the product of word
probabilities (document frequency / document count). The same lexicons map
each folded word to its accented spellings, most frequent first: that gives
the exact-spelling bonus for partly accented queries, the `suggestion`, and
completions for `suggest()`. Built once per index generation.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Sequence

from indexer.analysis import folded
from indexer.backend import Generation

#: Longest compound considered, in syllables.
MAX_WORD = 4


class Vocabulary:
    def __init__(self, view: Generation, previous: Vocabulary | None = None) -> None:
        self.doc_count = max(view.doc_count, 1)
        lex = {field: view.lexicon(field)
               for field in ("body_f", "title_f", "body_s", "title_s", "body", "title")}
        changes = view.lexicon_changes
        #: A compound seen once in a big index is as likely a segmentation slip.
        self.min_compound_df = 2 if self.doc_count >= 1000 else 1
        self._sorted_keys: list[str] | None = None
        self._syllable_list: list[str] | None = None
        self._compounds: dict[str, list[tuple[str, int]]] | None = None
        #: Accented terms whose document frequency changed since `previous`.
        self.changed_accented: set[str] | None = None
        if previous is not None and all(field in changes for field in lex):
            self._update(previous, lex, changes)
            return
        self.word_df = _max_merge(lex["body_f"], lex["title_f"])
        self.syllable_df = _max_merge(lex["body_s"], lex["title_s"])
        accented: dict[str, dict[str, int]] = {}
        for field in ("body", "title"):
            for term, df in lex[field].items():
                forms = accented.setdefault(folded(term), {})
                forms[term] = max(forms.get(term, 0), df)
        #: Folded word → its accented spellings with their document frequencies,
        #: most frequent first.
        self.accented: dict[str, list[tuple[str, int]]] = {
            key: sorted(forms.items(), key=lambda kv: (-kv[1], kv[0]))
            for key, forms in accented.items()
        }

    def _update(self, previous: Vocabulary, lex: dict[str, dict[str, int]],
                changes: dict[str, set[str]]) -> None:
        """The previous generation's tables, redone for the terms that changed only."""
        self.word_df = _max_update(previous.word_df, lex["body_f"], lex["title_f"],
                                   changes["body_f"] | changes["title_f"])
        self.syllable_df = _max_update(previous.syllable_df, lex["body_s"], lex["title_s"],
                                       changes["body_s"] | changes["title_s"])
        changed = changes["body"] | changes["title"]
        self.changed_accented = changed
        accented = dict(previous.accented)
        by_key: dict[str, set[str]] = {}
        for term in changed:
            by_key.setdefault(folded(term), set()).add(term)
        for key, terms in by_key.items():
            forms = dict(accented.get(key, ()))
            for term in terms:
                df = max(lex["body"].get(term, 0), lex["title"].get(term, 0))
                if df > 0:
                    forms[term] = df
                else:
                    forms.pop(term, None)
            if forms:
                accented[key] = sorted(forms.items(), key=lambda kv: (-kv[1], kv[0]))
            else:
                accented.pop(key, None)
        self.accented = accented
        if previous._compounds is not None:
            self._compounds = _updated_compounds(previous._compounds, by_key, accented)
        if previous._sorted_keys is not None:
            word_changes = changes["body_f"] | changes["title_f"]
            keys = previous._sorted_keys
            added = sorted(k for k in word_changes if k in self.word_df)
            removed = {k for k in word_changes if k not in self.word_df}
            old_keys = [k for k in keys if k not in removed] if removed else keys
            merged = list(heapq.merge(old_keys, added))
            # A key already there and changed appears twice: keep one.
            self._sorted_keys = [k for i, k in enumerate(merged) if i == 0 or merged[i - 1] != k]

    # -- compounds -------------------------------------------------------------

    def _word_cost(self, key: str, single: bool) -> float | None:
        df = self.word_df.get(key, 0)
        if df < (1 if single else self.min_compound_df):
            if not single:
                return None
            df = 0.3  # unknown syllable: still a word, an unlikely one
        return math.log(df / self.doc_count)

    def segment(self, folded: Sequence[str]) -> list[tuple[int, int]]:
        """Split folded syllables into known words: [(start, end)].

        Fewest words first (maximum matching, the classic baseline for
        Vietnamese: a frequent lone syllable such as `lai` must not break up
        `gia_lai`), then the most probable split (document frequencies).
        """
        n = len(folded)
        worst = (math.inf, math.inf)
        best: list[tuple[float, float]] = [(0, 0.0)] + [worst] * n
        back = [0] * (n + 1)
        for end in range(1, n + 1):
            for start in range(max(0, end - MAX_WORD), end):
                if best[start] == worst:
                    continue
                cost = self._word_cost("_".join(folded[start:end]), end - start == 1)
                if cost is None:
                    continue
                candidate = (best[start][0] + 1, best[start][1] - cost)
                if candidate < best[end]:
                    best[end] = candidate
                    back[end] = start
        spans = []
        end = n
        while end > 0:
            start = back[end]
            spans.append((start, end))
            end = start
        return spans[::-1]

    # -- accents ---------------------------------------------------------------

    def variants(self, key: str, typed: Sequence[str | None]) -> list[tuple[str, int]]:
        """Accented words folding to `key` that agree with the accents typed.

        `typed[i]` is the i-th syllable as typed when the user accented it,
        None when typed without accents (any spelling fits).
        """
        out = []
        for word, df in self.forms(key):
            parts = word.split("_")
            if len(parts) == len(typed) and all(
                t is None or t == p for t, p in zip(typed, parts, strict=True)
            ):
                out.append((word, df))
        return out

    def restore(self, key: str, typed: Sequence[str | None]) -> str | None:
        """The most frequent accented spelling of `key` fitting the typed accents."""
        found = self.variants(key, typed)
        return found[0][0] if found else None

    def forms(self, key: str) -> list[tuple[str, int]]:
        """The accented spellings of folded word `key` with their document frequencies."""
        return self.accented.get(key, [])

    @property
    def compounds(self) -> dict[str, list[tuple[str, int]]]:
        """Accented syllable → the accented compounds holding it, most frequent first."""
        if self._compounds is None:
            index: dict[str, list[tuple[str, int]]] = {}
            for forms in self.accented.values():
                for pair in forms:
                    if "_" in pair[0]:
                        for part in set(pair[0].split("_")):
                            index.setdefault(part, []).append(pair)
            for forms in index.values():
                forms.sort(key=lambda kv: -kv[1])
            self._compounds = index
        return self._compounds

    def compounds_with(self, syllable: str) -> list[tuple[str, int]]:
        """Accented compounds holding the accented `syllable`, most frequent first."""
        return self.compounds.get(syllable, [])

    # -- codes and completion --------------------------------------------------

    @property
    def syllable_list(self) -> list[str]:
        """The index's syllables of letters only: the candidates for a typo's correction."""
        if self._syllable_list is None:
            self._syllable_list = sorted(s for s in self.syllable_df if s.isalpha())
        return self._syllable_list

    @property
    def sorted_keys(self) -> list[str]:
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self.word_df)
        return self._sorted_keys

    def with_prefix(self, prefix: str, limit: int = 10_000) -> list[str]:
        """Folded words starting with `prefix`, in lexical order."""
        keys = self.sorted_keys
        i = bisect.bisect_left(keys, prefix)
        out = []
        while i < len(keys) and keys[i].startswith(prefix) and len(out) < limit:
            out.append(keys[i])
            i += 1
        return out

    def codes_for_number(self, number: str, kind: str | None = None) -> list[str]:
        """Directive codes (folded) for a typed number: `21` → `21-kl/tw`, `21-nq/tw`..."""
        if not number.isdigit() or len(number) > 4:
            return []
        prefix = f"{int(number):02d}-" + (f"{kind}/" if kind else "")
        return [k for k in self.with_prefix(prefix, 200) if "/" in k]


def _updated_compounds(previous: dict[str, list[tuple[str, int]]],
                       changed: dict[str, set[str]],
                       accented: dict[str, list[tuple[str, int]]]
                       ) -> dict[str, list[tuple[str, int]]]:
    """The previous syllable → compounds index, redone for the changed compounds only."""
    out = dict(previous)
    for key, words in changed.items():
        now = dict(accented.get(key, ()))
        for word in words:
            if "_" not in word:
                continue
            df = now.get(word, 0)
            for part in set(word.split("_")):
                forms = [f for f in out.get(part, ()) if f[0] != word]
                if df:
                    forms.append((word, df))
                    forms.sort(key=lambda kv: -kv[1])
                if forms:
                    out[part] = forms
                else:
                    out.pop(part, None)
    return out


def _max_merge(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """Per term, the larger of two fields' document frequencies."""
    out = dict(a)
    for term, df in b.items():
        if df > out.get(term, 0):
            out[term] = df
    return out


def _max_update(previous: dict[str, int], a: dict[str, int], b: dict[str, int],
                changed: set[str]) -> dict[str, int]:
    out = dict(previous)
    for term in changed:
        df = max(a.get(term, 0), b.get(term, 0))
        if df > 0:
            out[term] = df
        else:
            out.pop(term, None)
    return out
