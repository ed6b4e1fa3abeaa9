"""Vietnamese word segmentation with pyvi's CRF, keeping offsets into the original.

pyvi's own `tokenize` returns a string: offsets are lost, NFD input is
recomposed, codes such as `21-KL/TW` come back as `21 - KL / TW`, and its
string building is quadratic in the input length. Here the text is
normalised (with an offset map), split into syllables with pyvi's own
pattern plus patterns for document codes and dates, tagged one paragraph
(or sentence, for long paragraphs) at a time, and joined into words with
pyvi's own rule. Each word keeps the span of the original text it came from.

The tagger is the fast, pyvi-identical `crfseg`; set
`VNSEARCH_SEGMENTER=pyvi` to use pyvi's own feature code instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

from . import crfseg
from .normalize import normalize_with_offsets

#: Party and state document codes: `21-KL/TW`, `25 -KH/ĐU`, `123/QĐ-UBND`, and
#: `21 KL/TW`, `21KL/TW` (capitals only without the hyphen, so `3 ban/ngành` stays text).
CODE_PATTERN = (
    r"\d{1,4}\s?-\s?[A-ZĐa-zđ]{2,6}(?:\s?/\s?[A-ZĐa-zđ]{2,8}){1,2}(?![\w/])"
    r"|(?<![\w/])\d{1,3}\s?[A-ZĐ]{2,6}(?:\s?/\s?[A-ZĐ]{2,8}){1,2}(?![\w/])"
    r"|\d{1,5}/[A-ZĐa-zđ]{2,6}(?:-[A-ZĐa-zđ]{2,10})+(?![\w-])"
)
_CODE_RE = re.compile(CODE_PATTERN)
_DATE = r"\d{1,2}/\d{1,2}/\d{2,4}(?![\d/])|\d{1,2}/\d{4}(?![\d/])|\d{1,2}/\d{1,2}(?![\d/])"
# pyvi's syllable pattern (newlines aside: paragraphs are tagged apart), codes and dates first.
_PYVI_PARTS = [part for part in crfseg.PYVI_SYLLABLE_PARTS if part != "\n"]
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


@lru_cache(maxsize=1)
def get_tagger() -> Tagger:
    """The B_W/I_W tagger: `crfseg` (fast, identical) unless VNSEARCH_SEGMENTER=pyvi.

    Also pyvi's own code when pyvi's model is not the one `crfseg` was proven on.
    """
    if os.environ.get("VNSEARCH_SEGMENTER", "").lower() == "pyvi" or not crfseg.PROVEN:
        return crfseg.pyvi_tag
    return crfseg.tag


def is_code(syllable: str) -> bool:
    """True when `syllable` is a party or state document code (`21-KL/TW`, `123/QĐ-UBND`)."""
    return syllable[:1].isdigit() and _CODE_RE.fullmatch(syllable) is not None


def _canonical_form(code: str) -> str:
    """`21- kl/tw`, `21 KL/TW`, `21KL/TW` → `21-KL/TW`: one form however typed.

    Spaces removed, letters upper, number padded to 2, the hyphen put back.
    """
    compact = re.sub(r"\s+", "", code).upper()
    head = compact.split("/")[0]
    if "-" in head:
        number, rest = compact.split("-", 1)
        return f"{int(number):02d}-{rest}"
    digits = re.match(r"\d+", head)
    if digits and digits.end() < len(head):  # `21KL/TW`
        return f"{int(digits.group()):02d}-{compact[digits.end():]}"
    return compact


def _chunks(tokens: list[Syllable], text: str) -> list[list[Syllable]]:
    """Paragraphs, with paragraphs over MAX_CHUNK syllables cut at sentence ends."""
    chunks: list[list[Syllable]] = []
    current: list[Syllable] = []
    newline = text.find("\n")  # the first newline after the previous token
    for token in tokens:
        if current and (
            0 <= newline < token.start
            or (len(current) >= MAX_CHUNK and current[-1].text in _SENTENCE_END)
            or len(current) >= 4 * MAX_CHUNK
        ):
            chunks.append(current)
            current = []
        current.append(token)
        if 0 <= newline < token.end:
            newline = text.find("\n", token.end)
    if current:
        chunks.append(current)
    return chunks


def _joins(previous: str, current: str) -> bool:
    """pyvi's rule for attaching an I_W-labelled syllable to the word before it."""
    return (
        current[0].isalnum()
        and previous[-1].isalnum()
        and not current[0].isdigit()
        and not previous[0].isdigit()
        and not (current[0].istitle() and not previous[0].istitle())
    )


def syllables(text: str) -> list[Syllable]:
    """The syllables and punctuation marks of `text`, with offsets into `text` itself.

    Normalised (NFC, canonical tone placement, plain punctuation, case kept);
    a document code is one syllable in its canonical form, however written.
    """
    normalised, starts, ends = normalize_with_offsets(text)
    # Every character that no alternative matches is a space and no match starts
    # with one, so a match starts at the first occurrence of its text after the
    # previous one: findall and str.find cost less than a match object each.
    find = normalised.find
    position = 0
    tokens: list[Syllable] = []
    append = tokens.append
    make = tuple.__new__  # Syllable(...) without NamedTuple's Python-level __new__
    for token in _SYLLABLE_RE.findall(normalised):
        start = find(token, position)
        position = start + len(token)
        if token[0].isdigit() and _CODE_RE.fullmatch(token) is not None:
            token = _canonical_form(token)
        if starts is None or ends is None:
            append(make(Syllable, (token, start, position)))
        else:
            append(make(Syllable, (token, starts[start], ends[position - 1])))
    return tokens


@lru_cache(maxsize=16)
def segment(text: str) -> tuple[Word, ...]:
    """The words of `text`, punctuation dropped, with offsets into `text` itself.

    Cached because one text is analysed for several views (accented words,
    folded words, folded syllables) in a row.
    """
    tokens = syllables(text)
    tag = get_tagger()
    words: list[Word] = []
    append = words.append
    make = tuple.__new__  # Word(...) without NamedTuple's Python-level __new__
    for chunk in _chunks(tokens, text):
        texts = [token.text for token in chunk]
        labels = tag(texts)
        size = len(chunk)
        first = 0
        for i in range(1, size + 1):
            if i < size and labels[i] == "I_W" and _joins(texts[i - 1], texts[i]):
                continue
            head = chunk[first]
            if texts[first][0].isalnum():  # punctuation never starts a word
                if i - first == 1:
                    append(make(Word, (head.text, head.start, head.end, (head,))))
                else:
                    append(make(Word, ("_".join(texts[first:i]), head.start, chunk[i - 1].end,
                                       tuple(chunk[first:i]))))
            first = i
    return tuple(words)
