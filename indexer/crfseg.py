"""pyvi's word segmentation, same model and same output, at a fraction of the cost.

pyvi spends most of its time in Python: it builds ~15 feature dicts per
syllable and python-crfsuite then converts every key/value into a crfsuite
attribute. The CRF itself (C) is cheap. This module feeds pyvi's own CRF
model (``pyvi/models/pyvi3.pkl``) the very same attributes in the cheapest
form python-crfsuite accepts, so the labels are bit-for-bit pyvi's:

* attribute names are those python-crfsuite derives from pyvi's dicts
  (``{"k": "v"}`` -> ``b"k:v"``, ``{"k": True}`` / ``{"k": 1.0}`` -> ``b"k"``
  weight 1.0), pre-encoded as UTF-8 bytes and cached per distinct syllable;
* attributes with value ``False`` (weight 0.0) are dropped: crfsuite adds
  ``weight * 0.0`` (a signed zero; every model weight is finite) to a state
  score, which changes nothing;
* attributes absent from the model's attribute dictionary are dropped:
  crfsuite looks each name up (up to its first NUL) and skips unknown ones;
* the remaining attributes keep pyvi's order, so crfsuite sums the same
  weights in the same order and Viterbi sees identical scores.

``tokenize`` reproduces ``pyvi.ViTokenizer.tokenize`` (same syllabification
regex, same joining rules) without its quadratic string concatenation.

pyvi itself is not imported: its module unpickles the model as an
sklearn_crfsuite CRF, which imports scikit-learn (over a second of start-up
for every `vnsearch index`). The model's bytes are taken from the same
pickle by an unpickler that builds no scikit-learn object, and the n-gram
sets are read from pyvi's ``words.txt`` as pyvi reads them. pyvi's own code
(`pyvi_tag`, the ``VNSEARCH_SEGMENTER=pyvi`` path) is imported on first use.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import importlib.util
import os
import pickle
import re
import string
import struct
import threading
import unicodedata
from collections.abc import Sequence

import pycrfsuite

#: pyvi's package folder, found without importing pyvi (its module unpickles the model).
_PYVI_DIR = os.path.dirname(importlib.util.find_spec("pyvi").origin or "")
#: pyvi's pickled sklearn_crfsuite CRF (Python 3 build) and its n-gram dictionary.
PYVI_MODEL = os.path.join(_PYVI_DIR, "models", "pyvi3.pkl")
PYVI_WORDS = os.path.join(_PYVI_DIR, "models", "words.txt")


def _ngrams(path: str) -> tuple[set[str], set[str]]:
    """pyvi's bi_grams and tri_grams, read as ``ViTokenizer`` reads them."""
    with open(path, "rb") as f:
        tokens = f.read().decode("utf-8").split("\n")  # codecs.open: no newline translation
    bi_grams, tri_grams = set(), set()
    for token in tokens:
        spaces = token.count(" ")  # pyvi: len(token.split(" ")) is 2 or 3
        if spaces == 1:
            bi_grams.add(token)
        elif spaces == 2:
            tri_grams.add(token)
    return bi_grams, tri_grams


_BI_GRAMS, _TRI_GRAMS = _ngrams(PYVI_WORDS)


class _Pickled:
    """Stands in for any class of pyvi's pickle: keeps its state, imports nothing."""

    def __init__(self, *args: object) -> None:
        self.args = args
        self.state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state


