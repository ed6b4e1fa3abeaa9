"""The place tables are built once and then read from a cache: never stale, never fatal.

Building the gazetteer and the tables between the 2022 and 2025 units from
`indexer/data/` takes most of a second, which every `vnsearch index` run paid.
They are now pickled in a cache folder, keyed by the data files' bytes (and
the code that builds them); these tests use real files in a temporary folder.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from indexer import localities

TEXT = "Huyện ủy Bình Lục (Hà Nam) họp tại xã Bình Mỹ, tỉnh Ninh Bình."
DATE = "2025-08-01"


def clear() -> None:
    for cached in (localities._generations, localities.gazetteer, localities._table_2025):
        cached.cache_clear()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder for this test; the process's tables afterwards as before."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("VNSEARCH_CACHE_DIR", str(folder))
    clear()
    yield folder
    monkeypatch.undo()
    clear()


def what_is_found() -> tuple[list, list[str]]:
    """What an article's places give: the records and their keys of both generations."""
    found = localities.find_localities(TEXT)
    return found, localities.locality_keys(found, DATE)


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("gazetteer-*.pickle"))


def refuse_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: object) -> None:
        raise AssertionError("the gazetteer was built again")

    monkeypatch.setattr(localities.Gazetteer, "__init__", fail)


def test_tables_are_built_once_then_read_from_the_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = what_is_found()
    assert expected[0] and any(key.startswith("n:") for key in expected[1])
    (written,) = cache_files(cache)
    assert written == localities.cache_path()
    clear()
    refuse_to_build(monkeypatch)  # a second process: read, not built
    assert what_is_found() == expected
    assert not list(cache.glob(".*.tmp"))  # written whole, then renamed


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage", "other object"])
def test_a_damaged_cache_is_rebuilt(cache: Path, damage: str) -> None:
    expected = what_is_found()
    path = localities.cache_path()
    whole = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": whole[: len(whole) // 2],
                      "garbage": b"\x80\x05not a pickle at all",
                      "other object": pickle.dumps({"units": []})}[damage])
    clear()
    assert what_is_found() == expected
    with open(path, "rb") as handle:  # written again, whole
        assert isinstance(pickle.load(handle), localities._Generations)


def test_changed_data_files_build_new_tables(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    what_is_found()
    (old,) = cache_files(cache)
    data = tmp_path / "data"
    shutil.copytree(Path(str(resources.files("indexer") / "data")), data)
    rows = (data / "units_2025.tsv").read_text("utf-8").splitlines()
    code = localities.codes_2025("xã Bình Mỹ (Ninh Bình)")[0]
    (row,) = [i for i, line in enumerate(rows) if line.split("\t")[0] == code]
    fields = rows[row].split("\t")
    rows[row] = "\t".join([*fields[:4], "Bình Mỹ Mới"])
    (data / "units_2025.tsv").write_text("\n".join(rows) + "\n", "utf-8")
    monkeypatch.setattr(localities, "_DATA", data)
    clear()
    assert localities.gazetteer().units[f"n{code}"].name == "Bình Mỹ Mới"
    (new,) = cache_files(cache)  # the stale file is replaced, not kept beside
    assert new != old and new == localities.cache_path()
    # and the tables of the real data come back when it does
    monkeypatch.setattr(localities, "_DATA", resources.files("indexer") / "data")
    clear()
    assert localities.gazetteer().units[f"n{code}"].name == "Bình Mỹ"


def test_a_cache_folder_that_cannot_be_written_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder", "utf-8")
    monkeypatch.setenv("VNSEARCH_CACHE_DIR", str(blocker / "cache"))
    clear()
    try:
        found, keys = what_is_found()
        assert found and keys
        assert blocker.read_text("utf-8") == "not a folder"
    finally:
        monkeypatch.undo()
        clear()
