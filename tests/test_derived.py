"""The per-segment arrays written at commit and memory-mapped by readers (`indexer/derived.py`).

Real indexes built by `vnsearch index` from the sample corpus; what a user
sees (search results, facet counts, article records) must be the same
whether the arrays are there, missing, damaged or stale, and an indexer
killed with SIGKILL between Whoosh's commit and the arrays leaves an index
that answers, whose arrays the next run (or `vnsearch serve`) writes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, build_index_with_cli

from engine import SearchEngine, whoosh_reading
from indexer.derived import FOLDER, MANIFEST
from indexer.generations import open_newest_readable, toc_generations

TEXT_VIEWS = ("title", "title_f", "title_s", "title_a", "body", "body_f", "body_s", "body_a")
LONG_PREFIX = "abcdefghijklmnopqrstuvwxyz0123"
EVERYTHING = "-zzqxjw"  # only an exclusion: every article
QUERIES = [("binh luc", {}), ("Việt Nam", {}), ("xay dung chinh don dang", {}),
           (EVERYTHING, {"province": ["Hà Nam"]}), ("", {"directive": ["21-KL/TW"]})]


def seen(index_dir: Path) -> list[dict]:
    """What the user sees of a few searches (timings left out)."""
    engine = SearchEngine(index_dir)
    out = []
    for query, filters in QUERIES:
        result = engine.search(query, filters=filters, per_page=100,
                               sort="relevance" if query else "date")
        result.pop("took_ms", None)
        out.append(result)
    return json.loads(json.dumps(out, ensure_ascii=False))


def segment_ids(index_dir: Path) -> set[str]:
    ix = open_newest_readable(index_dir).index
    assert ix is not None
    return {segment.segid for segment in ix.toc().segments}


def derived_ids(index_dir: Path) -> set[str]:
    folder = index_dir / FOLDER
    return {p.name for p in folder.iterdir() if (p / MANIFEST).exists()} if folder.is_dir() \
        else set()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = tmp_path_factory.mktemp("derived") / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    # Terms longer than the searched prefix that share it are told apart by their tails.
    (corpus / "dai.txt").write_text(
        "Mã số dài\n\n" + " ".join(f"{LONG_PREFIX}{i}" for i in range(7)) + " đã ghi.\n",
        "utf-8")
    index_dir = corpus.parent / "index"
    result = build_index_with_cli(corpus, index_dir)
    assert result.returncode == 0, result.stderr
    return index_dir


def test_commit_writes_arrays_that_answer_as_whooshs_files_do(built: Path,
                                                              tmp_path: Path) -> None:
    assert derived_ids(built) == segment_ids(built)
    without = tmp_path / "without"
    shutil.copytree(built, without)
    shutil.rmtree(without / FOLDER)
    assert seen(built) == seen(without)


def test_mapped_postings_and_lexicons_are_whooshs(built: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Every term of every text view: the same documents and frequencies as Whoosh's files."""
    generation = whoosh_reading.newest_stamp(built)[0]
    mapped = whoosh_reading.open_view(built, generation)
    assert all(whoosh_reading.leaf_arrays(leaf) is not None for leaf, _ in mapped.leaves)
    monkeypatch.setenv("VNSEARCH_NO_DERIVED", "1")
    decoded = whoosh_reading.open_view(built, generation)
    assert all(whoosh_reading.leaf_arrays(leaf) is None for leaf, _ in decoded.leaves)
    (segid,) = derived_ids(built)
    for view in TEXT_VIEWS:
        assert (built / FOLDER / segid / f"post.{view}.docs.npy").is_file()
        lexicon = mapped.lexicon(view)
        assert lexicon and lexicon == decoded.lexicon(view), view
        for term in lexicon:
            docs, tfs = mapped.postings(view, term)
            want_docs, want_tfs = decoded.postings(view, term)
            assert docs.tolist() == want_docs.tolist(), (view, term)
            assert tfs.dtype == want_tfs.dtype and tfs.tolist() == want_tfs.tolist()
            if view.endswith(("_s", "_a")):  # positional: the same positions, every way asked
                some = want_docs[::2]
                assert mapped.positions(view, term, some) == decoded.positions(view, term, some)
                assert mapped.position_keys(view, term).tolist() == \
                    decoded.position_keys(view, term).tolist()
                every = np.arange(mapped.doc_count_all)
                for wanted in (some, want_docs[1::3], every[::3], every[:0]):
                    assert mapped.position_keys_in(view, term, wanted).tolist() == \
                        decoded.position_keys_in(view, term, wanted).tolist(), (view, term)
        if view == "title_s":  # the plain-text reader takes that line for the title
            assert [len(mapped.postings(view, f"{LONG_PREFIX}{i}")[0]) for i in range(8)] \
                == [1] * 7 + [0]
        for absent in ("vnsqkz", "đảng\n", "\U0010ffff" * 30, "a" * 40):
            assert len(mapped.postings(view, absent)[0]) == 0


