"""The index writer's own posting path must write what Whoosh's writer writes.

`whoosh_writing.BufferedSegmentWriter` keeps postings in memory and writes
them in Whoosh's block layout itself. Stock Whoosh reads both indexes here:
the same documents written by Whoosh's own `SegmentWriter` and by the
indexer's update must give the same terms, term statistics, postings
(weights, positions, field lengths), stored fields and columns. The
documents are real articles (corpus/ and tests/data/), enough of them that
common terms fill several posting blocks.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from whoosh import index
from whoosh.writing import SegmentWriter

from indexer import derived, whoosh_writing
from indexer.build import build_index
from indexer.extract import extract_file
from indexer.generations import ensure_derived, open_newest_readable
from indexer.schema import build_schema, content_hash, document_fields
from indexer.whoosh_writing import create_generation, open_update

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "corpus").glob("*.txt")), ROOT / "tests" / "data" / "ranking.jsonl",
           ROOT / "tests" / "data" / "search_extra.jsonl"]
#: Documents per index: common terms then fill more than one block of 128 postings.
DOCS = 300


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    """Field dicts of real articles, each repeated under new ids (in a row: segmented once)."""
    articles = [article for source in SOURCES for article in extract_file(source)]
    docs = []
    for n in range(DOCS):
        article = replace(articles[n * len(articles) // DOCS], id=f"doc-{n}")
        docs.append(document_fields(article, content_hash(article), f"/src/{article.id}"))
    return docs


def read_back(index_dir: Path) -> dict[str, Any]:
    """Everything stock Whoosh reads from an index, keyed by article id (not document number)."""
    ix = index.open_dir(str(index_dir), indexname=whoosh_writing.INDEX_NAME)
    with ix.reader() as reader:
        ids = {docnum: fields["id"] for docnum, fields in reader.iter_docs()}
        terms = {}
        for fieldname, text in reader.all_terms():
            info = reader.term_info(fieldname, text)
            matcher = reader.postings(fieldname, text)
            postings = []
            while matcher.is_active():
                docnum = matcher.id()
                postings.append((ids[docnum], matcher.weight(), matcher.value(),
                                 reader.doc_field_length(docnum, fieldname)))
                matcher.next()
            terms[fieldname, text] = (
                info.weight(), info.doc_frequency(), info.min_length(), info.max_length(),
                info.max_weight(), sorted(postings),
            )
        stored = {fields["id"]: fields for _, fields in reader.iter_docs()}
        columns = {
            name: {ids[docnum]: reader.column_reader(name)[docnum] for docnum in ids}
            for name in reader.schema.names() if reader.has_column(name)
        }
        lengths = {name: reader.field_length(name) for name in reader.schema.names()}
        segments = len(ix._segments())
    return {"terms": terms, "stored": stored, "columns": columns, "lengths": lengths,
            "segments": segments}


def segment_files(index_dir: Path) -> dict[str, bytes]:
    """The files inside an index's one segment, by name without the segment's id."""
    ix = index.open_dir(str(index_dir), indexname=whoosh_writing.INDEX_NAME)
    (segment,) = ix._segments()
    storage = segment.open_compound_file(ix.storage)
    out = {}
    for name in storage.list():
        with storage.open_file(name) as handle:
            out[name.removeprefix(segment.segment_id())] = handle.read()
    return out


@pytest.fixture(scope="module")
def whoosh_folder(documents: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
                  ) -> Path:
    """The documents as Whoosh's own SegmentWriter writes them (pool, sort, add_posting)."""
    folder = tmp_path_factory.mktemp("whoosh-writer")
    ix = index.create_in(str(folder), build_schema(), indexname=whoosh_writing.INDEX_NAME)
    writer = SegmentWriter(ix)
    for doc in documents:
        writer.add_document(**doc)
    writer.commit()
    return folder


@pytest.fixture(scope="module")
def whoosh_written(whoosh_folder: Path) -> dict[str, Any]:
    return read_back(whoosh_folder)


def write_with_update(folder: Path, documents: list[dict[str, Any]]) -> None:
    base = create_generation(folder, 1)
    update = open_update(base, 2, replace=True)
    for doc in documents:
        update.add(doc)
    update.commit()


@pytest.fixture(scope="module")
def our_folder(documents: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
               ) -> Path:
    """The documents as the indexer's update writes them."""
    folder = tmp_path_factory.mktemp("update")
    write_with_update(folder, documents)
    return folder


def test_postings_read_back_equal_whoosh_writers(
    our_folder: Path, whoosh_written: dict[str, Any]
) -> None:
    ours = read_back(our_folder)
    blocks = [key for key, value in whoosh_written["terms"].items() if len(value[5]) > 128]
    assert len(blocks) >= 3  # posting lists of several blocks are compared too
    assert ours["terms"].keys() == whoosh_written["terms"].keys()
    for key, value in whoosh_written["terms"].items():
        assert ours["terms"][key] == value, key
    for part in ("stored", "columns", "lengths"):
        assert ours[part] == whoosh_written[part], part


def test_segment_files_are_byte_for_byte_whoosh_writers(our_folder: Path, whoosh_folder: Path
                                                        ) -> None:
    """Postings (.pst), term index (.trm), stored fields and columns: the very same bytes."""
    ours, theirs = segment_files(our_folder), segment_files(whoosh_folder)
    assert any(name.endswith(".pst") for name in theirs)
    assert ours.keys() == theirs.keys()
    for name, data in theirs.items():
        assert ours[name] == data, name


def test_a_part_past_its_posting_budget_writes_several_segments_with_the_same_postings(
    documents: list[dict[str, Any]], whoosh_written: dict[str, Any], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(whoosh_writing, "MAX_BUFFERED_POSTINGS", 40_000)
    write_with_update(tmp_path, documents)
    ours = read_back(tmp_path)
    assert ours["segments"] >= 3
    assert ours["terms"] == whoosh_written["terms"]
    assert ours["stored"] == whoosh_written["stored"]


def test_parallel_run_reads_back_as_one_process_run(tmp_path: Path) -> None:
    """Writer processes (each its own segment) and the main process give the same index."""
    records = [json.loads(line) for source in SOURCES[-2:]
               for line in source.read_text("utf-8").splitlines() if line.strip()]
    data = tmp_path / "many.jsonl"
    with data.open("w", encoding="utf-8") as out:
        for n in range(80):  # past the threshold at which writer processes start
            record = dict(records[n % len(records)], id=f"doc-{n}")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    build_index([str(data)], tmp_path / "one", workers=1)
    build_index([str(data)], tmp_path / "two", workers=2)
    one, two = read_back(tmp_path / "one"), read_back(tmp_path / "two")
    assert two["segments"] >= 2 and one["segments"] == 1
    assert one["terms"] == two["terms"]
    assert one["stored"] == two["stored"]
    # The arrays each writer process derived from its own segments are those
    # the commit derives when they are missing.
    again = tmp_path / "again"
    shutil.copytree(tmp_path / "two", again)
    shutil.rmtree(again / derived.FOLDER)
    ensure_derived(again, [open_newest_readable(again).index])
    ours, theirs = derived_files(tmp_path / "two"), derived_files(again)
    assert len({name.partition("/")[0] for name in ours}) == two["segments"]
    assert ours.keys() == theirs.keys()
    for name, data in theirs.items():
        assert ours[name] == data, name


def derived_files(index_dir: Path) -> dict[str, bytes]:
    folder = index_dir / derived.FOLDER
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.glob("*/*"))}
