"""The writing face of the index backend (`indexer/backend.py`), tested on a real index.

Each test opens an update of a generation in a temporary folder with the
Whoosh implementation (`indexer/whoosh_writing.py`), writes, deletes,
commits or cancels, and reads the generations back from disk: what readers
see is only ever a committed generation, whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import whoosh_writing
from indexer.article import Article
from indexer.backend import IndexUpdate, PartWriter, WritingBackend
from indexer.generations import open_generation, toc_generations
from indexer.lock import IndexBusy
from indexer.schema import decode_state, document_fields
from indexer.whoosh_writing import create_generation, open_update, state_values
from indexer.workers import FORK


def fields(article_id: str, title: str, path: str = "/tin/a.txt") -> dict:
    article = Article(id=article_id, title=title, body=f"{title}. Nội dung bài viết về {title}.")
    return document_fields(article, f"hash-{title}", path)


def titles(index_dir: Path, generation: int) -> dict[str, str]:
    """id → title of every live document of the generation, as a reader sees it."""
    with open_generation(index_dir, generation).searcher() as searcher:
        docs = [(doc["id"], doc["title"]) for doc in searcher.all_stored_fields()]
    found = dict(docs)
    assert len(found) == len(docs), docs  # an id is never held twice
    return found


def states(index_dir: Path, generation: int) -> set[tuple[str, str, str]]:
    ix = open_generation(index_dir, generation)
    return {decode_state(value) for value in state_values(ix)}


def committed(index_dir: Path, generation: int, *docs: dict) -> None:
    """Commit `docs` as generation `generation` on top of the newest one (or a new index)."""
    gens = toc_generations(index_dir)
    base = (open_generation(index_dir, gens[0]) if gens
            else create_generation(index_dir, generation - 1))
    update = open_update(base, generation)
    for doc in docs:
        update.add(doc)
    assert update.commit() == generation


def test_the_whoosh_module_implements_the_writing_face(tmp_path: Path) -> None:
    base = create_generation(tmp_path, 0)
    update = open_update(base, 1)
    try:
        assert isinstance(whoosh_writing, WritingBackend)
        assert isinstance(update, IndexUpdate)
        assert isinstance(update.part_writer(), PartWriter)
    finally:
        update.cancel()


def test_added_documents_appear_only_with_the_commit(tmp_path: Path) -> None:
    base = create_generation(tmp_path, 0)
    update = open_update(base, 1)
    update.add(fields("a", "Xây dựng Đảng"))
    update.add(fields("b", "Hòa bình"))
    assert toc_generations(tmp_path) == [0]
    assert titles(tmp_path, 0) == {}
    assert update.commit() == 1
    assert toc_generations(tmp_path) == [1, 0]
    assert titles(tmp_path, 1) == {"a": "Xây dựng Đảng", "b": "Hòa bình"}
    assert titles(tmp_path, 0) == {}  # the base is left as it was


def test_delete_removes_the_base_s_document_and_not_the_one_added(tmp_path: Path) -> None:
    committed(tmp_path, 1, fields("a", "Bản cũ"), fields("b", "Giữ nguyên"))
    update = open_update(open_generation(tmp_path, 1), 2)
    update.add(fields("a", "Bản mới"))  # added before the deletion: it must survive it
    update.delete("a")
    update.delete("không-có")  # an id the index does not hold: nothing happens
    update.commit()
    assert titles(tmp_path, 2) == {"a": "Bản mới", "b": "Giữ nguyên"}
    assert titles(tmp_path, 1) == {"a": "Bản cũ", "b": "Giữ nguyên"}


def test_delete_only(tmp_path: Path) -> None:
    committed(tmp_path, 1, fields("a", "Một"), fields("b", "Hai"))
    update = open_update(open_generation(tmp_path, 1), 2)
    update.delete("a")
    assert update.commit() == 2
    assert titles(tmp_path, 2) == {"b": "Hai"}


def test_replace_commits_only_what_the_update_wrote(tmp_path: Path) -> None:
    committed(tmp_path, 1, fields("a", "Một"), fields("b", "Hai"))
    update = open_update(open_generation(tmp_path, 1), 2, replace=True)
    update.add(fields("c", "Ba"))
    assert titles(tmp_path, 1) == {"a": "Một", "b": "Hai"}  # searchable until the commit
    update.commit()
    assert titles(tmp_path, 2) == {"c": "Ba"}


def test_cancel_publishes_nothing_and_frees_the_index(tmp_path: Path) -> None:
    committed(tmp_path, 1, fields("a", "Một"))
    base = open_generation(tmp_path, 1)
    update = open_update(base, 2)
    assert update.lock_fds()  # the write lock is held...
    with pytest.raises(IndexBusy):
        open_update(base, 2)  # ...so a second update is turned away
    update.add(fields("b", "Hai"))
    update.delete("a")
    update.cancel()
    update.cancel()  # a second time is harmless
    assert toc_generations(tmp_path) == [1, 0]  # no generation 2
    assert titles(tmp_path, 1) == {"a": "Một"}
    again = open_update(base, 2)  # the lock was released
    again.add(fields("b", "Hai"))
    again.commit()
    assert titles(tmp_path, 2) == {"a": "Một", "b": "Hai"}


def test_a_commit_releases_the_index(tmp_path: Path) -> None:
    committed(tmp_path, 1, fields("a", "Một"))
    committed(tmp_path, 2, fields("b", "Hai"))
    assert titles(tmp_path, 2) == {"a": "Một", "b": "Hai"}


def _write_part(update: IndexUpdate, ids: list[str], out: object) -> None:
    part = update.part_writer()
    for article_id in ids:
        part.add(fields(article_id, f"Bài {article_id}"))
    out.put(part.finish())  # type: ignore[attr-defined]


def test_parts_from_two_processes_join_one_commit(tmp_path: Path) -> None:
    committed(tmp_path, 1, fields("cũ", "Bài cũ"), fields("xoá", "Bài xoá"))
    update = open_update(open_generation(tmp_path, 1), 2)
    out = FORK.Queue()
    procs = [FORK.Process(target=_write_part, args=(update, ids, out))
             for ids in (["p1-a", "p1-b"], ["p2-a"], [])]
    for proc in procs:
        proc.start()
    parts = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join()
        assert proc.exitcode == 0
    assert sum(part is None for part in parts) == 1  # the process that wrote nothing
    assert toc_generations(tmp_path) == [1, 0]  # written, not published
    update.add(fields("chính", "Bài chính"))
    update.delete("xoá")
    update.commit([part for part in parts if part is not None])
    assert titles(tmp_path, 2) == {
        "cũ": "Bài cũ", "chính": "Bài chính",
        "p1-a": "Bài p1-a", "p1-b": "Bài p1-b", "p2-a": "Bài p2-a",
    }


def test_the_commit_has_the_generation_number_asked_for(tmp_path: Path) -> None:
    """A commit numbered above damaged generations supersedes them; the base stays."""
    base = create_generation(tmp_path, 3)
    (tmp_path / "_MAIN_4.toc").write_bytes(b"\0" * 40)  # what a power cut can leave
    update = open_update(base, 5)
    assert update.generation == 5
    update.add(fields("a", "Một"))
    assert update.commit() == 5
    assert toc_generations(tmp_path) == [5, 4, 3]
    assert titles(tmp_path, 5) == {"a": "Một"}
    assert titles(tmp_path, 3) == {}


def test_the_state_column_holds_every_live_document(tmp_path: Path) -> None:
    odd_path = "/tin/bài \udcff.txt"  # a file name that is not valid UTF-8
    committed(tmp_path, 1, fields("a", "Một", odd_path), fields('b "2"', "Hai"),
              fields("c", "Ba"))
    assert states(tmp_path, 1) == {
        ("a", odd_path, "hash-Một"), ('b "2"', "/tin/a.txt", "hash-Hai"),
        ("c", "/tin/a.txt", "hash-Ba"),
    }
    update = open_update(open_generation(tmp_path, 1), 2)
    update.delete("c")
    update.delete("a")
    update.add(fields("a", "Một mới", "/tin/b.txt"))
    update.commit()
    assert states(tmp_path, 2) == {
        ("a", "/tin/b.txt", "hash-Một mới"), ('b "2"', "/tin/a.txt", "hash-Hai"),
    }
    (tmp_path / "new").mkdir()
    assert list(state_values(create_generation(tmp_path / "new", 0))) == []
