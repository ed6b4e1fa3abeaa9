"""Soak: index, serve and kill at random for a while, then compare with a clean build.

A corpus folder changes under the indexer (shards of articles added, edited,
deleted, an article moved from one file to another) while `vnsearch index`
runs again and again and `vnsearch serve` answers a steady stream of
queries. At random, a fault hits:

- the indexer SIGKILLed at a random point of its run;
- one of its processes (a reading or a writer process) SIGKILLed;
- the server SIGKILLed mid-run (then started again);
- a power cut simulated after a commit: the newest TOC emptied, truncated or
  overwritten with garbage (what an unflushed write can leave).

Every run must end by itself, print no traceback and leave an index that
answers; the server must never answer 5xx. At the end a run without faults
must bring the index to exactly what a clean build of the same folder gives:
the same ids, source paths and content hashes (the `index_state` column),
and the same results for a set of queries (totals, matching ids, facets).

The articles come from a slice of /work/shared/data/crawl-news-2026-sample
when it is there (never copied into the repository), else from corpus/.

    python bench/soak.py                 # 2 minutes
    python bench/soak.py --minutes 60    # the long mode
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from processes import children  # noqa: E402  (tests/processes.py)

from engine import SearchEngine  # noqa: E402
from indexer.extract import extract_file  # noqa: E402
from indexer.generations import open_newest_readable, toc_generations, toc_path  # noqa: E402
from indexer.schema import decode_state  # noqa: E402

DATA = Path("/work/shared/data/crawl-news-2026-sample/crawl_news_2026.jsonl.xz")
EVERYTHING = "-zzqxjw"  # only an exclusion: every article
FAULTS = {"none": 3, "kill-indexer": 3, "kill-child": 3, "kill-server": 1, "power-cut": 1}
EXIT_BUSY = 75


def cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "vnsearch", *map(str, args)]


# ---------------------------------------------------------------- articles


def load_articles(limit: int, rnd: random.Random) -> tuple[list[dict], str]:
    """Up to `limit` article records, and where they came from."""
    if DATA.exists():
        with lzma.open(DATA, "rt", encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
        rnd.shuffle(records)
        keep = ("id", "title", "body", "date", "source_url")
        return [{k: r[k] for k in keep if r.get(k)} for r in records[:limit]], str(DATA)
    records = []
    for path in sorted((REPO / "corpus").glob("*.txt")):
        for article in extract_file(path):
            records.append({"id": article.id, "title": article.title, "body": article.body,
                            "date": article.date})
    # corpus/ is small: variants of its articles make a pool of `limit`
    pool = [{**r, "id": f"{r['id']}-{n}", "title": f"{r['title']} ({n})"}
            for n in range(max(1, limit // max(1, len(records)))) for r in records]
    return pool[:limit], "corpus/"


class Corpus:
    """A folder of JSONL shards that changes between runs, never holding an id twice."""

    def __init__(self, folder: Path, pool: list[dict], rnd: random.Random) -> None:
        self.folder = folder
        self.rnd = rnd
        self.unused = list(pool)
        self.shards: dict[str, list[dict]] = {}
        self.edits = 0
        self.next_shard = 0
        folder.mkdir(parents=True)
        for _ in range(max(2, len(pool) // 12)):
            self.add_shard()

    def _write(self, name: str) -> None:
        with open(self.folder / name, "w", encoding="utf-8") as handle:
            for record in self.shards[name]:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def add_shard(self) -> None:
        size = self.rnd.randint(3, 8)
        if len(self.unused) < size:
            return
        name = f"shard_{self.next_shard:04d}.jsonl"
        self.next_shard += 1
        self.shards[name] = [self.unused.pop() for _ in range(size)]
        self._write(name)

    def delete_shard(self) -> None:
        if len(self.shards) > 2:
            name = self.rnd.choice(sorted(self.shards))
            self.unused.extend(self.shards.pop(name))
            (self.folder / name).unlink()

    def edit_article(self) -> None:
        name = self.rnd.choice(sorted(self.shards))
        record = self.rnd.choice(self.shards[name])
        self.edits += 1
        record["body"] = f"{record['body']}\n\nCập nhật lần {self.edits}: thông tin bổ sung."
        self._write(name)

    def move_article(self) -> None:
        """An article leaves one file for another in the same step (no lasting duplicate)."""
        if len(self.shards) < 2:
            return
        source, target = self.rnd.sample(sorted(self.shards), 2)
        if len(self.shards[source]) < 2:
            return
        record = self.shards[source].pop(self.rnd.randrange(len(self.shards[source])))
        self.shards[target].append(record)
        self._write(source)
        self._write(target)

    def change(self) -> None:
        for _ in range(self.rnd.randint(1, 4)):
            self.rnd.choice([self.add_shard, self.delete_shard, self.edit_article,
                             self.edit_article, self.move_article])()

    def titles(self) -> list[str]:
        return [r["title"] for shard in self.shards.values() for r in shard]


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`vnsearch serve` on loopback, restartable, with a client thread querying it."""

    def __init__(self, index_dir: Path, log: Path, queries: list[str]) -> None:
        self.index_dir = index_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.queries = queries
        self.statuses: Counter[str] = Counter()
        self.bad: list[str] = []
        self.restarts = 0
        self.proc: subprocess.Popen | None = None
        self._stop = threading.Event()
        self.start()
        self.client = threading.Thread(target=self._client, daemon=True)
        self.client.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(cli("serve", "--index", self.index_dir, "--port", self.port),
                                     cwd=REPO, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while self.get("/")[0] != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"vnsearch serve did not start (see {self.log.name})")
            time.sleep(0.2)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def restart(self) -> None:
        self.restarts += 1
        self.start()

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except OSError:
            return 0, b""

    def _client(self) -> None:
        rnd = random.Random(1)
        while not self._stop.is_set():
            q = rnd.choice(self.queries)
            path = rnd.choice([f"/api/search?q={urllib.parse.quote(q)}",
                               f"/search?q={urllib.parse.quote(q)}&sort=date",
                               f"/api/suggest?q={urllib.parse.quote(q[:4])}"])
            status, body = self.get(path)
            if status == 0:
                self.statuses["down"] += 1
            else:
                self.statuses[str(status)] += 1
            if status >= 500 or (status == 200 and path.startswith("/api/search")
                                 and not body.startswith(b"{")):
                self.bad.append(f"{status} {path}")
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        self.client.join(timeout=40)
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


