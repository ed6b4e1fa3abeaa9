"""A real Xapian cluster on loopback: 2 shards and 1 replica each, as server processes.

The cluster (`indexer.xapian_cluster`, what `vnsearch cluster` runs) is
filled through `vnsearch index` over the network; a single local Xapian
database of the same articles is the reference. The cluster must give the
same results for the query table, an update must reach the replicas and the
open engine, and killing a shard's primary server while the web site
answers queries must give neither a wrong answer nor a 500.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import xapian
from conftest import LiveServer
from test_xapian import FIXTURES, REPO, cli, comparable, query_table

from engine import SearchEngine
from indexer.xapian_cluster import Cluster, free_ports
from indexer.xapian_store import GENERATION_KEY, Shard, load_store, shard_of, write_store


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Path, Path]]:
    """(running cluster, its corpus, a local single-database index of the same corpus)."""
    root = tmp_path_factory.mktemp("cluster")
    corpus = root / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    for name in FIXTURES:
        shutil.copy(REPO / "tests" / "data" / name, corpus)
    running = Cluster(root / "cluster", 2, 1, "127.0.0.1", free_ports(Cluster.ports_needed(2, 1)))
    running.folder.mkdir()
    running.start()
    try:
        done = cli("index", str(corpus), "--index", str(running.folder))
        assert done.returncode == 0, done.stderr
        single = root / "single"
        done = cli("index", str(corpus), "--index", str(single), "--backend", "xapian")
        assert done.returncode == 0, done.stderr
        yield running, corpus, single
    finally:
        running.stop()
    assert not running.alive()


def shard_doccounts(store_dir: Path) -> list[int]:
    store = load_store(store_dir)
    counts = []
    for shard in store.shards:
        host, port = shard.primary.split(":")  # type: ignore[union-attr]
        counts.append(xapian.remote_open(host, int(port)).get_doccount())
    return counts


def test_cluster_gives_the_single_database_results(cluster) -> None:
    running, _, single = cluster
    counts = shard_doccounts(running.folder)
    assert len(counts) == 2 and min(counts) > 0  # the articles are spread over both shards
    reference, sharded = SearchEngine(single), SearchEngine(running.folder)
    table = query_table(reference)
    for query, filters, sort, page, per_page in table:
        want = reference.search(query, filters=filters, sort=sort, page=page, per_page=per_page)
        got = sharded.search(query, filters=filters, sort=sort, page=page, per_page=per_page)
        assert comparable(got) == comparable(want), (query, filters, sort, page)
    hit = reference.search("Đảng")["hits"][0]["id"]
    assert sharded.article(hit, "Đảng") == reference.article(hit, "Đảng")


def test_shard_of_is_stable_across_processes() -> None:
    """Routing must not depend on Python's per-process string hashing."""
    ids = [f"id-{i}" for i in range(200)]
    mine = [shard_of(article_id, 4) for article_id in ids]
    code = ("import json, sys; from indexer.xapian_store import shard_of; "
            "print(json.dumps([shard_of(f'id-{i}', 4) for i in range(200)]))")
    other = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "7"})
    assert json.loads(other.stdout) == mine
    assert set(mine) == {0, 1, 2, 3}


def wait_for_generation(address: str, generation: int, timeout: float = 60) -> xapian.Database:
    host, port = address.split(":")
    deadline = time.monotonic() + timeout
    while True:
        db = xapian.remote_open(host, int(port))
        if db.get_metadata(GENERATION_KEY) == str(generation).encode():
            return db
        if time.monotonic() > deadline:
            raise AssertionError(f"{address} never reached generation {generation}")
        time.sleep(0.2)


