"""The schema's fast indexing path must give exactly the analyzers' postings.

`VietnameseText.index` bypasses the analyzer chain for speed; queries and
highlighting still go through the analyzers, so any difference would make
documents unfindable. Checked on the sample articles, in NFC and NFD.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from whoosh.fields import TEXT

from indexer.article import Article
from indexer.schema import (
    FACETS,
    SCHEMA_VERSION,
    VietnameseText,
    build_schema,
    decode_state,
    document_fields,
    index_schema_version,
)

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
TEXT_FIELDS = ("title", "title_f", "title_s", "body", "body_f", "body_s")


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.stem)
@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_fast_postings_equal_analyzer_postings(path: Path, form: str) -> None:
    schema = build_schema()
    text = unicodedata.normalize(form, path.read_text("utf-8"))
    for name in TEXT_FIELDS:
        field = schema[name]
        assert isinstance(field, VietnameseText)
        fast = sorted(field.index(text))
        reference = sorted(TEXT.index(field, text))  # the analyzer chain
        assert fast == reference, name
        assert fast  # not vacuous


def test_stable_field_names_and_state_column() -> None:
    schema = build_schema()
    for name in (
        "id",
        "source",
        "content_hash",
        "title",
        "body",
        "body_spans",
        "date",
        "author",
        "record",
        "index_state",
        *FACETS,
        *(f"facet_{f}" for f in FACETS),
    ):
        assert name in schema, name
    assert index_schema_version(schema) == SCHEMA_VERSION
    article = Article(id="a1", title="Xây dựng Đảng", body="Hội nghị ở Bình Lục.", source="x.txt")
    doc = document_fields(article, "h1", "/abs/x.txt")
    assert decode_state(doc["index_state"]) == ("a1", "/abs/x.txt", "h1")
