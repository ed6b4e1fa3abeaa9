"""The one analysis of Vietnamese text: what the index, the query parser and the highlighter match.

Text is normalised and segmented once (`segment.py`: NFC, canonical tone
placement, codes canonical, pyvi words with offsets into the original).
Each *view* then turns the words, or their syllables, into terms:

==================  ========  ============================================
view                unit      terms of `Xây dựng Đảng theo 37-QĐ/TW`
==================  ========  ============================================
words               word      xây_dựng, đảng, theo, 37-qđ/tw
folded_words        word      xay_dung, dang, theo, 37-qd/tw
folded_syllables    syllable  xay, dung, dang, theo, 37-qd/tw
syllables           syllable  xây, dựng, đảng, theo, 37-qđ/tw
codes               word      37-qd/tw
==================  ========  ============================================

A view is one line of `VIEWS`: its unit and the form that turns a unit into
a term. Positions count the view's units (a word view's position is the
word's, so `codes` positions line up with `words`); offsets (`start`,
`end`) point into the original text, whatever its Unicode form, so
`original[start:end]` is the unit as written.

The index writer uses `postings` (schema.VietnameseText), the query parser
`syllables` (webapp/query.py), the highlighter `text_syllables` over the
word offsets the index stores (webapp/snippets.py); `analyzer(view)` is the
same analysis as a Whoosh analyzer.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from whoosh.analysis import Analyzer, Token

from .normalize import fold, lower, normalize
from .segment import Word, is_code, segment
from .segment import syllables as syllable_units

WORD = "word"
SYLLABLE = "syllable"


def accented(unit: str) -> str:
    """The term of an accented view: lowercase, marks kept (`Xây_dựng` → `xây_dựng`)."""
    return lower(unit)


def folded(unit: str) -> str:
    """The term of a folded view: lowercase, marks removed (`Xây_dựng` → `xay_dung`).

    Lowercased before folding, so a letter that is transliterated (`中` →
    `Zhong `) keeps the case the transliteration gives it. Also maps an
    accented term to its folded term (`xây_dựng` → `xay_dung`).
    """
    return fold(lower(unit), keep_case=True)


def code(unit: str) -> str:
    """The term of the codes view: a document code folded (`37-QĐ/TW` → `37-qd/tw`), else ''."""
    return folded(unit) if is_code(unit) else ""


@dataclass(frozen=True)
class View:
    """One way of indexing text: which units, and the term of each ('' leaves it out)."""

    name: str
    unit: str  # WORD or SYLLABLE
    form: Callable[[str], str]


VIEWS: dict[str, View] = {
    view.name: view
    for view in (
        View("words", WORD, accented),
        View("folded_words", WORD, folded),
        View("folded_syllables", SYLLABLE, folded),
        View("syllables", SYLLABLE, accented),
        View("codes", WORD, code),
    )
}

#: Memoised terms per view and unit: a corpus has far fewer distinct words than words.
_TERMS: defaultdict[str, dict[str, str]] = defaultdict(dict)
_TERMS_LIMIT = 500_000


def term(view: str, unit: str) -> str:
    """The term of one unit (a word or syllable as `segment` gives it) in `view`."""
    memo = _TERMS[view]
    found = memo.get(unit)
    if found is None:
        if len(memo) > _TERMS_LIMIT:
            memo.clear()
        found = memo[unit] = VIEWS[view].form(unit)
    return found


class Term(NamedTuple):
    text: str
    pos: int  # position among the view's units
    start: int  # offsets into the original text
    end: int


def _units(words: tuple[Word, ...], unit: str) -> Sequence[Any]:
    if unit == WORD:
        return words
    return [syllable for word in words for syllable in word.syllables]


def terms(text: str, view: str) -> list[Term]:
    """The terms of `text` in `view`, with positions and offsets into `text`."""
    out = []
    for pos, unit in enumerate(_units(segment(text), VIEWS[view].unit)):
        found = term(view, unit.text)
        if found:
            out.append(Term(found, pos, unit.start, unit.end))
    return out


def postings(text: str, view: str) -> dict[str, list[int]]:
    """Each term of `text` in `view` with its positions: what the index writes."""
    memo = _TERMS[view]
    out: dict[str, list[int]] = {}
    for pos, unit in enumerate(_units(segment(text), VIEWS[view].unit)):
        found = memo.get(unit.text)
        if found is None:
            found = term(view, unit.text)
        if found:
            positions = out.get(found)
            if positions is None:
                out[found] = [pos]
            else:
                positions.append(pos)
    return out


# -- syllables with both forms: the query parser and the highlighter ------------


class Syl(NamedTuple):
    """One syllable: its folded and accented (lowercase) terms, offsets in the text."""

    folded: str
    lowered: str
    start: int
    end: int


@lru_cache(maxsize=200_000)
def _forms(written: str) -> tuple[str, str]:
    """(folded, lowered) of one syllable as written (normalised here)."""
    unit = normalize(written)
    return term("folded_syllables", unit), accented(unit)


def syllables(text: str) -> list[Syl]:
    """Every syllable of `text`'s words, as the folded syllables view indexes them."""
    return [
        Syl(*_forms(unit.text), unit.start, unit.end)
        for word in segment(text)
        for unit in word.syllables
    ]


