"""Bad input: a folder of everything users really collect, through the real CLI.

One corpus folder holds the sample articles beside an empty file, binary junk,
a 50 MB text file, UTF-16 without a BOM, Windows-1258 text, TCVN3 (ABC) and
VNI pages (legacy font encodings, converted to Unicode), a JSON Lines dump with
broken lines among good ones, an HTML page with no article, a file named with
spaces and Vietnamese letters, and a symlink loop. `vnsearch index` and
`vnsearch extract` must report each bad thing once with a clear reason, index
every good article, and say so in the exit status and the summary line.
Small text fixtures live in tests/data/bad/; binary ones are made here.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from legacy_text import encode_windows_1258

from engine import SearchEngine

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
BAD = REPO / "tests" / "data" / "bad"
SUMMARY_RE = re.compile(
    r"^added (\d+), updated (\d+), deleted (\d+), unchanged (\d+), failed (\d+)$"
)
VIETNAMESE_NAME = "Bài viết số 1 Hà Nội"

#: file (relative to the corpus folder) → the words its one-line reason must hold.
EXPECTED_FAILURES = {
    "empty.txt": "empty file",
    "junk.txt": "binary file",
    "huge.txt": "too large",
    "utf16_nobom.txt": "UTF-16 without a byte-order mark",
    "no_article.html": "no article text found in the HTML page",
    "loop": "symbolic link loop",
    "self_loop.txt": "symbolic link loop",
}
#: JSON Lines problems: one reported line each, the good lines indexed.
EXPECTED_BAD_LINES = [
    "invalid JSON on line 2",
    "line 4: not a JSON object",
    "line 5: missing required field 'body'",
]
GOOD_IDS = (
    sorted(p.stem for p in CORPUS.glob("*.txt"))
    + ["jsonl-good-1", "jsonl-good-2", "jsonl-good-3"]
    + ["tcvn3_abc_page", "vni_page", "windows_1258", VIETNAMESE_NAME]
)


def write_huge_text(path: Path, size: int = 50 * 1024 * 1024) -> None:
    """A 50 MB plain-text "article": real Vietnamese paragraphs repeated."""
    block = (CORPUS / "001_e49936e6cdc21bfd.txt").read_bytes()
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            handle.write(block)
            written += len(block)


def make_bad_corpus(root: Path) -> Path:
    """The sample corpus plus every kind of bad input, in one folder."""
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    for fixture in BAD.iterdir():
        shutil.copy(fixture, corpus / fixture.name)
    (corpus / "empty.txt").write_bytes(b"")
    rnd = random.Random(7)
    (corpus / "junk.txt").write_bytes(bytes(rnd.randrange(256) for _ in range(64 * 1024)))
    write_huge_text(corpus / "huge.txt")
    sample = (CORPUS / "002_703ca06d43c4fb17.txt").read_text("utf-8")
    (corpus / "utf16_nobom.txt").write_bytes(sample.encode("utf-16-le"))
    windows = (CORPUS / "003_b884a5e5383089b0.txt").read_text("utf-8")
    (corpus / "windows_1258.txt").write_bytes(encode_windows_1258(windows))
    os.symlink(".", corpus / "loop")  # corpus/loop/loop/loop/… for ever
    os.symlink("self_loop.txt", corpus / "self_loop.txt")  # a link to itself
    return corpus


def vnsearch(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vnsearch", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )


def failure_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("failed: ")]


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bad_corpus(tmp_path_factory.mktemp("bad"))


@pytest.fixture(scope="module")
def indexed(bad_corpus: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    index_dir = bad_corpus.parent / "index"
    return index_dir, vnsearch("index", bad_corpus, "--index", index_dir, "--workers", "2")


def test_index_reports_each_bad_input_once_and_indexes_the_rest(indexed, bad_corpus) -> None:
    index_dir, result = indexed
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stdout.strip().splitlines()
    match = SUMMARY_RE.match(line)
    assert match, line
    added, updated, deleted, unchanged, failed = map(int, match.groups())
    failures = failure_lines(result.stderr)
    assert (added, updated, deleted, unchanged) == (len(GOOD_IDS), 0, 0, 0), result.stderr
    assert failed == len(EXPECTED_FAILURES) + len(EXPECTED_BAD_LINES) == len(failures), failures
    for name, reason in EXPECTED_FAILURES.items():
        mine = [f for f in failures if f.startswith(f"failed: {bad_corpus / name}: ")]
        assert len(mine) == 1, (name, failures)
        assert reason in mine[0], mine[0]
    jsonl = [f for f in failures if f.startswith(f"failed: {bad_corpus / 'mixed_lines.jsonl'}:")]
    assert len(jsonl) == len(EXPECTED_BAD_LINES)
    for reason, reported in zip(EXPECTED_BAD_LINES, jsonl, strict=True):
        assert reason in reported
    # the 50 MB file is refused with its size and what to do instead
    (huge,) = [f for f in failures if "huge.txt" in f]
    assert "50.0 MB" in huge and "JSON Lines" in huge
    # legacy encodings are converted, and the user is told which one each file was in
    notes = [ln for ln in result.stderr.splitlines() if "converted from" in ln]
    assert len(notes) == 2, result.stderr
    assert any("tcvn3_abc_page.txt" in n and "TCVN3 (ABC)" in n for n in notes)
    assert any("vni_page.txt" in n and "VNI" in n for n in notes)

    engine = SearchEngine(index_dir)
    everything = engine.search("-zzqxjw", per_page=100)  # every article but none
    assert sorted(h["id"] for h in everything["hits"]) == sorted(GOOD_IDS)


def test_legacy_and_windows_pages_read_as_proper_vietnamese(indexed) -> None:
    index_dir, result = indexed
    assert result.returncode == 0, result.stderr
    engine = SearchEngine(index_dir)
    tcvn3 = engine.article("tcvn3_abc_page")
    assert tcvn3 is not None
    assert tcvn3["title"] == (
        "Huyện Bình Lục quán triệt Kết luận 21-KL/TW về xây dựng, chỉnh đốn Đảng"
    )
    assert tcvn3["date"] == "2005-03-15"
    assert [d["code"] for d in tcvn3["directives"]] == ["21-KL/TW"]
    assert tcvn3["localities"][0]["district"] == "Bình Lục"
    vni = engine.article("vni_page")
    assert vni is not None
    assert vni["title"] == (
        "Tỉnh ủy Vĩnh Phúc triển khai Quy định 37-QĐ/TW về những điều đảng viên không được làm"
    )
    assert [d["code"] for d in vni["directives"]] == ["37-QĐ/TW"]
    # accent-free search finds the converted text, and marks it as written
    hits = engine.search("nhung dieu dang vien khong duoc lam")["hits"]
    assert hits and hits[0]["id"] == "vni_page"
    assert "<mark>" in hits[0]["snippet"]
    windows = engine.article("windows_1258")
    reference = engine.article("003_b884a5e5383089b0")
    assert windows is not None and reference is not None
    assert windows["title"] == reference["title"] and windows["body"] == reference["body"]


def test_vietnamese_file_name_is_an_ordinary_article(indexed) -> None:
    index_dir, _ = indexed
    engine = SearchEngine(index_dir)
    record = engine.article(VIETNAMESE_NAME)
    assert record is not None and record["source"].endswith(f"{VIETNAMESE_NAME}.txt")
    hits = engine.search("pho di bo van minh")["hits"]
    assert [h["id"] for h in hits][:1] == [VIETNAMESE_NAME]


def test_second_run_changes_nothing_and_reports_the_same(indexed, bad_corpus) -> None:
    index_dir, first = indexed
    again = vnsearch("index", bad_corpus, "--index", index_dir, "--workers", "2")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        f"added 0, updated 0, deleted 0, unchanged {len(GOOD_IDS)}, "
        f"failed {len(EXPECTED_FAILURES) + len(EXPECTED_BAD_LINES)}"
    )
    assert sorted(failure_lines(again.stderr)) == sorted(failure_lines(first.stderr))


def test_extract_reports_the_same_problems(bad_corpus) -> None:
    result = vnsearch("extract", bad_corpus, "--json")
    assert result.returncode == 1  # some files could not be read
    assert "Traceback" not in result.stderr
    records = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(records) == len(GOOD_IDS)
    problems = result.stderr.splitlines()
    for name, reason in EXPECTED_FAILURES.items():
        mine = [p for p in problems if p.startswith(f"{bad_corpus / name}: ")]
        assert len(mine) == 1 and reason in mine[0], (name, problems)
    for reason in EXPECTED_BAD_LINES:
        assert sum(reason in p for p in problems) == 1, problems
    assert sum("converted from" in p for p in problems) == 2


def test_single_bad_files_given_by_name(tmp_path: Path) -> None:
    """Files named on the command line get the same reasons, and a clean exit status."""
    junk = tmp_path / "junk.txt"
    junk.write_bytes(os.urandom(4096) + b"\x00")
    good = tmp_path / f"{VIETNAMESE_NAME}.txt"
    shutil.copy(BAD / good.name, good)
    result = vnsearch("index", junk, good, tmp_path / "missing.txt",
                      "--index", tmp_path / "ix")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "added 1, updated 0, deleted 0, unchanged 0, failed 2"
    assert f"failed: {junk}: binary file" in result.stderr
    assert "missing.txt: no such file or folder" in result.stderr
