"""indexer.crfseg must segment exactly like pyvi: same labels, same tokenized string.

The reference is pyvi's own code path, called here directly (feature dicts
from ``ViTokenizer.sent2features`` into its sklearn_crfsuite model).
"""

from __future__ import annotations

import multiprocessing
import pickle
import re
import subprocess
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyvi import ViTokenizer as PyviModule

from indexer import crfseg, segment

PYVI = PyviModule.ViTokenizer
REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"


def pyvi_labels(syllables: list[str]) -> list[str]:
    """Labels exactly as pyvi computes them for a syllable list."""
    if not syllables:
        return []
    return list(PYVI.model.predict([PYVI.sent2features(list(syllables), False)])[0])


def assert_same(text: str) -> None:
    """tokenize() and tag() agree with pyvi on this text."""
    assert crfseg.tokenize(text) == PYVI.tokenize(text)
    normalized, syllables = PYVI.sylabelize(text)
    assert crfseg.sylabelize(text) == (normalized, syllables)
    assert crfseg.tag(syllables) == pyvi_labels(syllables)


def corpus_texts() -> list[str]:
    """Every article, paragraph and sentence of the sample corpus."""
    texts = []
    for path in sorted(CORPUS.glob("*.txt")):
        article = path.read_text(encoding="utf-8")
        texts.append(article)
        for paragraph in filter(str.strip, article.split("\n")):
            texts.append(paragraph)
            texts.extend(re.split(r"(?<=[.!?…])\s+", paragraph))
    return texts


CORPUS_TEXTS = corpus_texts()


def test_corpus_is_there() -> None:
    """Guard: the identity test below must actually see the sample articles."""
    assert len(list(CORPUS.glob("*.txt"))) == 5
    assert len(CORPUS_TEXTS) > 200


def test_identity_on_sample_articles() -> None:
    differing = [t for t in CORPUS_TEXTS if crfseg.tokenize(t) != PYVI.tokenize(t)]
    assert differing == []
    for text in CORPUS_TEXTS:
        syllables = PYVI.sylabelize(text)[1]
        assert crfseg.tag(syllables) == pyvi_labels(syllables)


def test_sample_articles_do_get_compound_words() -> None:
    """The identity is not vacuous: the model joins syllables into words here."""
    out = crfseg.tokenize(CORPUS_TEXTS[0])
    assert "_" in out
    assert "chính_trị" in out


TRICKY = [
    "",
    " ",
    "\n\n",
    "\t \n",
    ".",
    "...",
    "!?!?",
    "—–-",
    "“”‘’«»",
    "==> -> >> ...",
    "0",
    "2024",
    "7.262 đảng viên, 3,2 tỷ đồng, 1_000",
    "chi 30.000 tỷ đồng",  # the CRF says I_W after a number; pyvi's rule splits it
    "21-KL/TW",
    "Kết luận 21-KL/TW và Quy định 37-QĐ/TW của Ban Chấp hành Trung ương",
    "Nghị quyết số 22-NQ/TW ngày 25/10/2021",
    "20/10/2022 22:08 Địa phương",
    "ngày 25-2-2019, lúc 8h30",
    "Liên hệ: ban.tuyen.giao@hanoi.gov.vn hoặc a_b+c@x-y.com.vn",
    "Xem https://baochinhphu.vn/tin-tuc?id=12&x=y và http://a.b/c.",
    "TP. Hồ Chí Minh, Tp. Đà Nẵng, Mr. Smith, Mrs. X, Ms. Y, Dr. Z, ThS. Lê",
    "UBND TỈNH HÀ NAM THÔNG BÁO",
    "Hà Nội hà nội HÀ NỘI hà Nội Ha Noi ha noi",
    "xay dung chinh don dang",
    "xây dựng, chỉnh đốn Đảng",
    "hoà bình hòa bình, cấp uỷ cấp ủy, toạ đàm tọa đàm, thuỷ lợi thủy lợi",
    unicodedata.normalize("NFD", "Đảng bộ huyện Bình Lục có 57 tổ chức cơ sở Đảng"),
    unicodedata.normalize("NFD", "hoà bình và hòa bình"),
    "COVID-19, Covid 19, covid-19",
    "Bà Rịa - Vũng Tàu, kinh tế - xã hội",
    "Σ ΑΣ ΑΣ. σ ς Σσ",
    "İstanbul ǅemal ﬁnance Ⅻ ²³ ½",
    "a:b c:d word.lower():x -1:word.bi_gram()",
    "tab\there\rand\x0bvertical\x0cfeed\x00nul",
    "Việt Nam🇻🇳 👍 thế giới",
    "(Hà Nam) [Bình Lục] {x} <y>",
    "chính trị " * 400,
    " ".join(["Thông qua mỗi đợt sinh hoạt chính trị về công tác xây dựng"] * 150),
]