_PLAIN_WORD = re.compile(r"[^\W\d_]+(?: [^\W\d_]+)*")


@lru_cache(maxsize=20_000)
def _word_syllables(word: str) -> tuple[tuple[str, str, int, int], ...]:
    """(folded, lowered, start, end) of each syllable of one word as written.

    A word of letters and single spaces (most words) is its space-separated
    syllables; any other is split by the segmenter's rules.
    """
    if _PLAIN_WORD.fullmatch(word):
        out = []
        start = 0
        for piece in word.split(" "):
            out.append((*_forms(piece), start, start + len(piece)))
            start += len(piece) + 1
        return tuple(out)
    return tuple((*_forms(unit.text), unit.start, unit.end) for unit in syllable_units(word))


def text_syllables(text: str, spans: list[tuple[int, int]]) -> list[Syl]:
    """The syllables of the words at `spans` (stored word offsets) of `text`.

    Gives what `syllables(text)` gives for those words without segmenting
    the text again. A word of letters and single spaces (most words) is its
    space-separated syllables; any other is split by the segmenter's rules.
    """
    out: list[Syl] = []
    append = out.append
    make = tuple.__new__  # Syl(...) without NamedTuple's Python-level __new__
    of_word = _word_syllables
    for start, end in spans:
        for folded_form, lowered, a, b in of_word(text[start:end]):
            append(make(Syl, (folded_form, lowered, start + a, start + b)))
    return out


@lru_cache(maxsize=512)
def _folded_finder(wanted: frozenset[str]) -> re.Pattern[str]:
    alternatives = sorted(
        ("".join(_letter_class(ch) for ch in w) for w in wanted), key=len, reverse=True
    )
    # Not inside a run of letters; a number may touch a syllable (`7.262da`).
    return re.compile(rf"(?<![^\W\d_])(?:{'|'.join(alternatives)})(?![^\W\d_])")


@lru_cache(maxsize=128)
def _letter_class(ch: str) -> str:
    """A regex class of every letter that folds to `ch` (`d` → `[dDđĐ]`)."""
    return f"[{re.escape(''.join(_folds_to().get(ch, ch)))}]"


@lru_cache(maxsize=1)
def _folds_to() -> dict[str, str]:
    """Each ASCII letter or digit with the Latin letters `fold` turns into it."""
    out: dict[str, str] = {}
    latin = (*range(0x20, 0x250), *range(0x1E00, 0x1F00), *range(0x2100, 0x2150))
    for code_point in latin:
        ch = chr(code_point)
        base = fold(ch)
        if len(base) == 1 and base.isascii() and base.isalnum():
            out[base] = out.get(base, "") + ch
    return out


def find_folded(text: str, wanted: frozenset[str]) -> Iterator[tuple[int, int]]:
    """(start, end) in NFC `text` of every whole syllable whose folded form is in `wanted`.

    `wanted` holds ASCII letters and digits only. Matches the text as written
    (`dang` finds `Đảng`, `đang`, `DANG`) without analysing it.
    """
    for match in _folded_finder(wanted).finditer(text):
        yield match.start(), match.end()


# -- Whoosh -----------------------------------------------------------------------


class ViewAnalyzer(Analyzer):
    """A view as a Whoosh analyzer: the same terms, positions and offsets as `terms`."""

    def __init__(self, view: str) -> None:
        self.view = view

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.view!r})"

    def __hash__(self) -> int:
        return hash((type(self), self.view))

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost = 1.0
        if not tokenize:  # the whole value is one unit
            token.original = normalize(value)
            token.text = term(self.view, token.original)
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        for found in terms(value, self.view):
            token.text = found.text
            token.stopped = False
            if keeporiginal:
                token.original = value[found.start : found.end]
            if positions:
                token.pos = start_pos + found.pos
            if chars:
                token.startchar = start_char + found.start
                token.endchar = start_char + found.end
            yield token


def analyzer(view: str) -> ViewAnalyzer:
    """The Whoosh analyzer of `view` (one of VIEWS)."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; views: {', '.join(VIEWS)}")
    return ViewAnalyzer(view)


# Indexes written before the view analyzers pickled their schema with this
# tokenizer and these filters. They only need to unpickle:
# `schema.VietnameseText` puts its view's analyzer in their place on load.
class VietnameseTokenizer:
    pass


class SyllableFilter:
    pass


class VietnameseLowercaseFilter:
    pass


class FoldFilter:
    pass
