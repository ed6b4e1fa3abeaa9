"""Faults: the indexer or its reading processes killed at random, a full disk,
two indexers at once.

Everything is done for real: `vnsearch index` subprocesses killed with SIGKILL
at random moments, their reading processes too, a 2 MB tmpfs mounted over the
index folder (root, as in CI) or, where mounting is impossible, RLIMIT_FSIZE
in the child so that writes fail with EFBIG, with and without parallel writer
processes, and two indexers started together on one index.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from processes import children, wait_for_children
from whoosh import index as whoosh_index

from engine import SearchEngine
from indexer.build import build_index
from indexer.generations import open_generation, toc_generations
from indexer.writers import PARALLEL_THRESHOLD

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
EXIT_BUSY = 75
EVERYTHING = "-zzqxjw"  # a query with only an exclusion: every article


def cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "vnsearch", *map(str, args)]


#: `vnsearch` with RLIMIT_FSIZE set once pyvi's model is loaded (its unpickling
#: writes a 4 MB temporary file, which is not the write we want to fail).
LIMITED_CLI = """
import resource, sys
import indexer.build
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from vnsearch.cli import main
sys.argv = ["vnsearch", *sys.argv[2:]]
main()
"""


def run_index(corpus: Path, index_dir: Path, *extra: str,
              max_file_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    """`vnsearch index`; with `max_file_bytes`, no file it writes may grow past that."""
    args = cli("index", corpus, "--index", index_dir, *extra)
    if max_file_bytes is not None:
        args = [sys.executable, "-c", LIMITED_CLI, str(max_file_bytes), *args[3:]]
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300,
                          check=False)


def write_article(folder: Path, name: str, rnd: random.Random, version: int = 0) -> None:
    """An article made from the samples' paragraphs (so it has localities and directives)."""
    samples = sorted(CORPUS.glob("*.txt"))
    lines = samples[rnd.randrange(len(samples))].read_text("utf-8").splitlines()
    paragraphs = [line for line in lines[1:] if len(line) > 80]
    rnd.shuffle(paragraphs)
    text = f"{lines[0]} ({name}, bản {version})\n\n" + "\n\n".join(paragraphs[:3]) + "\n"
    (folder / f"{name}.txt").write_text(text, "utf-8")


def content(index_dir: Path) -> dict:
    """What a user can see of an index: every article's record and the facet counts."""
    engine = SearchEngine(index_dir)
    result = engine.search(EVERYTHING, per_page=100)
    pages = [result]
    for page in range(2, result["pages"] + 1):
        pages.append(engine.search(EVERYTHING, per_page=100, page=page))
    records = {}
    for hit in (h for p in pages for h in p["hits"]):
        record = engine.article(hit["id"])
        assert record is not None
        record.pop("related")
        record.pop("source")
        records[hit["id"]] = record
    return {"records": records, "facets": result["facets"], "total": result["total"]}


def assert_answers(index_dir: Path) -> set[str]:
    """The index opens and answers queries; returns the ids it holds."""
    if not whoosh_index.exists_in(str(index_dir)):
        return set()  # killed before the first commit: no index yet, nothing broken
    engine = SearchEngine(index_dir)
    found = engine.search("xay dung dang")
    json.dumps(found)
    assert found["total"] >= 0
    everything = engine.search(EVERYTHING, per_page=100)
    return {h["id"] for h in everything["hits"]}


def assert_no_leftovers(index_dir: Path) -> None:
    """Only the newest generation and the one kept before it: no file of a failed run.

    Segment files must be named by a TOC that opens, and nothing else of
    Whoosh's may remain (temporary TOCs, the sorting-run folder).
    """
    gens = toc_generations(index_dir)
    assert 1 <= len(gens) <= 2, gens
    live = set()
    for gen in gens:
        live |= {s.segment_id() for s in open_generation(index_dir, gen)._read_toc().segments}
    for name in os.listdir(index_dir):
        if name in ("MAIN_WRITELOCK", "vnsearch.lock", "vnsearch-files.json"):
            continue
        if name.startswith("_MAIN_") and name.endswith(".toc"):
            continue
        if name == "derived":  # the memory-mapped arrays: of live segments only
            for folder in os.listdir(index_dir / name):
                assert f"MAIN_{folder}" in live, folder
            continue
        assert name.startswith("MAIN_") and name.split(".")[0] in live, name


