"""Properties of the one analysis, on random Vietnamese text.

The index, the query parser and the highlighter must read a text the same
way, or a document cannot be found (or marked) by the very words it holds.
Texts are drawn from Vietnamese syllables with tone marks (NFC or NFD,
tone on any vowel, any case), document codes, numbers, dates and
punctuation.
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from whoosh.fields import TEXT

from engine.query import MAX_QUERY_CHARS, MAX_SYLLABLES, parse
from indexer.analysis import VIEWS, find_folded, syllables, terms, text_syllables
from indexer.normalize import normalize
from indexer.schema import build_schema
from indexer.segment import segment

ONSETS = ["", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n",
          "ng", "ngh", "nh", "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x"]
NUCLEI = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "oa", "oă", "oe", "uy",
          "uya", "uyê", "ươ", "uô", "iê", "yê", "ia", "ua", "ưa", "ai", "ao", "au", "ay", "âu",
          "ây", "eo", "êu", "iu", "oi", "ôi", "ơi", "ui", "ưi", "ưu", "oai", "uôi", "ươi",
          "iêu", "yêu", "ươu"]
CODAS = ["", "", "c", "ch", "m", "n", "ng", "nh", "p", "t"]
TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
CODES = ["21-KL/TW", "21- KL/TW", "21 - KL/TW", "21-kl/tw", "21–KL/TW", "5-CT/TW",
         "37-QĐ/TW", "37 – QĐ/TW", "25-KH/ĐU", "16-ĐA/TU", "123/QĐ-UBND", "09/NQ-HĐND"]
NUMBERS = ["7.262", "1,5", "2022", "25/10/2021", "17/3", "3/2024", "100%", "TP.HCM", "Tp.",
           "ThS.", "XIII", "COVID-19"]
#: A document code as the folded views hold it.
CODE_TERM = re.compile(
    r"\d{2,4}-[a-z]{2,6}(?:/[a-z]{2,8}){1,2}|\d{1,5}/[a-z]{2,6}(?:-[a-z]{2,10})+")
PUNCTUATION = [",", ".", ";", ":", "!", "?", "(", ")", "...", "…", "'", "/", "- ", "– "]


@st.composite
def vietnamese_syllable(draw: st.DrawFn) -> str:
    """A syllable with its tone mark on any vowel, in any case, NFC or NFD."""
    nucleus = draw(st.sampled_from(NUCLEI))
    tone = draw(st.sampled_from(TONES))
    at = draw(st.integers(0, len(nucleus) - 1))
    nucleus = unicodedata.normalize("NFC", nucleus[: at + 1] + tone + nucleus[at + 1 :])
    syllable = draw(st.sampled_from(ONSETS)) + nucleus + draw(st.sampled_from(CODAS))
    case = draw(st.sampled_from(["lower", "lower", "title", "upper", "mixed"]))
    if case == "title":
        syllable = syllable[:1].upper() + syllable[1:]
    elif case == "upper":
        syllable = syllable.upper()
    elif case == "mixed":
        flips = draw(st.lists(st.booleans(), min_size=len(syllable), max_size=len(syllable)))
        syllable = "".join(c.upper() if f else c for c, f in zip(syllable, flips, strict=True))
    return unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), syllable)


TOKENS = st.one_of(
    vietnamese_syllable(), vietnamese_syllable(), vietnamese_syllable(), vietnamese_syllable(),
    st.sampled_from(CODES), st.sampled_from(NUMBERS), st.sampled_from(PUNCTUATION),
)
#: Word separators; "" glues a token to the one before it.
SEPARATORS = st.sampled_from([" ", " ", " ", " ", "", "\n", "\u00a0"])


@st.composite
def vietnamese_text(draw: st.DrawFn) -> str:
    """Tokens joined by single separators: text a user could also type as a query.

    No double quotes and no `-` right before a word, the query language's
    phrase and exclusion operators.
    """
    tokens = draw(st.lists(TOKENS, min_size=1, max_size=30))
    text = tokens[0]
    for token in tokens[1:]:
        text += draw(SEPARATORS) + token
    return text.strip()


def index_syllables(text: str) -> tuple[list[str], list[str]]:
    """(accented, folded) syllables as the index holds them: words split at `_`."""
    accented = [p for t in terms(text, "words") for p in t.text.split("_")]
    folded = [t.text for t in terms(text, "folded_syllables")]
    return accented, folded


def query_syllables(query: str) -> tuple[list[str], list[str]]:
    parsed = parse(query)
    return [s.text for s in parsed.syllables], [s.folded for s in parsed.syllables]


@settings(max_examples=250, deadline=None)
@given(vietnamese_text())
def test_a_text_typed_as_a_query_gives_the_index_terms(text: str) -> None:
    assume(len(normalize(text)) <= MAX_QUERY_CHARS)
    # A place named one of its ways (`TP.HCM`) is searched all of its ways: the
    # query language adds alternatives, the analysis of each is the index's.
    assume(all(len(clause.alternatives) == 1 for clause in parse(text).clauses))
    accented, folded = index_syllables(text)
    assert query_syllables(text) == (accented[:MAX_SYLLABLES], folded[:MAX_SYLLABLES])
    # The same text in NFD, or with its paragraphs run together, is the same query.
    assert query_syllables(unicodedata.normalize("NFD", text)) == query_syllables(text)
    assert query_syllables(" ".join(text.split())) == query_syllables(text)


@settings(max_examples=150, deadline=None)
@given(vietnamese_text())
def test_case_and_unicode_form_do_not_change_the_terms(text: str) -> None:
    # Syllables, not words: case is a feature of the word segmenter. A
    # capitalised abbreviation keeps its dot (`TP.`, pyvi's rule) and a
    # lowercase one does not, so case is compared without them.
    assume(not re.search(r"[^\W\d_]\.", normalize(text)))
    reference = {view: [t.text for t in terms(text.lower(), view)]
                 for view in ("folded_syllables", "codes")}
    for variant in (text.upper(), text.title(), text.swapcase()):
        for view, expected in reference.items():
            assert [t.text for t in terms(variant, view)] == expected, view
    assert query_syllables(text.upper())[1] == query_syllables(text)[1]
    nfd = unicodedata.normalize("NFD", text)
    for view in VIEWS:
        assert [t[:2] for t in terms(nfd, view)] == [t[:2] for t in terms(text, view)]


@settings(max_examples=150, deadline=None)
@given(vietnamese_text(), st.sampled_from(["NFC", "NFD"]))
def test_views_agree_with_each_other_and_with_the_original_text(text: str, form: str) -> None:
    text = unicodedata.normalize(form, text)
    words = terms(text, "words")
    folded_words = terms(text, "folded_words")
    folded_syllables = terms(text, "folded_syllables")
    # A folded word is its folded syllables joined: an accent-free compound matches both ways.
    assert [p for t in folded_words for p in t.text.split("_")] == [
        t.text for t in folded_syllables]
    assert [(t.pos, t.start, t.end) for t in folded_words] == [
        (t.pos, t.start, t.end) for t in words]
    assert [t.pos for t in folded_syllables] == list(range(len(folded_syllables)))
    # Codes are the folded words that are codes, at the same positions.
    assert terms(text, "codes") == [t for t in folded_words if CODE_TERM.fullmatch(t.text)]
    # Offsets point at the unit as written: the same terms come back from it.
    for t in folded_syllables:
        assert [u.text for u in terms(text[t.start : t.end], "folded_syllables")] == [t.text]


@settings(max_examples=200, deadline=None)
@given(vietnamese_text(), st.sampled_from(["NFC", "NFD"]))
def test_highlighter_reads_the_stored_words_as_the_index_does(text: str, form: str) -> None:
    text = unicodedata.normalize(form, text)
    spans = [(w.start, w.end) for w in segment(text)]
    assert text_syllables(text, spans) == syllables(text)


@settings(max_examples=150, deadline=None)
@given(vietnamese_text(), st.data())
def test_folded_syllables_are_found_in_the_text_as_written(text: str, data: st.DataObject) -> None:
    text = unicodedata.normalize("NFC", text)
    plain = sorted({s.folded for s in syllables(text) if s.folded.isascii() and s.folded.isalnum()})
    assume(plain)
    wanted = frozenset(data.draw(st.lists(st.sampled_from(plain), min_size=1, max_size=3)))
    expected = {(s.start, s.end) for s in syllables(text) if s.folded in wanted}
    assert expected <= set(find_folded(text, wanted))


SCHEMA = build_schema()


@settings(max_examples=100, deadline=None)
@given(vietnamese_text(), st.sampled_from(["NFC", "NFD"]))
def test_index_writer_and_whoosh_analyzer_give_the_same_postings(text: str, form: str) -> None:
    text = unicodedata.normalize(form, text)
    for name in ("title", "title_f", "title_s", "body", "body_f", "body_s"):
        field = SCHEMA[name]
        assert sorted(field.index(text)) == sorted(TEXT.index(field, text)), name
