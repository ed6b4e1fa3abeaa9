"""Text normalisation for matching (never for display).

Users type `hòa` or `hoà`, paste NFD text from Word, write `Đ` in capitals and
use typographic dashes and quotes. Everything that should match must become
the same string here: NFC, one canonical tone-mark placement per syllable,
unified punctuation and spaces, Vietnamese lowercasing and, for the folded
fields, diacritics removed with đ→d.

The canonical tone placement is the older one (`hoà`, `khoẻ`, `thuỷ`),
because pyvi's dictionary only knows that form (see design/segmentation.md).

`normalize_with_offsets` also returns where every normalised character came
from in the original, so highlighting can mark the text exactly as written.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from unidecode import unidecode

# Combining tone marks: grave, acute, tilde, hook above, dot below.
_TONES = "\u0300\u0301\u0303\u0309\u0323"
_VOWELS = frozenset("aăâeêioôơuưy")
_QUALITY_VOWELS = frozenset("ăâêôơư")

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\uff02"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u02bc"
_ODD_SPACES = "\u00a0\u1680\u202f\u205f\u3000\t\r\x0b\x0c" + "".join(
    map(chr, range(0x2000, 0x200B))
)
#: Characters removed outright: zero-width spaces and joiners, BOM, soft hyphen.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"

_PUNCT_TABLE = str.maketrans(
    {
        **{c: "-" for c in _DASHES},
        **{c: '"' for c in _DOUBLE_QUOTES},
        **{c: "'" for c in _SINGLE_QUOTES},
        **{c: " " for c in _ODD_SPACES},
    }
)
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
# A base character followed by its combining marks: the unit NFC works on.
_CLUSTER_RE = re.compile(r"(?s).[\u0300-\u036f]*")


def _build_toned_letters() -> str:
    """All precomposed letters that carry a Vietnamese tone mark."""
    letters = []
    for code in range(0x00C0, 0x1EFA):
        ch = chr(code)
        decomposed = unicodedata.normalize("NFD", ch)
        if any(mark in decomposed for mark in _TONES) and decomposed[0].isalpha():
            letters.append(ch)
    return "".join(letters)


# A syllable holding a tone mark and at least two vowels: only those can
# have their mark in more than one place.
_TONED = _build_toned_letters()
_SYLLABLE_RE = re.compile(
    rf"[^\W\d_]*[{_TONED}][^\W\d_]*",
)


def _tone_position(base: str) -> int | None:
    """Index in the toneless lowercase syllable where the tone mark belongs."""
    start = 0
    if base.startswith("qu"):
        start = 2
    elif base.startswith("gi") and len(base) > 2 and base[2] in _VOWELS:
        start = 2
    while start < len(base) and base[start] not in _VOWELS:
        start += 1
    end = start
    while end < len(base) and base[end] in _VOWELS:
        end += 1
    nucleus = base[start:end]
    if not nucleus:
        return None
    if end < len(base) and not base[end:].isalpha():
        return None
    quality = [i for i, ch in enumerate(nucleus) if ch in _QUALITY_VOWELS]
    if quality:
        return start + quality[-1]
    if end < len(base):  # closed syllable: mark on the last vowel (hoàng, toán)
        return end - 1
    if len(nucleus) == 1:
        return start
    if nucleus in ("oa", "oe", "uy"):  # hoà, khoẻ, thuỷ: the form pyvi knows
        return start + 1
    if len(nucleus) == 2:
        return start
    return start + 1


@lru_cache(maxsize=65536)
def canonical_syllable(syllable: str) -> str:
    """The syllable with its tone mark where the canonical placement puts it."""
    decomposed = unicodedata.normalize("NFD", syllable)
    tones = [ch for ch in decomposed if ch in _TONES]
    if len(tones) != 1:
        return syllable
    base = unicodedata.normalize("NFC", decomposed.replace(tones[0], ""))
    lower = base.lower()
    if len(lower) != len(base) or not all(ch.isalpha() for ch in lower):
        return syllable
    pos = _tone_position(lower)
    if pos is None or lower[pos] not in _VOWELS:
        return syllable
    result = unicodedata.normalize("NFC", base[: pos + 1] + tones[0] + base[pos + 1 :])
    return result if len(result) == len(syllable) else syllable


def _canonical_tones(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        end = match.end()
        if end < len(text) and unicodedata.combining(text[end]):
            return match.group()  # a stray second mark: leave the syllable as written
        return canonical_syllable(match.group())

    return _SYLLABLE_RE.sub(replace, text)


def normalize_with_offsets(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """Normalise `text` (case kept) and map each result character to the original.

    Returns `(normalised, starts, ends)`: normalised character `i` came from
    `text[starts[i]:ends[i]]`. Both maps are None when the normalised text has
    the same length and alignment as the original (the common case), so
    callers can use offsets as they are.
    """
    text = text.translate(_PUNCT_TABLE)
    if unicodedata.is_normalized("NFC", text) and not _INVISIBLE_RE.search(text):
        return _canonical_tones(text), None, None
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for match in _CLUSTER_RE.finditer(text):
        cluster = match.group()
        if cluster[0] in _INVISIBLE:
            continue
        composed = unicodedata.normalize("NFC", cluster)
        pieces.append(composed)
        starts.extend([match.start()] * len(composed))
        ends.extend([match.end()] * len(composed))
    return _canonical_tones("".join(pieces)), starts, ends


def normalize(text: str) -> str:
    """The matching form of `text`, case kept: NFC, canonical tones, plain punctuation."""
    return normalize_with_offsets(text)[0]


def lower(text: str) -> str:
    """Lowercase without changing length (Python lowercases `İ` to two characters)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "D"}
    for code in range(0x00C0, 0x1EFA):
        ch = chr(code)
        base = unicodedata.normalize("NFD", ch)[0]
        if base != ch and base.isascii() and base.isalpha():
            table[code] = base
    return table


_FOLD_TABLE = _build_fold_table()
# Punctuation unified and letters folded in one pass: text that comes out ASCII
# is folded already (tone placement and NFC cannot change an ASCII result).
_QUICK_FOLD_TABLE = {**_PUNCT_TABLE, **_FOLD_TABLE}


def fold(text: str, *, keep_case: bool = False) -> str:
    """The accent-free matching form of `text`: `Đảng` → `dang`.

    Normalised first, then diacritics removed (đ→d; other scripts
    transliterated), then lowercased unless `keep_case` (`Hà Nội` → `Ha Noi`,
    a user typing without marks).
    """
    quick = text.translate(_QUICK_FOLD_TABLE)
    if not quick.isascii():
        folded = normalize(text).translate(_FOLD_TABLE)
        quick = folded if folded.isascii() else unidecode(unicodedata.normalize("NFC", folded))
    return quick if keep_case else lower(quick)