# ---------------------------------------------------------------- the soak


@dataclass
class Tally:
    runs: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    exits: Counter[int] = field(default_factory=Counter)
    commits: int = 0
    files_reported: int = 0
    healed: int = 0
    problems: list[str] = field(default_factory=list)


def index_run(corpus: Path, index_dir: Path, env: dict[str, str], fault: str, duration: float,
              server: Server, rnd: random.Random, tally: Tally) -> float:
    """One `vnsearch index` run with `fault`; returns how long it took."""
    started = time.monotonic()
    proc = subprocess.Popen(cli("index", corpus, "--index", index_dir, "--workers", "2"),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    at = rnd.uniform(0.05, 0.95) * duration
    hit = False
    if fault in ("kill-indexer", "kill-server"):
        time.sleep(at)
        if fault == "kill-indexer" and proc.poll() is None:
            proc.kill()
            hit = True
        elif fault == "kill-server":
            server.kill()
            hit = True
    elif fault == "kill-child":
        deadline = started + at
        kids: list[int] = []
        while proc.poll() is None and time.monotonic() < deadline + duration:
            kids = children(proc.pid)
            if kids and time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        if kids and proc.poll() is None:
            try:
                os.kill(rnd.choice(kids), signal.SIGKILL)
                hit = True
            except ProcessLookupError:
                pass
    try:
        out, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        tally.problems.append(f"run {tally.runs}: hung (killed after 600 s), fault {fault}")
    if fault == "kill-server":
        server.restart()
    elapsed = time.monotonic() - started
    tally.runs += 1
    tally.exits[proc.returncode] += 1
    if hit:
        tally.faults[fault] += 1
    if "Traceback" in err:
        tally.problems.append(f"run {tally.runs}: traceback\n{err}")
    expected = {0, -signal.SIGKILL} if fault == "kill-indexer" else {0}
    if fault == "kill-child":
        expected = {0, 1}  # a reading process costs its file; a writer process the run
    if proc.returncode == EXIT_BUSY:
        pass  # processes of a killed run still going away: the next run retries
    elif proc.returncode not in expected:
        tally.problems.append(f"run {tally.runs}: exit {proc.returncode} with fault {fault}\n{err}")
    if proc.returncode == 0:
        tally.commits += "added 0, updated 0, deleted 0" not in out
        tally.files_reported += sum(1 for line in err.splitlines() if line.startswith("failed:"))
        tally.healed += "the last good one" in err or "no readable index generation" in err
    return elapsed


def power_cut(index_dir: Path, rnd: random.Random) -> str:
    """Damage the newest TOC the way an unflushed write can leave it."""
    toc = toc_path(index_dir, toc_generations(index_dir)[0])
    data = toc.read_bytes()
    kind = rnd.choice(["empty", "truncated", "garbage"])
    toc.write_bytes(b"" if kind == "empty" else data[: len(data) // 2] if kind == "truncated"
                    else rnd.randbytes(len(data)))
    return kind


def index_state(index_dir: Path) -> dict[str, tuple[str, str]]:
    """id → (source path, content hash), as the newest readable generation records it."""
    ix = open_newest_readable(index_dir).index
    assert ix is not None, f"no readable generation in {index_dir}"
    state = {}
    with ix.reader() as reader:
        column = reader.column_reader("index_state")
        for docnum in reader.all_doc_ids():
            article_id, path, hash_value = decode_state(column[docnum])
            state[article_id] = (path, hash_value)
    return state


def results(engine: SearchEngine, q: str) -> dict:
    """What a query gives: total, every matching id, facets (scores aside)."""
    first = engine.search(q, per_page=100)
    ids = [h["id"] for h in first["hits"]]
    for page in range(2, first["pages"] + 1):
        ids += [h["id"] for h in engine.search(q, per_page=100, page=page)["hits"]]
    return {"total": first["total"], "ids": sorted(ids), "facets": first["facets"],
            "top": [h["id"] for h in first["hits"][:10]]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--articles", type=int, default=300, help="size of the article pool")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--read-delay", type=float, default=0.02,
                        help="seconds each file takes to read (keeps reading processes "
                             "alive long enough to be killed)")
    parser.add_argument("--workdir", type=Path, default=None, help="kept after the run")
    args = parser.parse_args()

    rnd = random.Random(args.seed)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="vnsearch-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    pool, origin = load_articles(args.articles, rnd)
    corpus = Corpus(work / "corpus", pool, rnd)
    index_dir = work / "index"
    env = {**os.environ, "VNSEARCH_READ_DELAY": str(args.read_delay)}
    print(f"soak: {len(pool)} articles from {origin}, {len(corpus.shards)} shards, "
          f"{args.minutes:g} min, work in {work}", flush=True)

    tally = Tally()
    started = time.monotonic()
    first = subprocess.run(cli("index", corpus.folder, "--index", index_dir), cwd=REPO,
                           capture_output=True, text=True, env=env, check=False)
    if first.returncode != 0:
        print(first.stderr, file=sys.stderr)
        return 1
    duration = time.monotonic() - started
    words = [w for title in corpus.titles() for w in title.split() if len(w) > 3]
    queries = [EVERYTHING, "xay dung", "Hà Nội", "giá vàng", *rnd.sample(words, 16)]
    server = Server(index_dir, work / "serve.log", queries)
    weights = list(FAULTS.values())
    try:
        end = started + args.minutes * 60
        while time.monotonic() < end:
            corpus.change()
            fault = rnd.choices(list(FAULTS), weights)[0]
            if fault == "power-cut":
                elapsed = index_run(corpus.folder, index_dir, env, "none", duration, server,
                                    rnd, tally)
                tally.faults[f"power-cut ({power_cut(index_dir, rnd)} TOC)"] += 1
            else:
                elapsed = index_run(corpus.folder, index_dir, env, fault, duration, server,
                                    rnd, tally)
            if fault == "none":
                duration = elapsed
            if tally.problems:
                break
            engine = SearchEngine(index_dir)  # a fresh reader opens what is there and answers
            engine.search(EVERYTHING)
            print(f"  {time.monotonic() - started:6.0f} s: run {tally.runs} ({fault}), "
                  f"{tally.commits} commits", flush=True)

        # the end: one run without faults must give exactly a clean build
        for _attempt in range(30):
            final = subprocess.run(cli("index", corpus.folder, "--index", index_dir), cwd=REPO,
                                   capture_output=True, text=True, check=False)
            if final.returncode != EXIT_BUSY:
                break
            time.sleep(0.5)
        if final.returncode != 0 or "Traceback" in final.stderr:
            tally.problems.append(f"final run: exit {final.returncode}\n{final.stderr}")
        clean_dir = work / "clean"
        clean = subprocess.run(cli("index", corpus.folder, "--index", clean_dir), cwd=REPO,
                               capture_output=True, text=True, check=False)
        if clean.returncode != 0:
            tally.problems.append(f"clean build failed\n{clean.stderr}")
        soaked_state, clean_state = index_state(index_dir), index_state(clean_dir)
        if soaked_state != clean_state:
            diff = set(soaked_state.items()) ^ set(clean_state.items())
            tally.problems.append(f"index state differs from a clean build: {sorted(diff)[:5]}")
        soaked, fresh = SearchEngine(index_dir), SearchEngine(clean_dir)
        same_order = 0
        for q in queries:
            got, want = results(soaked, q), results(fresh, q)
            same_order += got.pop("top") == want.pop("top")
            if got != want:
                tally.problems.append(f"results differ from a clean build for {q!r}")
        # the long-running server has picked up the last commit and agrees
        for q in queries[:5]:
            status, body = server.get(f"/api/search?q={urllib.parse.quote(q)}&per_page=100")
            total = json.loads(body).get("total") if status == 200 else None
            if total != results(fresh, q)["total"]:
                tally.problems.append(f"the server disagrees with a clean build for {q!r}: "
                                      f"HTTP {status}, total {total} for "
                                      f"{results(fresh, q)['total']}: {body[:200]!r}")
    finally:
        server.stop()
    if server.bad:
        tally.problems.append(f"server errors: {server.bad[:5]} ({len(server.bad)} in all)")

    minutes = (time.monotonic() - started) / 60
    print(f"soak: {minutes:.1f} min, {tally.runs} index runs ({tally.commits} committed), "
          f"exit statuses {dict(tally.exits)}")
    print(f"  faults survived: {dict(tally.faults)}; server restarts {server.restarts}")
    print(f"  files reported failed (killed reading processes): {tally.files_reported}; "
          f"damaged generations superseded: {tally.healed}")
    print(f"  HTTP answers: {dict(server.statuses)}")
    print(f"  final index: {len(soaked_state)} articles; ids, paths and content hashes "
          f"{'equal' if soaked_state == clean_state else 'DIFFER'} to a clean build; "
          f"{len(queries)} queries: same results, same top-10 order for {same_order}")
    for problem in tally.problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    if not args.workdir and not tally.problems:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if tally.problems else 0


if __name__ == "__main__":
    sys.exit(main())
