"""`vnsearch index` end to end: real CLI subprocesses, a real Whoosh index on disk.

Covers incremental runs (add, modify, delete, unchanged, failed), scoped
deletion, JSONL + folder together, --rebuild, schema-version rebuild, the
lock, SIGKILL half-way, and a reader searching while the indexer commits.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index
from whoosh.query import Every, Term

from indexer.build import build_index
from indexer.lock import IndexLock
from vnsearch.cli import EXIT_BUSY

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
SUMMARY_RE = re.compile(
    r"^added (\d+), updated (\d+), deleted (\d+), unchanged (\d+), failed (\d+)$", re.M
)


def vnsearch_index(*args: str | Path, env: dict[str, str] | None = None, **kw):
    """Run the real command line; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "vnsearch", "index", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        **kw,
    )


def summary(result: subprocess.CompletedProcess) -> tuple[int, ...]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout  # exactly one summary line on stdout
    match = SUMMARY_RE.match(lines[0])
    assert match, lines[0]
    return tuple(int(g) for g in match.groups())


def ids_in(index_dir: Path) -> list[str]:
    ix = index.open_dir(str(index_dir))
    with ix.searcher() as searcher:
        return sorted(doc["id"] for doc in searcher.documents())


def search_ids(index_dir: Path, field: str, term: str) -> list[str]:
    ix = index.open_dir(str(index_dir))
    with ix.searcher() as searcher:
        return sorted(hit["id"] for hit in searcher.search(Term(field, term), limit=None))


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(CORPUS, src)
    return src


