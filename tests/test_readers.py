"""Reading input files: encodings, formats, and clear reasons for what can't be read."""

from __future__ import annotations

import gzip
import json
import lzma
import os
import unicodedata
from pathlib import Path

import pytest
from legacy_text import encode_windows_1258

from indexer.extract import extract_file, extract_file_report, iter_input_files
from indexer.readers import ReadError, decode_bytes, read_text

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "corpus" / "000_3fbea2c4a168ddd1.txt"


@pytest.fixture(scope="module")
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
        lambda t: t.encode("utf-16"),  # with BOM
        lambda t: b"\xff\xfe" + t.encode("utf-16-le"),
        lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
        encode_windows_1258,
        lambda t: unicodedata.normalize("NFD", t).encode("utf-8"),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16le-bom", "utf16be-bom", "windows-1258", "utf8-nfd"],
)
def test_every_accepted_encoding_gives_the_same_article(tmp_path, sample_text, encode):
    path = tmp_path / "000_3fbea2c4a168ddd1.txt"
    path.write_bytes(encode(sample_text))
    assert read_text(path) == unicodedata.normalize("NFC", sample_text)
    (article,) = extract_file(path)
    (reference,) = extract_file(SAMPLE)
    assert article.title == reference.title
    assert article.body == reference.body
    assert article.localities == reference.localities


def _reason(path: Path) -> str:
    with pytest.raises(ReadError) as info:
        extract_file(path)
    assert info.value.path == str(path)
    return info.value.reason


def test_other_encoding_is_refused_with_reason(tmp_path):
    path = tmp_path / "shiftjis.txt"
    path.write_bytes(("日本語のニュース記事です。" * 40).encode("shift_jis"))
    assert "not valid UTF-8, UTF-16 or Windows-1258 text" in _reason(path)


def test_binary_empty_and_blank_files_are_refused(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 8)
    assert _reason(junk) == "binary file"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert _reason(empty) == "empty file"
    blank = tmp_path / "blank.txt"
    blank.write_bytes(b"\xef\xbb\xbf  \n\n ")
    assert _reason(blank) == "empty file"


def test_utf16_without_bom_is_named(tmp_path):
    path = tmp_path / "nobom.txt"
    path.write_bytes(SAMPLE.read_text(encoding="utf-8").encode("utf-16-le"))
    reason = _reason(path)
    assert "UTF-16 without a byte-order mark" in reason or reason == "binary file"


def test_decode_bytes_reports_path():
    with pytest.raises(ReadError) as info:
        decode_bytes(b"", "some/file.txt")
    assert str(info.value) == "some/file.txt: empty file"


def _record(id_: str, body: str = "Nội dung bài viết về huyện Bình Lục, tỉnh Hà Nam.") -> dict:
    return {"id": id_, "title": f"Bài {id_}", "body": body, "date": "2022-10-20"}


