"""Property-based fuzzing of the readers: whatever a file holds, one clear outcome.

Hypothesis writes real files (random bytes; Vietnamese text in every encoding
we accept and some we refuse; JSON and JSON Lines of random shapes, depths and
field types; HTML fragments; gzip/xz streams, some cut short) under random
names (odd Unicode, control characters, bytes that are not UTF-8) and reads
them with `extract_file_report` and the folder walk. The only outcomes
allowed: articles, each with a valid id and text that prints safely, or a
`ReadError` with a reason. Any other exception is a bug the run would
otherwise report as "could not extract" or, in `vnsearch extract`, as a
traceback.
"""

from __future__ import annotations

import gzip
import json
import lzma
import os
import tempfile
from pathlib import Path

from files import write_named
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from indexer.article import Article, validate_id
from indexer.extract import (
    MAX_WARNINGS,
    SUPPORTED_SUFFIXES,
    extract_file_report,
    iter_input_files,
)
from indexer.readers import ReadError
from indexer.terminal import json_line
from vnsearch.cli import format_record

FUZZ = settings(
    deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Pieces of real articles, and of what breaks parsers, mixed with random text.
WORDS = [
    "Huyện ủy", "Bình Lục", "tỉnh Hà Nam", "xã Thổ Bình", "Kết luận 21-KL/TW", "ngày",
    "20/10/2022", "Tin liên quan", "Xin chờ trong giây lát", "Đảng", "chỉnh đốn", "TP.HCM",
    "\u0301", "\u0323", "\ufeff", "\u200b", "\u202e", "\x00", "\x1b[31m", "\x1f", "\x85",
    "\x9b", "\r\n", "\n", "\n\n", "\t", "  ", '"', "{", "}", "[", "]", "<p>", "</p>", "&amp;",
    "\u2028", "😀", "ß", "a" * 200,
]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1258", "latin-1",
             "shift_jis", "cp1252"]

texts = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=30)), max_size=40).map(
    " ".join)
encoded_texts = st.tuples(texts, st.sampled_from(ENCODINGS)).map(
    lambda pair: pair[0].encode(pair[1], errors="replace")
    if pair[1].startswith("utf") else pair[0].encode(pair[1], errors="ignore")
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)
ids = st.one_of(st.text(max_size=20), st.integers(),
                st.sampled_from(["", " ", "a\x1fb", "x" * 301]), json_values)
records = st.fixed_dictionaries(
    {"id": ids, "body": st.one_of(texts, json_values)},
    optional={"title": st.one_of(texts, json_values), "date": st.one_of(
        st.sampled_from(["2022-10-20", "2022-10-20T08:00:00Z", "20/10/2022", "", "2022-13-40"]),
        json_values), "author": texts, "summary": texts},
)
#: Records that should be read (text id, body with words), among the odd ones.
good_records = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=20), "body": texts.map(lambda t: f"Bài viết {t}")},
    optional={"title": texts, "date": st.sampled_from(["2022-10-20", "2025-07-01T00:00:00"])},
)
json_lines = st.lists(
    st.one_of(
        good_records.map(lambda r: json.dumps(r, ensure_ascii=False)),
        good_records.map(json.dumps),
        records.map(lambda r: json.dumps(r, ensure_ascii=False)),
        records.map(json.dumps),
        json_values.map(json.dumps),
        texts,
        st.integers(1, 5000).map(lambda n: "[" * n),
        st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
        st.integers(4000, 6000).map(lambda n: '{"id": "n", "body": "x", "n": ' + "7" * n + "}"),
    ),
    max_size=12,
).map("\n".join)
json_documents = st.one_of(st.lists(st.one_of(good_records, records), max_size=6), records,
                           json_values).map(
    lambda v: json.dumps(v, ensure_ascii=False))
