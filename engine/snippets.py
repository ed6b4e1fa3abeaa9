"""Highlighting and snippets on the original text, through stored word offsets.

The index matches folded words, but users must see the text as written: an
accent-free `xay dung` marks `xây dựng`. Each body word's (start, end) offsets
into the stored text come from the indexer (`body_spans`), and
`indexer.analysis.text_syllables` reads the words' syllables there with the
index's own forms. A query concept is a sequence
of folded syllables, so a match may span several index words or be a part of
one (`xây dựng` inside `xây_dựng_Đảng`). Everything outside `<mark>` is
HTML-escaped.

A syllable the user typed with marks is marked only where it is written
so (`Đảng` marks `Đảng`, never `đang`); one typed without marks marks every
spelling that folds to it.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from html import escape

from indexer.analysis import Syl, find_folded, text_syllables
from indexer.segment import CODE_PATTERN, segment

#: Snippet length in characters (about two lines of a results page).
SNIPPET_CHARS = 240
#: Document codes as written (`05-HD/BTCTU`, `21- KL/TW`): a snippet never starts or ends
#: inside one.
_CODE_RE = re.compile(CODE_PATTERN)
#: A code in HTML that may hold <mark> tags (`<mark>21-KL/TW</mark>`, `<mark>21</mark>-KL/TW`):
#: a number, then at least two separator-and-capitalised-letters groups.
_TAG = r"(?:</?mark>)?"
_HTML_CODE_RE = re.compile(
    rf"(?<![\w/])\d{{1,5}}{_TAG}(?:\s?{_TAG}[-/–]{_TAG}\s?{_TAG}[A-ZĐ][A-ZĐa-zđ]{{1,9}}{_TAG}){{2,3}}"
    r"(?![\w/])")
#: Inside a code shown on a page: a non-breaking hyphen, a word joiner after `/`, no-break
#: spaces; the query normaliser reads all three back as typed, so a copied code still searches.
_UNBREAKABLE = str.maketrans({"-": "\u2011", "–": "\u2011", "/": "/\u2060", " ": "\u00a0"})


@dataclass(frozen=True)
class Pattern:
    """A sequence of folded syllables to mark; `typed[i]` is the accented form or None."""

    folded: tuple[str, ...]
    typed: tuple[str | None, ...]
    key: int
    prefix: bool = False  # the single syllable is a code prefix (`21-`)
    #: Marked only where no other pattern of the same key is found in the text
    #: (the number of a code, in an article that does not write the code).
    fallback: bool = False


#: Characters of context a snippet keeps before its first match (when the text has them).
MIN_CONTEXT = 30
#: Put between the syllables of words read apart (`syllables_near`): it is no
#: query syllable, so no match runs across the words left out.
GAP = Syl("", "", -1, -1)


def syllables_near(text: str, spans: list[tuple[int, int]],
                   wanted: frozenset[str]) -> list[Syl]:
    """The syllables of the words holding a `wanted` folded syllable, `GAP` between runs.

    Every syllable of a match is one of the query's, so marks (and the
    snippet, cut from the text by the marks' offsets) come out as from
    `text_syllables` over the whole text, for a fraction of the cost on a
    long body. Falls back to the whole text when a wanted form is not a plain
    syllable (codes, decimals) or the text is not NFC.
    """
    if not wanted or not all(w.isascii() and w.isalnum() for w in wanted) \
            or not unicodedata.is_normalized("NFC", text):
        return text_syllables(text, spans)
    starts = [start for start, _ in spans]
    runs: list[list[int]] = []  # [first, last + 1] word indexes
    for start, _ in find_folded(text, wanted):
        i = bisect.bisect_right(starts, start) - 1
        if i < 0 or spans[i][1] <= start:  # not inside a word
            continue
        if runs and i <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], i + 1)
        else:
            runs.append([i, i + 1])
    out: list[Syl] = []
    for a, b in runs:
        if out:
            out.append(GAP)
        out.extend(text_syllables(text, spans[a:b]))
    return out


def word_spans(text: str) -> list[tuple[int, int]]:
    """Word offsets of a text the index holds none for (titles are short)."""
    return [(w.start, w.end) for w in segment(text)]


def find_marks(syllables: list[Syl], patterns: list[Pattern]) -> list[tuple[int, int, int]]:
    """(start, end, pattern key) of every match; accented syllables only as typed."""
    if not patterns or not syllables:
        return []
    by_first: dict[str, list[Pattern]] = {}
    prefixes: list[Pattern] = []
    for p in patterns:
        if p.prefix:
            prefixes.append(p)
        else:
            by_first.setdefault(p.folded[0], []).append(p)
    found: dict[int, list[tuple[int, int, bool]]] = {}
    n = len(syllables)
    for i, syl in enumerate(syllables):
        for p in by_first.get(syl.folded, ()):
            k = len(p.folded)
            if i + k > n:
                continue
            window = syllables[i : i + k]
            if all(window[j].folded == p.folded[j] for j in range(1, k)):
                # A syllable typed with marks matches that spelling only.
                if all(t is None or t == w.lowered for t, w in zip(p.typed, window, strict=True)):
                    found.setdefault(p.key, []).append((window[0].start, window[-1].end,
                                                        p.fallback))
        for p in prefixes:
            if syl.folded.startswith(p.folded[0]):
                found.setdefault(p.key, []).append((syl.start, syl.end, False))
    marks: list[tuple[int, int, int]] = []
    for key, matches in found.items():
        if not all(fallback for _, _, fallback in matches):
            matches = [m for m in matches if not m[2]]
        marks.extend((a, b, key) for a, b, _ in matches)
    marks.sort()
    merged: list[tuple[int, int, int]] = []
    for a, b, key in marks:  # overlapping marks become one
        if merged and a < merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b, merged[-1][2])
            continue
        merged.append((a, b, key))
    return merged


def highlight(text: str, marks: list[tuple[int, int, int]], start: int = 0,
              end: int | None = None) -> str:
    """`text[start:end]` escaped, with marks wrapped in <mark>."""
    end = len(text) if end is None else end
    out: list[str] = []
    pos = start
    joined: list[list[int]] = []
    for a, b, _ in marks:  # marks apart only by spaces read as one (`Vỏ nho`)
        if b <= start or a >= end:
            continue
        a, b = max(a, start), min(b, end)
        if joined and not text[joined[-1][1] : a].strip(" "):
            joined[-1][1] = b
        else:
            joined.append([a, b])
    for a, b in joined:
        out.append(escape(text[pos:a], quote=False))
        out.append(f"<mark>{escape(text[a:b], quote=False)}</mark>")
        pos = b
    out.append(escape(text[pos:end], quote=False))
    return "".join(out)


def best_window(text: str, marks: list[tuple[int, int, int]],
                size: int = SNIPPET_CHARS) -> tuple[int, int]:
    """The stretch of about `size` characters holding the most distinct matches."""
    if not marks:
        return 0, _cut(text, min(len(text), size))
    best = (-1, -1, 0)
    for i, (a, _, _) in enumerate(marks):
        keys = set()
        count = 0
        for _a2, b2, key in marks[i:]:
            if b2 - a > size:
                break
            keys.add(key)
            count += 1
        score = (len(keys), count, -i)
        if score > best:
            best = score
            start_mark = a
    start = start_mark
    # Begin a little before the first match, at a sentence start when one is near, but
    # never right at the match: a reader needs a few words to see what it is about.
    lead = max(0, start - size // 4)
    latest = max(lead, start - MIN_CONTEXT)  # never negative: rfind reads that from the end
    sentence = max(text.rfind(". ", lead, latest), text.rfind("\n", lead, latest))
    if lead == 0 and start <= size // 4:
        start = 0  # the text's own start is near: begin there
    elif sentence >= 0:
        start = sentence + 1
    else:
        space = text.rfind(" ", lead, latest)
        start = space + 1 if space >= 0 else lead
    while start < len(text) and text[start].isspace():
        start += 1
    code = _code_around(text, start)
    if code:  # begin with the whole code, not its tail
        start = code[0]
    return start, _cut(text, min(len(text), start + size))


def _cut(text: str, end: int) -> int:
    """Move `end` back to a word boundary, never inside a document code."""
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", max(0, end - 30), end)
    end = space if space > 0 else end
    code = _code_around(text, end)
    return code[0] if code and code[0] > 0 else end


def _code_around(text: str, pos: int) -> tuple[int, int] | None:
    """The (start, end) of a document code that `pos` falls strictly inside, else None."""
    for match in _CODE_RE.finditer(text, max(0, pos - 40), min(len(text), pos + 40)):
        if match.start() < pos < match.end():
            return match.start(), match.end()
    return None


def unbreakable_codes(html: str) -> str:
    """Snippet or text HTML with its document codes kept on one line when shown.

    `05-HD/BTCTU` must not wrap as `05-⏎HD/BTCTU`: inside each code the
    hyphens, slashes and spaces get their non-breaking forms (the <mark>
    tags inside a code are left as they are).
    """
    def fix(match: re.Match[str]) -> str:
        parts = re.split(r"(</?mark>)", match.group())
        return "".join(part if part.startswith("<") else part.translate(_UNBREAKABLE)
                       for part in parts)

    return _HTML_CODE_RE.sub(fix, html)


def snippet(text: str, marks: list[tuple[int, int, int]], size: int = SNIPPET_CHARS) -> str:
    """One line of HTML: the best passage with <mark>s, `…` where text was cut."""
    start, end = best_window(text, marks, size)
    html = " ".join(highlight(text, marks, start, end).split())
    if start > 0:
        html = "… " + html
    if end < len(text):
        html += " …"
    return html
