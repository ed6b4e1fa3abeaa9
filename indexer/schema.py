"""The Whoosh schema and how an Article becomes one index document.

Text is indexed four ways (see analysis.py) for title and body. Facet values
are indexed as keywords (for filtering) and also kept in one column per facet
(`facet_<name>`, values joined by FACET_SEP) so counts can be computed from
arrays loaded once per searcher instead of re-reading stored documents.
`body_spans` stores the original-text offsets of every body word, which is
what snippets and highlighting use.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Iterator
from itertools import chain
from operator import itemgetter
from typing import Any

from whoosh import columns, fields
from whoosh.system import pack_uint

from . import analysis, localities
from .article import Article
from .segment import segment

FACETS = ("province", "district", "commune", "province_2025", "commune_2025", "directive",
          "year", "outlet")
#: Facets kept for filtering but never counted or shown: `locality_any` holds the
#: units of both generations an article's places belong to (`localities.locality_keys`).
HIDDEN_FACETS = ("locality_any",)
FACET_SEP = "\x1f"
#: Bump when the schema, the analysis or the stored state changes: the indexer
#: then rebuilds. 3: `index_state` is JSON (any character of an id or path).
#: 4: accented syllables (`title_a`, `body_a`); codes typed without a hyphen canonical.
#: 5: `commune_2025` facet (2025 codes) and `locality_any` (both generations' units).
#: 6: an older article's 2025 unit without the other old units it was made from.
#: 7: `commune_2025` holds every 2025 unit a place went into (split communes: all parts).
#: 8: `source_url` and `outlet` in the record, the `outlet` facet; captions out of bodies.
#: 9: word views without positions (`POSITIONAL_VIEWS`).
SCHEMA_VERSION = 9

#: Views whose postings keep token positions. Phrases, proximity and the check
#: that a compound stands together are all done on syllables (the folded and
#: accented syllable views count the same units); the word views are only
#: scored, so their positions were never read and cost a third of the postings.
POSITIONAL_VIEWS = frozenset({"folded_syllables", "syllables"})


class VietnameseText(fields.TEXT):
    """A TEXT field holding one view of the text (see analysis.py): "words", "folded_words"...

    `index` writes `analysis.postings` straight away: the same (term,
    frequency, weight, positions) as the view's Whoosh analyzer gives, in one
    loop over the cached segmentation instead of a token stream
    (tests/test_index_schema.py checks both agree).
    """

    def __init__(self, view: str, **kwargs: Any) -> None:
        super().__init__(analyzer=analysis.analyzer(view), phrase=view in POSITIONAL_VIEWS,
                         **kwargs)
        self.view = view

    def __setstate__(self, state: dict[str, Any]) -> None:
        # The analyzer pickled with an index's schema may be an older one: the view decides.
        self.__dict__.update(state)
        self.analyzer = analysis.analyzer(self.view)

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str) or kwargs:
            yield from super().index(value, **kwargs)
            return
        for tbytes, freq, weight, vbytes, _ in self.index_with_positions(value):
            yield tbytes, freq, weight, vbytes

    def index_with_positions(self, value: str
                             ) -> Iterator[tuple[bytes, int, float, bytes, list[int]]]:
        """`index`'s postings with each term's positions beside its encoded value."""
        boost = self.format.field_boost
        # The format, not the view, decides: an index written before keeps its own.
        encode = self.format.encode if self.format.supports("positions") else _frequency
        # Most terms occur once in a text: their encoded values are shared.
        single = _SINGLE_POSITIONS.setdefault(type(self.format), {})
        for term, positions in analysis.postings(value, self.view).items():
            freq = len(positions)
            if freq == 1:
                pos = positions[0]
                vbytes = single.get(pos)
                if vbytes is None:
                    vbytes = single[pos] = encode(positions)
            else:
                vbytes = encode(positions)
            yield term.encode("utf-8"), freq, freq * boost, vbytes, positions


#: Encoded positions of a term found once: format class → position → bytes.
_SINGLE_POSITIONS: dict[type, dict[int, bytes]] = {}


def _frequency(positions: list[int]) -> bytes:
    """The value Whoosh's Frequency format stores for a posting: its count."""
    return pack_uint(len(positions))


