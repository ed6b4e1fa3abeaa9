"""What must not stop indexing or serving: odd characters in the index state,
an id claimed by two files, a reading process that dies or hangs, a commit
damaged by a power cut.

Everything is real: `vnsearch` subprocesses, a Whoosh index on disk, reading
processes killed with SIGKILL, TOC and segment files emptied, truncated or
overwritten the way a power cut leaves them, and the site served by
`vnsearch serve` on loopback.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from processes import wait_for_children

from indexer.build import build_index
from indexer.generations import open_generation, toc_generations, toc_path
from indexer.schema import StateError, decode_state, encode_state

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
EVERYTHING = "-zzqxjw"  # a query with only an exclusion: every article
CORPUS_IDS = {p.stem for p in CORPUS.glob("*.txt")}
#: Samples whose first line is the title (the others open with a page header).
TITLE_FIRST = ("000", "001", "004")


def cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "vnsearch", *map(str, args)]


def run(*args: str | Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(*args), cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, **(env or {})})


def indexed(result: subprocess.CompletedProcess[str]) -> str:
    """The summary line of a successful `vnsearch index` run."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout.strip()


def ids_found(index_dir: Path) -> set[str]:
    """The ids a search for everything lists (the engine behind `search` and the site)."""
    from engine import SearchEngine

    return {hit["id"] for hit in SearchEngine(index_dir).search(EVERYTHING, per_page=100)["hits"]}


def ids_from_cli(index_dir: Path) -> set[str]:
    """The same through `vnsearch search --json`, checking it prints no traceback."""
    result = run("search", "--index", index_dir, "--per-page", "100", "--json", "--", EVERYTHING)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return {hit["id"] for hit in json.loads(result.stdout)["hits"]}


def article_title(index_dir: Path, article_id: str) -> str | None:
    from engine import SearchEngine

    record = SearchEngine(index_dir).article(article_id)
    return None if record is None else record["title"]


