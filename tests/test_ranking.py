"""Ranking rules, pinned on small articles written for them (`tests/data/ranking.jsonl`).

Each case is one rule of `engine.ranking` that a later change must not undo:
a word's syllables standing apart are not the word, a question is about its
content words rather than its question words, a long question keeps the
article that answers it, and an article holding more of the query beats one
holding less of it in its title.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import REPO, LiveServer, copy_corpus, index_beside

FIXTURE = REPO / "tests" / "data" / "ranking.jsonl"
LONG_QUESTION = ("vì sao năm nay lúa xuân ở Yên Thành bị chết rét nhiều, nông dân có được "
                 "nhà nước bồi thường thiệt hại không?")


@pytest.fixture(scope="module")
def rk_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return index_beside(copy_corpus(tmp_path_factory, "ranking", FIXTURE))


@pytest.fixture(scope="module")
def rk_engine(rk_index: Path):
    from engine import SearchEngine

    return SearchEngine(rk_index)


def ids(engine, q: str) -> list[str]:
    return [hit["id"] for hit in engine.search(q, per_page=50)["hits"]]


@pytest.mark.parametrize("query", ["xã Mai Châu", "xa mai chau", "Mai Châu"])
def test_a_name_written_together_ranks_above_its_syllables_apart(rk_engine, query: str) -> None:
    # The other article says `chị Mai`, `anh Châu` and `xã` many times, in its title too.
    found = ids(rk_engine, query)
    # Both articles naming the place, even the long one naming it once, come first.
    assert set(found[:2]) == {"rk-mai-chau", "rk-mai-chau-road"}
    assert "rk-mai-apart" in found  # still found: it holds every syllable


@pytest.mark.parametrize("query", ["bé bị suy tủy xương được chữa trị như thế nào?",
                                   "be bi suy tuy xuong duoc chua tri nhu the nao"])
def test_a_question_finds_the_article_on_its_content_not_its_question_words(
        rk_engine, query: str) -> None:
    # The other article repeats `như thế nào`, `bé`, `chữa trị` around another illness.
    assert ids(rk_engine, query)[0] == "rk-ghep-tuy"


def test_a_long_question_keeps_its_best_partial_matches_and_says_what_they_lack(
        rk_engine) -> None:
    result = rk_engine.search(LONG_QUESTION, per_page=50)
    found = [hit["id"] for hit in result["hits"]]
    assert found[0] == "rk-lua"
    # `rk-boi-thuong` holds the compensation half of the question only: less than
    # the share a long query asks, kept because it scores among the best.
    assert "rk-boi-thuong" in found
    missing = result["hits"][found.index("rk-boi-thuong")]["missing"]
    assert "yên thành" in missing and "vì" not in missing  # content words, not function words
    assert not {"bồi thường", "thiệt hại", "nhà nước"} & set(missing)


def test_more_of_the_query_beats_fewer_words_in_a_title(rk_engine) -> None:
    # `rk-thuc-pham-cho` has `kiểm tra an toàn thực phẩm` in its title but no school
    # kitchen; `rk-bep-truong` holds every word, in its body.
    found = ids(rk_engine, "kiểm tra an toàn thực phẩm bếp ăn trường học")
    assert found[0] == "rk-bep-truong"
    assert "rk-thuc-pham-cho" in found


def test_the_page_and_the_cli_say_what_a_partial_match_lacks(rk_index: Path) -> None:
    import subprocess
    import sys

    server = LiveServer(rk_index)
    try:
        url = f"{server.url}/search?{urlencode({'q': LONG_QUESTION})}"
        with urllib.request.urlopen(url, timeout=30) as response:
            page = response.read().decode("utf-8")
    finally:
        server.stop()
    assert "Không có: <s>" in page and "thiệt hại" in page
    out = subprocess.run(
        [sys.executable, "-m", "vnsearch", "search", LONG_QUESTION, "--index", str(rk_index)],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=True).stdout
    assert "Không có:" in out