def test_jsonl_bad_line_loses_only_itself(tmp_path):
    path = tmp_path / "dump.jsonl"
    lines = [
        json.dumps(_record("a"), ensure_ascii=False),
        '{"id": "broken", "body": ',
        json.dumps({"id": "nobody", "title": "x"}),
        "[1, 2]",
        "",
        json.dumps(_record("b"), ensure_ascii=False),
        json.dumps(_record("a"), ensure_ascii=False),
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    articles, warnings = extract_file_report(path)
    assert [a.id for a in articles] == ["a", "b"]
    assert articles[0].source == str(path)
    assert articles[0].localities[0].district == "Bình Lục"
    assert warnings[0].startswith("invalid JSON on line 2")
    assert "line 3: missing required field 'body'" in warnings
    assert "line 4: not a JSON object" in warnings
    assert "line 7: duplicate id 'a', first one kept" in warnings


def test_jsonl_with_no_good_line_is_refused(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("not json\n{also not\n", encoding="utf-8")
    assert _reason(path) == "invalid JSON on line 1: Expecting value"


def test_json_list_and_invalid_json(tmp_path):
    good = tmp_path / "list.json"
    good.write_text(json.dumps([_record("x"), _record("y"), "nope"], ensure_ascii=False),
                    encoding="utf-8")
    articles, warnings = extract_file_report(good)
    assert [a.id for a in articles] == ["x", "y"]
    assert warnings == ["item 3: not a JSON object"]
    bad = tmp_path / "bad.json"
    bad.write_text('[\n{"id": "x",\n "body": }\n]', encoding="utf-8")
    assert _reason(bad).startswith("invalid JSON on line 3")


def test_compressed_jsonl(tmp_path):
    content = "\n".join(json.dumps(_record(i), ensure_ascii=False) for i in ("p", "q"))
    gz = tmp_path / "dump.jsonl.gz"
    gz.write_bytes(gzip.compress(content.encode("utf-8")))
    xz = tmp_path / "dump.jsonl.xz"
    xz.write_bytes(lzma.compress(content.encode("utf-8")))
    assert [a.id for a in extract_file(gz)] == ["p", "q"]
    assert [a.id for a in extract_file(xz)] == ["p", "q"]
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    assert _reason(broken).startswith("corrupt compressed file")


def test_json_record_fields_and_dates(tmp_path):
    path = tmp_path / "d.jsonl"
    records = [
        {"id": 7, "title": "T", "body": "B", "summary": "S", "author": "Minh Phú",
         "date": "2026-01-21T20:30:00Z", "source_url": "http://x"},
        {"id": "bad-date", "body": "B", "date": "hôm qua"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    (article,), warnings = extract_file_report(path)
    assert article.id == "7"
    assert article.date == "2026-01-22"  # 20:30 UTC is the next morning in Vietnam
    assert (article.summary, article.author) == ("S", "Minh Phú")
    assert warnings == ["line 2: date 'hôm qua' is not ISO 8601"]


HTML = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Vĩnh Tường: sinh hoạt chi bộ - Báo Vĩnh Phúc</title>
<meta name="author" content="Thanh Tuyền">
<meta property="article:published_time" content="2022-12-01T08:31:00+07:00">
</head><body>
<nav><a href="/">Trang chủ</a> | <a href="/xa-hoi">Xã hội</a> | Đăng nhập</nav>
<article><h1>Vĩnh Tường: sinh hoạt chi bộ nền nếp</h1>
<p>Đảng bộ huyện Vĩnh Tường có trên 9.600 đảng viên, sinh hoạt ở 68 chi, đảng bộ cơ sở,
trong đó 330 chi bộ trực thuộc Đảng ủy cơ sở.</p>
<p>Huyện ủy chỉ đạo đẩy mạnh tuyên truyền về thực hiện Kết luận số 21-KL/TW của Ban Chấp
hành Trung ương Đảng trên hệ thống cổng thông tin điện tử và Đài truyền thanh huyện.</p>
<p>Bí thư Đảng ủy xã Tân Phú cho biết chất lượng sinh hoạt chi bộ được nâng lên rõ rệt,
giữ vững nguyên tắc tổ chức và sinh hoạt Đảng trong toàn đảng bộ.</p>
</article>
<footer>Bản quyền thuộc Báo Vĩnh Phúc. Liên hệ quảng cáo: 0211 3862 245</footer>
</body></html>"""


def test_html_page_main_text_and_metadata(tmp_path):
    path = tmp_path / "vinh-tuong.html"
    path.write_text(HTML, encoding="utf-8")
    (article,) = extract_file(path)
    assert article.id == "vinh-tuong"
    assert article.title.startswith("Vĩnh Tường: sinh hoạt chi bộ")
    assert article.date == "2022-12-01"
    assert article.author == "Thanh Tuyền"
    assert "9.600 đảng viên" in article.body
    assert "Đăng nhập" not in article.body and "quảng cáo" not in article.body
    assert [d.code for d in article.directives] == ["21-KL/TW"]
    assert article.localities[0].district == "Vĩnh Tường"


def test_html_without_text_and_unsupported_types(tmp_path):
    page = tmp_path / "empty.htm"
    page.write_text("<html><body><nav>Trang chủ</nav></body></html>", encoding="utf-8")
    assert _reason(page) == "no article text found in the HTML page"
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    assert _reason(pdf) == "unsupported file type (.pdf)"
    assert _reason(tmp_path / "missing.txt") == "no such file"


def test_iter_input_files_walks_folders_safely(tmp_path):
    root = tmp_path / "in"
    (root / "b").mkdir(parents=True)
    (root / "a").mkdir()
    (root / ".hidden").mkdir()
    for name in ("b/2.txt", "a/1.jsonl.gz", "a/z.html", "a/notes.pdf", ".hidden/x.txt",
                 "a/.secret.txt", "top.JSON"):
        (root / name).write_bytes(b"x")
    os.symlink(root, root / "a" / "loop")  # a symlink loop must not hang the walk
    given = tmp_path / "single.weird"
    given.write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_input_files([root, given])]
    assert found == ["in/top.JSON", "in/a/1.jsonl.gz", "in/a/z.html", "in/b/2.txt",
                     "single.weird"]