def test_random_sigkills_leave_a_working_index_that_converges(tmp_path: Path) -> None:
    """15 runs while the corpus changes under them; 10 are killed at a random moment.

    Every third run is left to finish, which commits, gives the index new
    content to lose, and measures how long a run takes; the others are killed
    at a random point of that duration (start-up, reading, analysis, commit).
    """
    rnd = random.Random(20261122)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    for i in range(30):
        write_article(corpus, f"art_{i:03d}", rnd)
    index_dir = tmp_path / "index"
    committed: set[str] = set()  # what the index held before each run
    kills = survived_commits = 0
    duration = 3.0  # of a run left to finish; measured below
    for run in range(15):
        # change the corpus: add, modify and delete a few articles
        for i in range(rnd.randrange(1, 5)):
            write_article(corpus, f"new_{run}_{i}", rnd)
        existing = sorted(corpus.glob("art_*.txt")) + sorted(corpus.glob("new_*.txt"))
        for path in rnd.sample(existing, 2):
            write_article(corpus, path.stem, rnd, version=run + 1)
        rnd.choice(existing).unlink()
        target = {p.stem for p in corpus.glob("*.txt")}

        proc = subprocess.Popen(
            cli("index", corpus, "--index", index_dir, "--workers", "2"), cwd=REPO,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        started = time.monotonic()
        if run % 3 == 2:
            assert proc.wait(timeout=300) == 0
            duration = time.monotonic() - started
        else:
            time.sleep(rnd.uniform(0.05, 0.95) * duration)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait()
        after = assert_answers(index_dir)
        # a commit is all or nothing: the old content or the whole new one
        assert after in (committed, target), (run, sorted(after ^ target))
        survived_commits += after == target and after != committed
        committed = after

    # orphaned writer processes die with their parent; the lock is free again
    deadline = time.monotonic() + 15
    while True:
        final = run_index(corpus, index_dir, "--workers", "2")
        if final.returncode != EXIT_BUSY or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert final.returncode == 0, final.stderr
    assert "Traceback" not in final.stderr
    assert kills >= 6, f"only {kills} of 10 runs were killed before they ended"
    print(f"15 runs: {kills} killed, {survived_commits} committed new content")

    clean_dir = tmp_path / "clean"
    assert run_index(corpus, clean_dir, "--workers", "2").returncode == 0
    converged, clean = content(index_dir), content(clean_dir)
    assert set(converged["records"]) == {p.stem for p in corpus.glob("*.txt")}
    assert converged == clean
    # and the killed runs left no files behind that no commit names
    assert_no_leftovers(index_dir)


def write_versioned(folder: Path, name: str, version: int) -> None:
    """An article whose title ends in `(bản <version>)` (from samples that open with the title)."""
    samples = [p for p in sorted(CORPUS.glob("*.txt")) if p.name[:3] in ("000", "001", "004")]
    lines = samples[int(name[-2:]) % len(samples)].read_text("utf-8").splitlines()
    paragraphs = [line for line in lines[1:] if len(line) > 80][:3]
    text = f"{lines[0]} ({name}, bản {version})\n\n" + "\n\n".join(paragraphs) + "\n"
    (folder / f"{name}.txt").write_text(text, "utf-8")


def title_version(engine: SearchEngine, article_id: str) -> int | None:
    """The version in an article's title (None: not indexed)."""
    record = engine.article(article_id)
    if record is None:
        return None
    return int(record["title"].rsplit("bản ", 1)[1].rstrip(")"))


def test_reading_processes_killed_at_random_cost_only_their_files(tmp_path: Path) -> None:
    """4 runs over a changing corpus; in each, reading processes are SIGKILLed at random.

    Every run must end by itself and commit: a killed process's file is
    reported and keeps its previous version, every other file is indexed as
    it is now, and a last run without kills gives exactly a clean build.
    """
    rnd = random.Random(20261127)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(10):
        write_versioned(corpus, f"art_{i:02d}", 0)
    index_dir = tmp_path / "index"
    assert build_index([str(corpus)], index_dir).added == 10
    version = {f"art_{i:02d}": 0 for i in range(10)}  # in the index
    on_disk = dict(version)
    slow = {**os.environ, "VNSEARCH_READ_DELAY": "0.3"}  # each file takes a moment
    kills = lost_files = 0
    for run in range(1, 5):
        for name in rnd.sample(sorted(version), 4):
            write_versioned(corpus, name, run)
            on_disk[name] = run
        proc = subprocess.Popen(cli("index", corpus, "--index", index_dir, "--workers", "2"),
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=slow)
        try:
            wait_for_children(proc.pid, 2)
            for _ in range(rnd.randint(1, 2)):
                time.sleep(rnd.uniform(0.0, 0.8))
                readers = children(proc.pid)
                if readers:
                    os.kill(rnd.choice(readers), signal.SIGKILL)
                    kills += 1
            out, err = proc.communicate(timeout=120)  # never a hang
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        failed = {line.split(": ")[1] for line in err.splitlines()
                  if "the reading process died (killed by SIGKILL)" in line}
        assert out.strip().endswith(f"failed {len(failed)}"), (out, err)
        lost_files += len(failed)
        engine = SearchEngine(index_dir)
        for name in version:
            failed_here = str(corpus / f"{name}.txt") in failed
            if not failed_here:
                version[name] = on_disk[name]
            assert title_version(engine, name) == version[name], (run, name, failed_here)

    assert kills >= 4
    print(f"4 runs: {kills} reading processes killed, {lost_files} files reported and kept")
    final = run_index(corpus, index_dir)
    assert final.returncode == 0 and final.stdout.strip().endswith("failed 0"), final.stderr
    clean_dir = tmp_path / "clean"
    assert build_index([str(corpus)], clean_dir).added == 10
    assert content(index_dir) == content(clean_dir)
    assert_no_leftovers(index_dir)


# ---------------------------------------------------------------- full disk


def _try_mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                            capture_output=True, check=False)
    return result.returncode == 0


