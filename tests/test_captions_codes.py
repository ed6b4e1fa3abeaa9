"""Photo captions stay out of article bodies; snippets never cut a document code.

Captions as scraped: on their own line ("Ảnh: TTXVN", "(Ảnh minh họa)", a
short line ending with its credit), or inside a body whose line breaks were
lost ("... bị khởi tố. Ảnh: CACC Ngày 3/2, ..."), as in the 2026 crawl.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.snippets import snippet, unbreakable_codes
from indexer.clean import clean_body, is_caption
from indexer.extract import extract_file

CAPTION_LINES = [
    "Ảnh: TTXVN",
    "(Ảnh minh họa)",
    "Ảnh minh hoạ: Internet",
    "Lãnh đạo huyện thăm hỏi gia đình chính sách. Ảnh: TTXVN",
    "Đoàn công tác kiểm tra công trình (Ảnh: Thu Hà)",
    "Video: Hà Nội",
]
TEXT_LINES = [
    "Ảnh hưởng của bão số 3 làm hư hại nhiều diện tích lúa.",
    "Bức ảnh: đẹp",
    "Trong bộ Ảnh: đẹp nhất năm, cô gái mặc áo dài truyền thống.",
    "Chị Lan kể: con đường mới giúp việc đi lại dễ hơn nhiều.",
]


@pytest.mark.parametrize("line", CAPTION_LINES)
def test_caption_lines_are_dropped(line: str) -> None:
    assert is_caption(line)
    assert clean_body(f"{line}\nHuyện Bình Lục làm đường giao thông nông thôn.") == [
        "Huyện Bình Lục làm đường giao thông nông thôn."]


@pytest.mark.parametrize("line", TEXT_LINES)
def test_text_that_only_looks_like_a_caption_is_kept(line: str) -> None:
    assert not is_caption(line)
    assert clean_body(line) == [line]


@pytest.mark.parametrize(("body", "kept"), [
    ("8 đối tượng bị khởi tố. Ảnh: CACC Ngày 3/2, Nguyễn Văn A (46 tuổi) bị bắt.",
     ["Ngày 3/2, Nguyễn Văn A (46 tuổi) bị bắt."]),
    ("Sáng 3/2, tòa xét xử bị cáo. Bị cáo sau khi bị bắt. (Ảnh: Thanh Lam) Theo cáo trạng, "
     "tháng 4/2025, bị cáo mua ma túy.",
     ["Sáng 3/2, tòa xét xử bị cáo.", "Theo cáo trạng, tháng 4/2025, bị cáo mua ma túy."]),
    ("Hơn 5 tấn giá đỗ được đưa đi tiêu hủy. Ảnh: Thành Chung. Trước đó, đội quản lý "
     "kiểm tra.", ["Trước đó, đội quản lý kiểm tra."]),
    # a credit whose end cannot be told from the text after it is left as it is
    ("Ca sĩ trên thảm đỏ. Ảnh: Instagram Chappell Roan cũng chia sẻ quan điểm.",
     ["Ca sĩ trên thảm đỏ. Ảnh: Instagram Chappell Roan cũng chia sẻ quan điểm."]),
])
def test_captions_inside_a_body_without_line_breaks(body: str, kept: list[str]) -> None:
    assert clean_body(body) == kept


def test_caption_does_not_open_the_lead_of_a_page_or_record(tmp_path: Path) -> None:
    page = tmp_path / "trang.txt"
    page.write_text("Làm đường giao thông nông thôn ở Bình Lục\n20/10/2022 08:00\n"
                    "Ảnh: TTXVN\n(Ảnh minh họa)\n"
                    "Huyện Bình Lục, tỉnh Hà Nam hoàn thành 10 km đường giao thông nông thôn.\n",
                    encoding="utf-8")
    record = tmp_path / "ban-ghi.jsonl"
    record.write_text(json.dumps({
        "id": "r1", "title": "Đường mới",
        "body": "Người dân đi trên đường mới. Ảnh: TTXVN Huyện Bình Lục, tỉnh Hà Nam hoàn "
                "thành 10 km đường giao thông nông thôn."}, ensure_ascii=False),
        encoding="utf-8")
    for path in (page, record):
        article = extract_file(path)[0]
        assert article.body.startswith("Huyện Bình Lục, tỉnh Hà Nam"), article.body
        assert article.localities[0].province == "Hà Nam"


CODE = "05-HD/BTCTU"
SPACED = "21- KL/TW"


@pytest.mark.parametrize("code", [CODE, SPACED, "123/QĐ-UBND"])
def test_snippet_never_cuts_inside_a_code(code: str) -> None:
    """Whatever the cut point, a snippet holds a code whole or not at all."""
    for pad in range(150, 260, 3):
        text = f"{'Hội nghị bàn việc. ' * 20}"[:pad] + f" theo {code} của Ban Tổ chức. " + \
            "Nội dung " * 40
        for size in (200, 240):
            for marks in ([], [(len(text) - 20, len(text) - 13, 0)]):
                html = snippet(text, marks, size)
                pieces = [part for part in code.replace("-", " ").replace("/", " ").split()
                          if len(part) > 1]
                if any(part in html for part in pieces[1:]) or code.split("-")[0] + "-" in html:
                    assert code in html, html


def test_codes_shown_unbreakable_marks_kept() -> None:
    html = f"theo <mark>{CODE}</mark> và <mark>21</mark>-KL/TW, {SPACED}, ngày 3/2, TP.HCM"
    shown = unbreakable_codes(html)
    assert "<mark>05\u2011HD/\u2060BTCTU</mark>" in shown
    assert "<mark>21</mark>\u2011KL/\u2060TW" in shown
    assert "21\u2011\u00a0KL/\u2060TW" in shown
    assert "ngày 3/2, TP.HCM" in shown  # dates and names untouched
