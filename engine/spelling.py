"""Spellings the index itself uses: the suggested query and completions as written.

The suggestion puts back the accents the index most likely meant, read from
the top hits as the articles write them (`xay dung` → `xây dựng`); a
completion is cased the way the articles write it (`Hà Nội`, not `hà nội`).
Capitals at a title or sentence start say nothing about a word and are not
counted.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import numpy as np
from cachetools import LRUCache
from rapidfuzz import process
from rapidfuzz.distance import OSA

from indexer.analysis import folded, syllables
from indexer.normalize import lower

from .documents import case_texts, read_texts
from .query import ParsedQuery
from .ranking import Concept, concepts_of
from .snapshot import Snapshot
from .vocabulary import Vocabulary


def suggestion(snap: Snapshot, parsed: ParsedQuery, top: np.ndarray,
               seen: dict) -> str | None:
    """The query with the accents the index most likely meant, or None."""
    syllables = parsed.syllables
    if not syllables or all(s.accented for s in syllables if s.folded.isalpha()):
        return None
    if any(c.negated or len(c.alternatives) > 1 for c in parsed.clauses):
        return None
    texts = []
    for docnum in top:
        texts.extend(read_texts(snap, int(docnum), seen)[1])
    partly_accented = any(s.accented for s in syllables)
    parts = []
    for clause in parsed.positive:
        term = clause.alternatives[0]
        concepts = concepts_of(term.syllables, snap.vocab)
        if partly_accented:
            # Words typed without accents but spelled as real words stay as typed
            # (`thu hồi`: `thu` is a word); pretend the user typed them.
            concepts = [_as_typed(c, snap.vocab) for c in concepts]
        written = _written(texts, concepts, snap.vocab, snap.scorer.occurs)
        if written is None:
            return None
        parts.append(f'"{written}"' if term.phrase else written)
    suggestion = " ".join(parts)
    if lower(suggestion).replace('"', "") == " ".join(s.text for s in syllables):
        return None
    return suggestion

def _written(texts: list, concepts: list[Concept], vocab: Vocabulary,
             occurs: Callable[[tuple[str, ...], tuple[str | None, ...]], bool]) -> str | None:
    """Longest runs of concepts found as written in the top hits, else the lexicon's.

    None when a syllable typed without accents was given accents on its own and
    no article writes it so beside its neighbour: `binh luc` over 2026 news,
    where `Bình Lục` no longer occurs, is not `Bính lực`.
    """
    out: list[tuple[str, bool]] = []  # (as written, a lone syllable accented here)
    i = 0
    while i < len(concepts):
        for j in range(min(len(concepts), i + 6), i, -1):
            folded = tuple(f for c in concepts[i:j] for f in c.folded)
            typed = tuple(t for c in concepts[i:j] for t in c.typed)
            found = _as_written(texts, folded, typed)
            if found is not None:
                out.append((found, j == i + 1 and _lone(concepts[i])))
                i = j
                break
        else:
            out.append((_restore(concepts[i], vocab), _lone(concepts[i])))
            i += 1
    return None if _unwritten_pair(out, occurs) else " ".join(text for text, _ in out)


def _unwritten_pair(words: list[tuple[str, bool]],
                    occurs: Callable[[tuple[str, ...], tuple[str | None, ...]], bool]) -> bool:
    """Whether a lone syllable given accents here (`words`: (text, lone)) stands beside a
    neighbour no article writes it next to."""
    for (first, lone_first), (second, lone_second) in zip(words, words[1:], strict=False):
        if lone_first or lone_second:
            pair = syllables(f"{first.split()[-1]} {second.split()[0]}")
            if len(pair) == 2 and not occurs(tuple(s.folded for s in pair),
                                             tuple(s.lowered for s in pair)):
                return True
    return False


def _lone(concept: Concept) -> bool:
    """True for a concept of one syllable typed without accents."""
    return len(concept.folded) == 1 and not concept.accented

#: A typo is corrected to an indexed syllable at most this many edits away.
MAX_EDITS = 2


def max_edits(syllable: str) -> int:
    """Edits allowed to correct a syllable of this length: a short word two edits from
    another is rather another word (or none: `xyz` is not `kỳ`)."""
    return 0 if len(syllable) < 3 else 1 if len(syllable) <= 4 else MAX_EDITS


def corrected(snap: Snapshot, parsed: ParsedQuery) -> str | None:
    """The query with each syllable no article holds replaced by the likeliest indexed one.

    Candidates within `max_edits` edits, a swap of two letters counting one
    (rapidfuzz's optimal string alignment over the index's syllables),
    preferring fewer edits, then a word the neighbouring syllable forms with
    it in the index (`binh lucc` → `bình lục`), then frequency; the words
    are then spelled as most articles spell them (`Bình Lục`). None when no
    syllable needs a fix or none is found.
    """
    if any(c.negated or len(c.alternatives) > 1 for c in parsed.clauses):
        return None
    vocab = snap.vocab
    parts: list[str] = []
    fixed_any = False
    for clause in parsed.positive:
        term = clause.alternatives[0]
        syllables = [s.folded for s in term.syllables]
        typed: list[str | None] = [s.text if s.accented else None for s in term.syllables]
        for i, syllable in enumerate(syllables):
            if syllable in vocab.syllable_df or not syllable.isalpha():
                continue
            best = _closest(vocab, syllable, syllables[i - 1] if i else None,
                            syllables[i + 1] if i + 1 < len(syllables) else None)
            if best is None:
                return None
            syllables[i], typed[i] = best, None
            fixed_any = True
        words = [(_restore(concept, vocab), _lone(concept))
                 for concept in concepts_of_folded(tuple(syllables), tuple(typed), vocab)]
        if _unwritten_pair(words, snap.scorer.occurs):
            return None  # `binh lucc` over 2026 news, where no article writes Bình Lục
        line = cased(snap, " ".join(text for text, _ in words))
        parts.append(f'"{line}"' if term.phrase else line)
    return " ".join(parts) if fixed_any else None


def concepts_of_folded(syllables: tuple[str, ...], typed: tuple[str | None, ...],
                       vocab: Vocabulary) -> list[Concept]:
    """Concepts of folded syllables with the accents typed, segmented against the index."""
    return [Concept(syllables[a:b], typed[a:b]) for a, b in vocab.segment(list(syllables))]


def _closest(vocab: Vocabulary, syllable: str, before: str | None,
             after: str | None) -> str | None:
    edits = max_edits(syllable)
    found = process.extract(syllable, vocab.syllable_list, scorer=OSA.distance,
                            score_cutoff=edits, limit=50) if edits else []
    if not found:
        return None

    def evidence(candidate: str) -> int:
        return max(vocab.word_df.get(f"{before}_{candidate}", 0) if before else 0,
                   vocab.word_df.get(f"{candidate}_{after}", 0) if after else 0)

    return min(found, key=lambda hit: (hit[1], -evidence(hit[0]),
                                       -vocab.syllable_df.get(hit[0], 0), hit[0]))[0]


def cased(snap: Snapshot, line: str) -> str:
    """A completion as the index's articles write it: `Hà Nội`, not `hà nội`.

    Read from a few articles holding its last word(s), capitals at a title or
    sentence start not counting (see `_as_written`); cached per generation.
    """
    cached = snap.cased.get(line)
    if cached is not None:
        return cached
    words = line.split()
    wanted = frozenset(folded(w) for w in words)
    out = line
    for j in range(len(words)):
        term = "_".join(words[j:])
        texts = case_texts(snap, term, wanted)
        if not texts:
            continue
        for start in (0, j) if j else (0,):
            part = words[start:]
            found = _as_written(texts, tuple(folded(w) for w in part), tuple(part))
            if found is not None:
                out = " ".join(words[:start] + [found])
                break
        break
    snap.cased[line] = out
    return out

_SENTENCE_ENDS = frozenset('.!?:;"“”\'‘’…-–—(')
#: Positions by folded syllable of the last few syllable lists (by identity).
_INDEXES: LRUCache = LRUCache(64)

def _first_index(syls: list) -> dict[str, list[int]]:
    """Positions of each folded syllable in `syls` (kept for the last few lists)."""
    cached = _INDEXES.get(id(syls))
    if cached is not None and cached[0] is syls:
        return cached[1]
    index: dict[str, list[int]] = {}
    for i, syl in enumerate(syls):
        index.setdefault(syl.folded, []).append(i)
    _INDEXES[id(syls)] = (syls, index)
    return index

def _as_written(texts: list, folded: tuple[str, ...],
                typed: tuple[str | None, ...]) -> str | None:
    """The most frequent spelling of the syllables in a row in the top hits, as written.

    Only spellings agreeing with the accents the user typed count.
    """
    counts: dict[str, int] = {}
    initial: dict[str, int] = {}
    k = len(folded)
    for text, syls in texts:
        index = _first_index(syls)
        for i in index.get(folded[0], ()):
            run = syls[i : i + k]
            if len(run) != k or any(r.folded != f for r, f in zip(run, folded, strict=True)):
                continue
            if any(t is not None and t != r.lowered for t, r in zip(typed, run, strict=True)):
                continue
            # NFC only: the tone placement the article uses (`ủy` or `uỷ`) is kept.
            form = " ".join(unicodedata.normalize("NFC", text[r.start : r.end]) for r in run)
            before = text[max(0, run[0].start - 3) : run[0].start].strip()
            # Capitals at a title or sentence start say nothing about the word.
            target = initial if not before or before[-1] in _SENTENCE_ENDS else counts
            target[form] = target.get(form, 0) + 1
    if not counts and initial:
        # Seen only at sentence starts: `Giá nho` is `giá nho`, `Hà Nội` stays.
        best = max(initial.items(), key=lambda kv: (kv[1], kv[0]))[0]
        words = best.split()
        if len(words) > 1 and all(w == lower(w) for w in words[1:]):
            return lower(best[:1]) + best[1:]
        return best
    if not counts:
        return None
    best = max(counts.items(), key=lambda kv: (kv[1], kv[0] == lower(kv[0]), kv[0]))[0]
    # A form seen capitalised only at sentence starts is better in lowercase.
    low = lower(best)
    if best != low and best[:1].isupper() and best[1:] == low[1:]:
        if counts.get(low, 0) * 2 >= counts[best]:
            return low
    return best

def _as_typed(concept: Concept, vocab: Vocabulary) -> Concept:
    """The concept with its unaccented syllables fixed when, as typed, it is a real word."""
    typed = "_".join(t or f for t, f in zip(concept.typed, concept.folded, strict=True))
    if any(word == typed for word, _df in vocab.forms(concept.key)):
        return Concept(concept.folded, tuple(typed.split("_")), concept.codes)
    return concept

def _restore(concept: Concept, vocab: Vocabulary) -> str:
    word = vocab.restore(concept.key, concept.typed)
    if word is None:
        return " ".join(t or f for t, f in zip(concept.typed, concept.folded, strict=True))
    return word.replace("_", " ")
