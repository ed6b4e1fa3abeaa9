"""Load smoke test: 20 keep-alive clients for 5 s while the indexer adds articles.

The real `vnsearch serve` (waitress) in a subprocess and the real `vnsearch
index` run repeatedly beside it, driven by bench/load.py's own client, so the
bench and this test exercise the same code. It asserts correctness only
(every response a 200 with search JSON, every indexer run committed, the new
articles searchable afterwards); speed is bench/load.py's business.
"""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_load", REPO / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _server_errors(server) -> str:
    """The server's log without waitress's queue-depth chatter: the tracebacks."""
    return "\n".join(line for line in server.output().splitlines() if "queue depth" not in line)


def test_searches_under_load_while_indexing_never_fail(tmp_path: Path) -> None:
    bench = load_bench()
    from indexer.extract import extract_file

    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    index_dir = tmp_path / "index"
    records = [a.to_dict() for p in sorted(corpus.glob("*.txt")) for a in extract_file(p)]
    batches = [
        [{**records[(b + i) % len(records)], "id": f"load-{b}-{i}", "source": None}
         for i in range(4)]
        for b in range(3)
    ]
    first = subprocess.run(bench.vnsearch("index", corpus, "--index", index_dir), cwd=REPO,
                           capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    server = bench.Server(index_dir, threads=4)
    try:
        indexer = bench.IndexerLoop(corpus, index_dir, batches, every=0.5)
        queries = bench.make_queries([r["title"] for r in records], random.Random(3), 60)
        queries += ["/api/search?q=xay+dung+chinh+don+dang", "/api/search?q=B%C3%ACnh+L%E1%BB%A5c"]
        indexer.start()
        try:
            stats, _ = bench.run_load(server.url, queries, clients=20, duration=5.0)
        finally:
            indexer.stop()
        assert sum(stats.errors.values()) == 0, (dict(stats.errors), _server_errors(server))
        assert len(stats.latencies) > 20  # the clients really ran
        codes = [code for code, _, _ in indexer.runs]
        assert codes and set(codes) == {0}, indexer.runs  # at least one commit under load
        # the articles added under load are searchable without a restart
        url = f"{server.url}/api/search?q=-zzqxjw&per_page=100"
        with urllib.request.urlopen(url, timeout=30) as reply:
            ids = {hit["id"] for hit in json.load(reply)["hits"]}
        assert {f"load-{b}-{i}" for b in range(len(codes)) for i in range(4)} <= ids
    finally:
        server.stop()
    assert "Traceback" not in server.output()


def test_more_open_browsers_than_waitress_default_limit_all_get_answers(tmp_path: Path) -> None:
    """120 keep-alive visitors at once: each is answered (waitress stops at 100 by default)."""
    bench = load_bench()
    index_dir = tmp_path / "index"
    built = subprocess.run(bench.vnsearch("index", REPO / "corpus", "--index", index_dir),
                           cwd=REPO, capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    server = bench.Server(index_dir, threads=4)
    sockets: list[socket.socket] = []
    try:
        for _ in range(120):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            sock.sendall(f"GET /api/search?q=xay+dung HTTP/1.1\r\nHost: 127.0.0.1:"
                         f"{server.port}\r\n\r\n".encode())
            sockets.append(sock)
        for sock in sockets:  # every one is answered while all stay open
            reply = sock.makefile("rb")
            assert reply.readline().startswith(b"HTTP/1.1 200")
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