html_pages = st.lists(
    st.one_of(texts, st.sampled_from([
        "<html>", "<head><title>", "</title></head>", "<body>", "<article>", "<p>", "</p>",
        "<div>", "</div>", "<br>", "<script>", "</script>", "<!--", "-->", "<table><tr><td>",
        '<meta name="author" content="', '">', "<time datetime='2022-10-20'>", "</time>",
        "<h1>", "</h1>", "<nav>Trang chủ</nav>", "<p>" * 200,
    ])),
    max_size=60,
).map("".join)
contents = st.one_of(
    st.binary(max_size=3000),
    encoded_texts,
    json_lines.map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.tuples(json_lines, st.sampled_from(ENCODINGS)).map(
        lambda pair: pair[0].encode(pair[1], errors="replace")),
    json_documents.map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    html_pages.map(lambda t: t.encode("utf-8", errors="surrogatepass")),
)
#: File names: any text or bytes a Linux file name may hold (no "/" or NUL), short.
name_bytes = st.one_of(
    st.text(min_size=1, max_size=30).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.binary(min_size=1, max_size=30),
    st.sampled_from([b"a\x1fb", b"bad\xff", b"\x1b[31mred", b"x" * 200, b" ", b"-", b"..."]),
).map(lambda b: b.replace(b"/", b"_").replace(b"\x00", b"_")[:180]).filter(
    lambda b: b not in (b".", b".."))


def _write(folder: Path, stem: bytes, suffix: str, data: bytes, cut: int | None) -> bytes:
    """A file named `stem + suffix` holding `data` (compressed for .gz/.xz, maybe cut)."""
    if suffix.endswith(".gz"):
        data = gzip.compress(data)
    elif suffix.endswith(".xz"):
        data = lzma.compress(data)
    if cut is not None and suffix.endswith((".gz", ".xz")):
        data = data[: cut % (len(data) + 1)]
    return write_named(folder, stem + suffix.encode(), data)


def check_outcome(path: bytes) -> None:
    """Articles that are safe to store and print, or a ReadError: nothing else."""
    try:
        articles, warnings = extract_file_report(Path(os.fsdecode(path)))
    except ReadError as error:
        assert error.reason
        event(f"read error: {error.reason.split(' (')[0].split(':')[0][:40]}")
        return
    assert articles
    event("articles" if not warnings else "articles and skipped lines")
    assert len(warnings) <= MAX_WARNINGS + 3
    for article in articles:
        assert isinstance(article, Article)
        assert validate_id(article.id) == article.id
        json_line(article.to_dict()).encode("utf-8")  # no lone surrogate anywhere
        shown = format_record(article)
        assert not any(ord(ch) < 32 and ch != "\n" or 0x7F <= ord(ch) <= 0x9F for ch in shown)


@settings(FUZZ, max_examples=300)
@given(data=contents, suffix=st.sampled_from(SUPPORTED_SUFFIXES),
       cut=st.one_of(st.none(), st.integers(0, 10_000)))
def test_any_content_gives_articles_or_a_read_error(data: bytes, suffix: str,
                                                    cut: int | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_outcome(_write(Path(folder), b"fuzz", suffix, data, cut))


@settings(FUZZ, max_examples=200)
@given(lines=json_lines, suffix=st.sampled_from([".jsonl", ".jsonl.gz", ".jsonl.xz"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258"]))
def test_any_json_lines_give_articles_or_a_read_error(lines: str, suffix: str,
                                                      encoding: str) -> None:
    data = lines.encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as folder:
        check_outcome(_write(Path(folder), b"dump", suffix, data, None))


@settings(FUZZ, max_examples=150)
@given(names=st.lists(st.tuples(name_bytes, st.sampled_from([*SUPPORTED_SUFFIXES, ".pdf", ""])),
                      min_size=1, max_size=6),
       text=texts)
def test_any_file_names_are_walked_and_read_safely(names: list[tuple[bytes, str]],
                                                   text: str) -> None:
    body = f"Tiêu đề bài viết thử nghiệm số một\n\n{text}\n\nNội dung về huyện Bình Lục."
    with tempfile.TemporaryDirectory() as folder:
        for stem, suffix in names:
            sub = os.fsencode(folder) + b"/" + stem[:10] + b".d"
            os.makedirs(sub, exist_ok=True)
            _write(Path(folder), stem, suffix, body.encode("utf-8", "surrogatepass"), None)
            _write(Path(os.fsdecode(sub)), stem, suffix, b"{}", None)
        problems: list[tuple[str, str]] = []
        found = list(iter_input_files([folder], problems))
        for where, reason in problems:
            (where + reason).encode("utf-8")  # printable as reported
        for path in found:
            assert path.is_file()
            str(path).encode("utf-8")
            check_outcome(os.fsencode(path))
