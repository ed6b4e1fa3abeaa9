"""Load test on loopback: many clients on /api/search while the indexer adds articles.

    python bench/load.py [--articles 2000] [--clients 200] [--duration 30]
                         [--threads 8] [--workers 1,2] [--add-every 3] [--add-batch 20]
                         [--keep DIR] [--index DIR]

Builds an index of the first --articles VietNews articles
(../shared/data/vietnews/vietnews_valtest.jsonl.xz; corpus/ if that is
missing), or copies the built index given by --index (queries then come from
its own titles), starts the real `vnsearch serve` (gunicorn workers running
waitress) on a free port once per --workers count, and runs
--clients concurrent keep-alive HTTP clients for --duration seconds against
/api/search with realistic queries (accented, accent-free, phrases, facets,
date sort, later pages). Meanwhile an indexer loop writes --add-batch new
articles every --add-every seconds and runs `vnsearch index` on the folder, so
the server re-opens new index generations under load.

Every response must be a 200 with valid search JSON; anything else (status,
broken connection, timeout, bad JSON) is an error. Reports requests, errors,
throughput and latency percentiles, the resident memory of each server
process after the load, and what the indexer did; with several --workers
counts, the throughput of each as a ratio to the first. One run on a
shared machine: read the figures as orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import lzma
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "vietnews" / "vietnews_valtest.jsonl.xz"


def vnsearch(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "vnsearch", *map(str, args)]


def read_records(limit: int) -> list[dict]:
    """The first `limit` VietNews records (interface JSON fields)."""
    records = []
    with lzma.open(DATA, "rt", encoding="utf-8") as handle:
        for line in handle:
            records.append(json.loads(line))
            if len(records) >= limit:
                break
    return records


def write_jsonl(path: Path, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def make_queries(titles: list[str], rnd: random.Random, count: int = 400) -> list[str]:
    """Query strings users would send: title words, accent-free, phrases, facets, pages."""
    from unidecode import unidecode

    queries: list[str] = []
    for _ in range(count):
        words = rnd.choice(titles).split()
        if len(words) < 2:
            continue
        start = rnd.randrange(max(1, len(words) - 2))
        text = " ".join(words[start : start + rnd.choice((1, 2, 3))]).strip(",.:;\"'")
        kind = rnd.random()
        params: dict[str, str] = {}
        if kind < 0.35:
            params["q"] = unidecode(text).lower()  # accent-free, the common case
        elif kind < 0.5:
            params["q"] = f'"{text}"'
        elif kind < 0.6:
            params.update(q=text, sort="date")
        elif kind < 0.7:
            params.update(q=text, page="2")
        elif kind < 0.8:
            params.update(q=text, province=rnd.choice(["Hà Nội", "Hồ Chí Minh", "Đà Nẵng"]))
        else:
            params["q"] = text
        queries.append("/api/search?" + urlencode(params))
    return queries


# ---------------------------------------------------------------- the load


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    #: Successful responses that arrived before the deadline (the throughput window).
    in_window: int = 0
    errors: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def _client(host: str, port: int, queries: list[str], deadline: float, stats: Stats,
                  rnd: random.Random, timeout: float) -> None:
    """One user: keep-alive requests one after another until the deadline."""
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.monotonic() < deadline:
        path = rnd.choice(queries)
        started = time.perf_counter()
        try:
            if conn is None:
                conn = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            reader, writer = conn
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            status, headers, body = await asyncio.wait_for(_read_response(reader), timeout)
            elapsed = time.perf_counter() - started
            stats.statuses[status] += 1
            if status != 200:
                stats.errors[f"HTTP {status}"] += 1
            else:
                data = json.loads(body)
                if not isinstance(data.get("hits"), list) or "total" not in data:
                    stats.errors["not search JSON"] += 1
                else:
                    stats.latencies.append(elapsed)
                    stats.in_window += time.monotonic() <= deadline
            if headers.get("connection", "").lower() == "close":
                writer.close()
                conn = None
        except TimeoutError:
            stats.errors["timeout"] += 1
            conn = _drop(conn)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
            stats.errors[type(err).__name__] += 1
            conn = _drop(conn)
        except ValueError:
            stats.errors["invalid JSON"] += 1
    _drop(conn)


def _drop(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
    if conn is not None:
        conn[1].close()
    return None


def run_load(url: str, queries: list[str], clients: int, duration: float, seed: int = 1,
             timeout: float = 30.0) -> tuple[Stats, float]:
    """`clients` concurrent keep-alive users for `duration` seconds; (stats, elapsed)."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    stats = Stats()

    async def main() -> None:
        deadline = time.monotonic() + duration
        await asyncio.gather(*(
            _client(host, int(port), queries, deadline, stats, random.Random(seed + i), timeout)
            for i in range(clients)
        ))

    started = time.perf_counter()
    # A thread of its own: the caller's thread may already run an event loop.
    runner = threading.Thread(target=asyncio.run, args=(main(),))
    runner.start()
    runner.join()
    return stats, time.perf_counter() - started


