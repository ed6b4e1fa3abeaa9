"""The Vietnamese analysis core: normalisation, folding, segmentation, offsets."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index
from whoosh.query import Phrase, Term

from indexer import analysis
from indexer.analysis import SYLLABLE, VIEWS, View, accented, postings
from indexer.article import Article
from indexer.normalize import fold, lower, normalize, normalize_with_offsets
from indexer.schema import build_schema, document_fields
from indexer.segment import MAX_CHUNK, segment

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SAMPLES = sorted(CORPUS.glob("*.txt"))

WORDS = analysis.analyzer("words")
FOLDED = analysis.analyzer("folded_words")
SYLLABLES = analysis.analyzer("folded_syllables")


def terms(analyzer, text: str) -> list[str]:
    return [token.text for token in analyzer(text)]


# Every open syllable whose tone mark has two accepted places, in all five tones,
# written both ways: (older placement, newer placement).
TONE_PAIRS = [
    ("hoà", "hòa"), ("hoá", "hóa"), ("hoả", "hỏa"), ("hoã", "hõa"), ("hoạ", "họa"),
    ("khoè", "khòe"), ("khoé", "khóe"), ("khoẻ", "khỏe"), ("khoẽ", "khõe"), ("khoẹ", "khọe"),
    ("thuỳ", "thùy"), ("thuý", "thúy"), ("thuỷ", "thủy"), ("thuỹ", "thũy"), ("thuỵ", "thụy"),
    ("uỷ", "ủy"), ("tuý", "túy"), ("luỹ", "lũy"), ("Hoà", "Hòa"), ("HOÀ", "HÒA"),
    ("Thanh Hoá", "Thanh Hóa"), ("toạ đàm", "tọa đàm"), ("cấp uỷ", "cấp ủy"),
    ("Huyện uỷ", "Huyện ủy"), ("Đảng uỷ", "Đảng ủy"), ("xoà", "xòa"), ("loè", "lòe"),
]


@pytest.mark.parametrize(("older", "newer"), TONE_PAIRS)
def test_tone_placement_variants_are_one_term(older: str, newer: str) -> None:
    assert normalize(older) == normalize(newer)
    assert terms(WORDS, older) == terms(WORDS, newer)
    assert terms(FOLDED, older) == terms(FOLDED, newer)


@pytest.mark.parametrize(
    "word", ["hoàng", "toán", "quý", "của", "mùa", "giúp", "già", "gìn", "người", "khuỷu",
             "tuyển", "Nguyễn", "thuở", "chỉnh", "đốn"],
)
def test_syllables_with_a_single_tone_place_are_unchanged(word: str) -> None:
    assert normalize(word) == word


def test_misplaced_tone_is_corrected() -> None:
    assert normalize("qúa") == "quá"


@pytest.mark.parametrize(
    "text", ["xây dựng, chỉnh đốn Đảng", "Huyện ủy Bình Lục", "Thổ Bình", "Kết luận 21-KL/TW"]
)
def test_nfd_and_nfc_give_the_same_terms(text: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    for analyzer in (WORDS, FOLDED, SYLLABLES):
        assert terms(analyzer, nfd) == terms(analyzer, text)


@pytest.mark.parametrize(
    ("upper", "lowered"),
    [("ĐẢNG", "đảng"), ("XÂY DỰNG", "xây dựng"), ("Đảng Ủy", "đảng uỷ"), ("ƯỚC", "ước")],
)
def test_case_does_not_matter(upper: str, lowered: str) -> None:
    assert terms(WORDS, upper) == terms(WORDS, lowered)
    assert lower("Đ") == "đ"


@pytest.mark.parametrize(
    ("accented", "folded"),
    [("Đảng", "dang"), ("xây dựng", "xay dung"), ("chỉnh đốn", "chinh don"),
     ("Thổ Bình", "tho binh"), ("Thọ Bình", "tho binh"), ("ĐỒNG THÁP", "dong thap"),
     ("Ủy ban", "uy ban"), ("37-QĐ/TW", "37-qd/tw")],
)
def test_folding(accented: str, folded: str) -> None:
    assert fold(accented) == folded
    assert fold(folded) == folded
    assert fold(folded, keep_case=True) == folded
    assert fold(accented, keep_case=True) != accented or accented == folded


def test_folded_word_field_holds_compounds() -> None:
    assert terms(FOLDED, "Xây dựng Đảng") == ["xay_dung", "dang"]
    assert terms(WORDS, "Xây dựng Đảng") == ["xây_dựng", "đảng"]


def test_accent_free_phrase_matches_accented_text_by_syllables() -> None:
    accented = terms(SYLLABLES, "xây dựng, chỉnh đốn Đảng")
    assert accented == ["xay", "dung", "chinh", "don", "dang"]
    # pyvi does not join accent-free compounds; the syllable field does not need it.
    assert terms(SYLLABLES, "xay dung chinh don dang") == accented


def test_syllable_positions_are_consecutive() -> None:
    tokens = [(t.text, t.pos) for t in SYLLABLES("Xây dựng Đảng bộ", positions=True)]
    assert tokens == [("xay", 0), ("dung", 1), ("dang", 2), ("bo", 3)]


@pytest.mark.parametrize(
    "written", ["21-KL/TW", "21- KL/TW", "21 -KL/TW", "21 - KL/TW", "21-kl/tw", "21–KL/TW"]
)
def test_document_codes_are_one_canonical_term(written: str) -> None:
    assert terms(WORDS, f"Kết luận số {written} ngày 25/10/2021") == [
        "kết_luận", "số", "21-kl/tw", "ngày", "25/10/2021"]


def test_codes_keep_their_letters_distinct() -> None:
    assert terms(WORDS, "21-NQ/TW") != terms(WORDS, "21-KL/TW")
    assert terms(WORDS, "Quy định 37 – QĐ/TW") == ["quy_định", "37-qđ/tw"]
    assert terms(WORDS, "Kế hoạch 25 -KH/ĐU") == ["kế_hoạch", "25-kh/đu"]
    assert terms(WORDS, "05-CT/TW") == terms(WORDS, "5-CT/TW")
    assert terms(WORDS, "Quyết định 123/QĐ-UBND") == ["quyết_định", "123/qđ-ubnd"]


def test_numbers_and_dates_stay_searchable() -> None:
    assert terms(WORDS, "có 7.262 đảng viên, ngày 17/3/2022") == [
        "có", "7.262", "đảng_viên", "ngày", "17/3/2022"]


def test_punctuation_is_dropped() -> None:
    assert terms(WORDS, "“Tự soi, tự sửa” ... (khóa XIII)!") == [
        "tự", "soi", "tự", "sửa", "khoá", "xiii"]


def _check_offsets(text: str) -> int:
    """original[start:end] is the word as written, for every token of every analyzer."""
    count = 0
    for analyzer in (WORDS, FOLDED, SYLLABLES):
        previous_start = -1
        for token in analyzer(text, positions=True, chars=True):
            written = text[token.startchar : token.endchar]
            assert 0 <= token.startchar < token.endchar <= len(text)
            assert token.startchar >= previous_start
            previous_start = token.startchar
            expected = lower(re.sub(r"\s+", "_", normalize(written)))
            if analyzer is not WORDS:
                expected = fold(expected)
            if "/" in expected and "-" in expected:  # codes are written canonically
                expected = expected.replace("_", "")
            assert expected == token.text or expected.lstrip("0") == token.text.lstrip("0"), (
                written, token.text)
            count += 1
    return count


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_offsets_point_at_the_words_as_written(sample: Path) -> None:
    text = sample.read_text(encoding="utf-8")
    assert _check_offsets(text) > 1000


@pytest.mark.parametrize("sample", SAMPLES[:2], ids=lambda p: p.name)
def test_offsets_into_nfd_text(sample: Path) -> None:
    text = unicodedata.normalize("NFD", sample.read_text(encoding="utf-8"))
    _check_offsets(text)
    nfc_terms = terms(WORDS, unicodedata.normalize("NFC", text))
    assert terms(WORDS, text) == nfc_terms


def test_offsets_survive_invisible_characters() -> None:
    text = "Đả\u200bng bộ\u00a0huyện Bình\ufeff Lục"
    tokens = [(t.text, t.startchar, t.endchar) for t in WORDS(text, chars=True)]
    assert [t[0] for t in tokens][:2] == ["đảng_bộ", "huyện"]
    assert text[tokens[0][1] : tokens[0][2]] == "Đả\u200bng bộ"


def test_normalize_with_offsets_maps_back() -> None:
    original = unicodedata.normalize("NFD", "Hòa “Bình”")
    normalised, starts, ends = normalize_with_offsets(original)
    assert normalised == 'Hoà "Bình"'
    assert starts is not None and ends is not None
    assert original[starts[0] : ends[2]] == unicodedata.normalize("NFD", "Hòa")


def test_long_paragraphs_are_cut_into_sentences() -> None:
    sentence = "Đảng bộ huyện Bình Lục triển khai thực hiện Kết luận 21-KL/TW. "
    text = sentence * 400  # one 26,000-character paragraph
    words = segment(text)
    per_sentence = segment(sentence.strip())
    assert len(words) == 400 * len(per_sentence)
    assert [w.text for w in words[: len(per_sentence)]] == [w.text for w in per_sentence]
    assert MAX_CHUNK < len(words)


def test_paragraphs_are_segmented_independently() -> None:
    first, second = "Xây dựng Đảng bộ vững mạnh", "Huyện ủy Bình Lục"
    joined = segment(f"{first}\n\n{second}")
    assert [w.text for w in joined] == [w.text for w in segment(first) + segment(second)]


def test_real_index_finds_code_and_accent_free_phrase(tmp_path: Path) -> None:
    ix = index.create_in(str(tmp_path), build_schema())
    with ix.writer() as writer:
        for sample in SAMPLES:
            text = sample.read_text(encoding="utf-8")
            article = Article(id=sample.stem, title=text.split("\n")[0], body=text)
            writer.add_document(**document_fields(article))
        other = Article(id="nq21", title="Nghị quyết 21-NQ/TW", body="Thực hiện 21-NQ/TW.")
        writer.add_document(**document_fields(other))
    with ix.searcher() as searcher:
        code = [term.text for term in WORDS("21-KL/TW")][0]
        citing = {hit["id"] for hit in searcher.search(Term("body", code), limit=None)}
        # 000 writes it "21- KL/TW"; 002 and 004 only say "Kết luận số 21" or nothing.
        assert citing == {"000_3fbea2c4a168ddd1", "001_e49936e6cdc21bfd", "003_b884a5e5383089b0"}
        nq = [term.text for term in WORDS("21-NQ/TW")][0]
        assert {hit["id"] for hit in searcher.search(Term("body", nq))} == {"nq21"}
        phrase = Phrase("body_s", terms(SYLLABLES, "xay dung chinh don dang"))
        assert len(searcher.search(phrase, limit=None)) == len(SAMPLES)
        folded = Term("body_f", "xay_dung")
        assert len(searcher.search(folded, limit=None)) == len(SAMPLES)


VIETNAMESE = st.text(
    alphabet=st.sampled_from(
        list("aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯ")
        + list("àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
        + list("ÀÁẢÃẠÈÉỎÕỌÙÚỦỤ")
        + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u200b", "\u00a0"]
        + list(" \n.,;:!?-–/“”\"'()0123456789")
    ),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(VIETNAMESE)
def test_analysis_never_raises_and_offsets_stay_in_order(text: str) -> None:
    for analyzer in (WORDS, FOLDED, SYLLABLES):
        previous = (0, 0)
        for token in analyzer(text, positions=True, chars=True):
            assert 0 <= token.startchar < token.endchar <= len(text)
            assert (token.startchar, token.endchar) >= previous
            previous = (token.startchar, token.endchar)
            assert token.text


@settings(max_examples=200, deadline=None)
@given(VIETNAMESE)
def test_folding_is_idempotent_and_accent_free(text: str) -> None:
    once = fold(text)
    assert fold(once) == once
    assert once.isascii()
    assert normalize(normalize(text)) == normalize(text)


def test_pyvi_fallback_switch_gives_the_same_words(monkeypatch: pytest.MonkeyPatch) -> None:
    from indexer import crfseg
    from indexer import segment as segment_module

    text = SAMPLES[0].read_text(encoding="utf-8")
    default = [(w.text, w.start, w.end) for w in segment(text)]
    assert segment_module.get_tagger() is crfseg.tag
    monkeypatch.setenv("VNSEARCH_SEGMENTER", "pyvi")
    segment_module.get_tagger.cache_clear()
    segment_module.segment.cache_clear()
    try:
        assert segment_module.get_tagger() is crfseg.pyvi_tag
        assert [(w.text, w.start, w.end) for w in segment(text)] == default
    finally:
        monkeypatch.delenv("VNSEARCH_SEGMENTER")
        segment_module.get_tagger.cache_clear()
        segment_module.segment.cache_clear()


def test_each_view_turns_one_text_into_its_terms() -> None:
    text = "Xây dựng Đảng theo 37- QĐ/TW"
    views = {name: [(t.text, t.pos) for t in analysis.terms(text, name)] for name in VIEWS}
    assert views == {
        "words": [("xây_dựng", 0), ("đảng", 1), ("theo", 2), ("37-qđ/tw", 3)],
        "folded_words": [("xay_dung", 0), ("dang", 1), ("theo", 2), ("37-qd/tw", 3)],
        "folded_syllables": [("xay", 0), ("dung", 1), ("dang", 2), ("theo", 3),
                             ("37-qd/tw", 4)],
        "syllables": [("xây", 0), ("dựng", 1), ("đảng", 2), ("theo", 3), ("37-qđ/tw", 4)],
        "codes": [("37-qd/tw", 3)],
    }
    code = analysis.terms(text, "codes")[0]
    assert text[code.start : code.end] == "37- QĐ/TW"
    assert postings("Đảng, đảng và ĐẢNG", "words") == {"đảng": [0, 1, 3], "và": [2]}


def test_a_view_added_to_the_table_is_indexed_searched_and_analysed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(VIEWS, "syllables", View("syllables", SYLLABLE, accented))
    text = "Thổ Bình, Thọ Bình"
    assert [t.text for t in analysis.terms(text, "syllables")] == ["thổ", "bình", "thọ", "bình"]
    assert postings(text, "syllables") == {"thổ": [0], "bình": [1, 3], "thọ": [2]}
    assert [t.text for t in analysis.analyzer("syllables")(text)] == [
        "thổ", "bình", "thọ", "bình"]


@pytest.mark.parametrize(
    ("typed", "written", "folded_as_typed"),
    [("Hà Nội", "ha noi", "Ha Noi"), ("ĐẢNG  ủy", "dang  uy", "DANG  uy"),
     ("Ho\u0300a Bi\u0300nh", "hoa binh", "Hoa Binh"), ("Bắc Kạn – 中", "bac kan - zhong ",
                                                        "Bac Kan - Zhong ")],
)
def test_fold_keeps_case_only_when_asked(typed: str, written: str, folded_as_typed: str) -> None:
    assert fold(typed) == written
    assert fold(typed, keep_case=True) == folded_as_typed


def test_codes_with_d_stroke_are_marked_where_they_match(engine) -> None:
    """`37-QĐ/TW` matches the folded code `37-qd/tw`; the highlighter reads it the same way."""
    hits = engine.search("37-QĐ/TW")["hits"]
    snippets = {hit["id"]: hit["snippet"] for hit in hits}
    assert "<mark>37-QĐ/TW</mark>" in snippets["003_b884a5e5383089b0"]
    assert "<mark>37- QĐ/TW</mark>" in snippets["000_3fbea2c4a168ddd1"]
    assert "<mark>37 – QĐ/TW</mark>" in snippets["001_e49936e6cdc21bfd"]
