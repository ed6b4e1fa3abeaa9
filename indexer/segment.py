"""Vietnamese word segmentation with pyvi's CRF, keeping offsets into the original.

pyvi's own `tokenize` returns a string: offsets are lost, NFD input is
recomposed, codes such as `21-KL/TW` come back as `21 - KL / TW`, and its
string building is quadratic in the input length. Here the text is
normalised (with an offset map), split into syllables with pyvi's own
pattern plus patterns for document codes and dates, tagged one paragraph
(or sentence, for long paragraphs) at a time, and joined into words with
pyvi's own rule. Each word keeps the span of the original text it came from.

The tagger is the fast, pyvi-identical `crfseg` when available; set
`VNSEARCH_SEGMENTER=pyvi` to use pyvi's own feature code instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

from .normalize import normalize_with_offsets

#: Party and state document codes: `21-KL/TW`, `25 -KH/ĐU`, `123/QĐ-UBND`.
CODE_PATTERN = (
    r"\d{1,4}\s?-\s?[A-ZĐa-zđ]{2,6}(?:\s?/\s?[A-ZĐa-zđ]{2,8}){1,2}(?![\w/])"
    r"|\d{1,5}/[A-ZĐa-zđ]{2,6}(?:-[A-ZĐa-zđ]{2,10})+(?![\w-])"
)
_CODE_RE = re.compile(CODE_PATTERN)
_DATE = r"\d{1,2}/\d{1,2}/\d{2,4}(?![\d/])|\d{1,2}/\d{4}(?![\d/])|\d{1,2}/\d{1,2}(?![\d/])"
# pyvi's syllable pattern (ViTokenizer.sylabelize), with codes and dates first.
_PYVI_PARTS = [
    r"[A-ZĐ]+\.",
    r"Tp\.",
    r"Mr\.",
    r"Mrs\.",
    r"Ms\.",
    r"Dr\.",
    r"ThS\.",
    r"==>",
    r"->",
    r"\.\.\.",
    r">>",
    r"\w+://[^\s]+",
    r"[a-zA-Z0-9_.+-]+@(?:[a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+",
    r"\d+(?:[\.,_]\d+)+",
    r"[^\w\s]",
    r"\w+",
]
_SYLLABLE_RE = re.compile("|".join([CODE_PATTERN, _DATE, *_PYVI_PARTS]))
_SENTENCE_END = frozenset(".!?;")
#: Tag paragraphs longer than this many syllables one sentence at a time.
MAX_CHUNK = 400


class Syllable(NamedTuple):
    text: str  # normalised, case kept
    start: int  # offsets into the original text
    end: int


class Word(NamedTuple):
    text: str  # normalised syllables joined by "_", case kept: "Xây_dựng"
    start: int
    end: int
    syllables: tuple[Syllable, ...]


Tagger = Callable[[Sequence[str]], list[str]]


def _pyvi_tagger() -> Tagger:
    from pyvi.ViTokenizer import ViTokenizer

    def tag(syllables: Sequence[str]) -> list[str]:
        features = ViTokenizer.sent2features(list(syllables), False)
        return list(ViTokenizer.model.predict([features])[0])

    return tag


@lru_cache(maxsize=1)
def get_tagger() -> Tagger:
    """The B_W/I_W tagger: `crfseg` (fast, identical) unless VNSEARCH_SEGMENTER=pyvi."""
    if os.environ.get("VNSEARCH_SEGMENTER", "").lower() != "pyvi":
        try:
            from . import crfseg

            return crfseg.tag
        except ImportError:
            pass
    return _pyvi_tagger()


def canonical_code(code: str) -> str:
    """`21- kl/tw` → `21-KL/TW`: spaces removed, letters upper, number padded to 2."""
    compact = re.sub(r"\s+", "", code).upper()
    if "-" in compact.split("/")[0]:
        number, rest = compact.split("-", 1)
        return f"{int(number):02d}-{rest}"
    return compact


def _chunks(tokens: list[tuple[str, int, int]], text: str) -> list[list[tuple[str, int, int]]]:
    """Paragraphs, with paragraphs over MAX_CHUNK syllables cut at sentence ends."""
    chunks: list[list[tuple[str, int, int]]] = []
    current: list[tuple[str, int, int]] = []
    previous_end = 0
    for token in tokens:
        if current and (
            "\n" in text[previous_end : token[1]]
            or (len(current) >= MAX_CHUNK and current[-1][0] in _SENTENCE_END)
            or len(current) >= 4 * MAX_CHUNK
        ):
            chunks.append(current)
            current = []
        current.append(token)
        previous_end = token[2]
    if current:
        chunks.append(current)
    return chunks


def _joins(previous: str, current: str, label: str) -> bool:
    """pyvi's rule for attaching a syllable to the word before it."""
    return (
        label == "I_W"
        and current[0].isalnum()
        and previous[-1].isalnum()
        and not current[0].isdigit()
        and not previous[0].isdigit()
        and not (current[0].istitle() and not previous[0].istitle())
    )


@lru_cache(maxsize=16)
def segment(text: str) -> tuple[Word, ...]:
    """The words of `text`, punctuation dropped, with offsets into `text` itself.

    Cached because one text is analysed for several fields (accented words,
    folded words, folded syllables) in a row.
    """
    normalised, starts, ends = normalize_with_offsets(text)
    tokens = []
    for match in _SYLLABLE_RE.finditer(normalised):
        token = match.group()
        if _CODE_RE.fullmatch(token):
            token = canonical_code(token)
        tokens.append((token, match.start(), match.end()))
    tag = get_tagger()
    words: list[Word] = []
    for chunk in _chunks(tokens, normalised):
        labels = tag([token for token, _, _ in chunk])
        group: list[tuple[str, int, int]] = []
        for i, token in enumerate(chunk):
            if group and not _joins(chunk[i - 1][0], token[0], labels[i]):
                _emit(group, words, starts, ends)
                group = []
            group.append(token)
        _emit(group, words, starts, ends)
    return tuple(words)


def _emit(
    group: list[tuple[str, int, int]],
    words: list[Word],
    starts: list[int] | None,
    ends: list[int] | None,
) -> None:
    if not group or not any(ch.isalnum() for token, _, _ in group for ch in token):
        return
    if starts is None or ends is None:
        syllables = tuple(Syllable(t, a, b) for t, a, b in group)
    else:
        syllables = tuple(Syllable(t, starts[a], ends[b - 1]) for t, a, b in group)
    words.append(
        Word("_".join(s.text for s in syllables), syllables[0].start, syllables[-1].end, syllables)
    )


def tokenize(text: str) -> str:
    """pyvi-style output (`Xây_dựng Đảng`) for display and debugging."""
    return " ".join(word.text for word in segment(text))
