"""What a query means, case by case: accents, unknown words, codes, OR and phrases.

One real index (`vnsearch index`) of corpus/ plus tests/data/query_semantics.jsonl,
sentences written for these cases: `hòa` and `hoà` against `hóa`, the surname
`Đặng` against `Đảng` and `đang`, `vũ trụ` against `vụ ... trù`, `sơ kết`
against `số ... kết`, codes written several ways, place names that share words,
one city spelled five ways.
Each row of CASES is a query with what the results must hold, must not hold,
and which article must come first.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import unicodedata
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import REPO, LiveServer, copy_corpus, index_beside

FIXTURE = REPO / "tests" / "data" / "query_semantics.jsonl"
BINH_LUC, LONG_BINH, VINH_TUONG, KON_RAY, THO_BINH = (
    "000_3fbea2c4a168ddd1", "001_e49936e6cdc21bfd", "002_703ca06d43c4fb17",
    "003_b884a5e5383089b0", "004_e080dc18fe92823a",
)
SAMPLES = {BINH_LUC, LONG_BINH, VINH_TUONG, KON_RAY, THO_BINH}
#: Every article the directive filter `21-KL/TW` finds in the sample corpus, plus the
#: fixture article that writes the code with a space (`21 KL/TW`).
KL21 = SAMPLES | {"qs-code-space"}
#: The articles about Ho Chi Minh City, each spelling it another way.
HCM = {"qs-hcm-dot", "qs-hcm-joined", "qs-saigon"}


@pytest.fixture(scope="module")
def qs_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return index_beside(copy_corpus(tmp_path_factory, "query_semantics", FIXTURE))


@pytest.fixture(scope="module")
def qs_engine(qs_index: Path):
    from engine import SearchEngine

    return SearchEngine(qs_index)


def found(engine, q: str) -> list[str]:
    return [hit["id"] for hit in engine.search(q, per_page=100)["hits"]]


# (query, must contain, must not contain, must rank first)
CASES: list[tuple[str, set[str], set[str], str | None]] = [
    # -- a word typed with marks: that word, every tone placement and Unicode form
    ("hòa giải", {"qs-hoa-giai", "qs-hoa-giai-old"}, {"qs-hoa-chat"}, None),
    ("hoà giải", {"qs-hoa-giai", "qs-hoa-giai-old"}, {"qs-hoa-chat"}, None),
    (unicodedata.normalize("NFD", "hòa giải"), {"qs-hoa-giai", "qs-hoa-giai-old"},
     {"qs-hoa-chat"}, None),
    ("HÒA GIẢI", {"qs-hoa-giai", "qs-hoa-giai-old"}, {"qs-hoa-chat"}, None),
    ("hòa", {"qs-hoa-giai", "qs-hoa-giai-old"}, {"qs-hoa-chat"}, None),
    ("hóa chất", {"qs-hoa-chat"}, {"qs-hoa-giai", "qs-hoa-giai-old"}, "qs-hoa-chat"),
    ("hóa", {"qs-hoa-chat"}, {"qs-hoa-giai", "qs-hoa-giai-old"}, None),
    ("Đặng", {"qs-dang-ho"}, {"qs-dang-bo", "qs-dang-lam", BINH_LUC, KON_RAY}, "qs-dang-ho"),
    ("Đặng Văn Quang", {"qs-dang-ho"}, {"qs-dang-bo", "qs-dang-lam"}, "qs-dang-ho"),
    ("Đảng bộ", {"qs-dang-bo", BINH_LUC}, {"qs-dang-ho", "qs-dang-lam"}, None),
    ("đang", {"qs-dang-lam"}, {"qs-dang-ho", "qs-dang-bo"}, None),
    ("đang thi công", {"qs-dang-lam"}, {"qs-dang-ho", "qs-dang-bo"}, "qs-dang-lam"),
    ("vũ trụ", {"qs-vu-tru"}, {"qs-vu-viec"}, "qs-vu-tru"),
    ("sơ kết", {"qs-so-ket", "qs-code-space"}, {"qs-so-lieu"}, None),
    ("Sơ KẾT sáu tháng", {"qs-so-ket"}, {"qs-so-lieu"}, "qs-so-ket"),
    ("số liệu", {"qs-so-lieu"}, {"qs-so-ket"}, "qs-so-lieu"),
    ("Thổ Bình", {THO_BINH}, {LONG_BINH, "qs-dang-bo"}, THO_BINH),
    ("Kon Rẫy", {KON_RAY}, {BINH_LUC, "qs-dang-ho"}, KON_RAY),
    ("thiên văn", {"qs-vu-tru"}, {"qs-vu-viec", "qs-hoa-chat"}, "qs-vu-tru"),
    # -- a word typed without marks: every accented form, compounds included
    ("hoa giai", {"qs-hoa-giai", "qs-hoa-giai-old"}, {"qs-so-ket"}, None),
    ("hoa", {"qs-hoa-giai", "qs-hoa-giai-old", "qs-hoa-chat"}, set(), None),
    ("dang", {"qs-dang-ho", "qs-dang-bo", "qs-dang-lam"}, set(), None),
    ("vu tru", {"qs-vu-tru"}, {"qs-dang-ho"}, "qs-vu-tru"),
    ("so ket", {"qs-so-ket", "qs-code-space"}, {"qs-hoa-chat"}, None),
    ("thien van", {"qs-vu-tru"}, {"qs-vu-viec"}, "qs-vu-tru"),
    ("kon ray", {KON_RAY}, {BINH_LUC}, KON_RAY),
    ("binh luc", {BINH_LUC}, {"qs-dang-ho"}, BINH_LUC),
    ("xay dung chinh don dang", SAMPLES | {"qs-code-space"}, {"qs-vu-tru"}, None),
    ("chuyen doi so", {"qs-code-da"}, {"qs-vu-tru"}, "qs-code-da"),
    # -- mixed: word by word
    ("hòa giai", {"qs-hoa-giai", "qs-hoa-giai-old"}, {"qs-hoa-chat"}, None),
    ("hoa giải", {"qs-hoa-giai", "qs-hoa-giai-old"}, {"qs-hoa-chat"}, None),
    ("Đặng van quang", {"qs-dang-ho"}, {"qs-dang-bo"}, "qs-dang-ho"),
    ("dang bổ nhiệm", {"qs-dang-ho"}, {"qs-dang-bo", "qs-dang-lam"}, "qs-dang-ho"),
    ("vũ tru", {"qs-vu-tru"}, {"qs-vu-viec"}, "qs-vu-tru"),
    # -- codes: one form however typed; what the directive filter finds
    ("21-KL/TW", KL21, {"qs-code-qd", "qs-vu-tru"}, None),
    ("21 KL/TW", KL21, {"qs-code-qd"}, None),
    ("21KL/TW", KL21, {"qs-code-qd"}, None),
    ("21-kl/tw", KL21, {"qs-code-qd"}, None),
    ("21 kl/tw", KL21, {"qs-code-qd"}, None),
    ("37-QĐ/TW", {"qs-code-qd"}, {"qs-code-space", VINH_TUONG}, None),
    ("37-QD/TW", {"qs-code-qd"}, {"qs-code-space", VINH_TUONG}, None),
    ("37 QĐ/TW", {"qs-code-qd"}, {"qs-code-space"}, None),
    ("16-ĐA/TU", {"qs-code-da"}, {"qs-code-qd"}, "qs-code-da"),
    ("16-da/tu", {"qs-code-da"}, {"qs-code-qd"}, "qs-code-da"),
    # -- OR joins whole names and phrases
    ("Gò Công Tây OR Vĩnh Tường", {"qs-go-cong", VINH_TUONG, LONG_BINH},
     {"qs-go-cong-dong", "qs-tuong"}, None),
    ("go cong tay OR vinh tuong", {"qs-go-cong", VINH_TUONG}, {"qs-go-cong-dong", "qs-tuong"},
     None),
    ("Gò Công Tây OR Bình Lục", {"qs-go-cong", BINH_LUC}, {"qs-go-cong-dong"}, None),
    ("hóa chất OR vũ trụ", {"qs-hoa-chat", "qs-vu-tru"}, {"qs-hoa-giai", "qs-vu-viec"}, None),
    ('"hòa giải" OR "sơ kết"', {"qs-hoa-giai", "qs-so-ket"}, {"qs-hoa-chat", "qs-so-lieu"},
     None),
    ("Kon Rẫy OR Thổ Bình OR Bình Lục", {KON_RAY, THO_BINH, BINH_LUC}, {"qs-dang-ho"}, None),
    # -- parentheses say what an OR joins
    ("(Gò Công Tây OR Vĩnh Tường) giao thông", {"qs-go-cong", VINH_TUONG},
     {"qs-dang-ho", LONG_BINH}, None),
    ("(Kon Rẫy OR Thổ Bình) Đảng bộ", {KON_RAY, THO_BINH}, {"qs-dang-bo", BINH_LUC}, None),
    ("(hóa chất OR vũ trụ) học sinh", {"qs-vu-tru"}, {"qs-hoa-chat"}, "qs-vu-tru"),
    ("hóa chất OR vũ trụ học sinh", {"qs-hoa-chat"}, {"qs-vu-tru"}, "qs-hoa-chat"),
    ("((hóa chất OR vũ trụ)) (học sinh)", {"qs-vu-tru"}, {"qs-hoa-chat"}, "qs-vu-tru"),
    # -- quoted phrases: the words in a row, as typed
    ('"vũ trụ"', {"qs-vu-tru"}, {"qs-vu-viec"}, "qs-vu-tru"),
    ('"vu tru"', {"qs-vu-tru"}, {"qs-vu-viec"}, "qs-vu-tru"),
    ('"sơ kết"', {"qs-so-ket"}, {"qs-so-lieu"}, None),
    ('"Vĩnh Tường"', {VINH_TUONG}, {"qs-tuong"}, VINH_TUONG),
    ('"Gò Công Tây"', {"qs-go-cong", LONG_BINH}, {"qs-go-cong-dong"}, None),
    ('"hoà giải" thôn', {"qs-hoa-giai-old"}, {"qs-hoa-giai", "qs-hoa-chat"}, "qs-hoa-giai-old"),
    # -- exclusions: words and phrases
    ('"Gò Công" -"Gò Công Tây"', {"qs-go-cong-dong"}, {"qs-go-cong"}, "qs-go-cong-dong"),
    ("Gò Công -Đông", {"qs-go-cong"}, {"qs-go-cong-dong"}, None),
    ("hoa -hóa", {"qs-hoa-giai", "qs-hoa-giai-old"}, {"qs-hoa-chat"}, None),
    ('tường -"Vĩnh Tường"', {"qs-tuong"}, {VINH_TUONG}, "qs-tuong"),
    # -- one place, however it is spelled
    ("TP.HCM", HCM, {"qs-bac-ho"}, None),
    ("TPHCM", HCM, {"qs-bac-ho"}, None),
    ("tp hcm", HCM, {"qs-bac-ho"}, None),
    ("Sài Gòn", HCM, {"qs-bac-ho"}, None),
    ("thành phố Hồ Chí Minh", HCM, {"qs-bac-ho"}, None),
    ("giá nhà TPHCM", {"qs-hcm-dot"}, {"qs-hcm-joined", "qs-saigon"}, "qs-hcm-dot"),
    ("Hồ Chí Minh", {"qs-bac-ho"}, {"qs-hcm-joined", "qs-saigon"}, None),
    # -- unknown words are left out (and named), the rest still searched
    ("vũ trụ xyzzyq", {"qs-vu-tru"}, {"qs-vu-viec"}, "qs-vu-tru"),
    ("qwpoe hóa chất", {"qs-hoa-chat"}, {"qs-hoa-giai"}, "qs-hoa-chat"),
    ("asdkjh qwpoe zzxq mmmq", set(), SAMPLES | {"qs-vu-tru"}, None),
]


@pytest.mark.parametrize(("query", "wanted", "unwanted", "first"), CASES,
                         ids=[f"{i:02d}:{c[0]}" for i, c in enumerate(CASES)])
def test_query_behaviour(qs_engine, query: str, wanted: set[str], unwanted: set[str],
                         first: str | None) -> None:
    hits = found(qs_engine, query)
    assert wanted <= set(hits), f"missing {wanted - set(hits)}"
    assert not unwanted & set(hits), f"unexpected {unwanted & set(hits)}"
    if first is not None:
        assert hits[0] == first


def test_unknown_words_are_named_and_a_query_of_none_finds_nothing(qs_engine) -> None:
    some = qs_engine.search("vũ trụ xyzzyq")
    assert some["unmatched"] == ["xyzzyq"] and some["total"] >= 1
    none = qs_engine.search("asdkjh qwpoe zzxq mmmq")
    assert none["total"] == 0 and none["hits"] == []
    assert none["unmatched"] == ["asdkjh", "qwpoe", "zzxq", "mmmq"]
    # An accented word no article writes so is unknown too, though its folded form exists.
    assert qs_engine.search("vữ trừ")["total"] == 0
    assert qs_engine.search("vũ trụ")["unmatched"] == []


def marks(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


def test_word_typed_with_marks_is_marked_only_where_so_written(qs_engine) -> None:
    hits = qs_engine.search("đang", per_page=100)["hits"]
    assert hits
    for hit in hits:
        assert {m.lower() for m in marks(hit["snippet"]) + marks(hit["title_html"])} <= {"đang"}
    binh_luc = next(h for h in hits if h["id"] == BINH_LUC)  # writes `Đảng` and `đang`
    assert marks(binh_luc["snippet"]) == ["đang"]
    article = qs_engine.article("qs-hoa-giai", q="hòa")
    assert set(marks(article["body_html"])) == {"hòa", "Hòa"}
    chemistry = qs_engine.article("qs-hoa-chat", q="hòa")
    assert marks(chemistry["body_html"]) == []
    free = qs_engine.article("qs-hoa-chat", q="hoa")
    assert marks(free["body_html"]) == ["hóa"]


def test_a_code_is_marked_as_written_and_its_number_where_only_tagged(qs_engine) -> None:
    by_id = {h["id"]: h for h in qs_engine.search("37-QD/TW", per_page=100)["hits"]}
    assert "<mark>37-QĐ/TW</mark>" in by_id["qs-code-qd"]["snippet"]
    assert marks(qs_engine.search("16-da/tu")["hits"][0]["snippet"]) == ["16-ĐA/TU"]
    spaced = {h["id"]: h for h in qs_engine.search("21-KL/TW", per_page=100)["hits"]}
    assert "<mark>21 KL/TW</mark>" in spaced["qs-code-space"]["title_html"]
    # Tagged by extraction from `Kết luận số 21 của Ban Chấp hành`: the number is marked.
    assert marks(spaced[VINH_TUONG]["snippet"]) == ["21"]


def test_code_query_finds_what_the_directive_filter_finds(qs_engine) -> None:
    filtered = set(found_filtered(qs_engine, "21-KL/TW"))
    assert filtered and filtered <= set(found(qs_engine, "21-KL/TW"))
    for typed in ("21 KL/TW", "21KL/TW", "21-kl/tw"):
        assert set(found(qs_engine, typed)) == set(found(qs_engine, "21-KL/TW"))


def found_filtered(engine, code: str) -> list[str]:
    return [h["id"] for h in engine.search("", filters={"directive": [code]}, per_page=100)["hits"]]


def test_cli_json_equals_the_api_and_the_page_names_unknown_words(qs_index: Path) -> None:
    server = LiveServer(qs_index)
    try:
        for q in ("vũ trụ xyzzyq", "Gò Công Tây OR Vĩnh Tường", "21 kl/tw"):
            cli = subprocess.run(
                [sys.executable, "-m", "vnsearch", "search", q, "--json", "--index", str(qs_index)],
                cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
            with urllib.request.urlopen(f"{server.url}/api/search?{urlencode({'q': q})}",
                                        timeout=30) as reply:
                api = json.loads(reply.read())
            printed = json.loads(cli.stdout)
            for key in ("total", "unmatched", "suggestion"):
                assert printed[key] == api[key]
            assert [h["id"] for h in printed["hits"]] == [h["id"] for h in api["hits"]]
        text = subprocess.run(
            [sys.executable, "-m", "vnsearch", "search", "vũ trụ xyzzyq", "--index", str(qs_index)],
            cwd=REPO, capture_output=True, text=True, timeout=120, check=True).stdout
        assert "Không tìm thấy: xyzzyq" in text
        url = f"{server.url}/search?{urlencode({'q': 'vũ trụ xyzzyq'})}"
        with urllib.request.urlopen(url, timeout=30) as reply:
            page = reply.read().decode()
        assert "Không tìm thấy: xyzzyq" in page
        with urllib.request.urlopen(f"{server.url}/search?{urlencode({'q': 'vũ trụ'})}",
                                    timeout=30) as reply:
            assert "Không tìm thấy" not in reply.read().decode()
    finally:
        server.stop()


@pytest.mark.parametrize("prefix", ["binh l", "go cong t", "thu tuong p", "xay dung chinh d",
                                    "kon r", "Đảng b", "sinh hoat chinh t", "vinh t"])
def test_completions_are_phrases_articles_hold(qs_engine, prefix: str) -> None:
    for line in qs_engine.suggest(prefix):
        assert qs_engine.search(f'"{line}"')["total"] > 0, line


def test_completions_finish_the_typed_words(qs_engine) -> None:
    assert qs_engine.suggest("binh l")[0] == "Bình Lục"
    assert qs_engine.suggest("kon r") == ["Kon Rẫy"]
    assert qs_engine.suggest("xay dung chinh d")[0] == "xây dựng chỉnh đốn"
    assert not any("công tác" in line.lower() for line in qs_engine.suggest("go cong t"))


@pytest.mark.parametrize(("query", "suggested"), [
    ("binh lucc", "Bình Lục"),
    ("Bình Lụcc", "Bình Lục"),
    ("kon rayy", "Kon Rẫy"),
    ("xay dungg chinh don", "xây dựng chỉnh đốn"),
    ("sinh hoatt chinh tri", "sinh hoạt chính trị"),
    ("binh lcu", "Bình Lục"),  # two letters swapped
])
def test_a_typo_is_named_and_corrected_to_the_indexed_spelling(qs_engine, query: str,
                                                                suggested: str) -> None:
    result = qs_engine.search(query)
    assert len(result["unmatched"]) == 1
    assert result["suggestion"] == suggested
    assert qs_engine.search(suggested)["unmatched"] == []


def test_no_suggestion_for_words_nothing_is_near(qs_engine) -> None:
    assert qs_engine.search("asdkjh qwpoe zzxq mmmq")["suggestion"] is None
    # two of three letters changed is another word, not a typo of `lục`
    assert qs_engine.search("binh lxz")["suggestion"] is None


def test_suggestion_keeps_the_tone_placement_most_articles_use(qs_engine) -> None:
    # The sample articles write `Huyện ủy` 19 times and `Huyện uỷ` once.
    assert qs_engine.search("huyen uy")["suggestion"] == "Huyện ủy"
    assert qs_engine.suggest("huyen u")[0] == "Huyện ủy"
