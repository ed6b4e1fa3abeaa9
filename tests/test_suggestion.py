"""The "did you mean" line: accents put back only where the archive writes them so.

Over news written after the 2025 reorganisation a query for a district that
no longer exists (`binh luc`) matches its syllables in unrelated articles
(`Bính Ngọ`, `lực lượng`): accenting each syllable on its own would suggest
`Bính lực`, which no article writes. A suggestion is offered only when its
syllables stand side by side, so accented, somewhere in the archive.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import build_index_with_cli

ARTICLES = [
    {"id": "tet", "title": "Tết Bính Ngọ: người dân đón xuân an toàn", "date": "2026-02-17",
     "body": "Năm Bính Ngọ, lực lượng công an tăng cường tuần tra. Bính Ngọ là năm con ngựa."},
    {"id": "luc", "title": "Lực lượng dân quân ra quân đầu năm Bính Ngọ", "date": "2026-02-20",
     "body": "Lực lượng dân quân tự vệ xã ra quân huấn luyện. Lực lượng nòng cốt sẵn sàng."},
    {"id": "bao", "title": "Bão lụt miền Trung: các tỉnh chủ động ứng phó", "date": "2026-10-02",
     "body": "Mùa bão lụt miền Trung năm nay đến sớm. Các tỉnh sơ tán dân khỏi vùng trũng."},
    {"id": "dang", "title": "Xây dựng Đảng trong sạch, vững mạnh", "date": "2026-05-05",
     "body": "Công tác xây dựng Đảng được đặt lên hàng đầu. Đảng bộ xã tổ chức hội nghị."},
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    from engine import SearchEngine

    root = tmp_path_factory.mktemp("suggestion")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "news.jsonl").write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES), "utf-8")
    result = build_index_with_cli(corpus, root / "index")
    assert result.returncode == 0, result.stderr
    return SearchEngine(Path(root / "index"))


@pytest.mark.parametrize(("query", "suggested"), [
    ("bao lut mien trung", "bão lụt miền Trung"),
    ("xay dung dang", "xây dựng Đảng"),
    ("luc luong dan quan", "lực lượng dân quân"),
])
def test_a_suggestion_the_archive_writes_is_offered(engine, query: str, suggested: str) -> None:
    assert engine.search(query)["suggestion"] == suggested


@pytest.mark.parametrize("query", ["binh luc", "nam binh luc", "binh luc dan quan"])
def test_no_suggestion_joins_syllables_no_article_writes_side_by_side(engine,
                                                                      query: str) -> None:
    result = engine.search(query)
    assert result["total"] > 0  # the syllables occur, apart
    assert result["suggestion"] is None, result["suggestion"]


def test_a_typo_is_not_corrected_into_syllables_no_article_writes_side_by_side(engine) -> None:
    """`binh lucc`: `lucc` is a typo of `lục`/`lực`, but `Bính lực` is no one's spelling."""
    result = engine.search("binh lucc")
    assert result["unmatched"] == ["lucc"]
    assert result["suggestion"] is None, result["suggestion"]
    assert engine.search("luc luongg")["suggestion"] == "lực lượng"
