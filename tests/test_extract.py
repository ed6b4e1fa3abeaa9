"""The five sample pages give exactly the records a reader of them would write down."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.clean import parse_page
from indexer.extract import extract_file, extract_text
from vnsearch.cli import main

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"

# Written from reading the pages: title, date, author, subject localities
# (province, district, commune, 2025 province), directive codes in order.
EXPECTED = {
    "000_3fbea2c4a168ddd1": dict(
        title="Bình Lục: Sinh hoạt chính trị là nhiệm vụ chính trị thường xuyên",
        date="2022-10-20",
        author="Minh Phú",
        subjects=[("Hà Nam", "Bình Lục", None, "Ninh Bình")],
        mentioned=[],
        directives=["07-HD/TU", "21-KL/TW", "37-QĐ/TW", "01-KL/TW", "05-CT/TW"],
    ),
    "001_e49936e6cdc21bfd": dict(
        title="Xã Long Bình qua 01 năm thực hiện kết luận số 21-KL/TW ngày 25/10/2021 "
              "của BCH Trung ương Đảng (Khóa XIII)",
        date="2022-12-03",
        author="Huỳnh Thị Diễm Trinh",
        subjects=[("Tiền Giang", "Gò Công Tây", "Long Bình", "Đồng Tháp")],
        mentioned=[],
        directives=["21-KL/TW", "44-KH/HU", "25-KH/ĐU", "01-KL/TW", "05-CT/TW", "37-QĐ/TW",
                    "05-HD/BTCTU"],
    ),
    "002_703ca06d43c4fb17": dict(
        title="Vĩnh Tường: Triển khai có hiệu quả các chỉ thị, nghị quyết về công tác xây "
              "dựng, chỉnh đốn Đảng, xây dựng hệ thống chính trị",
        date="2022-12-01",  # not the page-header date 30/5/2024
        author="Thanh Tuyền",
        subjects=[("Vĩnh Phúc", "Vĩnh Tường", None, "Phú Thọ")],
        mentioned=[("Vĩnh Phúc", "Vĩnh Tường", "Thượng Trưng", "Phú Thọ"),
                   ("Vĩnh Phúc", "Vĩnh Tường", "Tân Phú", "Phú Thọ")],
        directives=["21-KL/TW", "13-HD/TU"],
    ),
    "003_b884a5e5383089b0": dict(
        title="Kon Rẫy: tổ chức đợt sinh hoạt chính trị về xây dựng, chỉnh đốn Đảng và hệ "
              "thống chính trị trên địa bàn huyện",
        date=None,  # the page states no publication date
        author="Trần Quốc Vy",
        subjects=[("Kon Tum", "Kon Rẫy", None, "Quảng Ngãi")],
        mentioned=[],
        directives=["66-KH/HU", "21-KL/TW", "37-QĐ/TW", "22-QĐ/TW", "24-QĐ/TW", "41-QĐ/TW",
                    "01-KL/TW", "05-CT/TW", "14-KL/TW"],
    ),
    "004_e080dc18fe92823a": dict(
        title="Đảng uỷ xã Thổ Bình tổ chức Hội nghị diễn đàn nâng cao chất lượng sinh hoạt "
              "cấp uỷ và sinh hoạt chi bộ, giai đoạn 2022 - 2025",
        date=None,  # "Chiều ngày 30/8" has no year
        author="Thuý Phượng - Xuân Cường",
        subjects=[("Tuyên Quang", "Lâm Bình", "Thổ Bình", "Tuyên Quang")],
        mentioned=[],
        directives=["16-ĐA/TU", "01-KL/TW", "05-CT/TW", "21-KL/TW"],
    ),
}


@pytest.fixture(scope="module")
def records():
    return {p.stem: extract_file(Path("corpus") / p.name)[0]
            for p in sorted(CORPUS.glob("*.txt"))}


@pytest.mark.parametrize("article_id", sorted(EXPECTED))
def test_sample_record(records, article_id):
    article, want = records[article_id], EXPECTED[article_id]
    assert article.id == article_id
    assert article.source == f"corpus/{article_id}.txt"
    assert article.title == want["title"]
    assert article.date == want["date"]
    assert article.author == want["author"]
    places = {role: [(x.province, x.district, x.commune, x.province_2025)
                     for x in article.localities if x.role == role]
              for role in ("subject", "mentioned")}
    assert places["subject"] == want["subjects"]
    assert places["mentioned"] == want["mentioned"]
    assert [d.code for d in article.directives] == want["directives"]


CHROME = ["A- A A+", "Tăng tương phản", "Xin chờ trong giây lát", "Phiên bản di động",
          "Tổng số điểm", "Xếp hạng", "Click để đánh giá", "Bạn đã không sử dụng Site",
          "Tin liên quan", "Tin nổi bật", "Tin cùng chuyên mục", "Phản hồi", "Các tin khác",
          "Thư viện ảnh", "Liên kết website", "Mới nhất", "Hiện đại hóa hệ thống quan trắc"]


@pytest.mark.parametrize("article_id", sorted(EXPECTED))
def test_body_is_clean(records, article_id):
    article = records[article_id]
    for chrome in CHROME:
        assert chrome not in article.body
    paragraphs = article.body.split("\n\n")
    assert article.title not in paragraphs  # the title repeated as an image caption
    assert len(paragraphs) == len(set(paragraphs))  # captions printed twice appear once
    assert article.author not in paragraphs
    assert all(p == p.strip() and p for p in paragraphs)


def test_paragraphs_and_captions_kept(records):
    body = records["001_e49936e6cdc21bfd"].body
    assert body.count("Đồng chí Bí thư Đảng ủy xã phát biểu tổng kết buổi tọa đàm") == 1
    assert body.startswith("Thực hiện Kế hoạch 44-KH/HU ngày 14/3/2022")
    assert body.endswith("hệ thống chính trị./.")
    assert "Thứ bảy - 03/12/2022" not in body
    assert len(body.split("\n\n")) == 9


def test_directive_details(records):
    directives = {d.code: d for d in records["001_e49936e6cdc21bfd"].directives}
    assert directives["21-KL/TW"].type == "Kết luận"
    assert directives["21-KL/TW"].issuer == "Ban Chấp hành Trung ương"
    assert directives["21-KL/TW"].date == "2021-10-25"
    assert directives["44-KH/HU"].issuer == "Huyện ủy Gò Công Tây"
    assert directives["44-KH/HU"].date == "2022-03-14"
    assert directives["25-KH/ĐU"].issuer == "Đảng ủy xã Long Bình"
    assert directives["05-HD/BTCTU"].issuer == "Ban Tổ chức Tỉnh ủy Tiền Giang"
    hn = {d.code: d for d in records["000_3fbea2c4a168ddd1"].directives}
    assert (hn["07-HD/TU"].issuer, hn["07-HD/TU"].date) == ("Tỉnh ủy Hà Nam", "2022-03-17")
    assert hn["01-KL/TW"].issuer == "Bộ Chính trị"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Thứ Năm, 30/5/2024\nVĩnh Phúc\nThứ Năm, 1/12/2022 8:31'(GMT+7)\n\nTiêu đề bài viết "
         "về huyện\n", "2022-12-01"),
        ("Thứ Năm, 30/5/2024\nChuyên mục\n\nTiêu đề bài viết về huyện\n", None),
        ("Tiêu đề bài viết về huyện\nCập nhật lúc 10:15 ngày 05/01/2023\n", "2023-01-05"),
        ("Tiêu đề bài viết về huyện\nNgày 20 tháng 10 năm 2022\n", "2022-10-20"),
        ("Tiêu đề bài viết về huyện\n2022-10-20 07:00\n", "2022-10-20"),
        ("Tiêu đề bài viết về huyện\n31/02/2022 10:00\n", None),
    ],
    ids=["header-trap", "header-only", "updated", "words", "iso", "impossible"],
)
def test_article_date_rules(header, expected):
    page = parse_page(header + "\nĐoạn văn đầu tiên của bài báo, ngày 12/3/2021 là ngày ký văn "
                      "bản, không phải ngày đăng bài. Nội dung dài hơn một chút cho đủ.\n")
    assert page.title == "Tiêu đề bài viết về huyện"
    assert page.date == expected


def test_extract_text_api():
    article = extract_text("x", "Tiêu đề có bốn chữ\n\nĐoạn một về xã Thổ Bình, huyện Lâm Bình."
                                "\n\nTác giả: Nguyễn Văn A - BTGHU\n")
    assert (article.id, article.title, article.author) == ("x", "Tiêu đề có bốn chữ",
                                                          "Nguyễn Văn A")
    assert article.source is None
    assert article.localities[0].commune == "Thổ Bình"


def test_cli_extract_json_prints_all_samples():
    result = CliRunner().invoke(main, ["extract", *sorted(str(p.relative_to(REPO))
                                                          for p in CORPUS.glob("*.txt")), "--json"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 5
    records = [json.loads(line) for line in lines]
    first = records[0]
    assert set(first) == {"id", "title", "date", "author", "body", "source", "localities",
                          "directives"}
    assert first["localities"] == [{"province": "Hà Nam", "district": "Bình Lục",
                                    "commune": None, "province_2025": "Ninh Bình",
                                    "role": "subject", "commune_2025": None,
                                    "code_2025": None}]
    kl21 = first["directives"][1]
    assert kl21["title"].startswith("Đẩy mạnh xây dựng, chỉnh đốn Đảng")
    assert {k: v for k, v in kl21.items() if k != "title"} == {
        "code": "21-KL/TW", "type": "Kết luận", "issuer": "Ban Chấp hành Trung ương",
        "date": "2021-10-25"}
    assert [r["date"] for r in records] == ["2022-10-20", "2022-12-03", "2022-12-01", None, None]


def test_cli_extract_reports_bad_files_and_goes_on(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02binary")
    runner = CliRunner()
    result = runner.invoke(main, ["extract", str(bad), "corpus/003_b884a5e5383089b0.txt"])
    assert result.exit_code == 1
    assert f"{bad}: binary file" in result.stderr
    assert "title:      Kon Rẫy: tổ chức đợt sinh hoạt" in result.stdout
    assert "66-KH/HU (Kế hoạch, Huyện ủy Kon Rẫy, 2022-02-28)" in result.stdout
