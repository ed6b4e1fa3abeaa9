"""The reading face of the index backend (`indexer/backend.py`), tested on a real index.

Generations are written with the writing face (`indexer/whoosh_writing.py`)
and read back with `engine/whoosh_reading.py`: postings, positions,
lexicons, columns and stored fields must say what the documents hold, and a
later generation must re-use the segments (and what was derived from them)
that it shares with the one before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import whoosh_reading
from indexer.analysis import postings as text_postings
from indexer.article import Article
from indexer.backend import Generation, ReadingBackend, Segment
from indexer.schema import document_fields
from indexer.whoosh_writing import create_generation, open_update

TEXTS = {
    "a": "Đảng bộ xã Bình Mỹ xây dựng Đảng vững mạnh",
    "b": "Xây dựng nông thôn mới ở Bình Lục",
    "c": "Đang mùa gặt, nông dân Bình Mỹ phấn khởi",
}


def fields(article_id: str, title: str) -> dict:
    article = Article(id=article_id, title=title, body=title + ".")
    return document_fields(article, f"hash-{article_id}", f"/tin/{article_id}.txt")


def commit(index_dir: Path, base: object, generation: int, add: dict[str, str],
           delete: tuple[str, ...] = ()) -> None:
    update = open_update(base, generation)
    for article_id in delete:
        update.delete(article_id)
    for article_id, title in add.items():
        update.add(fields(article_id, title))
    update.commit()


def build(index_dir: Path) -> Generation:
    """Generation 1 holds a and b, generation 2 adds c in a segment of its own."""
    base = create_generation(index_dir, 0)
    commit(index_dir, base, 1, {k: TEXTS[k] for k in ("a", "b")})
    first = whoosh_reading.open_view(index_dir, 1)
    from indexer.generations import open_generation

    commit(index_dir, open_generation(index_dir, 1), 2, {"c": TEXTS["c"]})
    return first


def ids_of(view: Generation, docs: np.ndarray) -> set[str]:
    return {view.stored(int(d))["id"] for d in docs}


def test_the_whoosh_module_implements_the_reading_face(tmp_path: Path) -> None:
    build(tmp_path)
    assert isinstance(whoosh_reading, ReadingBackend)
    view = whoosh_reading.open_view(tmp_path, 2)
    assert isinstance(view, Generation)
    assert all(isinstance(seg, Segment) for seg in view.segments)
    assert [stamp[0] for stamp in whoosh_reading.generation_stamps(tmp_path)] == [2, 1, 0]
    assert whoosh_reading.newest_stamp(tmp_path)[0] == 2


def test_postings_positions_and_lexicon_say_what_the_documents_hold(tmp_path: Path) -> None:
    build(tmp_path)
    view = whoosh_reading.open_view(tmp_path, 2)
    assert view.doc_count == view.doc_count_all == 3
    for view_name in ("title", "title_f", "title_s"):
        expected: dict[str, dict[str, list[int]]] = {}
        for article_id, text in TEXTS.items():
            for term, positions in text_postings(text, _analysis_view(view_name)).items():
                expected.setdefault(term, {})[article_id] = positions
        lexicon = view.lexicon(view_name)
        assert set(lexicon) == set(expected)
        for term, by_id in expected.items():
            docs, tfs = view.postings(view_name, term)
            assert ids_of(view, docs) == set(by_id)
            assert lexicon[term] == view.df(view_name, term) == len(by_id)
            assert sorted(tfs.tolist()) == sorted(float(len(p)) for p in by_id.values())
            if view_name != "title_s":  # word views are scored only: no positions kept
                with pytest.raises(ValueError, match="no positions"):
                    view.positions(view_name, term, docs)
                continue
            found = view.positions(view_name, term, docs)
            assert {view.stored(d)["id"]: p for d, p in found.items()} == by_id
            keys = view.position_keys(view_name, term)
            assert sorted((int(k) >> 24, int(k) & 0xFFFFFF) for k in keys) == sorted(
                (d, p) for d, ps in found.items() for p in ps)
    lengths = view.lengths("title_s")
    assert [int(n) for n in lengths] == [len(TEXTS[view.stored(d)["id"]].split())
                                         for d in range(3)]


def test_accent_free_and_accented_views_differ_only_in_marks(tmp_path: Path) -> None:
    build(tmp_path)
    view = whoosh_reading.open_view(tmp_path, 2)
    assert ids_of(view, view.postings("title_s", "dang")[0]) == {"a", "c"}  # Đảng and Đang
    assert ids_of(view, view.postings("title", "đảng")[0]) == {"a"}
    assert ids_of(view, view.postings("title", "đang")[0]) == {"c"}


def test_columns_and_segments_cover_every_document(tmp_path: Path) -> None:
    build(tmp_path)
    view = whoosh_reading.open_view(tmp_path, 2)
    segments = list(view.segments)
    assert [seg.offset for seg in segments] == [0, 2]
    assert sum(seg.doc_count_all for seg in segments) == view.doc_count_all
    column = view.column("facet_province")
    assert len(column) == view.doc_count_all
    per_segment = [value for seg in segments for value in seg.column("facet_province")]
    assert per_segment == column
    assert [seg.stored(0)["id"] for seg in segments] == [view.stored(0)["id"], "c"]


def test_a_later_generation_reuses_what_was_derived_from_its_segments(tmp_path: Path) -> None:
    first = build(tmp_path)
    calls: list[int] = []

    def derive(seg: Segment) -> int:
        return seg.memo("ids", lambda: calls.append(seg.offset) or seg.doc_count_all)

    assert [derive(seg) for seg in first.segments] == [2]
    first.lexicon("title")
    second = whoosh_reading.open_view(tmp_path, 2, first)
    assert [derive(seg) for seg in second.segments] == [2, 1]
    assert calls == [0, 2], "the shared segment's value is not built again"
    assert second.lexicon("title") == {**first.lexicon("title"), **second.lexicon("title")}
    assert second.lexicon_changes["title"] >= {"đang", "mùa"}
    assert "xây_dựng" not in second.lexicon_changes["title"]
    whoosh_reading.close_unused(first, second)
    assert ids_of(second, second.postings("title_s", "binh")[0]) == {"a", "b", "c"}


def test_deleted_documents_are_masked_out(tmp_path: Path) -> None:
    first = build(tmp_path)
    from indexer.generations import open_generation

    commit(tmp_path, open_generation(tmp_path, 2), 3, {}, delete=("a",))
    third = whoosh_reading.open_view(tmp_path, 3, first)
    assert third.doc_count == 2 and third.doc_count_all == 3
    assert ids_of(third, np.flatnonzero(third.live)) == {"b", "c"}
    assert ids_of(third, third.postings("title_s", "binh")[0]) == {"b", "c"}
    assert third.df("title", "đảng") == 0


def _analysis_view(field: str) -> str:
    """The analysis view a text field of the schema is indexed with."""
    return {"title": "words", "title_f": "folded_words", "title_s": "folded_syllables"}[field]