class FileLimit:
    """RLIMIT_FSIZE for the indexer child: writes past 256 KB fail with EFBIG."""

    def __init__(self) -> None:
        self.bytes: int | None = 256 * 1024

    def lift(self) -> None:
        self.bytes = None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[Path, FileLimit, Callable[[], None]]]:
    """(index folder on a 2 MB filesystem, file limit for the child, "make room").

    A real 2 MB tmpfs when we may mount (root, as in CI); otherwise the same
    failure by another real mechanism, RLIMIT_FSIZE in the indexer process.
    """
    disk = tmp_path / "disk"
    if _try_mount_tmpfs(disk, "2m"):

        def grow() -> None:
            subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)

        no_limit = FileLimit()
        no_limit.lift()
        try:
            yield disk / "index", no_limit, grow
        finally:
            subprocess.run(["umount", "-l", str(disk)], check=False)
        return
    print("cannot mount a tmpfs here: the full disk is simulated with RLIMIT_FSIZE")
    limit = FileLimit()
    yield disk / "index", limit, limit.lift


def listing(index_dir: Path) -> dict[str, int]:
    """Every file under the index folder and its size (the lock file holds a pid)."""
    return {str(p.relative_to(index_dir)): p.stat().st_size for p in index_dir.rglob("*")
            if p.name != "vnsearch.lock"}


def _full_disk_keeps_the_old_index(tmp_path: Path, index_dir: Path, limit: FileLimit,
                                   make_room: Callable[[], None], workers: str) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    first = run_index(corpus, index_dir, "--workers", workers)
    assert first.returncode == 0, first.stderr
    before = content(index_dir)
    files_before = listing(index_dir)
    space_before = os.statvfs(index_dir).f_bfree
    rnd = random.Random(5)
    # with two workers, enough articles that writer processes do the analysis
    count = 40 if workers == "1" else PARALLEL_THRESHOLD + 16
    for i in range(count):
        write_article(corpus, f"big_{i:02d}", rnd)

    failed = run_index(corpus, index_dir, "--workers", workers, max_file_bytes=limit.bytes)
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    assert "Traceback" not in failed.stderr
    assert failed.stdout == ""  # no summary line: nothing was committed
    message = failed.stderr.strip().splitlines()[-1]
    assert "cannot write the index" in message, failed.stderr
    assert ("No space left on device" in message) or ("File too large" in message), message
    assert "the index was not changed" in message
    # the failed run removed every file it wrote, its writer processes' too:
    # the folder and the free space are as they were before it
    assert listing(index_dir) == files_before
    if limit.bytes is None:  # a filesystem of our own: nobody else changes its free space
        assert os.statvfs(index_dir).f_bfree == space_before
    # the old index is intact and answers exactly as before
    assert content(index_dir) == before

    make_room()
    again = run_index(corpus, index_dir, "--workers", workers, max_file_bytes=limit.bytes)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"added {count}, updated 0, deleted 0, unchanged 5, failed 0"
    assert_no_leftovers(index_dir)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_full_disk_gives_a_clear_message_and_keeps_the_old_index(
    tmp_path: Path, small_disk, workers: str
) -> None:
    index_dir, limit, make_room = small_disk
    _full_disk_keeps_the_old_index(tmp_path, index_dir, limit, make_room, workers)


