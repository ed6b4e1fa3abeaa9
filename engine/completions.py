"""Completions for a typed prefix, accent-free prefixes included.

`xay d` → `xây dựng`: the last, unfinished syllable and up to two syllables
before it are matched as a prefix against the folded word lexicon of the
index; each completion is written with its most frequent accented spelling
(agreeing with any accents typed), and the words before it get their accents
back the same way. Ranked by document frequency, longer matches first.
"""

from __future__ import annotations

from collections.abc import Callable

from indexer.analysis import folded
from indexer.normalize import lower, normalize

from .query import syllables_of
from .ranking import concepts_of
from .vocabulary import Vocabulary

#: Checks whether folded syllables (with the accents typed, None where none)
#: stand in a row in some article.
Occurs = Callable[[tuple[str, ...], tuple[str | None, ...]], bool]
#: Candidate lines checked against the index before giving up.
MAX_CHECKS = 60


def completions(prefix: str, vocab: Vocabulary, limit: int = 8,
                occurs: Occurs | None = None) -> list[str]:
    """Completions of `prefix`, best first.

    With `occurs`, a completion that keeps typed words before the completed
    word is offered only when the whole line stands in a row in some article
    (`binh l` never becomes `binh là` unless an article writes `bình là`).
    """
    text = lower(normalize(prefix))[:200]
    if not text.strip():
        return []
    words = text.split()
    finished = text[-1:].isspace()
    head_text = " ".join(words if finished else words[:-1])
    partial = "" if finished else words[-1]
    head = list(syllables_of(head_text)) if head_text else []
    partial_folded = folded(partial)
    if not partial_folded.replace("-", "").replace("/", "").isalnum() and partial:
        return []
    ranked: dict[str, tuple[float, int]] = {}
    #: Each line's words before the completion, to check that the line occurs.
    phrases: dict[str, tuple[tuple[str, ...], tuple[str | None, ...]] | None] = {}
    for k in range(min(2, len(head)), -1, -1):
        before = head[len(head) - k :]
        stem = "_".join([s.folded for s in before] + ([partial_folded] if partial else []))
        if not stem:
            continue
        if finished:
            stem += "_"
        for key in vocab.with_prefix(stem, 5000):
            df = vocab.word_df.get(key, 0)
            if key == stem or df <= 0:
                if not (key == stem and partial):
                    continue
            typed = [s.text if s.accented else None for s in before]
            word = _spelling(vocab, key, typed, partial)
            if word is None:
                continue
            line = _head(head[: len(head) - k], vocab) + word.replace("_", " ")
            score = (k + (0 if finished else 1), df)
            if line not in ranked or ranked[line] < score:
                ranked[line] = score
                rest = head[: len(head) - k]
                phrases[line] = (
                    tuple(s.folded for s in rest) + tuple(key.split("_")),
                    tuple(s.text if s.accented else None for s in rest)
                    + tuple(None for _ in key.split("_")),
                ) if rest else None  # one word of the lexicon: it occurs
    best = sorted(ranked.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
    out: list[str] = []
    for checked, (line, _) in enumerate(best):
        if len(out) >= limit or (occurs is not None and checked >= MAX_CHECKS):
            break
        phrase = phrases[line]
        if occurs is None or phrase is None or occurs(*phrase):
            out.append(line.strip())
    return out


def _spelling(vocab: Vocabulary, key: str, typed: list[str | None], partial: str) -> str | None:
    """The most frequent accented word for `key` agreeing with what was typed."""
    parts = key.split("_")
    for word, _df in vocab.forms(key):
        syllables = word.split("_")
        if len(syllables) != len(parts):
            continue
        ok = all(t is None or t == s for t, s in zip(typed, syllables, strict=False))
        if ok and partial and partial != folded(partial):
            ok = syllables[len(typed)].startswith(partial)
        if ok:
            return word
    return None


def _head(syllables: list, vocab: Vocabulary) -> str:
    """The finished words before the completion, with their accents restored."""
    if not syllables:
        return ""
    out = []
    for concept in concepts_of(tuple(syllables), vocab):
        word = vocab.restore(concept.key, concept.typed)
        if word is None:
            word = " ".join(t or f for t, f in zip(concept.typed, concept.folded, strict=True))
        out.append(word.replace("_", " "))
    return " ".join(out) + " "