def generated_articles(folder: Path, count: int, seed: int = 0) -> list[str]:
    """`count` distinct .txt articles made from the samples' own paragraphs."""
    folder.mkdir(parents=True, exist_ok=True)
    samples = [p.read_text("utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    rnd = random.Random(seed)
    names = []
    for i in range(count):
        lines = samples[i % len(samples)].splitlines()
        paragraphs = [line for line in lines[1:] if len(line) > 80]
        rnd.shuffle(paragraphs)
        name = f"gen_{seed}_{i:03d}"
        text = f"{lines[0]} (bản {i})\n\n" + "\n\n".join(paragraphs[:3]) + "\n"
        (folder / f"{name}.txt").write_text(text, "utf-8")
        names.append(name)
    return names


def test_first_run_indexes_the_corpus_and_it_is_searchable(tmp_path: Path) -> None:
    ix_dir = tmp_path / "ix"
    result = vnsearch_index("corpus", "--index", ix_dir)
    assert summary(result) == (5, 0, 0, 0, 0)
    assert ids_in(ix_dir) == sorted(p.stem for p in CORPUS.glob("*.txt"))
    # accent-free folded words find the accented text
    assert "000_3fbea2c4a168ddd1" in search_ids(ix_dir, "body_f", "xay_dung")
    # a second run changes nothing and says so
    again = vnsearch_index("corpus", "--index", ix_dir)
    assert summary(again) == (0, 0, 0, 5, 0)


def test_add_modify_delete_unchanged_failed_across_runs(tmp_path: Path, corpus_copy: Path) -> None:
    ix_dir = tmp_path / "ix"
    assert summary(vnsearch_index(corpus_copy, "--index", ix_dir)) == (5, 0, 0, 0, 0)
    generation = index.open_dir(str(ix_dir)).latest_generation()

    files = sorted(corpus_copy.glob("*.txt"))
    new = corpus_copy / "900_new_article.txt"
    new.write_text(files[0].read_text("utf-8").replace("Bình Lục", "Kim Bảng"), "utf-8")
    lines = files[1].read_text("utf-8").splitlines()
    first_paragraph = next(i for i, line in enumerate(lines) if len(line) > 120)
    lines[first_paragraph] += " Đoạn bổ sung về quả măngcụt thử nghiệm."
    files[1].write_text("\n".join(lines) + "\n", "utf-8")
    files[2].unlink()
    os.utime(files[3], (time.time() + 100, time.time() + 100))  # touched, same content
    (corpus_copy / "empty.txt").write_bytes(b"")
    (corpus_copy / "binary.txt").write_bytes(bytes(range(256)) * 20)

    result = vnsearch_index(corpus_copy, "--index", ix_dir)
    assert summary(result) == (1, 1, 1, 3, 2)
    assert "empty.txt" in result.stderr and "binary.txt" in result.stderr
    assert "Traceback" not in result.stderr

    ids = ids_in(ix_dir)
    assert files[2].stem not in ids and "900_new_article" in ids
    assert ids.count(files[1].stem) == 1  # replaced, not duplicated
    assert search_ids(ix_dir, "body_f", "mangcut") == [files[1].stem]
    assert index.open_dir(str(ix_dir)).latest_generation() == generation + 1

    # nothing changed: no commit, same counts, failures still reported
    third = vnsearch_index(corpus_copy, "--index", ix_dir)
    assert summary(third) == (0, 0, 0, 5, 2)
    assert index.open_dir(str(ix_dir)).latest_generation() == generation + 1

    # fixing a failed file indexes it
    (corpus_copy / "empty.txt").write_text(files[0].read_text("utf-8"), "utf-8")
    (corpus_copy / "binary.txt").unlink()
    assert summary(vnsearch_index(corpus_copy, "--index", ix_dir)) == (1, 0, 0, 5, 0)
    assert "empty" in ids_in(ix_dir)


def test_deletion_is_scoped_to_the_paths_of_the_run(tmp_path: Path) -> None:
    ix_dir = tmp_path / "ix"
    folder_a, folder_b = tmp_path / "a", tmp_path / "b"
    names_a = generated_articles(folder_a, 3, seed=1)
    names_b = generated_articles(folder_b, 3, seed=2)
    assert (
        build_index([str(folder_a)], ix_dir).line()
        == "added 3, updated 0, deleted 0, unchanged 0, failed 0"
    )
    assert build_index([str(folder_b)], ix_dir).added == 3

    (folder_b / f"{names_b[0]}.txt").unlink()
    (folder_a / f"{names_a[0]}.txt").unlink()
    # indexing B deletes B's vanished article, never A's
    assert summary(vnsearch_index(folder_b, "--index", ix_dir)) == (0, 0, 1, 2, 0)
    assert names_a[0] in ids_in(ix_dir) and names_b[0] not in ids_in(ix_dir)
    # a single file as the path scopes deletion to that file
    assert summary(vnsearch_index(folder_a / f"{names_a[1]}.txt", "--index", ix_dir)) == (
        0,
        0,
        0,
        1,
        0,
    )
    assert summary(vnsearch_index(folder_a, "--index", ix_dir)) == (0, 0, 1, 2, 0)
    assert sorted(ids_in(ix_dir)) == sorted(names_a[1:] + names_b[1:])
    # a path that does not exist is a failure, and deletes nothing
    result = vnsearch_index(tmp_path / "nowhere", "--index", ix_dir)
    assert summary(result) == (0, 0, 0, 0, 1)
    assert "nowhere" in result.stderr and len(ids_in(ix_dir)) == 4


def test_jsonl_file_and_folder_together(tmp_path: Path, corpus_copy: Path) -> None:
    ix_dir = tmp_path / "ix"
    records = [
        {
            "id": f"json-{i}",
            "title": f"Hội nghị quán triệt Nghị quyết số {i}",
            "body": "Đảng ủy xã tổ chức hội nghị học tập, quán triệt nghị quyết. " * (i + 3),
            "date": f"2023-0{i + 1}-15",
        }
        for i in range(3)
    ]
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    assert summary(vnsearch_index(corpus_copy, jsonl, "--index", ix_dir)) == (8, 0, 0, 0, 0)
    assert {"json-0", "json-1", "json-2"} <= set(ids_in(ix_dir))
    assert search_ids(ix_dir, "title_f", "quan_triet") == ["json-0", "json-1", "json-2"]

    # one record changed, one removed from the file
    records[0]["title"] = "Hội nghị sơ kết công tác dân vận"
    jsonl.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[:2]), "utf-8"
    )
    assert summary(vnsearch_index(corpus_copy, jsonl, "--index", ix_dir)) == (0, 1, 1, 6, 0)
    assert "json-2" not in ids_in(ix_dir)
    assert search_ids(ix_dir, "title_f", "dan_van") == ["json-0"]


