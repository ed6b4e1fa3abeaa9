"""A long JSON dump is handed on while it is read, so writing starts before its end.

Real reading processes (`reading.ReaderPool`) over a real dump: its articles
come in partial results, in order, then the file's outcome; together they
are what reading it in one go gives. A reading process killed half way
costs only the rest of that dump, and an indexing run over such a dump
reports the file failed and keeps the articles already taken.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from indexer.build import build_index
from indexer.extract import STREAM_BATCH, extract_file
from indexer.reading import RECORD_DELAY_ENV, FileResult, ReaderPool
from indexer.schema import content_hash

RECORDS = 3 * STREAM_BATCH + 5


def record(n: int) -> dict[str, str]:
    return {"id": f"dump-{n}", "title": f"Bài số {n} về công tác xây dựng Đảng",
            "body": f"Hội nghị Ban Chấp hành Đảng bộ huyện Bình Lục, tỉnh Hà Nam, lần {n}.",
            "date": "2024-05-01"}


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    path = tmp_path / "dump.jsonl"
    path.write_text("".join(json.dumps(record(n), ensure_ascii=False) + "\n"
                            for n in range(RECORDS)), "utf-8")
    return path


def test_a_dump_comes_in_partial_results_that_add_up_to_the_whole_file(dump: Path) -> None:
    with ReaderPool([(str(dump), None)], 2, (), 60.0) as pool:
        results = list(pool.results())
    *parts, last = results
    assert len(parts) == RECORDS // STREAM_BATCH and all(part.partial for part in parts)
    assert not last.partial and last.reason is None and last.digest
    items = [item for result in results for item in result.items]
    whole = extract_file(dump)
    assert [article for article, _ in items] == whole
    assert [hash_value for _, hash_value in items] == [content_hash(a) for a in whole]


def test_a_reading_process_killed_half_way_costs_only_the_rest_of_its_dump(
    dump: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RECORD_DELAY_ENV, "0.05")  # the dump would take five seconds
    received: list[FileResult] = []
    with ReaderPool([(str(dump), None)], 1, (), 60.0) as pool:
        for result in pool.results():
            received.append(result)
            if len(received) == 1:
                os.kill(pool.readers[0].process.pid, signal.SIGKILL)
    *parts, last = received
    assert parts and all(part.partial for part in parts)
    assert last.reason is not None and "the reading process died" in last.reason
    assert 0 < sum(len(part.items) for part in parts) < RECORDS


def test_an_indexing_run_over_a_dump_indexes_every_article_once(dump: Path, tmp_path: Path
                                                                 ) -> None:
    """Articles streamed to writer processes: all indexed, the dump's digest kept."""
    index_dir = tmp_path / "ix"
    first = build_index([str(dump)], index_dir, workers=2)
    assert first.line() == f"added {RECORDS}, updated 0, deleted 0, unchanged 0, failed 0"
    again = build_index([str(dump)], index_dir, workers=2)
    assert again.line() == f"added 0, updated 0, deleted 0, unchanged {RECORDS}, failed 0"