class _ModelUnpickler(pickle.Unpickler):
    """Unpickles pyvi's CRF without scikit-learn: only the crfsuite model's bytes matter.

    sklearn_crfsuite's CRF and FileResource, numpy's scalars and the training
    log become `_Pickled` holders; ``_codecs.encode`` (how a protocol-2 pickle
    stores bytes) is the only real callable allowed, so the file runs no
    other code.
    """

    _STAND_INS = frozenset({
        ("sklearn_crfsuite.estimator", "CRF"),
        ("sklearn_crfsuite._fileresource", "FileResource"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy", "dtype"),
        ("pycrfsuite._logparser", "TrainLogParser"),
    })

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("_codecs", "encode"):
            return codecs.encode
        if (module, name) in self._STAND_INS:
            return _Pickled
        raise pickle.UnpicklingError(f"unexpected class {module}.{name} in pyvi's model")


def _model_bytes(path: str = PYVI_MODEL) -> bytes:
    """The crfsuite model inside pyvi's pickled sklearn_crfsuite CRF."""
    with open(path, "rb") as f:
        crf = _ModelUnpickler(f).load()
    try:
        data = crf.state["modelfile"].state["__FILE_RESOURCE_DATA__"]
    except (AttributeError, KeyError, TypeError) as err:
        raise pickle.UnpicklingError(f"no crfsuite model in {path}") from err
    if not isinstance(data, bytes):
        raise pickle.UnpicklingError(f"no crfsuite model in {path}")
    return data


@functools.lru_cache(maxsize=1)
def _pyvi() -> type:
    """pyvi's own ``ViTokenizer`` (imports scikit-learn): only for the reference path."""
    from pyvi import ViTokenizer

    return ViTokenizer.ViTokenizer


# pyvi's sylabelize() pattern, alternatives in the same order; inner groups
# made non-capturing so findall() returns the matched strings directly.
PYVI_SYLLABLE_PARTS = (
    r"[A-ZĐ]+\.",
    r"Tp\.",
    r"Mr\.",
    r"Mrs\.",
    r"Ms\.",
    r"Dr\.",
    r"ThS\.",
    r"==>",
    r"->",
    r"\.\.\.",
    r">>",
    "\n",
    r"\w+://[^\s]+",
    r"(?:[a-zA-Z0-9_.+-]+@(?:[a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+)",
    r"\d+(?:[\.,_]\d+)+",
    r"[^\w\s]",
    r"\w+",
)
_SYLLABLE_RE = re.compile("|".join(PYVI_SYLLABLE_PARTS), re.UNICODE)

# Past this many cached syllables the cache is emptied, bounding memory on
# corpora with endless numbers and names.
_CACHE_LIMIT = 500_000


def sylabelize(text: str) -> tuple[str, list[str]]:
    """Split text into syllables exactly as ``ViTokenizer.sylabelize`` does (NFC text)."""
    text = unicodedata.normalize("NFC", text)
    return text, _SYLLABLE_RE.findall(text)


def pyvi_tag(syllables: Sequence[str]) -> list[str]:
    """Labels from pyvi's own code path: the reference ``tag`` must equal (and a fallback)."""
    if not syllables:
        return []
    pyvi = _pyvi()
    return list(pyvi.model.predict([pyvi.sent2features(list(syllables), False)])[0])


def _cqdb_keys(data: bytes, base: int) -> set[bytes]:
    """All keys of a crfsuite CQDB chunk, read from its id -> key (backward) array."""
    chunk_id, _size, _flag, _order, bwd_size, bwd_offset = struct.unpack_from(
        "<4sIIIII", data, base
    )
    if chunk_id != b"CQDB":
        raise ValueError("not a CQDB chunk")
    keys = set()
    for (offset,) in struct.iter_unpack(
        "<I", data[base + bwd_offset : base + bwd_offset + 4 * bwd_size]
    ):
        if offset:
            _id, key_size = struct.unpack_from("<II", data, base + offset)
            start = base + offset + 8
            keys.add(data[start : start + key_size - 1])  # key_size counts the NUL
    return keys


def _model_attributes(data: bytes) -> set[bytes] | None:
    """The model's attribute names, or None (no pre-filtering) if the layout is unexpected."""
    try:
        magic, _size, kind, _version, _nf, _nl, num_attrs, _of, _ol, off_attrs = struct.unpack_from(
            "<4sI4sIIIIIII", data, 0
        )
        if magic != b"lCRF" or kind != b"FOMC":
            return None
        keys = _cqdb_keys(data, off_attrs)
    except (struct.error, ValueError):
        return None
    return keys if len(keys) == num_attrs else None


def _pyvi_model_bytes() -> bytes:
    """The model as pyvi's own module unpickles it: for a pyvi whose pickle holds other
    classes (then not the proven model either: `PROVEN` is False)."""
    with open(_pyvi().model.modelfile.name, "rb") as f:
        return f.read()


try:  # kept alive: Tagger.open_inmemory does not copy the buffer
    _MODEL = _model_bytes()
except pickle.UnpicklingError:
    _MODEL = _pyvi_model_bytes()
_ATTRIBUTES = _model_attributes(_MODEL)
#: SHA-256 of the crfsuite model in pyvi 0.1.1, the release this module was proven
#: identical on (0 differing sentences over VietNews val+test, bench/segment_identity.py).
PROVEN_MODEL_SHA256 = "4716a0e60bbb16135917cce8440351f9790309879dd8f069c773070da9a3e0c1"
#: False when pyvi ships another model: `segment` then uses pyvi's own feature code.
PROVEN = hashlib.sha256(_MODEL).hexdigest() == PROVEN_MODEL_SHA256


def _attr(name: str) -> bytes | None:
    """Name as crfsuite receives it, or None when crfsuite would ignore it anyway."""
    raw = name.encode("utf-8")
    if _ATTRIBUTES is not None and raw.split(b"\0", 1)[0] not in _ATTRIBUTES:
        return None
    return raw


def _attrs(*names: str) -> list[bytes]:
    return [a for a in map(_attr, names) if a is not None]


_BIAS = _attrs("bias")
_PREV_BIGRAM = _attr("-1:word.bi_gram()")
_PREV_TRIGRAM = _attr("-2:word.tri_gram()")
_NEXT_BIGRAM = _attr("+1:word.bi_gram()")
_NEXT_TRIGRAM = _attr("+2:word.tri_gram()")

# syllable -> (lower, own attributes, attributes as the previous syllable,
#              attributes as the next syllable), each in pyvi's key order.
_Entry = tuple[str, list[bytes], list[bytes], list[bytes]]
_cache: dict[str, _Entry] = {}


def _entry(word: str) -> _Entry:
    """Cached per-syllable attributes (True flags only, in pyvi's dict order)."""
    lower = word.lower()
    upper, title = word.isupper(), word.istitle()
    own = _BIAS + _attrs("word.lower():" + lower)
    if upper:
        own += _attrs("word.isupper()")
    if title:
        own += _attrs("word.istitle()")
    if word.isdigit():
        own += _attrs("word.isdigit()")
    prev = _attrs("-1:word.lower():" + lower)
    nxt = _attrs("+1:word.lower():" + lower)
    if title:
        prev += _attrs("-1:word.istitle()")
        nxt += _attrs("+1:word.istitle()")
    if upper:
        prev += _attrs("-1:word.isupper()")
        nxt += _attrs("+1:word.isupper()")
    entry = (lower, own, prev, nxt)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[word] = entry
    return entry


def _items(syllables: Sequence[str]) -> list[list[bytes]]:
    """crfsuite items for a syllable sequence, equal to what pyvi's dicts become."""
    get = _cache.get
    entries = [get(w) or _entry(w) for w in syllables]
    lows = [e[0] for e in entries]
    # ' '.join([a, b]).lower() == a.lower() + ' ' + b.lower(): the only
    # context-dependent lowering (final sigma) never looks across a space.
    bigram = [f"{a} {b}" in _BI_GRAMS for a, b in zip(lows, lows[1:], strict=False)]
    trigram = [
        f"{a} {b} {c}" in _TRI_GRAMS for a, b, c in zip(lows, lows[1:], lows[2:], strict=False)
    ]
    last = len(entries) - 1
    items = []
    for i, entry in enumerate(entries):
        item = entry[1]
        if i:
            item = item + entries[i - 1][2]
            if bigram[i - 1] and _PREV_BIGRAM:
                item.append(_PREV_BIGRAM)
            if i > 1 and trigram[i - 2] and _PREV_TRIGRAM:
                item.append(_PREV_TRIGRAM)
        if i < last:
            item = item + entries[i + 1][3]
            if bigram[i] and _NEXT_BIGRAM:
                item.append(_NEXT_BIGRAM)
            if i < last - 1 and trigram[i] and _NEXT_TRIGRAM:
                item.append(_NEXT_TRIGRAM)
        items.append(item)
    return items


class _TaggerSlot(threading.local):
    """One crfsuite Tagger per thread and per process (a Tagger holds per-call state)."""

    tagger: pycrfsuite.Tagger | None = None
    pid: int = -1


_slot = _TaggerSlot()


def _tagger() -> pycrfsuite.Tagger:
    if _slot.tagger is None or _slot.pid != os.getpid():
        tagger = pycrfsuite.Tagger()
        tagger.open_inmemory(_MODEL)
        _slot.tagger, _slot.pid = tagger, os.getpid()
    return _slot.tagger


def tag(syllables: Sequence[str]) -> list[str]:
    """B_W/I_W label per syllable, identical to pyvi's CRF on the same syllables."""
    if not syllables:
        return []
    return _tagger().tag(_items(syllables))


_PUNCTUATION = string.punctuation


def tokenize(text: str) -> str:
    """Same string as ``pyvi.ViTokenizer.tokenize(text)``: syllables of a word joined by '_'."""
    syllables = _SYLLABLE_RE.findall(unicodedata.normalize("NFC", text))
    if not syllables:
        return text
    labels = tag(syllables)
    out = [syllables[0]]
    prev = syllables[0]
    for cur, label in zip(syllables[1:], labels[1:], strict=True):
        # pyvi's rule, including its substring test against string.punctuation.
        if (
            label == "I_W"
            and cur not in _PUNCTUATION
            and prev not in _PUNCTUATION
            and not cur[0].isdigit()
            and not prev[0].isdigit()
            and not (cur[0].istitle() and not prev[0].istitle())
        ):
            out.append("_")
        else:
            out.append(" ")
        out.append(cur)
        prev = cur
    return "".join(out)