@pytest.mark.parametrize("damage", ["truncated", "stale schema", "other segment"])
def test_damaged_or_stale_arrays_are_ignored_then_rewritten(built: Path, tmp_path: Path,
                                                            damage: str) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    expected = seen(built)
    (segid,) = derived_ids(index_dir)
    folder = index_dir / FOLDER / segid
    if damage == "truncated":  # what a power cut can leave of a file
        target = folder / "len.body_s.npy"
        target.write_bytes(target.read_bytes()[:90])
    else:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
        manifest["schema" if damage == "stale schema" else "doc_count_all"] += 1
        (folder / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    assert seen(index_dir) == expected
    # the next run, with nothing to index, writes them again
    result = build_index_with_cli(REPO / "corpus", index_dir)
    assert result.returncode == 0, result.stderr
    assert seen(index_dir) == expected
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    assert json.loads((built / FOLDER / segid / MANIFEST).read_text("utf-8")) == manifest


@pytest.mark.parametrize("damage", ["intact", "cut in the data", "cut in the header",
                                    "missing", "another length", "not an array",
                                    "pickled objects"])
def test_the_indexers_check_agrees_with_what_readers_load(built: Path, tmp_path: Path,
                                                          damage: str) -> None:
    """After each commit the indexer checks every kept segment's arrays from their headers
    alone: it must find current exactly what a reader would map."""
    import numpy as np

    from indexer import derived

    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    (segid,) = derived_ids(index_dir)
    folder = index_dir / FOLDER / segid
    count = json.loads((folder / MANIFEST).read_text("utf-8"))["doc_count_all"]
    target = folder / "len.body_s.npy"
    whole = target.read_bytes()
    if damage == "cut in the data":
        target.write_bytes(whole[:-1])
    elif damage == "cut in the header":
        target.write_bytes(whole[:40])
    elif damage == "missing":
        target.unlink()
    elif damage == "another length":
        np.save(target, np.zeros(count + 1, dtype=np.uint16))
    elif damage == "not an array":
        target.write_bytes(b"\x93NUMPY\x01\x00" + b"x" * 200)
    elif damage == "pickled objects":
        np.save(target, np.array([None] * count, dtype=object), allow_pickle=True)
    loaded = derived.load(index_dir, segid, count) is not None
    assert derived.is_current(index_dir, segid, count) == loaded == (damage == "intact")


def test_arrays_of_segments_gone_are_removed_and_live_ones_kept(built: Path,
                                                                 tmp_path: Path) -> None:
    """The arrays of merged-away segments and of killed writes go at the next commit."""
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    (live,) = derived_ids(index_dir)
    dead = index_dir / FOLDER / "zzdeadsegment0000"
    shutil.copytree(index_dir / FOLDER / live, dead)  # a segment no TOC names any more
    half = index_dir / FOLDER / f".{live}.k1ll3d"  # a write killed before its rename
    (half / "deeper").mkdir(parents=True)
    for i in range(40):
        (half / f"a{i}.npy").write_bytes(b"x" * 5000)
    (half / "deeper" / "b.npy").write_bytes(b"y")
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    (corpus / "moi.txt").write_text("Bài mới\n\nMột bài mới ở Hà Nam.\n", "utf-8")
    result = build_index_with_cli(corpus, index_dir)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(index_dir / FOLDER)) == sorted(segment_ids(index_dir))
    assert live in derived_ids(index_dir) and not dead.exists() and not half.exists()
    assert SearchEngine(index_dir).search("Hà Nam")["total"] > 0


def test_sigkill_between_whoosh_commit_and_arrays_leaves_a_searchable_index(
        built: Path, tmp_path: Path) -> None:
    """Killed after the TOC is written, before the arrays: the new article is found."""
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    index_dir = tmp_path / "index"
    shutil.copytree(built, index_dir)
    before = toc_generations(index_dir)[0]
    sample = sorted(corpus.glob("*.txt"))[0].read_text("utf-8")
    (corpus / "moi.txt").write_text(sample.replace("\n", " vnsqkz\n", 1), "utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "index", str(corpus), "--index", str(index_dir)],
        cwd=REPO, env={**os.environ, "VNSEARCH_DERIVED_DELAY": "60"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240  # liveness bound, not a speed
        while toc_generations(index_dir)[0] == before:
            assert proc.poll() is None and time.monotonic() < deadline, "no commit"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert derived_ids(index_dir) != segment_ids(index_dir)  # killed before the arrays
    found = subprocess.run(
        [sys.executable, "-m", "vnsearch", "search", "vnsqkz", "--index", str(index_dir),
         "--json"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["total"] == 1
    with_decoding = seen(index_dir)
    result = build_index_with_cli(corpus, index_dir)  # nothing changed: only the arrays
    assert result.returncode == 0, result.stderr
    assert "added 0, updated 0, deleted 0" in result.stdout
    assert derived_ids(index_dir) == segment_ids(index_dir)
    assert seen(index_dir) == with_decoding