def test_file_size_limit_gives_a_clear_message_and_keeps_the_old_index(tmp_path: Path) -> None:
    """The RLIMIT_FSIZE way too, so both mechanisms are exercised where tmpfs works."""
    limit = FileLimit()
    _full_disk_keeps_the_old_index(tmp_path, tmp_path / "index", limit, limit.lift, "2")


# ---------------------------------------------------------------- two indexers


def test_two_indexers_at_once_one_works_one_refuses_cleanly(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    rnd = random.Random(9)
    for i in range(40):
        write_article(corpus, f"pair_{i:02d}", rnd)
    index_dir = tmp_path / "index"
    slow = {**os.environ, "VNSEARCH_INDEX_DELAY": "0.05"}
    procs = [
        subprocess.Popen(cli("index", corpus, "--index", index_dir, "--workers", "1"), cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=slow)
        for _ in range(2)
    ]
    outcomes = sorted((p.wait(timeout=300), *p.communicate()) for p in procs)
    (ok_code, ok_out, _), (busy_code, busy_out, busy_err) = outcomes
    assert ok_code == 0 and ok_out.strip() == (
        "added 45, updated 0, deleted 0, unchanged 0, failed 0"
    )
    assert busy_code == EXIT_BUSY, busy_err
    assert busy_out == ""
    assert "being updated by another process" in busy_err and "Traceback" not in busy_err
    assert len(assert_answers(index_dir)) == 45


# ---------------------------------------------------------------- backups


def test_backup_under_the_lock_as_the_readme_says(tmp_path: Path) -> None:
    """`flock index/vnsearch.lock cp -a index BACKUP`: a consistent copy, indexers wait."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index_dir = tmp_path / "index"
    assert run_index(corpus, index_dir).returncode == 0
    lock = index_dir / "vnsearch.lock"
    # -o: only flock itself holds the lock, so killing its group frees it at once
    holder = subprocess.Popen(["flock", "-o", str(lock), "sleep", "60"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["flock", "-n", str(lock), "true"]).returncode == 0:
            assert time.monotonic() < deadline, "flock never took the lock"
            time.sleep(0.05)
        busy = run_index(corpus, index_dir)
        assert busy.returncode == EXIT_BUSY and busy.stdout == ""
        assert "being updated by another process" in busy.stderr
        assert "Traceback" not in busy.stderr
        # the pid of the last (finished) indexer is not named as the holder
        assert "(pid" not in busy.stderr, busy.stderr
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    backup = tmp_path / "backup"
    copy = subprocess.run(["flock", str(lock), "cp", "-a", str(index_dir), str(backup)],
                          capture_output=True, text=True, check=False)
    assert copy.returncode == 0, copy.stderr
    assert content(backup) == content(index_dir)
    assert run_index(corpus, index_dir).stdout.strip() == (
        "added 0, updated 0, deleted 0, unchanged 5, failed 0"
    )


def test_file_size_limit_is_a_clear_message(tmp_path: Path) -> None:
    """Writes that fail (EFBIG, as on a full disk) give one clear line, no traceback.

    The segmenter reads its model in memory, so it writes no temporary file
    and starts whatever the limit; the index's own write is what fails.
    """
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)

    def tiny_files() -> None:  # every file write past 64 KB fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    result = subprocess.run(cli("index", corpus, "--index", tmp_path / "index"), cwd=REPO,
                            capture_output=True, text=True, timeout=300, check=False,
                            preexec_fn=tiny_files)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "File too large" in result.stderr and "cannot write the index in" in result.stderr
    assert "the index was not changed" in result.stderr
    assert not any((tmp_path / "index").glob("*.seg"))  # nothing half-written is kept
    assert run_index(corpus, tmp_path / "index").stdout.strip() == (
        "added 5, updated 0, deleted 0, unchanged 0, failed 0"
    )
