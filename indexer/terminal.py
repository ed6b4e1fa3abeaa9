"""Text from input files, made safe to print on a terminal.

Titles, authors and file names come from files anyone may have written. A
terminal acts on some characters instead of showing them: ESC starts colour,
cursor, window-title and hyperlink sequences, 0x9b is a one-byte CSI, BEL
rings, carriage return overwrites the line, and the bidirectional overrides
reorder what is shown. Printed as they are, they can hide or fake output.
`printable` shows each of them as an escape (`\\x1b`) instead, on one line;
`json_line` writes JSON whose strings carry them as `\\u` escapes (the same
value for a program, nothing a terminal acts on).
"""

from __future__ import annotations

import json
import os
import re

#: C0 and C1 controls, DEL, line/paragraph separators, bidirectional marks and
#: overrides, and lone surrogates (a file name that is not valid UTF-8).
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: Whitespace controls that read as a space.
_BLANKS = {"\t": " ", "\n": " ", "\r": " "}


def _shown(match: re.Match[str]) -> str:
    char = match.group()
    if char in _BLANKS:
        return _BLANKS[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object) -> str:
    """`text` on one terminal line, every control character shown as an escape (`\\x1b`)."""
    return _TERMINAL_UNSAFE.sub(_shown, "" if text is None else str(text))


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as a user should see it: bytes that are not UTF-8 as `\\xff`, controls escaped."""
    raw = os.fsencode(path)
    return printable(raw.decode("utf-8", "backslashreplace"))


def json_line(value: object) -> str:
    """`value` as one line of JSON (UTF-8 text kept) in which no terminal-unsafe character is raw.

    json.dumps escapes C0 controls only; C1 controls, DEL, separators and
    bidirectional overrides are written as `\\uXXXX` too. They can only occur
    inside strings, so the text parses to the same value.
    """
    dumped = json.dumps(value, ensure_ascii=False)
    return _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)