def build_schema() -> fields.Schema:
    facet_fields = {
        name: fields.KEYWORD(stored=False, commas=True, lowercase=False, scorable=False)
        for name in FACETS + HIDDEN_FACETS
    }
    facet_columns = {f"facet_{name}": fields.COLUMN(columns.VarBytesColumn())
                     for name in FACETS + HIDDEN_FACETS}
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        source=fields.ID(stored=True),
        content_hash=fields.STORED(),
        title=VietnameseText("words", stored=True, field_boost=1.0),
        title_f=VietnameseText("folded_words"),
        title_s=VietnameseText("folded_syllables"),
        title_a=VietnameseText("syllables"),
        body=VietnameseText("words", stored=True),
        body_f=VietnameseText("folded_words"),
        body_s=VietnameseText("folded_syllables"),
        body_a=VietnameseText("syllables"),
        body_spans=fields.STORED(),
        date=fields.ID(stored=True, sortable=True),
        author=fields.STORED(),
        record=fields.STORED(),  # JSON of localities, directives, summary, source_url, outlet
        # The indexer's own bookkeeping, JSON ["id", "absolute source path", "content hash"]:
        # a column so a run loads it for every document without reading stored fields,
        # committed in the same TOC generation as the documents it describes.
        index_state=fields.COLUMN(columns.VarBytesColumn()),
        **facet_fields,
        **facet_columns,
    )
    # Pickled with the schema into the index's TOC: tells a later run which
    # schema version wrote the index (a different version means rebuild).
    schema.vnsearch_version = SCHEMA_VERSION  # type: ignore[attr-defined]
    return schema


def index_schema_version(schema: fields.Schema) -> int | None:
    """The SCHEMA_VERSION an existing index was written with (None: unknown/old)."""
    return getattr(schema, "vnsearch_version", None)


class StateError(ValueError):
    """An `index_state` value this version cannot read (damaged, or another format)."""


def encode_state(article_id: str, path: str, hash_value: str) -> bytes:
    """The `index_state` value: a JSON array, so no character of an id or path is special.

    ASCII-escaped, so that a path that is not valid UTF-8 (kept by Python as
    lone surrogates) round-trips too.
    """
    return json.dumps([article_id, path, hash_value], ensure_ascii=True).encode("ascii")


def decode_state(value: bytes) -> tuple[str, str, str]:
    """(id, absolute source path, content hash) from an `index_state` column value."""
    try:
        parts = json.loads(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as err:
        raise StateError(f"unreadable index state {value[:60]!r}") from err
    if not (isinstance(parts, list) and len(parts) == 3
            and all(isinstance(part, str) for part in parts)):
        raise StateError(f"unexpected index state {value[:60]!r}")
    article_id, path, hash_value = parts
    return article_id, path, hash_value


def facet_values(article: Article) -> dict[str, list[str]]:
    """The facet values of an article, each list without duplicates, in order."""
    values: dict[str, list[str]] = {name: [] for name in FACETS}
    for loc in article.localities:
        for name in ("province", "district", "commune", "province_2025"):
            value = getattr(loc, name)
            if value and value not in values[name]:
                values[name].append(value)
    values["commune_2025"] = localities.locality_codes_2025(article.localities, article.date)
    for directive in article.directives:
        if directive.code not in values["directive"]:
            values["directive"].append(directive.code)
    if article.date:
        values["year"].append(article.date[:4])
    if article.outlet:
        values["outlet"].append(article.outlet)
    return values


def content_hash(article: Article) -> str:
    """What decides whether a stored document is up to date."""
    payload = json.dumps(article.to_dict(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha1(f"{SCHEMA_VERSION}:{payload}".encode()).hexdigest()


def packed_word_spans(text: str) -> bytes:
    """The (start, end) offsets of every word of `text`, packed as uint32 pairs."""
    return array("I", chain.from_iterable(map(_WORD_SPAN, segment(text)))).tobytes()


_WORD_SPAN = itemgetter(1, 2)  # a segment.Word's start and end


def unpack_spans(packed: bytes) -> list[tuple[int, int]]:
    flat = array("I")
    flat.frombytes(packed)
    return list(zip(flat[0::2], flat[1::2], strict=True))


def document_fields(
    article: Article, content_hash_value: str | None = None, state_path: str | None = None
) -> dict:
    """The keyword arguments for `writer.add_document` / `update_document`.

    `state_path` is the absolute path of the source file, recorded in the
    `index_state` column for incremental runs (defaults to `article.source`).
    """
    facets = {**facet_values(article),
              "locality_any": localities.locality_keys(article.localities, article.date)}
    record = article.to_dict()
    extra = {key: record[key] for key in ("localities", "directives", "summary", "source_url",
                                          "outlet") if key in record}
    body = article.body
    if article.summary:
        body = f"{article.summary}\n\n{body}"
    doc: dict = {
        "id": article.id,
        "source": article.source or "",
        "content_hash": content_hash_value or content_hash(article),
        "title": article.title,
        "title_f": article.title,
        "title_s": article.title,
        "title_a": article.title,
        "body": body,
        "body_f": body,
        "body_s": body,
        "body_a": body,
        "body_spans": packed_word_spans(body),
        "date": article.date or "",
        "author": article.author,
        "record": json.dumps(extra, ensure_ascii=False),
    }
    doc["index_state"] = encode_state(
        article.id, state_path or article.source or "", doc["content_hash"]
    )
    for name, values in facets.items():
        if values:
            doc[name] = ",".join(values)
        doc[f"facet_{name}"] = FACET_SEP.join(values).encode("utf-8")
    return doc
