"""The vocabulary a server builds before forking its workers, adopted for its generation only.

`vnsearch serve` builds the newest generation's vocabulary (accent-free
segmentation, accents restored, completions, spelling) in its master
process so the workers share it; a worker must answer exactly as one that
built its own, and never with the vocabulary of a generation it is not
serving.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import build_index_with_cli, copy_corpus, index_beside

#: Accent-free and misspelt queries, the ones the vocabulary answers.
QUERIES = ["xay dung dang", "chinh don dang", "dang vien thao luan", "nghi quyet",
           "hoc tap nghi quyet cua dang", "xay dựng", "nghij quyet", "ngoc ha",
           "Khuổi", "Phặng", "bản", "Đảng", "nghị"]
PREFIXES = ["xay d", "nghi q", "dang v", "ngoc"]
NEW_ARTICLE = {
    "id": "vocab-new", "title": "Bản Khuổi Phặng đón khách du lịch", "date": "2024-06-01",
    "body": "Người dân bản Khuổi Phặng giữ gìn nếp nhà sàn. Khuổi Phặng đón nhiều khách.",
}


def answers(engine) -> list:  # type: ignore[no-untyped-def]
    out = []
    for query in QUERIES:
        page = engine.search(query)
        out.append((query, page["total"], [h["id"] for h in page["hits"]],
                    page.get("suggestion"), page.get("interpreted")))
    out.extend((prefix, engine.suggest(prefix)) for prefix in PREFIXES)
    return out


@pytest.fixture
def index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    corpus = copy_corpus(tmp_path_factory, "prebuilt",
                         Path(__file__).parent / "data" / "search_extra.jsonl")
    return corpus, index_beside(corpus)


def test_an_adopted_vocabulary_answers_like_an_own_one_and_never_a_newer_generation(
        index: tuple[Path, Path]) -> None:
    from engine import SearchEngine
    from engine.snapshot import prebuild_vocabulary, prebuilt_is_current

    corpus, index_dir = index
    own = SearchEngine(index_dir)
    expected = answers(own)
    assert any(row[1] for row in expected)

    assert prebuild_vocabulary(index_dir)
    assert prebuilt_is_current(index_dir)
    adopted = SearchEngine(index_dir)
    assert answers(adopted) == expected

    # The index moves on: an article with a place name no vocabulary held yet.
    (corpus / "new.jsonl").write_text(json.dumps(NEW_ARTICLE, ensure_ascii=False) + "\n",
                                      "utf-8")
    result = build_index_with_cli(corpus, index_dir)
    assert result.returncode == 0, result.stderr
    assert not prebuilt_is_current(index_dir)

    # A worker forked now opens the new generation: the earlier vocabulary is not its own.
    fresh = SearchEngine(index_dir)
    assert any("Khuổi" in line for line in fresh.suggest("khuoi")), fresh.suggest("khuoi")
    assert fresh.search("khuoi phang")["hits"][0]["id"] == "vocab-new"
    # A worker that adopted it moves on to the new generation's own vocabulary, updated
    # by the new terms only (as one it built itself would be: no full rebuild).
    assert adopted.suggest("khuoi") == fresh.suggest("khuoi")
    assert adopted._snapshots.current().vocab.changed_accented  # noqa: SLF001
    assert fresh._snapshots.current().vocab.changed_accented is None  # noqa: SLF001
    assert answers(adopted) == answers(fresh)
    # One that built its own updates it by the new terms only, to the same answers.
    assert answers(own) == answers(fresh)


def test_no_vocabulary_is_built_before_forking_without_an_index(tmp_path: Path) -> None:
    from engine.snapshot import prebuild_vocabulary, prebuilt_is_current

    assert not prebuild_vocabulary(tmp_path)
    assert not prebuilt_is_current(tmp_path)
