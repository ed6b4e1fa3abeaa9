"""Inputs that could stop a run, leak data, hang, or take unbounded memory or time.

Each test makes the input for real (a file named with a control character or
with bytes that are not UTF-8, a compression bomb, a page of many thousand
paragraphs, symbolic links out of the corpus, a deeply nested JSON line, a
FIFO, a title full of terminal escapes) and runs the real `vnsearch` in a
child process, so a hang, a crash or a memory blow-up shows as a failure and
cannot take the test run down with it.
"""

from __future__ import annotations

import gzip
import json
import lzma
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from files import write_named

from indexer.article import MAX_ID_CHARS, Article, validate_id
from indexer.extract import extract_file_report, iter_input_files
from indexer.readers import (
    MAX_JSON_BYTES,
    MAX_LINE_BYTES,
    MAX_PAGE_ELEMENTS,
    MAX_RECORDS,
    MAX_STREAM_BYTES,
    ReadError,
)
from indexer.terminal import display_path, printable
from vnsearch.cli import format_record

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
GOOD = CORPUS / "000_3fbea2c4a168ddd1.txt"
OTHER = CORPUS / "001_e49936e6cdc21bfd.txt"
MB = 1024 * 1024
BODY = "Nội dung bài viết về huyện Bình Lục, tỉnh Hà Nam trong năm 2022."
#: Peak memory allowed to `vnsearch extract` reading a compression bomb (it needs
#: about 60 MB; reading the whole file into memory, as it once did, took 0.6-4 GB).
BOMB_RSS_LIMIT = 300 * MB
#: Address space of the child reading a bomb: a reader that holds the whole
#: expanded file fails with MemoryError instead of filling the machine.
BOMB_ADDRESS_SPACE = 2 * 1024 * MB


def _record(article_id: object, **fields: object) -> str:
    return json.dumps({"id": article_id, "title": "Bài viết", "body": BODY, **fields},
                      ensure_ascii=False)


def vnsearch(*args: str | bytes | Path, timeout: float = 300,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """The real command line in a child process; output kept as bytes (terminal checks)."""
    return subprocess.run(
        [sys.executable, "-m", "vnsearch", *(os.fspath(a) for a in args)],
        cwd=REPO, capture_output=True, timeout=timeout, check=False,
        env={**os.environ, **(env or {})},
    )


def text(output: bytes) -> str:
    return output.decode("utf-8", "backslashreplace")


def indexed_ids(index_dir: Path) -> list[str]:
    from engine import SearchEngine

    everything = SearchEngine(index_dir).search("-zzqxjw", per_page=100)  # every article
    return sorted(hit["id"] for hit in everything["hits"])


def failures(stderr: bytes) -> list[str]:
    return [line for line in text(stderr).splitlines() if line.startswith("failed: ")]


# ------------------------------------------------------------ ids and names


def test_validate_id_is_one_rule_for_every_id() -> None:
    assert MAX_ID_CHARS == 300
    assert validate_id("  tin-01 ") == "tin-01"
    assert validate_id(42) == "42"
    assert validate_id("Bài viết số 1 Hà Nội") == "Bài viết số 1 Hà Nội"
    assert validate_id("x" * MAX_ID_CHARS) == "x" * MAX_ID_CHARS
    for bad in ("a\x00b", "a\x1fb", "a\nb", "a\x1b[31m", "a\x7fb", "a\x85b", "a\x9bb",
                "a\u2028b", "a\u202eb", "a\ud800b"):
        with pytest.raises(ValueError, match=r"id contains .*\(U\+[0-9A-F]{4}\)"):
            validate_id(bad)
    for bad_value, reason in ((" ", "id is empty"), (True, "id is not text"),
                              ([1], "id is not text"), ("x" * 301, "longer than 300")):
        with pytest.raises(ValueError, match=reason):
            validate_id(bad_value)


def test_records_with_bad_ids_are_skipped_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join([
        _record("a"),
        _record("b\x1fc"),  # the separator the index state once joined fields with
        _record("d\ne"),
        _record("f\x85g"),
        _record("x" * (MAX_ID_CHARS + 1)),
        _record("y" * MAX_ID_CHARS),
        _record(42),
    ]), encoding="utf-8")
    articles, warnings = extract_file_report(path)
    assert [a.id for a in articles] == ["a", "y" * MAX_ID_CHARS, "42"]
    assert warnings == [
        "line 2: id contains a control character (U+001F)",
        "line 3: id contains a control character (U+000A)",
        "line 4: id contains a control character (U+0085)",
        "line 5: id is longer than 300 characters (301)",
    ]


