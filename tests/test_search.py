"""Search through a real index built by `vnsearch index`: what a user sees."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from engine.engine import DEFAULT_FACET_LIMIT
from indexer.extract import extract_file
from indexer.schema import FACETS, facet_values

REPO = Path(__file__).resolve().parent.parent
SAMPLES = {p.stem for p in (REPO / "corpus").glob("*.txt")}


def ids(result: dict) -> list[str]:
    return [hit["id"] for hit in result["hits"]]


def all_ids(engine, q: str, **kwargs) -> list[str]:
    return ids(engine.search(q, per_page=100, **kwargs))


# -- accents -------------------------------------------------------------------


def test_accent_free_query_finds_all_samples_with_suggestion(engine):
    result = engine.search("xay dung chinh don dang")
    assert result["total"] == 5
    assert set(ids(result)) == SAMPLES
    assert result["suggestion"] == "xây dựng chỉnh đốn Đảng"


def test_accented_and_partly_accented_queries_match_the_same(engine):
    accented = engine.search("xây dựng chỉnh đốn Đảng")
    partly = engine.search("xây dung chinh đốn dang")
    assert set(ids(accented)) == set(ids(partly)) == SAMPLES
    assert accented["suggestion"] is None
    assert partly["suggestion"] == "xây dựng chỉnh đốn Đảng"


def test_word_typed_with_marks_finds_that_spelling_only(engine):
    assert ids(engine.search("Đảng"))[0] == "srch-dang"
    found = all_ids(engine, "đang")
    assert found[0] == "srch-dang-fold"
    assert "srch-dang" not in found  # `đang` typed with marks is not `Đảng`
    assert {"srch-dang", "srch-dang-fold"} <= set(all_ids(engine, "dang"))


def test_accent_free_compound_is_marked_as_the_word(engine):
    result = engine.search("xay dung", per_page=20)
    assert SAMPLES <= set(ids(result))
    assert any("<mark>xây dựng</mark>" in hit["snippet"] for hit in result["hits"])


def test_tone_placement_and_nfd_are_the_same_word(engine):
    new_style = all_ids(engine, "hòa giải")
    old_style = all_ids(engine, "hoà giải")
    nfd = all_ids(engine, unicodedata.normalize("NFD", "hòa giải"))
    assert new_style == old_style == nfd
    assert new_style[0] == "srch-hoa"


def test_place_and_code_queries(engine):
    assert ids(engine.search("huyen uy binh luc"))[0] == "000_3fbea2c4a168ddd1"
    found = all_ids(engine, "ket luan 21")
    assert found and set(found) <= SAMPLES
    hit = engine.search("21-KL/TW")["hits"][0]
    assert any(d["code"] == "21-KL/TW" for d in hit["directives"])


# -- query language ------------------------------------------------------------


def test_phrase_requires_adjacent_words(engine):
    loose = set(all_ids(engine, "vỏ nho chất bổ"))
    phrase = all_ids(engine, '"nho chất bổ"')
    assert "srch-nho" in loose
    assert phrase == []  # the words exist, never in that order
    assert all_ids(engine, '"vỏ nho"') == ["srch-nho"]


def test_exclusion_and_or(engine):
    assert "srch-nho-gia" not in all_ids(engine, "nho -giá")
    assert "srch-nho" in all_ids(engine, "nho -giá")
    either = set(all_ids(engine, 'resveratrol OR "siêu thị"'))
    assert either == {"srch-nho", "srch-nho-gia"}


@pytest.mark.parametrize(
    "junk",
    ['"xây dựng', "xây:dựng*", "((Đảng", "AND OR NOT", "-", '""', "title:", "x" * 2000,
     "Đảng " * 400, "\x00\x01<script>", "*?~^"],
)
def test_odd_queries_are_searched_as_text(engine, junk):
    result = engine.search(junk)
    assert isinstance(result["total"], int)
    assert set(result) >= {"query", "total", "page", "per_page", "suggestion", "hits", "facets"}


def test_unbalanced_quote_still_finds_the_words(engine):
    assert set(all_ids(engine, '"xây dựng chỉnh đốn')) == SAMPLES


def test_long_question_ranks_the_answer_first(engine):
    result = engine.search("Chất bổ trong vỏ nho có tác dụng gì?")
    assert result["hits"] and result["hits"][0]["id"] == "srch-nho"


def test_short_query_wants_every_word(engine):
    assert engine.search("nho resveratrol")["total"] == 1
    assert engine.search("nho thịt resveratrol")["total"] == 1
    assert engine.search("nho Mỹ resveratrol")["total"] == 0


def test_word_no_article_holds_is_left_out_and_named(engine):
    result = engine.search("nho khôngcótừnày")
    assert result["unmatched"] == ["khôngcótừnày"]
    assert set(ids(result)) == set(all_ids(engine, "nho"))
    nothing = engine.search("asdkjh qwpoe zzxq mmmq")
    assert nothing["total"] == 0 and nothing["hits"] == []
    assert nothing["unmatched"] == ["asdkjh", "qwpoe", "zzxq", "mmmq"]
    assert engine.search("nho resveratrol")["unmatched"] == []


# -- facets, sorting, paging ---------------------------------------------------


def _expected_counts(search_corpus: Path, wanted: set[str]) -> dict[str, Counter]:
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    for path in sorted(search_corpus.iterdir()):
        for article in extract_file(path):
            if article.id in wanted:
                for name, values in facet_values(article).items():
                    counts[name].update(values)
    return counts


def test_facet_counts_match_the_extracted_records(engine, search_corpus):
    result = engine.search("xay dung chinh don dang", per_page=100)
    expected = _expected_counts(search_corpus, set(ids(result)))
    for name in FACETS:
        got = {e["value"]: e["count"] for e in result["facets"][name]}
        if name == "year":  # the undated articles are counted too, as "none"
            assert got.pop("none", 0) == sum(1 for h in result["hits"] if not h["date"])
        assert got == dict(expected[name]), name
    assert expected["directive"]["21-KL/TW"] >= 1
    labels = {e["value"]: e["label"] for e in result["facets"]["directive"]}
    assert labels["21-KL/TW"] == "Kết luận 21-KL/TW"


def test_facets_are_disjunctive_within_and_conjunctive_across(engine, search_corpus):
    base = engine.search("xay dung chinh don dang")
    provinces = {e["value"]: e["count"] for e in base["facets"]["province"]}
    one = "Hà Nam"
    chosen = engine.search("xay dung chinh don dang", filters={"province": [one]})
    assert chosen["total"] == provinces[one]
    # The province facet still shows every province of the query.
    assert {e["value"]: e["count"] for e in chosen["facets"]["province"]} == provinces
    other = next(p for p in provinces if p != one)
    both = engine.search("xay dung chinh don dang", filters={"province": [one, other]})
    assert both["total"] == provinces[one] + provinces[other]
    # Across facets: a year filter narrows the province counts.
    year = engine.search("xay dung chinh don dang", filters={"year": ["2022"]})
    year_ids = set(ids(year))
    expected = _expected_counts(search_corpus, year_ids)["province"]
    assert {e["value"]: e["count"] for e in year["facets"]["province"]} == dict(expected)
    combined = engine.search("xay dung chinh don dang",
                             filters={"year": ["2022"], "province": [one]})
    assert set(ids(combined)) == year_ids & set(ids(chosen))


def _tree_counts(tree: list[dict], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    out: dict[tuple[str, ...], int] = {}
    for node in tree:
        here = path + (node["value"],)
        out[here] = node["count"]
        out.update(_tree_counts(node.get("children") or [], here))
    return out


def _expected_tree(search_corpus: Path, wanted: set[str]) -> Counter:
    """Documents per (province,), (province, district), (province, district, commune)."""
    counts: Counter = Counter()
    for path in sorted(search_corpus.iterdir()):
        for article in extract_file(path):
            if article.id not in wanted:
                continue
            nodes = set()
            for loc in article.localities:
                nodes.add((loc.province,))
                if loc.district:
                    nodes.add((loc.province, loc.district))
                    if loc.commune:
                        nodes.add((loc.province, loc.district, loc.commune))
            counts.update(nodes)
    return counts


def test_locality_tree_keeps_same_named_districts_under_their_provinces(engine):
    tree = engine.search("huyen chau thanh")["facets"]["locality_tree"]
    by_province = {node["value"]: node for node in tree}
    for province, commune in (("Tiền Giang", "Long Hưng"), ("An Giang", "Vĩnh Hanh")):
        districts = by_province[province]["children"]
        assert [(d["value"], d["count"]) for d in districts] == [("Châu Thành", 1)]
        assert districts[0]["children"] == [{"value": commune, "count": 1}]
    # The flat district facet has one Châu Thành for both articles; the tree two.
    flat = {e["value"]: e["count"] for e in engine.search("huyen chau thanh")["facets"]["district"]}
    assert flat["Châu Thành"] == 2


@pytest.mark.parametrize("q", ["xay dung chinh don dang", "nghị quyết", "giao thông nông thôn"])
def test_locality_tree_counts_match_the_extracted_records(engine, search_corpus, q):
    result = engine.search(q, per_page=100)
    assert result["total"] == len(result["hits"]) > 0
    got = _tree_counts(result["facets"]["locality_tree"])
    assert got == dict(_expected_tree(search_corpus, set(ids(result))))
    # The tree's provinces are the province facet.
    provinces = {e["value"]: e["count"] for e in result["facets"]["province"]}
    assert {k[0]: v for k, v in got.items() if len(k) == 1} == provinces


def test_locality_tree_is_disjunctive_within_a_level(engine, search_corpus):
    q = "huyen chau thanh"
    base = _tree_counts(engine.search(q)["facets"]["locality_tree"])
    # Selecting a province keeps the other provinces' counts at the province level,
    # and narrows the districts below them.
    chosen = engine.search(q, filters={"province": ["An Giang"]})
    assert ids(chosen) == ["srch-ct-ag"]
    tree = {n["value"]: n for n in chosen["facets"]["locality_tree"]}
    assert tree["Tiền Giang"]["count"] == base[("Tiền Giang",)] == 1
    assert tree["Tiền Giang"]["children"] == []
    assert _tree_counts([tree["An Giang"]]) == {k: v for k, v in base.items() if k[0] == "An Giang"}
    # Across facets: a year filter narrows every level.
    year = engine.search(q, filters={"year": ["2022"], "commune": ["Long Hưng"]})
    assert ids(year) == ["srch-ct-tg"]
    got = _tree_counts(year["facets"]["locality_tree"])
    assert got[("Tiền Giang", "Châu Thành")] == 1
    # The commune level ignores its own selection: Vĩnh Hanh can be added, listed
    # under its district and province, which hold no article of the selection.
    assert got[("An Giang", "Châu Thành", "Vĩnh Hanh")] == 1
    assert got[("An Giang", "Châu Thành")] == got[("An Giang",)] == 0


def test_browse_by_filter_sorted_by_date(engine):
    result = engine.search("", filters={"directive": ["21-KL/TW"]}, per_page=100)
    assert result["total"] >= 1
    dates = [h["date"] or "" for h in result["hits"]]
    assert dates == sorted(dates, reverse=True) or "" in dates
    assert engine.search("")["total"] == 0


def test_date_sort_newest_first_undated_last(engine):
    result = engine.search("nho OR Đảng", sort="date", per_page=100)
    dates = [h["date"] for h in result["hits"]]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True)
    assert dates[: len(dated)] == dated  # undated at the end
    assert len(dated) >= 3


def test_paging_and_clamping(engine):
    full = all_ids(engine, "xay dung chinh don dang")
    pages = [ids(engine.search("xay dung chinh don dang", page=p, per_page=2)) for p in (1, 2, 3)]
    assert sum(pages, []) == full
    weird = engine.search("xay dung", page=0, per_page=10000, sort="bogus",
                          filters={"nonsense": ["x"], "province": None})
    assert weird["page"] == 1 and weird["per_page"] == 100 and weird["sort"] == "relevance"
    assert weird["total"] >= 5
    beyond = engine.search("xay dung chinh don dang", page=99)
    assert beyond["page"] == beyond["pages"] and beyond["hits"]


# -- snippets and highlighting -------------------------------------------------


def test_snippets_hold_only_mark_tags_and_escape_the_rest(engine):
    result = engine.search("xay dung web")
    hit = next(h for h in result["hits"] if h["id"] == "srch-escape")
    assert re.sub(r"</?mark>", "", hit["snippet"]).count("<") == 0
    assert "&lt;b&gt;thẻ&lt;/b&gt;" in hit["snippet"]
    assert "<mark>xây dựng</mark>" in hit["snippet"]
    assert hit["title"].startswith("Mã <script>")
    assert "&lt;script&gt;" in hit["title_html"] and "<script>" not in hit["title_html"]


def test_accented_query_marks_exact_spelling_only(engine):
    hit = engine.search("Đảng")["hits"][0]
    marked = re.findall(r"<mark>(.*?)</mark>", hit["snippet"])
    assert marked and all(m.lower() == "đảng" for m in marked)


def test_article_record_with_highlights_and_related(engine):
    article = engine.article("srch-nho", q="vo nho")
    assert article["title_html"].startswith("<mark>Vỏ nho</mark>")
    assert "<mark>vỏ nho</mark>" in article["body_html"]
    assert "\n" not in article["body"] or "\n" in article["body_html"]
    assert any(r["id"] == "srch-nho-gia" for r in article["related"])
    assert all(r["id"] != "srch-nho" for r in article["related"])
    assert engine.article("no-such-id") is None
    plain = engine.article("srch-escape")
    assert "<script>" not in plain["body_html"] and "&lt;script&gt;" in plain["body_html"]


def test_suggest_completes_accent_free_prefixes(engine):
    assert "xây dựng" in engine.suggest("xay d")
    assert any(s.startswith("chỉnh đốn") for s in engine.suggest("chinh d"))
    assert engine.suggest("") == []
    assert engine.suggest("zzzzq") == []


def test_suggest_writes_names_as_the_articles_do(engine):
    assert engine.suggest("ha n")[0] == "Hà Nam"
    assert "Bình Lục" in engine.suggest("binh l")
    assert "Tiền Giang" in engine.suggest("tien g")
    assert "Châu Thành" in engine.suggest("Chau th")
    # Common words stay lowercase, even when seen capitalised at a title start.
    assert "thời tiết" in engine.suggest("thoi t")
    assert "xây dựng" in engine.suggest("xay d")
    assert "nghị quyết" in engine.suggest("nghi q")


# -- freshness and the command line --------------------------------------------


def test_engine_sees_a_new_commit_without_restart(tmp_path, search_corpus):
    from engine import SearchEngine

    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    index_dir = tmp_path / "index"
    cli = [sys.executable, "-m", "vnsearch", "index", str(corpus), "--index", str(index_dir)]
    subprocess.run(cli, cwd=REPO, check=True, capture_output=True)
    engine = SearchEngine(index_dir)
    assert engine.search("resveratrol")["total"] == 0
    shutil.copy(search_corpus / "search_extra.jsonl", corpus)
    subprocess.run(cli, cwd=REPO, check=True, capture_output=True)
    assert ids(engine.search("resveratrol")) == ["srch-nho"]


def test_reopen_after_a_commit_matches_a_fresh_engine(tmp_path, search_corpus):
    """Re-use of the unchanged segments' data after a commit that adds, changes and deletes."""
    from engine import SearchEngine

    corpus = tmp_path / "corpus"
    shutil.copytree(search_corpus, corpus)
    index_dir = tmp_path / "index"
    cli = [sys.executable, "-m", "vnsearch", "index", str(corpus), "--index", str(index_dir)]
    subprocess.run(cli, cwd=REPO, check=True, capture_output=True)
    engine = SearchEngine(index_dir)
    queries = ["xay dung chinh don dang", "Đảng", "kênh mương", "ha noi", "huyện Châu Thành"]
    for q in queries:
        engine.search(q)
    engine.suggest("kenh m")
    assert engine.search("zyzzyva")["total"] == 0
    new = {"id": "srch-new", "title": "Nạo vét kênh mương ở Hà Nội", "date": "2024-01-02",
           "body": "Thành phố Hà Nội nạo vét kênh mương. Loài bọ zyzzyva được tìm thấy."}
    (corpus / "new.jsonl").write_text(json.dumps(new, ensure_ascii=False) + "\n", encoding="utf-8")
    extra = (corpus / "search_extra.jsonl").read_text(encoding="utf-8").splitlines()
    dropped = [json.loads(line)["id"] for line in extra if '"srch-ct-ag"' in line]
    kept = [line for line in extra if '"srch-ct-ag"' not in line]
    (corpus / "search_extra.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    subprocess.run(cli, cwd=REPO, check=True, capture_output=True)

    assert ids(engine.search("zyzzyva")) == ["srch-new"]
    assert engine.article(dropped[0]) is None
    assert "kênh mương" in engine.suggest("kenh m")
    fresh = SearchEngine(index_dir)
    for q in [*queries, "zyzzyva", "nao vet"]:
        got, want = engine.search(q, per_page=50), fresh.search(q, per_page=50)
        got.pop("took_ms")
        want.pop("took_ms")
        assert got == want, q
    assert engine.suggest("kenh m") == fresh.suggest("kenh m")
    tree = {n["value"] for n in engine.search("kênh mương")["facets"]["locality_tree"]}
    assert "Hà Nội" in tree and "An Giang" not in tree


def test_cli_json_is_the_api_result(search_index, engine):
    out = subprocess.run(
        [sys.executable, "-m", "vnsearch", "search", "xay dung chinh don dang",
         "--index", str(search_index), "--json", "--province", "Hà Nam"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    printed = json.loads(out.stdout)
    direct = engine.search("xay dung chinh don dang", filters={"province": ["Hà Nam"]},
                           facet_limit=DEFAULT_FACET_LIMIT)
    printed.pop("took_ms")
    direct.pop("took_ms")
    assert printed == direct
    text = subprocess.run(
        [sys.executable, "-m", "vnsearch", "search", "xay dung chinh don dang",
         "--index", str(search_index)],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout
    assert "xây dựng chỉnh đốn Đảng" in text and "[xây dựng]" in text


def test_concurrent_searches_give_the_same_results(engine):
    from concurrent.futures import ThreadPoolExecutor

    queries = ["xay dung chinh don dang", "Đảng", '"vỏ nho"', "nho -giá", "hòa giải"] * 4
    expected = {q: ids(engine.search(q)) for q in set(queries)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda q: (q, ids(engine.search(q))), queries))
    assert all(expected[q] == found for q, found in got)


def test_phrase_through_decoded_position_keys_agrees(engine, monkeypatch):
    from engine import ranking

    expected = {q: all_ids(engine, q) for q in ('"vỏ nho"', '"chỉnh đốn Đảng"', '"nho chất bổ"')}
    monkeypatch.setattr(ranking, "DECODE_ALL_ABOVE", 0)  # the path big indexes take
    for q, found in expected.items():
        assert all_ids(engine, q) == found
    assert expected['"vỏ nho"'] == ["srch-nho"] and set(expected['"chỉnh đốn Đảng"']) == SAMPLES


def test_accented_query_keeps_words_typed_without_accents(engine):
    assert engine.search("giá nho")["suggestion"] is None
    assert engine.search("gia nho")["suggestion"] == "giá nho"


@pytest.mark.parametrize("query", [
    "xây dựng", "xay dung Dang", "Đảng", "dang", "nha o", "Hà Nội", "ha noi", "mua lu",
])
def test_marks_from_the_words_around_matches_are_the_whole_texts(query: str) -> None:
    """Reading only the words holding query syllables marks what the whole text marks,
    and no match runs across the words left out (`xây nhà dựng` is not `xây dựng`)."""
    from engine.query import parse
    from engine.snippets import Pattern, find_marks, syllables_near, text_syllables, word_spans
    from indexer.analysis import folded

    body = ("Xây nhà dựng cửa ở Hà Nội. Đảng bộ xây dựng Đảng trong sạch, vững mạnh; "
            "đang xây dựng nhà ở xã hội. Mùa lũ, Hà  Nội mưa to; hà nội (viết thường) "
            "và HÀ NỘI. " * 3)
    patterns = [Pattern(tuple(s.folded for s in term.syllables),
                        tuple(s.text if s.accented else None for s in term.syllables), key)
                for key, term in enumerate(t for c in parse(query).clauses
                                           for t in c.alternatives)]
    wanted = frozenset(f for p in patterns for f in p.folded)
    spans = word_spans(body)
    whole = find_marks(text_syllables(body, spans), patterns)
    assert whole, query
    assert find_marks(syllables_near(body, spans, wanted), patterns) == whole
    assert [m for m in whole if folded(body[m[0]:m[1]]) == "xay nha dung"] == []
