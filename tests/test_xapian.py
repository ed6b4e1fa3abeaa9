"""The Xapian backend gives exactly the Whoosh backend's results.

The same articles (corpus/ and the search and locality fixtures of
tests/data) are indexed twice through `vnsearch index`, once with each
backend; then a table of queries (accented, accent-free, phrase, code, every
facet filter, date sort, paging) must give the same result JSON, timing
aside. Incremental runs (a changed and a removed article) must keep the two
alike, and the CLI must choose the backend by `--backend` and
`VNSEARCH_BACKEND`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine import SearchEngine

REPO = Path(__file__).resolve().parent.parent
FIXTURES = ("search_extra.jsonl", "localities_mixed.jsonl", "query_semantics.jsonl")

#: (query, filters, sort, page, per_page)
QUERIES: list[tuple[str, dict[str, list[str]], str, int, int]] = [
    ("Đảng", {}, "relevance", 1, 10),
    ("đang", {}, "relevance", 1, 10),
    ("xay dung chinh don dang", {}, "relevance", 1, 10),
    ("xây dựng Đảng", {}, "relevance", 1, 10),
    ('"chỉnh đốn Đảng"', {}, "relevance", 1, 10),
    ('"xay dung dang"', {}, "relevance", 1, 10),
    ("21-KL/TW", {}, "relevance", 1, 10),
    ("21 kl/tw", {}, "relevance", 1, 10),
    ("hoà bình", {}, "relevance", 1, 10),
    ("Gò Công Tây OR Vĩnh Tường", {}, "relevance", 1, 10),
    ("tỉnh -huyện", {}, "relevance", 1, 10),
    ("tỉnh", {}, "date", 1, 10),
    ("tỉnh", {}, "relevance", 2, 3),
    ("xa", {}, "relevance", 1, 5),
    ("không có từ nào như thế zzqxv", {}, "relevance", 1, 10),
    # phrases with a repeated syllable, accented and not: matched by Xapian's matcher
    ('"tự soi tự"', {}, "relevance", 1, 10),
    ('"dao chi dao"', {}, "relevance", 1, 10),
    ('"hoi hoi"', {}, "relevance", 1, 10),
    ("lãnh đạo chỉ đạo tiên tiến", {}, "relevance", 1, 10),
]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vnsearch", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, **(env or {})})


def comparable(result: dict) -> dict:
    """The result JSON without what differs between two runs (time taken)."""
    return {key: value for key, value in result.items() if key != "took_ms"}


@pytest.fixture(scope="session")
def both_indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(corpus, Whoosh index, Xapian index) of the same articles, built by `vnsearch index`."""
    root = tmp_path_factory.mktemp("backends")
    corpus = root / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    for name in FIXTURES:
        shutil.copy(REPO / "tests" / "data" / name, corpus)
    whoosh_dir, xapian_dir = root / "whoosh", root / "xapian"
    done = cli("index", str(corpus), "--index", str(whoosh_dir))
    assert done.returncode == 0, done.stderr
    done = cli("index", str(corpus), "--index", str(xapian_dir), "--backend", "xapian")
    assert done.returncode == 0, done.stderr
    assert (xapian_dir / "xapian.json").is_file()
    assert not list(xapian_dir.glob("_MAIN_*.toc"))
    return corpus, whoosh_dir, xapian_dir


def query_table(engine: SearchEngine) -> list[tuple[str, dict, str, int, int]]:
    """QUERIES plus one filter on the first two values of every facet a broad query shows."""
    table = list(QUERIES)
    broad = engine.search("tỉnh", per_page=1)
    for name, entries in broad["facets"].items():
        if name.startswith("locality_tree"):
            continue
        for entry in entries[:2]:
            table.append(("tỉnh", {name: [entry["value"]]}, "relevance", 1, 10))
    table.append(("Đảng", {"year": [broad["facets"]["year"][0]["value"]]}, "date", 1, 10))
    return table


def test_same_results_as_whoosh_for_the_query_table(both_indexes) -> None:
    _, whoosh_dir, xapian_dir = both_indexes
    whoosh, xap = SearchEngine(whoosh_dir), SearchEngine(xapian_dir)
    table = query_table(whoosh)
    assert len([t for t in table if t[1]]) >= 10  # every facet is filtered on
    nonempty = 0
    for query, filters, sort, page, per_page in table:
        want = whoosh.search(query, filters=filters, sort=sort, page=page, per_page=per_page)
        got = xap.search(query, filters=filters, sort=sort, page=page, per_page=per_page)
        assert comparable(got) == comparable(want), (query, filters, sort, page)
        nonempty += bool(want["hits"])
    assert nonempty >= len(table) - 2  # the table really finds articles
    ids = [hit["id"] for hit in whoosh.search("Đảng")["hits"]]
    for article_id in ids[:3]:
        assert xap.article(article_id, "Đảng") == whoosh.article(article_id, "Đảng")


def test_phrases_matched_over_the_whole_index_give_the_same_results(both_indexes,
                                                                  monkeypatch) -> None:
    """A phrase among many candidates is matched by Xapian over the whole index (kept per
    generation) rather than among the candidates' ids: the results stay Whoosh's."""
    from engine import xapian_reading

    _, whoosh_dir, xapian_dir = both_indexes
    monkeypatch.setattr(xapian_reading, "PHRASE_FILTER_MAX", 0)
    whoosh, xap = SearchEngine(whoosh_dir), SearchEngine(xapian_dir)
    queries = [q for q, *_ in QUERIES if '"' in q or len(q.split()) > 1]
    for query in queries:
        assert comparable(xap.search(query)) == comparable(whoosh.search(query)), query
    cached = xap._snapshots.current().view._cache  # noqa: SLF001 - the path was taken
    assert any(key[0] == "\x00phrase" for key in cached)