def test_an_update_reaches_the_replicas_and_the_open_engine(cluster, tmp_path: Path) -> None:
    running, corpus, _ = cluster
    sharded = SearchEngine(running.folder)
    assert sharded.search('"cá tầm Sa Pa"')["total"] == 0
    article = {"id": "cluster-new", "title": "Nuôi cá tầm ở Sa Pa", "date": "2026-01-05",
               "body": "Hợp tác xã ở Sa Pa, tỉnh Lào Cai, mở rộng nuôi cá tầm Sa Pa."}
    (corpus / "new.jsonl").write_text(json.dumps(article, ensure_ascii=False) + "\n", "utf-8")
    done = cli("index", str(corpus), "--index", str(running.folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("added 1, updated 0, deleted 0")
    # the open engine re-opens the shards after the commit
    found = sharded.search('"cá tầm Sa Pa"')
    assert [hit["id"] for hit in found["hits"]] == ["cluster-new"]
    # the replica of the article's shard gets the new generation and the article
    store = load_store(running.folder)
    shard = store.shards[shard_of("cluster-new", 2)]
    held = int(xapian.remote_open(*_split(shard.primary)).get_metadata(GENERATION_KEY))
    replica = wait_for_generation(shard.replicas[0], held)
    assert replica.get_termfreq("id:cluster-new") == 1
    # searching the replicas alone gives what the primaries give
    only_replicas = tmp_path / "replicas"
    write_store(only_replicas, [Shard(primary=s.replicas[0]) for s in store.shards])
    for i, s in enumerate(store.shards):
        if i != shard_of("cluster-new", 2):
            wait_for_generation(s.replicas[0], held)
    from_replicas = SearchEngine(only_replicas)
    for query in ('"cá tầm Sa Pa"', "Đảng", "xay dung dang"):
        assert comparable(from_replicas.search(query)) == comparable(sharded.search(query))


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_killing_a_shard_primary_during_queries(cluster, caplog) -> None:
    """Queries keep their exact answers through the fail-over to the replica; no 500."""
    running, _, _ = cluster
    store = load_store(running.folder)
    for shard in store.shards:  # replicas up to date before the primary goes
        held = xapian.remote_open(*_split(shard.primary)).get_metadata(GENERATION_KEY)
        wait_for_generation(shard.replicas[0], int(held))
    queries = ["Đảng", "xay dung chinh don dang", '"chỉnh đốn Đảng"', "21-KL/TW", "tỉnh",
               "hoà bình", "đang"]
    server = LiveServer(running.folder)
    answers: list[tuple[str, int, dict]] = []
    stop = threading.Event()

    def ask(query: str, page: int = 1) -> tuple[int, dict]:
        params = urllib.parse.urlencode({"q": query, "page": page, "per_page": 5})
        return get_json(f"{server.url}/api/search?{params}")

    def keep_asking() -> None:
        i = 0
        while not stop.is_set():
            query = queries[i % len(queries)]
            status, body = ask(query, 1 + (i // len(queries)) % 2)
            answers.append((query, status, body))
            i += 1

    try:
        expected = {(q, page): comparable(ask(q, page)[1]) for q in queries for page in (1, 2)}
        with caplog.at_level(logging.WARNING, logger="vnsearch.xapian"):
            worker = threading.Thread(target=keep_asking)
            worker.start()
            while len(answers) < 10:
                time.sleep(0.05)
            before = len(answers)
            running.kill(running.find("primary", 0))
            while len(answers) < before + 30:
                time.sleep(0.05)
            stop.set()
            worker.join(timeout=60)
        for query, status, body in answers:
            assert status == 200, (query, status)
            assert comparable(body) == expected[(query, body["page"])], query
        assert any("reading replica" in r.getMessage() or "instead" in r.getMessage()
                   for r in caplog.records)
        status, body = ask("Đảng")
        assert status == 200 and comparable(body) == expected[("Đảng", 1)]
        # with the replica gone too the shard has no copy: a clear 503, never a 500
        running.kill(running.find("replica", 0))
        status, body = ask("hợp tác xã nông nghiệp")
        assert status == 503, (status, body)
        assert "thử lại" in body["error"]["message"]
    finally:
        stop.set()
        server.stop()


def _split(address: str) -> tuple[str, int]:
    host, port = address.split(":")
    return host, int(port)


def test_vnsearch_cluster_command_serves_until_stopped(tmp_path: Path) -> None:
    """`vnsearch cluster` starts the servers, the folder works as an index, SIGTERM stops all."""
    folder = tmp_path / "vn-cluster"
    proc = subprocess.Popen([sys.executable, "-m", "vnsearch", "cluster", str(folder),
                             "--shards", "2", "--replicas", "0"], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
        assert lines[0].startswith("shard 0: primary 127.0.0.1:"), (lines, proc.poll())
        assert lines[2].startswith("index folder:")
        store = load_store(folder)
        assert len(store.shards) == 2 and all(s.writer for s in store.shards)
        done = cli("index", "corpus", "--index", str(folder))
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("added 5,")
        found = cli("search", "xay dung dang", "--index", str(folder), "--json")
        assert found.returncode == 0, found.stderr
        assert json.loads(found.stdout)["total"] > 0
    finally:
        proc.terminate()
        status = proc.wait(timeout=30)
    assert status == 0
    for shard in store.shards:  # every server has gone
        for address in (shard.primary, shard.writer):
            with pytest.raises(xapian.NetworkError):
                xapian.remote_open(*_split(address or ""), 10_000, 1_000)


def test_vnsearch_cluster_refuses_a_folder_it_would_break(tmp_path: Path) -> None:
    """Another shard count, or a local index, would misroute ids: refused, nothing started."""
    folder = tmp_path / "c"
    write_store(folder, [Shard(primary="127.0.0.1:1", writer="127.0.0.1:2")])
    done = cli("cluster", str(folder), "--shards", "2")
    assert done.returncode == 2
    assert "holds 1 shards, not 2" in done.stderr
    assert not (folder / "shards").exists()
    local = tmp_path / "local"
    assert cli("index", "corpus", "--index", str(local)).returncode == 0
    done = cli("cluster", str(local))
    assert done.returncode == 2 and "holds a local index" in done.stderr