@pytest.mark.parametrize("text", TRICKY, ids=range(len(TRICKY)))
def test_identity_on_tricky_strings(text: str) -> None:
    assert_same(text)


def test_empty_input_keeps_pyvi_quirks() -> None:
    """No syllables: pyvi returns the input unchanged (not NFC, not stripped)."""
    assert crfseg.tokenize(" \t  ") == PYVI.tokenize(" \t  ") == " \t  "
    assert crfseg.tokenize("\n") == "\n"  # a newline is a syllable of its own
    assert crfseg.tag([]) == []


def test_identity_on_pyvi_dictionary_phrases() -> None:
    """Every bigram/trigram of pyvi's dictionary in context: its n-gram features all fire."""
    phrases, trigrams = sorted(PYVI.bi_grams | PYVI.tri_grams), sorted(PYVI.tri_grams)
    texts = [f"Các {p} của tỉnh" for p in phrases]
    texts += [f"CÁC {p.upper()} CỦA TỈNH" for p in phrases]
    texts += [f"ông {p} và" for p in trigrams]
    texts += [f"ông {p.title()} và" for p in trigrams]
    differing = [t for t in texts if crfseg.tokenize(t) != PYVI.tokenize(t)]
    assert differing == []
    assert sum("_" in crfseg.tokenize(t) for t in texts) > len(texts) // 2


# Hypothesis: Vietnamese-like text. Real syllables from the sample corpus make
# dictionary bigrams/trigrams (and so I_W labels) common; random letters with
# every tone mark, digits and punctuation cover the rest.
_BASES = "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
_TONES = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
_VOWELS = [unicodedata.normalize("NFC", b + t) for b in _BASES for t in _TONES]
_CONSONANTS = list("bcdđghklmnpqrstvxBCDĐGHKLMNPQRSTVX")
_LETTERS = _VOWELS + _CONSONANTS
_CORPUS_SYLLABLES = sorted(
    {s for t in CORPUS_TEXTS for s in PYVI.sylabelize(t)[1] if s[0].isalpha()}
)
_DICTIONARY_WORDS = sorted(PYVI.bi_grams | PYVI.tri_grams)
_PUNCT = list(".,;:!?-–—/()[]\"'“”‘’…%&@#*+=<>_|\\~^$")

syllable = st.one_of(
    st.sampled_from(_CORPUS_SYLLABLES),
    st.sampled_from(_CORPUS_SYLLABLES).map(str.upper),
    st.sampled_from(_CORPUS_SYLLABLES).map(str.title),
    st.sampled_from(_DICTIONARY_WORDS),
    st.sampled_from(_DICTIONARY_WORDS).map(str.title),
    st.text(st.sampled_from(_LETTERS), min_size=1, max_size=7),
    st.text(st.sampled_from("0123456789"), min_size=1, max_size=5),
    st.sampled_from(_PUNCT),
    st.sampled_from(["hoà", "hòa", "uỷ", "ủy", "toạ", "tọa", "21-KL/TW", "TP.", "Tp.", "..."]),
)
separator = st.sampled_from([" ", " ", " ", "", "\n", ", ", ". ", "  ", "\t"])


@st.composite
def vietnamese_text(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(syllable, separator), max_size=40))
    text = "".join(s + sep for s, sep in parts)
    form = draw(st.sampled_from(["NFC", "NFC", "NFD"]))
    return unicodedata.normalize(form, text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vietnamese_text())
