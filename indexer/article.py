"""The article record: what extraction produces and the indexer stores.

Field names follow `vnsearch extract --json` in the interface contract.

Article ids are checked where they enter (a JSON record's `id`, a file
name) by `validate_id`, the one rule for what an id may be: it is stored in
the index, shown on terminals and used in URLs, so it may not hold control
characters and has a length limit (`MAX_ID_CHARS`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

#: Longest article id, in characters (the site's URLs and the index take up to this).
MAX_ID_CHARS = 300
#: Characters an id may not contain: C0 and C1 controls, DEL, line and paragraph
#: separators, the bidirectional marks that reorder what is shown, lone surrogates.
_ID_FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff]"
)


def forbidden_character(text: str) -> str | None:
    """The first character `text` may not hold as an id or file name, described; else None."""
    bad = _ID_FORBIDDEN.search(text)
    if bad is None:
        return None
    char = ord(bad.group())
    what = "an unpaired surrogate" if 0xD800 <= char <= 0xDFFF else "a control character"
    return f"{what} (U+{char:04X})"


def validate_id(raw: object) -> str:
    """`raw` as an article id (surrounding spaces removed); ValueError saying what is wrong.

    Text or an integer is accepted; the result has no control character and at
    most `MAX_ID_CHARS` characters.
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError("id is not text")
    text = str(raw).strip()
    if not text:
        raise ValueError("id is empty")
    bad = forbidden_character(text)
    if bad is not None:
        raise ValueError(f"id contains {bad}")
    if len(text) > MAX_ID_CHARS:
        raise ValueError(f"id is longer than {MAX_ID_CHARS} characters ({len(text):,})")
    return text


@dataclass(frozen=True)
class Locality:
    """One administrative unit an article is about or mentions (names without unit word)."""

    province: str
    district: str | None = None
    commune: str | None = None
    province_2025: str | None = None
    role: str = "mentioned"  # "subject" or "mentioned"
    # the commune, ward or special zone since 1 July 2025 and its official code
    commune_2025: str | None = None
    code_2025: str | None = None


@dataclass(frozen=True)
class Directive:
    """A Party document cited by an article, with its canonical code (`21-KL/TW`)."""

    code: str
    type: str | None = None
    issuer: str | None = None
    date: str | None = None
    title: str | None = None


@dataclass
class Article:
    id: str
    title: str
    body: str
    date: str | None = None
    author: str | None = None
    source: str | None = None
    summary: str | None = None
    localities: list[Locality] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)
    #: The article's web address (http or https only) and the outlet that published it:
    #: the address's domain without `www.`, else the input's `source` field.
    source_url: str | None = None
    outlet: str | None = None

    def to_dict(self) -> dict:
        """The JSON record of the interface contract (summary, url and outlet when present)."""
        record = asdict(self)
        for name in ("summary", "source_url", "outlet"):
            if not record[name]:
                del record[name]
        return record