def test_rebuild_and_schema_version_change(tmp_path: Path) -> None:
    ix_dir = tmp_path / "ix"
    assert build_index(["corpus"], ix_dir).added == 5
    assert summary(vnsearch_index("corpus", "--index", ix_dir, "--rebuild")) == (5, 0, 0, 0, 0)
    assert len(ids_in(ix_dir)) == 5

    # pretend an older vnsearch wrote the index
    ix = index.open_dir(str(ix_dir))
    writer = ix.writer()
    writer.schema.vnsearch_version = 1
    writer.commit(merge=False)
    result = vnsearch_index("corpus", "--index", ix_dir)
    assert summary(result) == (5, 0, 0, 0, 0)
    assert "schema version 1" in result.stderr and "rebuilding" in result.stderr
    assert len(ids_in(ix_dir)) == 5
    assert summary(vnsearch_index("corpus", "--index", ix_dir)) == (0, 0, 0, 5, 0)


def test_lock_held_gives_a_clear_message(tmp_path: Path) -> None:
    ix_dir = tmp_path / "ix"
    ix_dir.mkdir()
    with IndexLock(ix_dir):
        result = vnsearch_index("corpus", "--index", ix_dir)
    assert result.returncode == EXIT_BUSY
    assert "being updated by another process" in result.stderr
    assert f"pid {os.getpid()}" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert summary(vnsearch_index("corpus", "--index", ix_dir)) == (5, 0, 0, 0, 0)


def _wait_for_progress(proc: subprocess.Popen, needed: int) -> list[str]:
    """Read stderr until the indexer reports at least `needed` analysed articles."""
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        match = re.match(r"indexing articles: (\d+)/", line)
        if match and int(match.group(1)) >= needed:
            return seen
    raise AssertionError(f"indexer ended before progress {needed}: {''.join(seen)}")


def test_sigkill_half_way_keeps_the_old_index_and_next_run_completes(
    tmp_path: Path, corpus_copy: Path
) -> None:
    ix_dir = tmp_path / "ix"
    assert build_index([str(corpus_copy)], ix_dir).added == 5
    committed = sorted(os.listdir(ix_dir))
    names = generated_articles(corpus_copy / "new", 80, seed=3)

    # slow enough that the run cannot finish while a second indexer starts on a busy machine
    slow = {"VNSEARCH_INDEX_DELAY": "0.5", "VNSEARCH_PROGRESS_INTERVAL": "0.2"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vnsearch",
            "index",
            str(corpus_copy),
            "--index",
            str(ix_dir),
            "--workers",
            "2",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **slow},
    )
    try:
        _wait_for_progress(proc, 10)
        # meanwhile a second indexer is turned away without a traceback
        second = vnsearch_index(corpus_copy, "--index", ix_dir)
        assert second.returncode == EXIT_BUSY
        assert "being updated by another process" in second.stderr
        assert "Traceback" not in second.stderr
        # kill -9 the main process only: its workers must not outlive it holding locks
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert set(os.listdir(ix_dir)) > set(committed) - {"vnsearch-files.json"}  # half-written

    # the previous commit opens and searches normally
    ix = index.open_dir(str(ix_dir))
    with ix.searcher() as searcher:
        assert searcher.doc_count() == 5
        assert len(searcher.search(Every(), limit=None)) == 5
    assert "000_3fbea2c4a168ddd1" in search_ids(ix_dir, "body_f", "xay_dung")

    # the next run is not blocked and completes the work
    deadline = time.monotonic() + 10
    while True:
        result = vnsearch_index(corpus_copy, "--index", ix_dir)
        if result.returncode != EXIT_BUSY or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # orphaned workers are being killed by the kernel
    assert summary(result) == (80, 0, 0, 5, 0)
    assert len(ids_in(ix_dir)) == 85 and names[0] in ids_in(ix_dir)
    # the killed run's files are gone: only the committed segments remain
    ix = index.open_dir(str(ix_dir))
    live = {seg.segment_id() for seg in ix._read_toc().segments}
    for name in os.listdir(ix_dir):
        if name.startswith("MAIN_") and name != "MAIN_WRITELOCK":
            assert name.split(".")[0] in live, name
    assert not list(ix_dir.glob("*.tmp")) and not list(ix_dir.glob(".*.tmp"))