def test_identity_on_generated_vietnamese(text: str) -> None:
    assert_same(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_identity_on_arbitrary_unicode(text: str) -> None:
    assert_same(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(syllable, st.text(min_size=1, max_size=6)), max_size=30))
def test_tag_on_arbitrary_syllable_lists(syllables: list[str]) -> None:
    """The indexer passes its own syllables; any strings must label as in pyvi."""
    assert crfseg.tag(syllables) == pyvi_labels(syllables)


def test_tag_accepts_tuples() -> None:
    syllables = PYVI.sylabelize("xây dựng, chỉnh đốn Đảng")[1]
    assert crfseg.tag(tuple(syllables)) == pyvi_labels(syllables)


def test_identity_from_many_threads() -> None:
    """The web app calls from threads: each must get its own, correct answer."""
    texts = CORPUS_TEXTS[:120]
    expected = [PYVI.tokenize(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(crfseg.tokenize, texts * 4))
    assert got == expected * 4


def _tokenize_in_child(text: str) -> str:
    return crfseg.tokenize(text)


def test_identity_in_forked_workers() -> None:
    """The indexer forks a process pool after crfseg may already be in use."""
    texts = CORPUS_TEXTS[:60]
    crfseg.tokenize(texts[0])  # parent has a tagger before the fork
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map(_tokenize_in_child, texts)
    assert got == [PYVI.tokenize(t) for t in texts]


def test_pyvi_is_the_release_crfseg_was_proven_on() -> None:
    """The pin in pyproject.toml, the installed pyvi and its model agree with crfseg's proof."""
    import importlib.metadata

    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8")
    pinned = re.search(r'"pyvi==([0-9.]+)"', pyproject)
    assert pinned is not None, "pyvi must be pinned to the release crfseg was proven on"
    assert importlib.metadata.version("pyvi") == pinned.group(1)
    assert crfseg.PROVEN, "pyvi's model differs from the one crfseg was proven identical on"
    assert segment.get_tagger() is crfseg.tag


def test_model_and_dictionary_are_pyvis_own() -> None:
    """Read without pyvi's module, the CRF model and the n-gram sets are byte for byte pyvi's."""
    with open(PYVI.model.modelfile.name, "rb") as f:
        assert crfseg._MODEL == f.read()
    assert crfseg._BI_GRAMS == PYVI.bi_grams and crfseg._TRI_GRAMS == PYVI.tri_grams
    assert len(PYVI.bi_grams) > 10_000


def test_segmenting_does_not_import_scikit_learn() -> None:
    """A run adding one article must not pay scikit-learn's import (pyvi's pickle pulls it in)."""
    code = (
        "import sys\n"
        "from indexer import analysis, segment\n"
        "words = [w.text for w in segment.segment('Xây dựng, chỉnh đốn Đảng ở Hà Nam')]\n"
        "assert 'Xây_dựng' in words, words\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "             ('sklearn', 'sklearn_crfsuite', 'pyvi', 'scipy')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_a_model_pickle_with_other_classes_is_refused(tmp_path: Path) -> None:
    """The model file is unpickled with only its known classes: anything else runs nothing."""
    evil = tmp_path / "model.pkl"
    evil.write_bytes(pickle.dumps(ZeroDivisionError("would run")))
    with pytest.raises(pickle.UnpicklingError, match="unexpected class"):
        crfseg._model_bytes(str(evil))


def test_pyvi_fallback_still_gives_the_same_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    """VNSEARCH_SEGMENTER=pyvi loads pyvi on demand; both taggers agree."""
    monkeypatch.setenv("VNSEARCH_SEGMENTER", "pyvi")
    segment.get_tagger.cache_clear()
    try:
        assert segment.get_tagger() is crfseg.pyvi_tag
        syllables = PYVI.sylabelize("Hội nghị sơ kết công tác xây dựng Đảng")[1]
        assert crfseg.pyvi_tag(syllables) == crfseg.tag(syllables) == pyvi_labels(syllables)
    finally:
        monkeypatch.delenv("VNSEARCH_SEGMENTER")
        segment.get_tagger.cache_clear()