def jsonl(path: Path, *records: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def record(article_id: str, title: str) -> dict[str, str]:
    body = ("Hội nghị Ban Chấp hành Đảng bộ huyện Bình Lục, tỉnh Hà Nam bàn về công tác "
            f"xây dựng Đảng. {title}.")
    return {"id": article_id, "title": title, "body": body, "date": "2024-05-01"}


def write_article(folder: Path, name: str, version: int = 0) -> None:
    """A .txt article made from a sample's paragraphs, its title ending in `bản <version>`."""
    samples = [p for p in sorted(CORPUS.glob("*.txt")) if p.name[:3] in TITLE_FIRST]
    lines = samples[sum(map(ord, name)) % len(samples)].read_text("utf-8").splitlines()
    paragraphs = [line for line in lines[1:] if len(line) > 80][:4]
    text = f"{lines[0]} ({name}, bản {version})\n\n" + "\n\n".join(paragraphs) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(text, "utf-8")


# ---------------------------------------------------------------- index state


def test_state_round_trips_any_character() -> None:
    odd = ["a\x1fb", "x\ny", '"quoted"', "\\", "ngày\x00", "bad\udcff-utf8", "\x1f\x1f"]
    for article_id in odd:
        for path in odd:
            value = encode_state(article_id, f"/data/{path}.txt", "h")
            assert decode_state(value) == (article_id, f"/data/{path}.txt", "h")
    for damaged in (b"a\x1fb\x1fc", b"\xff\xfe", b"[1, 2, 3]", b'["only", "two"]', b""):
        with pytest.raises(StateError):
            decode_state(damaged)


def test_unit_separator_in_paths_and_ids_never_stops_later_runs(tmp_path: Path) -> None:
    """Was: indexed once, then every run crashed, even after --rebuild."""
    corpus = tmp_path / "kho\x1fbài"  # named on the command line, so taken as it is
    shutil.copytree(CORPUS, corpus)
    jsonl(corpus / "tin.jsonl", record("ma\x1fso", "Mã có ký tự lạ"),
          record("binh-thuong", "Bài bình thường"))
    first = indexed(run("index", corpus, "--index", tmp_path / "ix"))
    found = ids_found(tmp_path / "ix")
    assert found >= CORPUS_IDS | {"binh-thuong"}
    # an id with a control character may be refused where ids enter; either
    # way every later run works and agrees with the first
    again = indexed(run("index", corpus, "--index", tmp_path / "ix"))
    assert again.startswith("added 0, updated 0, deleted 0"), again
    assert ids_found(tmp_path / "ix") == found
    rebuilt = build_index([str(corpus)], tmp_path / "ix", rebuild=True)
    assert rebuilt.line() == first
    assert ids_found(tmp_path / "ix") == found
    after = build_index([str(corpus)], tmp_path / "ix")
    assert after.line() == again and ids_found(tmp_path / "ix") == found


def test_unreadable_state_means_a_rebuild_with_a_warning(tmp_path: Path) -> None:
    from whoosh import index

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index_dir = tmp_path / "ix"
    build_index([str(corpus)], index_dir)
    writer = index.open_dir(str(index_dir)).writer()  # state in a form this version cannot read
    writer.add_document(id="la", title="lạ", index_state=b"la\x1f/mot/duong\x1fdan\xff")
    writer.commit(merge=False)

    result = run("index", corpus, "--index", index_dir)
    assert indexed(result) == "added 5, updated 0, deleted 0, unchanged 0, failed 0"
    assert "index state cannot be read" in result.stderr and "rebuilding" in result.stderr
    assert ids_found(index_dir) == CORPUS_IDS
    assert build_index([str(corpus)], index_dir).line().endswith("unchanged 5, failed 0")


# ---------------------------------------------------------------- duplicate ids


def test_an_id_stays_with_the_first_file_that_holds_it(tmp_path: Path) -> None:
    """Was: folder B silently replaced folder A's article, and re-indexing A kept B's."""
    index_dir = tmp_path / "ix"
    a, b = tmp_path / "a" / "a.jsonl", tmp_path / "b" / "b.jsonl"
    jsonl(a, record("trung", "Bản của thư mục A"))
    jsonl(b, record("trung", "Bản của thư mục B"), record("chi-b", "Chỉ có ở B"))

    assert build_index([str(a.parent)], index_dir).added == 1
    second = run("index", b.parent, "--index", index_dir)  # said on stderr, not silently
    assert indexed(second) == "added 1, updated 0, deleted 0, unchanged 0, failed 0"
    assert (f"vnsearch index: {b}: article id 'trung' is already indexed from {a}; "
            "this copy is skipped") in second.stderr
    assert article_title(index_dir, "trung") == "Bản của thư mục A"
    again = build_index([str(a.parent)], index_dir)
    assert again.line() == "added 0, updated 0, deleted 0, unchanged 1, failed 0"
    assert article_title(index_dir, "trung") == "Bản của thư mục A"
    # both folders in one run: still A's, still reported
    both = build_index([str(b.parent), str(a.parent)], index_dir)
    assert both.line() == "added 0, updated 0, deleted 0, unchanged 2, failed 0"
    assert any("already indexed from" in warning for warning in both.warnings)
    assert article_title(index_dir, "trung") == "Bản của thư mục A"
    # once A's file is gone, B's copy takes the id
    a.unlink()
    taken = build_index([str(b.parent)], index_dir)
    assert taken.line() == "added 0, updated 1, deleted 0, unchanged 1, failed 0"
    assert taken.warnings == []
    assert article_title(index_dir, "trung") == "Bản của thư mục B"


def test_the_first_holder_keeps_its_id_when_read_after_the_newcomer(tmp_path: Path) -> None:
    """In one folder, a new file sorted before the first holder does not take its id."""
    index_dir = tmp_path / "ix"
    folder = tmp_path / "tin"
    jsonl(folder / "z_cu.jsonl", record("trung", "Bản cũ"))
    build_index([str(folder)], index_dir)
    jsonl(folder / "a_moi.jsonl", record("trung", "Bản mới"), record("khac", "Bài khác"))
    result = build_index([str(folder)], index_dir)
    assert result.line() == "added 1, updated 0, deleted 0, unchanged 1, failed 0"
    assert result.warnings == [
        f"{folder / 'a_moi.jsonl'}: article id 'trung' is already indexed from "
        f"{folder / 'z_cu.jsonl'}; this copy is skipped (an id stays with the first file "
        "that holds it)"]
    assert article_title(index_dir, "trung") == "Bản cũ"
    # the first holder no longer holds it: the other file gets it in the same run
    jsonl(folder / "z_cu.jsonl", record("con-lai", "Bài còn lại"))
    result = build_index([str(folder)], index_dir)
    assert result.line() == "added 1, updated 1, deleted 0, unchanged 1, failed 0"
    assert article_title(index_dir, "trung") == "Bản mới"


# ---------------------------------------------------------------- reading processes


@pytest.fixture
def six_articles(tmp_path: Path) -> tuple[Path, Path]:
    """(folder of 6 articles, index holding version 0 of them)."""
    folder = tmp_path / "tin"
    for i in range(6):
        write_article(folder, f"bai_{i}")
    index_dir = tmp_path / "ix"
    assert build_index([str(folder)], index_dir).added == 6
    for i in range(6):
        write_article(folder, f"bai_{i}", version=1)
    return folder, index_dir


def versions(index_dir: Path) -> dict[str, str]:
    return {f"bai_{i}": (article_title(index_dir, f"bai_{i}") or "").rsplit(" ", 1)[-1]
            for i in range(6)}


def test_a_killed_reading_process_costs_only_its_file(six_articles: tuple[Path, Path]) -> None:
    """Was: the indexer waited for ever for the dead worker's file, holding the lock."""
    folder, index_dir = six_articles
    proc = subprocess.Popen(cli("index", folder, "--index", index_dir, "--workers", "2"),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "VNSEARCH_READ_DELAY": "1.5"})
    try:
        victim = wait_for_children(proc.pid, 2)[0]
        time.sleep(0.3)  # it is asleep inside its first file
        os.kill(victim, signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert out.strip() == "added 0, updated 5, deleted 0, unchanged 0, failed 1", err
    assert "the reading process died (killed by SIGKILL)" in err and "Traceback" not in err
    assert sorted(versions(index_dir).values()) == ["0)", "1)", "1)", "1)", "1)", "1)"]
    # the next run reads that file again
    assert build_index([str(folder)], index_dir).line() == (
        "added 0, updated 1, deleted 0, unchanged 5, failed 0")
    assert set(versions(index_dir).values()) == {"1)"}


def test_a_file_over_the_time_limit_is_reported_and_its_articles_kept(
    six_articles: tuple[Path, Path]
) -> None:
    """One endless file does not hold the whole run (and the lock): it is given up."""
    folder, index_dir = six_articles
    slow = {"VNSEARCH_READ_DELAY": "60:bai_3.txt", "VNSEARCH_FILE_TIMEOUT": "2"}
    result = run("index", folder, "--index", index_dir, "--workers", "2", env=slow, timeout=50)
    assert indexed(result) == "added 0, updated 5, deleted 0, unchanged 0, failed 1"
    assert f"failed: {folder / 'bai_3.txt'}: took longer than 2 s to read" in result.stderr
    assert versions(index_dir)["bai_3"] == "0)"  # the old version is kept
    assert set(versions(index_dir).values()) == {"0)", "1)"}
    assert build_index([str(folder)], index_dir).line() == (
        "added 0, updated 1, deleted 0, unchanged 5, failed 0")


def test_a_long_dump_that_keeps_progressing_is_not_cut_off(tmp_path: Path) -> None:
    """The time limit is on progress: a dump slower than it, record by record, is read."""
    folder, index_dir = tmp_path / "dump", tmp_path / "index"
    jsonl(folder / "dump.jsonl", *(record(f"dump-{n}", f"Bài {n}") for n in range(8)))
    slow = {"VNSEARCH_RECORD_DELAY": "0.5", "VNSEARCH_FILE_TIMEOUT": "2"}  # ~4 s in all
    result = run("index", folder, "--index", index_dir, "--workers", "1", env=slow, timeout=120)
    assert indexed(result) == "added 8, updated 0, deleted 0, unchanged 0, failed 0"
    assert "took longer" not in result.stderr


# ---------------------------------------------------------------- damaged commits


def newest_toc(index_dir: Path) -> Path:
    return toc_path(index_dir, toc_generations(index_dir)[0])


def newest_segment(index_dir: Path) -> Path:
    """A segment file of the newest generation that the one before it does not have."""
    newest, previous = toc_generations(index_dir)[:2]
    ids = [{s.segment_id() for s in open_generation(index_dir, gen)._read_toc().segments}
           for gen in (newest, previous)]
    (segment,) = ids[0] - ids[1]
    return index_dir / f"{segment}.seg"


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _garbage(path: Path) -> None:
    path.write_bytes(random.Random(path.name).randbytes(path.stat().st_size))


#: What a power cut can leave of the newest commit (the TOC, or a segment of it).
DAMAGE: dict[str, Callable[[Path], None]] = {
    "empty TOC": lambda ix: _empty(newest_toc(ix)),
    "truncated TOC": lambda ix: _truncate(newest_toc(ix)),
    "garbage TOC": lambda ix: _garbage(newest_toc(ix)),
    "truncated segment": lambda ix: _truncate(newest_segment(ix)),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    """`vnsearch serve` on loopback, in its own process."""

    def __init__(self, index_dir: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.proc = subprocess.Popen(
            cli("serve", "--index", index_dir, "--port", self.url.rsplit(":", 1)[1]),
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 60
        while self.get("/")[0] != 200:
            assert self.proc.poll() is None, self.proc.communicate()[1]
            assert time.monotonic() < deadline, "the site did not come up"
            time.sleep(0.2)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode("utf-8", "replace")
        except OSError:
            return 0, ""

    def ids(self) -> set[str]:
        status, body = self.get(f"/api/search?q={urllib.parse.quote(EVERYTHING)}&per_page=100")
        assert status == 200, body
        return {hit["id"] for hit in json.loads(body)["hits"]}

    def pages_answer(self, article_id: str) -> None:
        for path in ("/", "/search?q=xay+dung+dang", "/api/search?q=x%C3%A2y+d%E1%BB%B1ng",
                     f"/article/{article_id}", f"/api/article/{article_id}",
                     "/api/suggest?q=xay"):
            status, body = self.get(path)
            assert status == 200, (path, status, body[:300])

    def stop(self) -> str:
        self.proc.terminate()
        try:
            return self.proc.communicate(timeout=10)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()[1]


@pytest.fixture
def site_factory() -> Iterator[Callable[[Path], Site]]:
    sites: list[Site] = []

    def start(index_dir: Path) -> Site:
        sites.append(Site(index_dir))
        return sites[-1]

    yield start
    for site in sites:
        site.stop()


def test_a_damaged_newest_commit_falls_back_to_the_last_good_one(
    tmp_path: Path, site_factory: Callable[[Path], Site]
) -> None:
    """Was: every page 500, `search` a traceback, `index` and `--rebuild` crashed.

    The only generation damaged: search answers (nothing), `index` rebuilds.
    Then, for each kind of damage, a commit is made and damaged: the site and
    `vnsearch search` serve the generation before it, `vnsearch index`
    continues from that one and its commit supersedes the damaged one.
    """
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index_dir = tmp_path / "ix"
    build_index([str(corpus)], index_dir)
    _empty(newest_toc(index_dir))
    assert ids_from_cli(index_dir) == set()
    healed = run("index", corpus, "--index", index_dir)
    assert indexed(healed) == "added 5, updated 0, deleted 0, unchanged 0, failed 0"
    assert "cannot be read" in healed.stderr and "rebuilding" in healed.stderr
    assert ids_found(index_dir) == CORPUS_IDS

    site = site_factory(index_dir)
    served = CORPUS_IDS
    assert site.ids() == served
    for n, (kind, damage) in enumerate(DAMAGE.items()):
        write_article(corpus, f"moi_{n}")
        assert build_index([str(corpus)], index_dir).added == 1
        damage(index_dir)
        # the generation before the damaged one
        assert (ids_from_cli if n % 2 else ids_found)(index_dir) == served, kind
        assert site.ids() == served, kind
        site.pages_answer("moi_0" if n else "000_3fbea2c4a168ddd1")
        result = run("index", corpus, "--index", index_dir)
        assert indexed(result) == (
            f"added 1, updated 0, deleted 0, unchanged {len(served)}, failed 0"), kind
        assert "cannot be read" in result.stderr and "last good one" in result.stderr, kind
        served = served | {f"moi_{n}"}
        assert ids_found(index_dir) == served, kind
        assert site.ids() == served, kind
        # the damaged generation is gone, the one before the new commit stays
        assert len(toc_generations(index_dir)) == 2, kind

    assert build_index([str(corpus)], index_dir, rebuild=True).line() == (
        f"added {len(served)}, updated 0, deleted 0, unchanged 0, failed 0")
    assert site.ids() == served
    log = site.stop()
    assert "Traceback" not in log, log


def test_a_long_running_engine_sees_every_commit_s_deletions(tmp_path: Path) -> None:
    """A server that stays up lists what a fresh one lists after every commit.

    Each commit deletes more documents from segments the server has already
    read: a re-used segment reader must forget Whoosh's cached set of deleted
    documents, or deleted and replaced articles stay listed.
    """
    folder, index_dir = tmp_path / "tin", tmp_path / "ix"
    for shard in range(4):
        jsonl(folder / f"phan_{shard}.jsonl",
              *(record(f"bai-{shard}-{n}", f"Bài {n} phần {shard}") for n in range(3)))
    build_index([str(folder)], index_dir)
    from engine import SearchEngine

    serving = SearchEngine(index_dir)
    assert len(ids_found(index_dir)) == serving.search(EVERYTHING)["total"] == 12
    for shard in range(3):
        (folder / f"phan_{shard}.jsonl").unlink()
        jsonl(folder / "phan_3.jsonl", *(record(f"bai-3-{n}", f"Bài {n} sửa lần {shard}")
                                         for n in range(3 - shard)))
        build_index([str(folder)], index_dir)
        fresh = SearchEngine(index_dir).search(EVERYTHING, per_page=100)
        assert serving.search(EVERYTHING, per_page=100)["hits"] == fresh["hits"], shard
        assert {h["id"] for h in fresh["hits"]} == (
            {f"bai-{s}-{n}" for s in range(shard + 1, 3) for n in range(3)}
            | {f"bai-3-{n}" for n in range(3 - shard)})