def test_cli_search_json_is_the_same_on_both_backends(both_indexes) -> None:
    _, whoosh_dir, xapian_dir = both_indexes
    args = ("search", "xay dung dang", "--json", "--directive", "21-KL/TW")
    whoosh = cli(*args, "--index", str(whoosh_dir))
    xap = cli(*args, "--index", str(xapian_dir), env={"VNSEARCH_BACKEND": "xapian"})
    assert whoosh.returncode == 0 and xap.returncode == 0, (whoosh.stderr, xap.stderr)
    assert json.loads(whoosh.stdout)["hits"]
    assert comparable(json.loads(xap.stdout)) == comparable(json.loads(whoosh.stdout))


def test_backend_that_contradicts_the_index_is_refused(both_indexes) -> None:
    _, whoosh_dir, xapian_dir = both_indexes
    done = cli("search", "Đảng", "--index", str(xapian_dir), "--backend", "whoosh")
    assert done.returncode != 0
    assert "holds a xapian index" in done.stderr
    done = cli("index", "corpus", "--index", str(whoosh_dir), env={"VNSEARCH_BACKEND": "xapian"})
    assert done.returncode != 0
    assert "holds a whoosh index" in done.stderr


def test_incremental_runs_keep_both_backends_alike(both_indexes, tmp_path: Path) -> None:
    corpus, whoosh_src, xapian_src = both_indexes
    mine = tmp_path / "corpus"
    shutil.copytree(corpus, mine)
    whoosh_dir, xapian_dir = tmp_path / "whoosh", tmp_path / "xapian"
    # the same incremental state as the session indexes: digests name absolute paths,
    # so both are rebuilt from this copy first
    for index_dir, backend in ((whoosh_dir, "whoosh"), (xapian_dir, "xapian")):
        done = cli("index", str(mine), "--index", str(index_dir), "--backend", backend)
        assert done.returncode == 0, done.stderr
    lines = (mine / "search_extra.jsonl").read_text("utf-8").splitlines()
    first = json.loads(lines[0])
    first["title"] = "Hợp tác xã nuôi cá tầm ở Lào Cai"
    first["body"] = "Hợp tác xã nuôi cá tầm mở rộng vùng nuôi ở Sa Pa."
    (mine / "search_extra.jsonl").write_text(
        "\n".join([json.dumps(first, ensure_ascii=False), *lines[2:]]) + "\n", "utf-8")
    summaries = []
    for index_dir, backend in ((whoosh_dir, "whoosh"), (xapian_dir, "xapian")):
        done = cli("index", str(mine), "--index", str(index_dir), "--backend", backend)
        assert done.returncode == 0, done.stderr
        summaries.append(done.stdout.strip())
    assert summaries[0] == summaries[1] == "added 0, updated 1, deleted 1, unchanged 38, failed 0"
    whoosh, xap = SearchEngine(whoosh_dir), SearchEngine(xapian_dir)
    for query in ("cá tầm", "ca tam", first["id"], "Đảng", "xay dung dang"):
        assert comparable(xap.search(query)) == comparable(whoosh.search(query)), query
    assert [h["id"] for h in xap.search('"nuôi cá tầm"')["hits"]] == [first["id"]]
    gone = json.loads(lines[1])["id"]
    assert xap.article(gone) is None
    done = cli("index", str(mine), "--index", str(xapian_dir))
    assert done.stdout.strip() == "added 0, updated 0, deleted 0, unchanged 39, failed 0"
    assert whoosh_src != whoosh_dir and xapian_src != xapian_dir


def test_parts_written_by_worker_processes_are_all_searchable(tmp_path: Path) -> None:
    """Past the writer processes' threshold each worker writes a part; the commit joins them."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    base = [json.loads(line) for line in
            (REPO / "tests" / "data" / "search_extra.jsonl").read_text("utf-8").splitlines()]
    with open(corpus / "many.jsonl", "w", encoding="utf-8") as out:
        for i in range(90):
            article = dict(base[i % len(base)], id=f"copy-{i}")
            out.write(json.dumps(article, ensure_ascii=False) + "\n")
    dirs = {"whoosh": tmp_path / "whoosh", "xapian": tmp_path / "xapian"}
    for backend, index_dir in dirs.items():
        done = cli("index", str(corpus), "--index", str(index_dir), "--backend", backend,
                   "--workers", "2")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "added 90, updated 0, deleted 0, unchanged 0, failed 0"
    assert not (dirs["xapian"] / "parts").exists()  # the parts were joined and removed
    whoosh, xap = SearchEngine(dirs["whoosh"]), SearchEngine(dirs["xapian"])
    for query in ("Đảng", "xay dung", '"đang nắng"', "nghị quyết"):
        want = whoosh.search(query, per_page=100)
        got = xap.search(query, per_page=100)
        assert got["total"] == want["total"] > 0, query
        assert sorted(h["id"] for h in got["hits"]) == sorted(h["id"] for h in want["hits"])
        assert got["facets"] == want["facets"]
