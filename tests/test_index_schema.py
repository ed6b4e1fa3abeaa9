"""The schema's fast indexing path must give exactly the analyzers' postings.

`VietnameseText.index` writes `analysis.postings` instead of running the
Whoosh analyzer; anything reading the index through the analyzer (Whoosh
itself) must see the same postings. Checked on the sample articles, in NFC
and NFD.
"""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest
from whoosh import index
from whoosh.fields import TEXT
from whoosh.query import Phrase, Term

from indexer.article import Article
from indexer.schema import (
    FACETS,
    SCHEMA_VERSION,
    VietnameseText,
    build_schema,
    decode_state,
    document_fields,
    index_schema_version,
    packed_word_spans,
    unpack_spans,
)
from indexer.segment import segment

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
#: An empty index whose schema was pickled with the tokenizer | filters analyzer chain.
CHAIN_SCHEMA_INDEX = Path(__file__).resolve().parent / "data" / "index_schema_v2"
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


def test_an_index_pickled_with_the_analyzer_chain_opens_and_indexes_by_views(
    tmp_path: Path,
) -> None:
    shutil.copytree(CHAIN_SCHEMA_INDEX, tmp_path / "ix")
    ix = index.open_dir(str(tmp_path / "ix"))
    fresh = build_schema()
    text = "Đảng bộ huyện Bình Lục triển khai Kết luận 21- KL/TW về xây dựng, chỉnh đốn Đảng."
    for name in TEXT_FIELDS:
        field = ix.schema[name]
        assert field.analyzer == fresh[name].analyzer, name
        # Same terms, counts and weights; values follow each index's own format
        # (word views are written without positions now).
        old = sorted(posting[:3] for posting in TEXT.index(field, text))
        assert old == sorted(posting[:3] for posting in fresh[name].index(text)), name
    with ix.writer() as writer:
        writer.add_document(id="a1", title="Xây dựng Đảng", title_f="Xây dựng Đảng",
                            body=text, body_f=text, body_s=text)
    with ix.searcher() as searcher:
        assert [hit["id"] for hit in searcher.search(Term("body", "21-kl/tw"))] == ["a1"]
        phrase = Phrase("body_s", ["xay", "dung", "chinh", "don", "dang"])
        assert [hit["id"] for hit in searcher.search(phrase)] == ["a1"]
        assert [hit["id"] for hit in searcher.search(Term("title_f", "xay_dung"))] == ["a1"]


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_packed_word_spans_are_the_offsets_of_every_word(form: str) -> None:
    """What snippets and highlights read back: each word's place in the original text."""
    text = unicodedata.normalize(form, sorted(CORPUS.glob("*.txt"))[0].read_text("utf-8"))
    spans = unpack_spans(packed_word_spans(text))
    assert spans == [(word.start, word.end) for word in segment(text)]
    assert len(spans) > 100
    assert packed_word_spans("") == b""
