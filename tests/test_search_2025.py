"""Search across the 2022 and 2025 units, over a real index of a mixed 2022/2026 corpus.

tests/data/localities_mixed.jsonl holds 2026 articles naming places by their
2025 units (the brand-new phường Mộc Sơn, made from parts of the old Mộc Châu
district; xã Bình Mỹ, made from three communes of the old Bình Lục district;
phường Hạc Thành) and 2022 articles naming the old units (xã Đồn Xá, huyện
Bình Lục; huyện Mộc Châu; phường Cống Vị, split in 2025 between phường Giảng
Võ and phường Ngọc Hà). None of the 2026 texts writes an old name, and the
2022 texts write no new one: what links them is the old -> new table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest

from tests.conftest import REPO, LiveServer, copy_corpus, index_beside

MOC_SON = "03979"  # phường Mộc Sơn (Sơn La), 2025 code
BINH_MY = "13501"  # xã Bình Mỹ (Ninh Bình), 2025 code
GIANG_VO, NGOC_HA = "00025", "00008"  # the two wards phường Cống Vị (Ba Đình) went into


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = copy_corpus(tmp_path_factory, "mixed", REPO / "tests" / "data" /
                         "localities_mixed.jsonl")
    return index_beside(corpus)


@pytest.fixture(scope="module")
def engine(mixed_index: Path):
    from engine import SearchEngine

    return SearchEngine(mixed_index)


@pytest.fixture(scope="module")
def server(mixed_index: Path) -> Iterator[LiveServer]:
    live = LiveServer(mixed_index)
    yield live
    live.stop()


def ids(result: dict) -> list[str]:
    return [hit["id"] for hit in result["hits"]]


def test_a_brand_new_ward_is_a_2025_facet_value_under_its_province(engine):
    result = engine.search("", filters={"year": ["2026"]})
    entries = {e["value"]: e for e in result["facets"]["commune_2025"]}
    assert entries[MOC_SON] == {"value": MOC_SON, "count": 1, "label": "phường Mộc Sơn (Sơn La)"}
    assert entries[BINH_MY]["label"] == "xã Bình Mỹ (Ninh Bình)"
    tree = {p["value"]: p for p in result["facets"]["locality_tree_2025"]}
    assert tree["Sơn La"]["children"] == [{"value": MOC_SON, "label": "phường Mộc Sơn",
                                            "count": 1}]
    assert [c["value"] for c in tree["Ninh Bình"]["children"]] == [BINH_MY]


def test_a_brand_new_ward_is_found_by_its_facet_and_by_its_name(engine):
    assert ids(engine.search("", filters={"commune_2025": [MOC_SON]})) == ["gen-moc-son-2026"]
    # the filter takes a name as a user types it, too
    for typed in ("Mộc Sơn", "phường Mộc Sơn", "phường Mộc Sơn (Sơn La)"):
        assert ids(engine.search("", filters={"commune_2025": [typed]})) == [
            "gen-moc-son-2026"], typed
    assert ids(engine.search("Mộc Sơn"))[0] == "gen-moc-son-2026"


def test_a_brand_new_ward_is_found_by_the_old_district_it_came_from(engine):
    by_filter = engine.search("", filters={"district": ["Mộc Châu"]})
    assert set(ids(by_filter)) == {"gen-moc-son-2026", "gen-moc-chau-2022"}
    # the ward's article never writes "Mộc Châu": the query finds it through the table,
    # after the article that does write it
    by_query = engine.search("Mộc Châu")
    assert ids(by_query) == ["gen-moc-chau-2022", "gen-moc-son-2026"]
    assert any(line.startswith("Mộc Châu (huyện cũ, Sơn La) → phường Mộc Sơn")
               for line in by_query["relations"])
    assert "gen-hac-thanh-2026" not in ids(by_query)


def test_an_old_district_finds_articles_about_its_successor_communes(engine):
    result = engine.search("Bình Lục", per_page=50)
    assert {"gen-binh-my-2026", "gen-don-xa-2022"} <= set(ids(result))
    assert result["relations"][0] == (
        "Bình Lục (huyện cũ, Hà Nam) → xã Bình Mỹ, xã Bình Lục, xã Bình Giang, xã Bình An, "
        "xã Bình Sơn (Ninh Bình)")


def test_a_new_commune_finds_2022_articles_about_the_communes_it_absorbed(engine):
    by_query = engine.search("Bình Mỹ")
    assert ids(by_query) == ["gen-binh-my-2026", "gen-don-xa-2022"]
    assert ("xã Bình Mỹ (Ninh Bình) ← thị trấn Bình Mỹ, xã Đồn Xá, xã La Sơn "
            "(Bình Lục, Hà Nam, cũ)") in by_query["relations"]
    by_filter = engine.search("", filters={"commune_2025": [BINH_MY]})
    assert set(ids(by_filter)) == {"gen-binh-my-2026", "gen-don-xa-2022"}
    # and the old commune's name finds the new commune's 2026 article
    by_old = engine.search("", filters={"commune": ["Đồn Xá"]})
    assert set(ids(by_old)) == {"gen-binh-my-2026", "gen-don-xa-2022"}
    assert by_old["relations"] == ["Đồn Xá (xã cũ, Bình Lục, Hà Nam) → xã Bình Mỹ (Ninh Bình)"]


def test_an_unknown_2025_value_finds_nothing_and_stays_listed(engine):
    result = engine.search("", filters={"commune_2025": ["99999"]})
    assert result["total"] == 0
    assert {"value": "99999", "count": 0, "label": "99999"} in result["facets"]["commune_2025"]


def _api(server: LiveServer, path: str, params: list[tuple[str, str]]) -> tuple[int, str]:
    with urlopen(f"{server.url}{path}?{urlencode(params)}", timeout=30) as response:
        return response.status, response.read().decode("utf-8")


def _cli(index: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vnsearch", "search", *args, "--index",
                           str(index)], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.parametrize(("query", "cli_args", "params"), [
    ("", ["--commune-2025", MOC_SON], [("commune_2025", MOC_SON)]),
    ("Bình Lục", [], []),
    ("", ["--commune-2025", "xã Bình Mỹ (Ninh Bình)", "--district", "Bình Lục"],
     [("commune_2025", "xã Bình Mỹ (Ninh Bình)"), ("district", "Bình Lục")]),
])
def test_cli_json_is_the_api_json(server, mixed_index, query, cli_args, params):
    done = _cli(mixed_index, query, *cli_args, "--json")
    assert done.returncode == 0, done.stderr
    from_cli = json.loads(done.stdout)
    status, body = _api(server, "/api/search", [("q", query), *params])
    from_api = json.loads(body)
    assert status == 200
    from_cli.pop("took_ms")
    from_api.pop("took_ms")
    assert from_cli == from_api
    assert from_cli["total"] > 0 and from_cli["relations"]


def test_cli_prints_the_relation_and_the_2025_facet(mixed_index):
    done = _cli(mixed_index, "Mộc Châu")
    assert done.returncode == 0, done.stderr
    assert "Mộc Châu (huyện cũ, Sơn La) → phường Mộc Sơn" in done.stdout
    assert "Xã (2025): phường Mộc Sơn (Sơn La) (1)" in done.stdout


def test_site_shows_the_2025_tree_the_chip_and_the_relation(server):
    status, html = _api(server, "/search", [("q", "Mộc Châu")])
    assert status == 200
    assert "Mộc Châu (huyện cũ, Sơn La) → phường Mộc Sơn" in html
    assert f'name="commune_2025" value="{MOC_SON}"' in html
    assert "phường Mộc Sơn <span" in html
    status, html = _api(server, "/search", [("commune_2025", MOC_SON)])
    assert status == 200
    assert "Xã/phường (2025): phường Mộc Sơn (Sơn La)" in html
    assert "gen-moc-son-2026" in html and "gen-moc-chau-2022" not in html


def test_a_place_typed_without_marks_or_with_its_unit_word_is_the_same_place(engine):
    assert "gen-moc-son-2026" in ids(engine.search("moc chau"))
    assert "gen-binh-my-2026" in ids(engine.search("huyen binh luc"))
    assert "gen-don-xa-2022" in ids(engine.search("xã Bình Mỹ"))
    # a word with marks is that spelling only: no place is spelt "Mốc Châu"
    assert "gen-moc-son-2026" not in ids(engine.search("Mốc Châu"))


def test_site_shows_a_2026_place_by_its_2025_unit_and_a_2022_place_by_its_old_one(server):
    status, html = _api(server, "/search", [("year", "2026"), ("year", "2022")])
    assert status == 200
    # the 2026 article's badge is its ward, and filters by the ward
    assert f'href="/search?commune_2025={MOC_SON}"' in html
    status, html = _api(server, "/article/gen-moc-son-2026", [])
    assert status == 200
    assert "phường Mộc Sơn (Sơn La)" in html and "trước 2025: Mộc Châu, Sơn La" in html
    status, html = _api(server, "/article/gen-don-xa-2022", [])
    assert status == 200
    assert "Đồn Xá, Bình Lục, Hà Nam" in html
    assert f'href="/search?commune_2025={BINH_MY}"' in html
    assert "từ 2025 là" in html and "xã Bình Mỹ (Ninh Bình)" in html


def test_a_name_no_article_writes_finds_the_articles_of_its_successor(engine):
    # xã La Sơn (Bình Lục) is part of xã Bình Mỹ since 2025; no text here writes "La Sơn"
    # (as a phrase: "Sơn La" holds both words). The 2022 article about xã Đồn Xá, also
    # merged into Bình Mỹ, is not about La Sơn.
    result = engine.search('"La Sơn"')
    assert ids(result) == ["gen-binh-my-2026"]
    assert result["unmatched"] == []
    assert result["relations"] == ["La Sơn (xã cũ, Bình Lục, Hà Nam) → xã Bình Mỹ (Ninh Bình)"]


def test_the_unit_word_of_a_query_says_which_unit_is_meant(engine):
    # "huyện Bình Lục" is the old district only, not also the 2025 xã Bình Lục
    assert engine.search("huyện Bình Lục")["relations"] == [
        "Bình Lục (huyện cũ, Hà Nam) → xã Bình Mỹ, xã Bình Lục, xã Bình Giang, xã Bình An, "
        "xã Bình Sơn (Ninh Bình)"]
    # a province's name is the province, not the 2025 wards named after it (phường Hà Nam)
    for q in ("Hà Nam", "tỉnh Hà Nam"):
        assert engine.search(q)["relations"] == [], q


def test_an_article_about_a_split_ward_is_found_from_each_part_and_counted_there(engine):
    # the record names no 2025 ward (which part the article means is unknown) ...
    hit = engine.search("", filters={"commune_2025": [GIANG_VO]})["hits"][0]
    assert hit["id"] == "gen-cong-vi-2022"
    assert hit["localities"][0]["commune_2025"] is None
    # ... but each part finds it, and the facet counts it under each, as its filter finds it
    assert ids(engine.search("", filters={"commune_2025": [NGOC_HA]})) == ["gen-cong-vi-2022"]
    facet = {e["value"]: e["count"] for e in
             engine.search("", filters={"year": ["2022"]})["facets"]["commune_2025"]}
    assert facet[GIANG_VO] == facet[NGOC_HA] == 1


def test_a_2026_ward_is_not_also_the_other_parts_of_the_old_ward_it_maps_back_to(engine):
    # phường Việt Hưng (2025) maps back to the old phường Việt Hưng (Long Biên), which was
    # split between the new Việt Hưng and Phúc Lợi wards: the 2026 article is about
    # Việt Hưng only
    hit = engine.search("", filters={"commune_2025": ["00127"]})["hits"][0]
    assert hit["id"] == "gen-viet-hung-2026"
    assert hit["localities"][0]["district"] == "Long Biên"
    assert engine.search("", filters={"commune_2025": ["00136"]})["total"] == 0