def test_file_named_with_control_character_is_reported_and_later_runs_work(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(GOOD, corpus / "good.txt")
    shutil.copy(OTHER, corpus / "bad\x1fname.txt")
    (corpus / "ids.jsonl").write_text(_record("x\x1fy") + "\n" + _record("jsonl-ok") + "\n",
                                      encoding="utf-8")
    with pytest.raises(ReadError, match=r"not a valid article id: id contains a control "
                                        r"character \(U\+001F\)"):
        extract_file_report(corpus / "bad\x1fname.txt")
    index_dir = tmp_path / "index"
    runs = [  # a first run, a rebuild, and one more: none may crash or index the bad ids
        vnsearch("index", corpus, "--index", index_dir, "--workers", "2"),
        vnsearch("index", corpus, "--index", index_dir, "--workers", "2", "--rebuild"),
        vnsearch("index", corpus, "--index", index_dir, "--workers", "2"),
    ]
    for result in runs:
        assert result.returncode == 0, text(result.stderr)
        assert b"Traceback" not in result.stderr
        failed = failures(result.stderr)
        assert len(failed) == 2, failed
        assert any("bad\\x1fname.txt: file name contains a control character (U+001F)" in line
                   for line in failed), failed
        assert any("ids.jsonl: line 1: id contains a control character (U+001F)" in line
                   for line in failed), failed
        assert b"\x1f" not in result.stderr  # the name is shown escaped
    assert text(runs[0].stdout).startswith("added 2,")
    assert text(runs[2].stdout).startswith("added 0, updated 0, deleted 0, unchanged 2")
    assert indexed_ids(index_dir) == ["good", "jsonl-ok"]


def test_file_name_not_utf8_is_reported_and_good_files_read(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(GOOD, corpus / "good.txt")
    bad = write_named(corpus, b"bad\xff.txt", OTHER.read_bytes())
    os.mkdir(os.fsencode(corpus) + b"/folder\xfe")
    write_named(corpus, b"folder\xfe/inside.txt", OTHER.read_bytes())

    problems: list[tuple[str, str]] = []
    found = list(iter_input_files([corpus], problems))
    assert found == [corpus / "good.txt"]
    assert sorted(problems) == [
        (f"{corpus}/bad\\xff.txt", "file name is not valid UTF-8, skipped (rename it)"),
        (f"{corpus}/folder\\xfe", "folder name is not valid UTF-8, skipped (rename it)"),
    ]

    index_dir = tmp_path / "index"
    result = vnsearch("index", corpus, "--index", index_dir, "--workers", "2")
    assert result.returncode == 0, text(result.stderr)
    assert b"Traceback" not in result.stderr
    assert text(result.stdout).startswith("added 1,")
    assert f"failed: {corpus}/bad\\xff.txt: file name is not valid UTF-8" in text(result.stderr)
    assert indexed_ids(index_dir) == ["good"]

    for args in ((corpus,), (bad, corpus / "good.txt")):  # in a folder, and named directly
        result = vnsearch("extract", "--json", *args)
        assert result.returncode == 1
        assert b"Traceback" not in result.stderr
        assert "bad\\xff.txt: file name is not valid UTF-8" in text(result.stderr)
        (record,) = [json.loads(line) for line in result.stdout.splitlines()]
        assert record["id"] == "good"


# ------------------------------------------------------------ compression bombs


#: Runs `vnsearch` in a grandchild with capped address space and writes the peak RSS
#: wait4 reports for it to the file named first. A child forked from this test process
#: would count the test process's own resident set in its peak (the kernel keeps the
#: high-water mark of the memory it had before exec), so it is forked from this small one.
_LAUNCHER = """
import os, resource, sys
report, limit, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execv(sys.executable, [sys.executable, "-m", "vnsearch", *args])
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss * 1024}")
"""


def run_measured(args: list[str], timeout: float = 300) -> tuple[int, str, str, int]:
    """`vnsearch ARGS` in a child with capped address space: (status, stdout, stderr, peak RSS).

    The peak is that of the `vnsearch` process alone (see `_LAUNCHER`).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "peak"
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(report), str(BOMB_ADDRESS_SPACE), *args],
            cwd=REPO, stdout=out, stderr=err, start_new_session=True,
        )
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        status, peak = (int(n) for n in report.read_text().split())
        out.seek(0)
        err.seek(0)
        return status, text(out.read()), text(err.read()), peak


def _repeat(block: bytes, total: int) -> Iterator[bytes]:
    for _ in range(0, total, len(block)):
        yield block


def _gzip(path: Path, parts: Iterable[bytes]) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip framing
    with open(path, "wb") as raw:
        for part in parts:
            raw.write(compressor.compress(part))
        raw.write(compressor.flush())


def _xz(path: Path, parts: Iterable[bytes]) -> None:
    with lzma.open(path, "wb", preset=1) as handle:
        for part in parts:
            handle.write(part)


def _good(n: int) -> bytes:
    return (_record(f"good-{n}") + "\n").encode("utf-8")


def _bomb_zeros(path: Path) -> None:
    _gzip(path, _repeat(bytes(MB), 300 * MB))


def _bomb_one_long_line(path: Path) -> None:
    _xz(path, [_good(1), *_repeat(b" " * MB, 300 * MB), b"\n", _good(2)])


def _bomb_many_records(path: Path) -> None:
    _gzip(path, [_good(1), *_repeat(b"{}\n" * (MB // 3), 300 * MB)])


def _bomb_endless_text(path: Path) -> None:
    _gzip(path, [_good(1), *_repeat(b" " * (MB - 1) + b"\n", MAX_STREAM_BYTES + 64 * MB),
                 _good(2)])


BOMBS = {
    # name: (maker, ids read, words of the problem reported)
    "zeros.jsonl.gz": (_bomb_zeros, [], "binary file"),
    "long_line.jsonl.xz": (_bomb_one_long_line, ["good-1", "good-2"],
                           f"line 2: longer than {MAX_LINE_BYTES // MB}.0 MB, skipped"),
    "many_records.jsonl.gz": (_bomb_many_records, ["good-1"],
                              f"line {MAX_RECORDS + 1}: more than {MAX_RECORDS:,} records in "
                              "one file, the rest is not read"),
    "endless.jsonl.gz": (_bomb_endless_text, ["good-1"],
                         f"more than {MAX_STREAM_BYTES // MB}.0 MB of text in one file, "
                         "the rest is not read"),
}


@pytest.mark.parametrize("name", BOMBS)
def test_compression_bomb_is_read_in_bounded_memory(tmp_path: Path, name: str) -> None:
    make, ids, problem = BOMBS[name]
    path = tmp_path / name
    make(path)
    assert path.stat().st_size < 2 * MB  # small on disk, hundreds of MB expanded
    status, out, err, peak = run_measured(["extract", "--json", str(path)])
    assert "Traceback" not in err and "MemoryError" not in err, err[-2000:]
    assert [json.loads(line)["id"] for line in out.splitlines()] == ids
    assert status == (0 if ids else 1)
    assert problem in err, err[-2000:]
    assert len(err.splitlines()) <= 103  # problems listed are bounded too
    assert peak < BOMB_RSS_LIMIT, f"peak memory {peak / MB:.0f} MB"


def test_broken_compressed_stream_keeps_the_lines_before_the_break(tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(_good(n) for n in range(2000)))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    articles, warnings = extract_file_report(path)
    assert 100 < len(articles) < 2000
    assert [a.id for a in articles] == [f"good-{n}" for n in range(len(articles))]
    assert "the rest of the file is not read" in warnings[-1]


def test_json_document_has_a_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.write(b"[" + _record("a").encode() + b"," + b" " * (MAX_JSON_BYTES + MB) + b"]")
    with pytest.raises(ReadError, match=r"file too large \(65\.0 MB; a \.json document may "
                                        r"have at most 64\.0 MB\)"):
        extract_file_report(path)


# ------------------------------------------------------------ pages of many paragraphs


def _page(size: int, paragraph: str) -> str:
    parts = ["<html><head><title>Trang thử nghiệm rất dài</title></head><body>"]
    written = 0
    number = 0
    while written < size:
        parts.append(paragraph.format(number))
        written += len(parts[-1].encode("utf-8"))
        number += 1
    return "".join(parts) + "</body></html>"


def test_page_of_many_sibling_paragraphs_is_extracted(tmp_path: Path) -> None:
    # 0.8 MB, 39,000 paragraphs, each a bare place name: a scan from the first
    # word for every place found, or trafilatura's comparison with readability,
    # would make this quadratic (minutes).
    page = tmp_path / "many_paragraphs.html"
    page.write_text(_page(800 * 1024, "<p>Hà Nam {}.</p>"), encoding="utf-8")
    result = vnsearch("extract", "--json", page, timeout=120)
    assert result.returncode == 0, text(result.stderr)
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    paragraphs = record["body"].split("\n\n")
    assert paragraphs[0] == "Hà Nam 0." and len(paragraphs) > 38_000
    assert record["localities"][0]["province"] == "Hà Nam"


def test_page_with_too_many_elements_is_refused_at_once(tmp_path: Path) -> None:
    page = tmp_path / "dense.html"
    page.write_text(_page(4 * MB, "<p>x{}</p>"), encoding="utf-8")
    result = vnsearch("extract", page, timeout=120)
    assert result.returncode == 1
    reason = text(result.stderr)
    assert "too many HTML elements (about " in reason
    assert f"may have at most {MAX_PAGE_ELEMENTS:,}): not an article page" in reason


# ------------------------------------------------------------ symbolic links


def test_symbolic_links_out_of_the_corpus_are_not_followed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    shutil.copy(GOOD, corpus / "good.txt")
    shutil.copy(OTHER, corpus / "sub" / "real.txt")
    os.symlink("sub/real.txt", corpus / "alias.txt")  # inside the corpus: followed
    os.symlink("sub", corpus / "inner")  # a folder link inside: followed
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(
        "Tài liệu mật nằm ngoài thư mục được lập chỉ mục\n\nNội dung mật " * 3,
        encoding="utf-8")
    os.symlink("/etc/passwd", corpus / "passwd.txt")
    os.symlink("/proc/self/environ", corpus / "env.txt")
    os.symlink(outside, corpus / "outlink")
    os.symlink(outside / "secret.txt", corpus / "secret.txt")
    linked = tmp_path / "linked_corpus"  # a folder named on the command line may be a link
    os.symlink(corpus, linked)

    outside_reason = "symbolic link leads outside the indexed folder, skipped"
    expected = {f"{linked}/{name}": outside_reason
                for name in ("env.txt", "outlink", "passwd.txt", "secret.txt")}
    marker = "vnsearch-environment-marker-5f1c"
    index_dir = tmp_path / "index"
    result = vnsearch("index", linked, "--index", index_dir, "--workers", "2",
                      env={"MARKER_FOR_TEST": marker})
    assert result.returncode == 0, text(result.stderr)
    reported = dict(line.removeprefix("failed: ").rsplit(": ", 1)
                    for line in failures(result.stderr))
    assert reported == expected
    assert indexed_ids(index_dir) == ["alias", "good", "real"]

    result = vnsearch("extract", "--json", linked, env={"MARKER_FOR_TEST": marker})
    output = text(result.stdout)
    assert sorted(json.loads(line)["id"] for line in output.splitlines()) == \
        ["alias", "good", "real"]
    assert marker not in output and "root:" not in output and "Tài liệu mật" not in output
    # the user named the link itself: read
    named = vnsearch("extract", "--json", corpus / "secret.txt")
    assert named.returncode == 0 and "Tài liệu mật" in text(named.stdout)


# ------------------------------------------------------------ nested JSON


def test_deeply_nested_json_line_costs_only_itself(tmp_path: Path) -> None:
    dump = tmp_path / "nested.jsonl"
    dump.write_text("\n".join([_record("before"), "[" * 100_000, '{"a":' * 50_000,
                               '{"id": "long", "body": "x", "n": ' + "9" * 5000 + "}",
                               _record("after")]), encoding="utf-8")
    articles, warnings = extract_file_report(dump)
    assert [a.id for a in articles] == ["before", "after"]
    assert warnings == ["line 2: JSON nested too deeply", "line 3: JSON nested too deeply",
                        "line 4: JSON number too long"]

    document = tmp_path / "nested.json"
    document.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = vnsearch("extract", dump, document)
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    assert f"{document}: JSON nested too deeply" in text(result.stderr)
    assert text(result.stdout).count("id:") == 2


# ------------------------------------------------------------ FIFOs and devices


def test_fifo_and_device_are_refused_without_hanging(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(GOOD, corpus / "good.txt")
    os.mkfifo(corpus / "pipe.jsonl")
    fifo = tmp_path / "named.txt"
    os.mkfifo(fifo)
    reason = "not a regular file (a device, pipe or socket), skipped"
    result = vnsearch("extract", "--json", corpus, fifo, "/dev/zero", timeout=60)
    assert result.returncode == 1
    err = text(result.stderr)
    for where in (corpus / "pipe.jsonl", fifo, "/dev/zero"):
        assert f"{where}: {reason}" in err
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["good"]

    index_dir = tmp_path / "index"
    result = vnsearch("index", corpus, fifo, "/dev/zero", "--index", index_dir, timeout=120)
    assert result.returncode == 0, text(result.stderr)
    assert len(failures(result.stderr)) == 3
    assert indexed_ids(index_dir) == ["good"]

    # the reader itself refuses one it is handed directly (no walk in between)
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from indexer.extract import extract_file_report\n"
         "try: extract_file_report(sys.argv[1])\n"
         "except Exception as e: print(type(e).__name__, e.reason)", str(fifo)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )
    assert probe.stdout.strip() == f"ReadError {reason}"


# ------------------------------------------------------------ terminal escapes

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b[31mĐỏ\x9b1mC1\x1b]8;;http://evil.example/\x07link\u202eevil"


def _terminal_unsafe(shown: str) -> list[str]:
    return [ch for ch in shown if (ord(ch) < 32 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F
            or ch in "\u202e\u2028"]


def test_extract_prints_no_terminal_escapes(tmp_path: Path) -> None:
    dump = tmp_path / "hostile.jsonl"
    dump.write_text(_record("hostile", title=HOSTILE, author=HOSTILE,
                            body=f"{HOSTILE}\n{BODY}") + "\n", encoding="utf-8")
    shown = vnsearch("extract", dump)
    assert shown.returncode == 0
    assert _terminal_unsafe(text(shown.stdout)) == []
    assert "Đỏ" in text(shown.stdout)
    as_json = vnsearch("extract", "--json", dump)
    assert _terminal_unsafe(text(as_json.stdout)) == []
    record = json.loads(as_json.stdout)
    assert "Đỏ" in record["title"] and "\x1b" not in record["title"]


def test_printing_neutralises_controls_already_in_an_article() -> None:
    article = Article(id="a", title=HOSTILE, body=f"{HOSTILE}\n\nĐoạn hai", author="\x07",
                      source="/tmp/x\x1b.txt")
    shown = format_record(article)
    assert _terminal_unsafe(shown) == []
    assert "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mĐỏ\\x9b1mC1" in shown
    assert printable("a\tb\nc\rd") == "a b c d"
    assert printable("\u202e") == "\\u202e"
    assert display_path(os.fsdecode(b"/x/bad\xff\x1b.txt")) == "/x/bad\\xff\\x1b.txt"
    # JSON output escapes them by itself
    assert "\\u001b" in json.dumps(article.to_dict(), ensure_ascii=False)
