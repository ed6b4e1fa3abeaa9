"""Whoosh analyzers for Vietnamese, composed the Whoosh way: tokenizer | filters.

Three views of the same text feed the index:

- `words_analyzer()`: pyvi words, normalised and lowercased (`xây_dựng`);
  exact spellings rank higher through this field.
- `folded_words_analyzer()`: the same words without diacritics (`xay_dung`).
- `folded_syllables_analyzer()`: single syllables without diacritics, with
  consecutive positions (`xay`, `dung`), so an accent-free phrase matches even
  where pyvi cannot segment the query itself.

Token offsets (`startchar`, `endchar`) always point into the original text,
whatever its Unicode form, so `original[start:end]` is the word as written.
"""

from __future__ import annotations

from collections.abc import Iterator

from whoosh.analysis import Analyzer, Filter, Token, Tokenizer

from .normalize import fold, lower, normalize, strip_diacritics
from .segment import segment


class VietnameseTokenizer(Tokenizer):
    """pyvi word segmentation as a Whoosh tokenizer (one token per word)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

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
        **kwargs: object,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = normalize(value)
            token.syllables = ()
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        for pos, word in enumerate(segment(value), start_pos):
            token.text = word.text
            token.syllables = word.syllables
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[word.start : word.end]
            if positions:
                token.pos = pos
            if chars:
                token.startchar = start_char + word.start
                token.endchar = start_char + word.end
            yield token


class SyllableFilter(Filter):
    """Splits each word token into its syllables, numbering positions anew."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        pos = None
        for token in tokens:
            if pos is None and token.positions:
                pos = token.pos
            syllables = token.syllables or ()
            if not syllables:
                yield token
                if pos is not None:
                    pos += 1
                continue
            offset = token.startchar - syllables[0].start if token.chars else 0
            for syllable in syllables:
                token.text = syllable.text
                if token.positions:
                    token.pos = pos
                    pos += 1
                if token.chars:
                    token.startchar = offset + syllable.start
                    token.endchar = offset + syllable.end
                yield token


class VietnameseLowercaseFilter(Filter):
    """Lowercases without changing the length of the text (Đ→đ, Ư→ư)."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = lower(token.text)
            yield token


class FoldFilter(Filter):
    """Removes diacritics, đ→d: `xây_dựng` → `xay_dung`."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for token in tokens:
            token.text = strip_diacritics(token.text)
            yield token


def words_analyzer() -> Analyzer:
    return VietnameseTokenizer() | VietnameseLowercaseFilter()


def folded_words_analyzer() -> Analyzer:
    return VietnameseTokenizer() | VietnameseLowercaseFilter() | FoldFilter()


def folded_syllables_analyzer() -> Analyzer:
    return VietnameseTokenizer() | SyllableFilter() | VietnameseLowercaseFilter() | FoldFilter()


__all__ = [
    "FoldFilter",
    "SyllableFilter",
    "VietnameseLowercaseFilter",
    "VietnameseTokenizer",
    "fold",
    "folded_syllables_analyzer",
    "folded_words_analyzer",
    "words_analyzer",
]