# ---------------------------------------------------------------- server and indexer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`vnsearch serve` in a subprocess on a free loopback port."""

    def __init__(self, index_dir: Path, threads: int, workers: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        extra = ("--workers", str(workers)) if workers else ()
        self.proc = subprocess.Popen(
            vnsearch("serve", "--index", index_dir, "--port", str(self.port),
                     "--threads", str(threads), *extra),
            cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/search?q=a", timeout=5) as reply:
                    if reply.status == 200:
                        self._settle()
                        return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"server did not start:\n{self.output()}") from None
                time.sleep(0.2)

    def _settle(self) -> None:
        """Wait until every worker has opened the index (their CPU time stops growing)."""
        last = -1.0
        for _ in range(600):
            used = sum(self.worker_cpu_seconds())
            if used - last < 0.05 and child_pids(self.proc.pid):
                return
            last = used
            time.sleep(1.0)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def worker_cpu_seconds(self) -> list[float]:
        """CPU time (user + system) each worker process has used so far."""
        return [cpu_seconds(pid) for pid in child_pids(self.proc.pid)]

    def worker_rss_mb(self) -> list[dict[str, float]]:
        """Resident memory (MB) of each worker process (the children of the master)."""
        return [rss_mb(pid) for pid in child_pids(self.proc.pid)]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (Linux /proc)."""
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return sorted(int(child) for task in tasks
                      for child in (task / "children").read_text().split())
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory of a process in MB: all of it (VmRSS), its own (RssAnon), the
    index files it maps (RssFile: page-cache pages every worker shares), its
    proportional share (Pss: shared pages divided among the processes mapping them;
    Pss_Anon: of its own memory, not the index's page cache) and the pages no other
    process maps (Private)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            out[name] = round(int(value.split()[0]) / 1024, 1)
    try:
        private = 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(("Pss:", "Pss_Anon:")):
                out[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                private += int(line.split()[1])
        out["Private"] = round(private / 1024, 1)
    except OSError:
        pass
    return out


class IndexerLoop:
    """Adds a file of new articles and runs `vnsearch index` on the folder, again and again."""

    def __init__(self, corpus: Path, index_dir: Path, batches: list[list[dict]],
                 every: float, workers: int = 1) -> None:
        self.corpus, self.index_dir = corpus, index_dir
        self.batches, self.every, self.workers = batches, every, workers
        self.runs: list[tuple[int, float, str]] = []  # (exit status, seconds, summary/stderr)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        for number, batch in enumerate(self.batches):
            if self._stop.wait(self.every):
                return
            write_jsonl(self.corpus / f"added_{number:04d}.jsonl", batch)
            started = time.perf_counter()
            result = subprocess.run(
                vnsearch("index", self.corpus, "--index", self.index_dir,
                         "--workers", str(self.workers)),
                cwd=REPO, capture_output=True, text=True, check=False,
            )
            text = result.stdout.strip() if result.returncode == 0 else result.stderr.strip()
            self.runs.append((result.returncode, time.perf_counter() - started, text))

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(stats: Stats, elapsed: float, clients: int, duration: float,
           indexer: IndexerLoop | None) -> dict:
    """Figures of one run; throughput counts answers within the --duration window only."""
    done = len(stats.latencies) + sum(stats.errors.values())
    ms = [v * 1000 for v in stats.latencies]
    summary = {
        "clients": clients,
        "seconds": duration,
        "seconds_with_drain": round(elapsed, 1),
        "requests": done,
        "errors": sum(stats.errors.values()),
        "error_kinds": dict(stats.errors),
        "throughput_rps": round(stats.in_window / duration, 1),
        "latency_ms": {
            "p50": round(percentile(ms, 50), 1),
            "p95": round(percentile(ms, 95), 1),
            "p99": round(percentile(ms, 99), 1),
            "max": round(max(ms), 1) if ms else None,
            "mean": round(statistics.fmean(ms), 1) if ms else None,
        },
    }
    if indexer is not None:
        summary["indexer_runs"] = [
            {"status": code, "seconds": round(sec, 1), "result": text.splitlines()[-1:]}
            for code, sec, text in indexer.runs
        ]
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads per worker")
    parser.add_argument("--workers", default="",
                        help="server processes, comma-separated counts run one after the "
                             "other on the same index (default: vnsearch serve's default)")
    parser.add_argument("--add-every", type=float, default=3.0)
    parser.add_argument("--add-batch", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None,
                        help="work folder to keep (and reuse its base index)")
    parser.add_argument("--index", type=Path, default=None,
                        help="a built index to copy and serve instead of building one "
                             "(the indexer loop then adds to the copy)")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    worker_counts: list[int | None] = [int(w) for w in args.workers.split(",") if w] or [None]

    work = args.keep or Path(tempfile.mkdtemp(prefix="vnsearch-load-"))
    corpus, index_dir = work / "corpus", work / "index"
    extra_needed = args.add_batch * int(args.duration / args.add_every + 2) * len(worker_counts)
    titles: list[str]
    if args.index is not None:
        base: list[dict] = []
        records = read_records(extra_needed) if DATA.exists() else []
        extra = [{**r, "id": f"load-extra-{i}"} for i, r in enumerate(records)]
        source = f"a copy of {args.index}"
    elif DATA.exists():
        records = read_records(args.articles + extra_needed)
        base, extra = records[: args.articles], records[args.articles :]
        source = f"{len(base)} VietNews articles"
    else:  # a fresh clone without ../shared: the sample corpus, re-numbered for the adds
        from indexer.extract import extract_file

        samples = [a.to_dict() for p in sorted((REPO / "corpus").glob("*.txt"))
                   for a in extract_file(p)]
        base = samples
        extra = [{**samples[i % len(samples)], "id": f"extra-{i}"} for i in range(extra_needed)]
        source = "corpus/ (../shared/data missing)"
    if corpus.exists():
        for added in corpus.glob("added_*.jsonl"):
            added.unlink()  # a kept folder starts from its base again
    corpus.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.index is not None:
        shutil.rmtree(index_dir, ignore_errors=True)
        shutil.copytree(args.index, index_dir)
        sys.path.insert(0, str(REPO))
        from engine import SearchEngine

        engine = SearchEngine(str(index_dir))
        titles = [hit["title"] for q in ("Việt Nam", "Hà Nội", "kinh tế", "chính sách")
                  for hit in engine.search(q, per_page=100)["hits"]]
        del engine
        print(f"index: {source}")
    else:
        write_jsonl(corpus / "base.jsonl", base)
        built = subprocess.run(vnsearch("index", corpus, "--index", index_dir), cwd=REPO,
                               capture_output=True, text=True, check=False)
        if built.returncode != 0:
            print(built.stderr, file=sys.stderr)
            return 1
        print(f"index of {source}: {built.stdout.strip()} "
              f"({time.perf_counter() - started:.1f} s)")
        titles = [r.get("title") or "" for r in base if r.get("title")]

    queries = make_queries([t for t in titles if t], random.Random(7))
    # --add-batch 0: no indexer beside the load (an index of an older schema would be rebuilt)
    batches = [extra[i : i + args.add_batch]
               for i in range(0, len(extra), args.add_batch)] if args.add_batch > 0 else []
    per_run = len(batches) // len(worker_counts) if batches else 0
    results = []
    status = 0
    for number, workers in enumerate(worker_counts):
        server = Server(index_dir, args.threads, workers)
        run_batches = batches[number * per_run : (number + 1) * per_run]
        indexer = IndexerLoop(corpus, index_dir, run_batches, args.add_every)
        try:
            indexer.start()
            cpu_before = sum(server.worker_cpu_seconds())
            client_before = time.process_time()
            stats, elapsed = run_load(server.url, queries, args.clients, args.duration)
            cpu = round(sum(server.worker_cpu_seconds()) - cpu_before, 1)
            client_cpu = round(time.process_time() - client_before, 1)
            indexer.stop()
            rss = server.worker_rss_mb()
            master = rss_mb(server.proc.pid)
        finally:
            indexer.stop()
            server.stop()
        result = report(stats, elapsed, args.clients, args.duration, indexer)
        result["index"] = source
        result["workers"] = workers or "default"
        result["waitress_threads"] = args.threads
        result["worker_rss_mb"] = rss
        result["master_rss_mb"] = master
        result["server_pss_mb"] = round(master.get("Pss", 0) + sum(r.get("Pss", 0) for r in rss), 1)
        result["server_anon_pss_mb"] = round(
            master.get("Pss_Anon", 0) + sum(r.get("Pss_Anon", 0) for r in rss), 1)
        result["worker_cpu_seconds"] = cpu
        result["client_cpu_seconds"] = client_cpu
        results.append(result)
        lat = result["latency_ms"]
        runs = result["indexer_runs"]
        print(f"{args.clients} clients for {args.duration:g} s (+{elapsed - args.duration:.1f} s "
              f"to finish requests in flight) on /api/search "
              f"({workers or 'default'} workers, {args.threads} waitress threads each, "
              f"{os.cpu_count()} cores):")
        print(f"  requests {result['requests']}, errors {result['errors']} "
              f"{result['error_kinds']}")
        print(f"  throughput {result['throughput_rps']} req/s; latency ms p50 {lat['p50']}, "
              f"p95 {lat['p95']}, p99 {lat['p99']}, max {lat['max']}")
        print(f"  resident memory per worker after the load (MB): {rss}; master {master}; "
              f"all server processes' PSS {result['server_pss_mb']} MB, of which "
              f"anonymous {result['server_anon_pss_mb']} MB")
        print(f"  CPU seconds the workers used during the load: {cpu} ({cpu / elapsed:.2f} "
              f"cores busy); the load generator: {client_cpu}; load average "
              f"{os.getloadavg()[0]:.1f}")
        ok_runs = sum(1 for r in runs if r["status"] == 0)
        print(f"  indexer: {len(runs)} runs during the load, {ok_runs} committed "
              f"({args.add_batch} articles each)")
        for run in runs:
            print(f"    exit {run['status']} in {run['seconds']} s: {' '.join(run['result'])}")
        if result["errors"] or ok_runs != len(runs):
            status = 1
    if len(results) > 1:
        first = results[0]["throughput_rps"] or float("nan")
        ratios = ", ".join(f"{r['workers']} workers {r['throughput_rps'] / first:.2f}x"
                           for r in results[1:])
        print(f"throughput against {results[0]['workers']} worker(s): {ratios}")
        base_pss, base_anon = results[0]["server_pss_mb"], results[0]["server_anon_pss_mb"]
        added = ", ".join(f"{r['workers']} workers +{r['server_pss_mb'] - base_pss:.0f} MB "
                          f"(anonymous +{r['server_anon_pss_mb'] - base_anon:.0f} MB; the rest "
                          f"is index pages in the shared page cache)" for r in results[1:])
        print(f"memory (PSS of master and workers) against {results[0]['workers']} "
              f"worker(s): {added}")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