def test_reader_keeps_working_while_the_indexer_commits(tmp_path: Path, corpus_copy: Path) -> None:
    ix_dir = tmp_path / "ix"
    build_index([str(corpus_copy)], ix_dir)
    generated_articles(corpus_copy / "new", 70, seed=4)
    ix = index.open_dir(str(ix_dir))
    old = ix.searcher()
    errors: list[BaseException] = []
    counts: set[int] = set()
    done = threading.Event()

    def read_loop() -> None:
        searcher = old
        while not done.is_set():
            try:
                assert len(old.search(Term("body_f", "xay_dung"), limit=None)) >= 1
                searcher = searcher.refresh()
                counts.add(len(searcher.search(Every(), limit=None)))
                time.sleep(0.005)  # leave the cores to the indexer
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)
                return

    thread = threading.Thread(target=read_loop)
    thread.start()
    try:
        result = vnsearch_index(corpus_copy, "--index", ix_dir)
    finally:
        done.set()
        thread.join()
    assert summary(result) == (70, 0, 0, 5, 0)
    assert not errors, errors
    assert counts <= {5, 75}
    assert old.doc_count() == 5  # the old view is still complete and usable
    assert ix.searcher().doc_count() == 75


def test_progress_lines_when_not_a_terminal(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    generated_articles(folder, 70, seed=5)
    result = vnsearch_index(
        folder, "--index", tmp_path / "ix", env={"VNSEARCH_PROGRESS_INTERVAL": "0"}
    )
    assert summary(result) == (70, 0, 0, 0, 0)
    assert "\r" not in result.stderr
    assert re.search(r"^indexing articles: 70/70 \(100%\)", result.stderr, re.M)


def test_a_run_reads_the_state_of_its_paths_and_of_the_ids_it_meets(tmp_path: Path) -> None:
    """A run over a few files reads only their state (and an id's when asked): exactly what
    decoding every article's state gives, however the folder is named."""
    from indexer.state import ScopedState, load_state, under
    from indexer.whoosh_writing import open_generation

    ix_dir = tmp_path / "ix"
    # JSON escapes quotes, backslashes and every non-ASCII letter; "… 2" shares the prefix
    folder = tmp_path / 'Tin "mới" \\ Hà Nội'
    sibling = tmp_path / 'Tin "mới" \\ Hà Nội 2'
    names = generated_articles(folder, 4, seed=3)
    others = generated_articles(sibling, 2, seed=4)
    assert build_index([str(folder), str(sibling)], ix_dir).added == 6
    files = [str(folder / f"{name}.txt") for name in names]
    # replace one (a deleted document stays in its segment until a merge), add one elsewhere
    (folder / f"{names[0]}.txt").write_text("Tin sửa lại\n\nNội dung mới của bài.\n", "utf-8")
    assert build_index([files[0]], ix_dir).updated == 1
    generated_articles(tmp_path / "c", 1, seed=5)
    assert build_index([str(tmp_path / "c")], ix_dir).added == 1

    ix = open_generation(ix_dir, index.open_dir(str(ix_dir)).latest_generation())
    full = load_state(ix)
    assert len(full) == 7
    for roots in ([files[0]], [files[1], files[3]], [str(folder)], [str(sibling)],
                  [str(tmp_path)], [str(tmp_path / "nowhere")]):
        state = ScopedState(ix, roots)
        try:
            assert dict(state.items()) == {
                article_id: value for article_id, value in full.items()
                if under(value[0], roots)}
            for article_id, value in full.items():  # any other id: looked up when asked
                assert state.get(article_id) == value
            assert state.get("not-an-id") is None
        finally:
            state.close()
    assert full[names[0]][0] == files[0] and others[0] in full

    # one file of a folder: the rest stays even when gone from disk
    (folder / f"{names[1]}.txt").unlink()
    assert build_index([files[2]], ix_dir).line() == (
        "added 0, updated 0, deleted 0, unchanged 1, failed 0")
    assert names[1] in ids_in(ix_dir)
    # the folder: its vanished article goes, the sibling folder's stay
    assert build_index([str(folder)], ix_dir).line() == (
        "added 0, updated 0, deleted 1, unchanged 3, failed 0")
    assert names[1] not in ids_in(ix_dir) and set(others) <= set(ids_in(ix_dir))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(), st.text(), st.text()), min_size=1, max_size=4))
def test_every_state_the_indexer_writes_passes_its_check_at_once(
        states: list[tuple[str, str, str]]) -> None:
    """The check of all state values is one pattern over the column; values it does not
    match are decoded one by one (43k: ~0.3 s). Whatever an id or path holds, a value as
    written matches, back to back with others as in a column."""
    from indexer.schema import decode_state, encode_state
    from indexer.whoosh_writing import _STATE_VALUES

    values = [encode_state(*state) for state in states]
    assert _STATE_VALUES.fullmatch(b"".join(values)) is not None
    assert [decode_state(value) for value in values] == states
    assert _STATE_VALUES.fullmatch(values[0] + b"\xff") is None
