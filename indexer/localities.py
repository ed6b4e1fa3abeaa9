"""Finding the administrative units an article is about, in both generations.

Two gazetteers are matched at once: the 2022 units (63 provinces, districts,
communes) and the units in force since 1 July 2025 (34 provinces, 3,321
communes, wards and special zones, no districts), joined by the old -> new
table built by `tools/build_gazetteer_2025.py`. A record keeps the 2022
fields and gains `commune_2025`/`code_2025`: through the table for an old
name, directly for a new one. An old unit split among several new ones gets
no `commune_2025` unless the article names one of those new units: the split
is real, a guess would put the article in the wrong ward. Parents are
compared by 2025 province too, so "xã Mai Châu, tỉnh Phú Thọ" holds although
Mai Châu was in Hòa Bình. The article's date decides which generation a name
shared by both means; "(cũ)" after a name always means the old unit.

Half of all commune names exist in more than one district, many names are
also people's names or phrases ("tư tưởng Hồ Chí Minh"), and users search
by names that no longer exist. So a name counts only when the text says what
it is: after its unit word ("xã Long Bình", "Huyện ủy Gò Công Tây"), or bare
when it is a province, a district name no other district or province shares,
or a commune whose district the article names. Ambiguous names are resolved
by the parents the article mentions, never guessed. Places of other
countries ("tỉnh Hà Nam, Trung Quốc") and the provinces in football clubs'
names ("Thép Xanh Nam Định") are not Vietnamese places. See
`design/localities.md` for the traps this handles.

Matching runs on tokens folded by `indexer.normalize.fold` (accent- and
tone-placement-insensitive), looked up in dicts keyed by token tuples, so an
article costs one pass over its words, not one pass per place name. Where
the text has accents, a name must match with its accents (tone placement and
i/y aside): "Thọ Bình" never finds "Thổ Bình". Accent-free spans match by
their folded form, as a fallback.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import hashlib
import json
import os
import pickle
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

from indexer.article import Locality
from indexer.normalize import fold, normalize

_DATA = resources.files("indexer") / "data"

_Y_TO_I = str.maketrans("yýỳỷỹỵ", "iíìỉĩị")
_CONSONANTS = frozenset("bcdđghklmnpqrstvx")
# Syllables written several ways in official and press names (Đắk Lắk / Đăk Cấm / Đak Pơ).
_SYLLABLE_VARIANTS = {"đắk": "đăk", "đak": "đăk", "đắc": "đăk"}
#: The first day of the 2025 units.
REORGANISATION_DATE = "2025-07-01"


@dataclass(frozen=True)
class Unit:
    """One administrative unit: of 2022 (`p01`, `d001`, `c00001`) or of 2025 (`n00004`)."""

    code: str
    parent: str
    level: str  # "p" province, "d" district, "c" commune (ward, special zone)
    type: str  # tinh, thanh-pho, huyen, quan, thi-xa, xa, phuong, thi-tran, dac-khu
    name: str
    gen: int = 2022


def _syllable_key(syllable: str, accented: bool) -> str:
    """A syllable's comparison form: i/y spellings (Quí/Quý, Kì/Kỳ) made one."""
    text = normalize(syllable).lower() if accented else fold(syllable)
    if len(text) >= 2 and text[-1] in "yýỳỷỹỵ" and (
        text[-2] in _CONSONANTS or text[:-1] == "qu"
    ):
        text = text[:-1] + text[-1].translate(_Y_TO_I)
    return _SYLLABLE_VARIANTS.get(text, text)


@lru_cache(maxsize=200_000)
def _keys(token: str) -> tuple[str, str]:
    """(exact key, folded key) of one token."""
    return _syllable_key(token, True), _syllable_key(token, False)


def _read_tsv(name: str) -> list[list[str]]:
    return [line.split("\t") for line in
            (_DATA / name).read_text(encoding="utf-8").splitlines()[1:]]


class Gazetteer:
    """The 2022 and 2025 units, indexed by folded name, and the table between them."""

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self._ancestors: dict[str, frozenset[str]] = {}
        for code, parent, level, type_, name in _read_tsv("units_2022.tsv"):
            key = f"{level}{code}"
            self.units[key] = Unit(key, f"{'p' if level == 'd' else 'd'}{parent}" if parent
                                   else "", level, type_, name)
        mapping = json.loads((_DATA / "provinces_2025.json").read_text(encoding="utf-8"))["map"]
        self.province_2025 = {normalize(k).lower(): v for k, v in mapping.items()}
        self.province_2025[normalize("Thừa Thiên Huế").lower()] = mapping["Huế"]
        self._load_2025()
        self.by_fold: dict[tuple[str, ...], list[Unit]] = {}
        for unit in self.units.values():
            self._add(unit.name, unit)
        for alias, codes in _ALIASES.items():
            for code in codes:
                self._add(alias, self.units[code])
        self.max_len = max(len(key) for key in self.by_fold)

    def _load_2025(self) -> None:
        """The 2025 units, their predecessors and the old units' successors."""
        old_provinces = [u for u in self.units.values() if u.level == "p"]
        # Each 2025 province bears the name of one 2022 province (Huế: Thừa Thiên Huế).
        self.same_province: dict[str, Unit] = {}
        new_province_names: dict[str, str] = {}
        for code, _, level, _, name in _read_tsv("units_2025.tsv"):
            if level != "p":
                continue
            new_province_names[code] = name
            same = [u for u in old_provinces if self.province_2025_of_name(u.name) == name]
            self.same_province[name] = next(
                (u for u in same if u.name == name),
                next(u for u in same if u.name.endswith(name)))
        self.code_2025: dict[str, str] = {}
        for code, parent, level, type_, name in _read_tsv("units_2025.tsv"):
            if level == "c":
                province = self.same_province[new_province_names[parent]]
                self.units[f"n{code}"] = Unit(f"n{code}", province.code, "c", type_, name, 2025)
                self.code_2025[f"n{code}"] = code
        # old unit -> [(new unit, split)], new unit -> old units
        self.successors: dict[str, list[tuple[str, bool]]] = {}
        predecessors: dict[str, list[str]] = {}
        for level, old, new, split, _ in _read_tsv("map_2022_2025.tsv"):
            old_key, new_key = f"{level}{old}", f"n{new}"
            self.successors.setdefault(old_key, []).append((new_key, split == "1"))
            predecessors.setdefault(new_key, []).append(old_key)
        # what a 2025 unit was part of before (old districts and provinces), and the 2022
        # unit its record names: the old province, the old district when it came from one,
        # the old commune of the same name in it
        self.old_parents: dict[str, frozenset[str]] = {}
        self.back: dict[str, Unit] = {}
        for new_key, olds in predecessors.items():
            parents: set[str] = set()
            provinces: Counter[str] = Counter()
            districts: set[str] = set()
            for old in olds:
                chain = self.chain(self.units[old])[1:] if old[0] == "c" else \
                    [self.units[old], *self.chain(self.units[old])[1:]]
                parents.update(u.code for u in chain)
                provinces[chain[-1].code] += 1
                districts.add(chain[0].code)
            self.old_parents[new_key] = frozenset(parents)
            back = self.units[provinces.most_common(1)[0][0]]
            if len(districts) == 1:
                back = self.units[districts.pop()]
                name = _exact_name_key(self.units[new_key].name)
                same = [self.units[o] for o in olds
                        if o[0] == "c" and _exact_name_key(self.units[o].name) == name]
                if len(same) == 1:
                    back = same[0]
            self.back[new_key] = back
        # a 2022 district that became one 2025 unit (island districts, Phú Quốc)
        targets: dict[str, set[str]] = {}
        for old, succ in self.successors.items():
            unit = self.units[old]
            district = unit.code if unit.level == "d" else unit.parent
            for new, split in succ:
                targets.setdefault(district, set()).add(new if not split else "")
        self.district_successor = {d: next(iter(t)) for d, t in targets.items()
                                   if len(t) == 1 and "" not in t}

    def province_2025_of_name(self, name: str) -> str | None:
        return self.province_2025.get(normalize(name).lower())

    def _add(self, name: str, unit: Unit) -> None:
        key = tuple(_keys(tok)[1] for tok in _TOKEN_RE.findall(name))
        units = self.by_fold.setdefault(key, [])
        if unit not in units:
            units.append(unit)

    def parent(self, unit: Unit) -> Unit | None:
        return self.units.get(unit.parent) if unit.parent else None

    def chain(self, unit: Unit) -> list[Unit]:
        """The unit and its ancestors, commune first (a 2025 unit: its 2025 province)."""
        out = [unit]
        while (parent := self.parent(out[-1])) is not None:
            out.append(parent)
        return out

    def ancestors(self, unit: Unit) -> frozenset[str]:
        """Codes of the units containing this one, the 2022 ones a 2025 unit came from too."""
        codes = self._ancestors.get(unit.code)
        if codes is None:
            codes = frozenset(u.code for u in self.chain(unit)[1:])
            codes = self._ancestors[unit.code] = codes | self.old_parents.get(unit.code,
                                                                             frozenset())
        return codes

    def record_ancestors(self, unit: Unit) -> frozenset[str]:
        """Codes of the units a unit's record names above it (see `locality`)."""
        back = self.back.get(unit.code)
        if back is None:
            return frozenset(u.code for u in self.chain(unit)[1:])
        return frozenset(u.code for u in self.chain(back))

    def new_province(self, unit: Unit) -> str | None:
        """The 2025 province a unit is (or was) in."""
        return self.province_2025_of_name(self.chain(unit)[-1].name)

    def locality(self, unit: Unit, role: str, successor: str | None = None) -> Locality:
        """The record of a unit; `successor` is the 2025 unit an old one is known to be in."""
        if unit.gen == 2025:
            names = {u.level: u.name for u in self.chain(self.back.get(unit.code, unit))}
            new: Unit | None = unit
        else:
            names = {u.level: u.name for u in self.chain(unit)}
            new = self.units.get(successor) if successor else None
        return Locality(
            province=names["p"],
            district=names.get("d"),
            commune=names.get("c"),
            province_2025=self.province_2025_of_name(names["p"]),
            role=role,
            commune_2025=new.name if new else None,
            code_2025=self.code_2025[new.code] if new else None,
        )

    def successor(self, unit: Unit, named: set[str]) -> str | None:
        """The one 2025 unit an old unit went into; for a split one, the part the text names."""
        if unit.level == "d":
            return self.district_successor.get(unit.code)
        succ = self.successors.get(unit.code, [])
        if len(succ) == 1 and not succ[0][1]:
            return succ[0][0]
        parts = [code for code, _ in succ if code in named]
        return parts[0] if len(parts) == 1 else None


@cache
def _exact_name_key(name: str) -> tuple[str, ...]:
    return tuple(_keys(tok)[0] for tok in _TOKEN_RE.findall(name))


_TOKEN_RE = re.compile(r"[^\W_]+")

# Other spellings of units people write (codes of the units they may mean).
_ALIASES: dict[str, tuple[str, ...]] = {
    "HCM": ("p79",),
    "TPHCM": ("p79",),
    "Sài Gòn": ("p79",),
    "Đắc Lắc": ("p66",),
    "Daklak": ("p66",),
    "Đắk Lăk": ("p66",),
    "Đắc Nông": ("p67",),
    "Daknong": ("p67",),
    "Kontum": ("p62",),
    "Thừa Thiên - Huế": ("p46",),
    "TT-Huế": ("p46",),
    "Huế": ("d474",),  # the city: a district in 2022, the province since (_filter_generations)
    "Bà Rịa Vũng Tàu": ("p77",),
    "BR-VT": ("p77",),
}
# Abbreviations that name a place in one word (other one-word names are mostly people).
_ONE_WORD_NAMES = frozenset({"TPHCM", "HCM", "TpHCM"})


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The gazetteer, loaded once per process (from the cache of built tables)."""
    return _generations().gaz


# Unit words, as folded token tuples: (levels they introduce, unit types, accented forms).
_UNIT_WORDS: dict[tuple[str, ...], tuple[str, frozenset[str], str]] = {
    ("tinh",): ("p", frozenset({"tinh"}), "tỉnh"),
    ("tinh", "uy"): ("p", frozenset({"tinh", "thanh-pho"}), "tỉnh ủy"),
    ("thanh", "pho"): ("pd", frozenset({"thanh-pho"}), "thành phố"),
    ("tp",): ("pd", frozenset({"thanh-pho"}), "tp"),
    ("thanh", "uy"): ("pd", frozenset({"thanh-pho"}), "thành ủy"),
    ("huyen",): ("d", frozenset({"huyen"}), "huyện"),
    ("huyen", "uy"): ("d", frozenset({"huyen"}), "huyện ủy"),
    ("quan",): ("d", frozenset({"quan"}), "quận"),
    ("quan", "uy"): ("d", frozenset({"quan"}), "quận ủy"),
    ("thi", "xa"): ("d", frozenset({"thi-xa"}), "thị xã"),
    ("thi", "uy"): ("d", frozenset({"thi-xa"}), "thị ủy"),
    ("xa",): ("c", frozenset({"xa"}), "xã"),
    ("phuong",): ("c", frozenset({"phuong"}), "phường"),
    ("thi", "tran"): ("c", frozenset({"thi-tran"}), "thị trấn"),
    ("dac", "khu"): ("c", frozenset({"dac-khu"}), "đặc khu"),
}
_UNIT_WORDS_WRITTEN = {
    key: " ".join(_keys(w)[0] for w in value[2].split()) for key, value in _UNIT_WORDS.items()
}
_UNIT_KEYS_BY_FIRST: dict[str, list[tuple[str, ...]]] = {}
for _key in sorted(_UNIT_WORDS, key=len, reverse=True):
    _UNIT_KEYS_BY_FIRST.setdefault(_key[0], []).append(_key)
_PLURALS = frozenset(
    "cac nhung hai ba bon nam sau bay tam chin muoi moi cung".split()
)
# Words before a bare name that make it a person, a street, a school... not a place.
_NON_PLACE_BEFORE = frozenset(
    """tư tưởng|chủ tịch|bác|bác hồ|ông|bà|anh|chị|em|cô|chú|cụ|cháu|đồng chí|đ/c|
    đường|phố|đại lộ|lăng|cầu|chùa|đền|đình|nhà|trường|bệnh viện|khách sạn|công ty|tập đoàn|
    ngân hàng|tàu|sân|chợ|thôn|ấp|bản|xóm|tổ|khu|khu phố|làng|cụm|dự án|giải|cúp|đội|
    câu lạc bộ|clb|quỹ|phong cách|đạo đức|gương|chiến dịch|mang tên|tên|hiệu|nhãn hiệu|
    thương hiệu|bút danh|gia đình|vợ|chồng|con|bạn|cậu|thầy|mẹ|bố|cha|ca sĩ|nghệ sĩ|
    tác giả|nhà thơ|nhà văn|cầu thủ|vận động viên|học sinh|sinh viên|bị can|bị cáo|
    đối tượng|nạn nhân|tuyến|quốc lộ|tỉnh lộ|đập|hồ|sông|núi|đèo|bến|cảng|ga|sân bay|
    nhà máy|xí nghiệp|hợp tác xã|htx|siêu thị|cầu vượt|ngã tư|ngã ba|ngã sáu|vòng xoay|
    nút giao|hầm|bùng binh|vườn quốc gia|vqg|vàng|bạc""".replace("\n", "").split("|")
)
_NON_PLACE_BEFORE = frozenset(
    " ".join(_keys(x)[0] for x in w.split()) for w in _NON_PLACE_BEFORE if w.strip()
)
# Words that start an organisation's name: a bare place name after them is part of it.
_ORGANISATION_WORDS = frozenset(
    "công ty|cty|tập đoàn|doanh nghiệp|ngân hàng|khách sạn|nhà hàng|hãng|thương hiệu".split("|")
)
_SURNAMES = frozenset(
    """nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý đinh đào
    trương lâm mai trịnh lương tô tạ chu quách cao kiều la thái mạc lưu đàm ma lò hứa
    triệu vương khúc tăng giang lại doãn phùng nông lục âu tôn mạch hầu văn thị hữu đức
    công thế đình bá trọng quốc""".split()
)
_SURNAMES = frozenset(_keys(name)[0] for name in _SURNAMES)
# Capitalised words that may stand right before a place name without making it part of a
# longer proper name ("UBND Hà Nội", "Tại Đà Nẵng"); other capitalised words do ("Thép
# Xanh Nam Định", "Đông Á Thanh Hóa" are football clubs).
_BEFORE_PLACE_OK = frozenset(
    "ubnd hđnd mttq tand vksnd ca csgt ubmttq đbqh bch tỉnh thành huyện tại ở từ về đến "
    "và với của cho trên ngoài tp tphcm".split()
)
# Province names that are also people's names: need their unit word.
_PERSON_PROVINCES = frozenset({("hồ", "chí", "minh")})
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*$|^\s*$")
# "… (cũ)", "huyện Đức Trọng cũ": the name of a unit before 2025
_OLD_AFTER = re.compile(r"\s*\(?\s*cũ\b")
# A place followed by another country is that country's place ("tỉnh Hà Nam, Trung Quốc").
# (not Mỹ, Đức, Anh…: also people's names)
_COUNTRIES = (
    "Trung Quốc|Lào|Campuchia|Thái Lan|Myanmar|Hàn Quốc|Triều Tiên|Nhật Bản|Đài Loan|Hoa Kỳ|"
    "Ấn Độ|Indonesia|Malaysia|Philippines|Singapore|Ukraine"
)
_FOREIGN_AFTER = re.compile(rf"\s*(?:,|\(|-|–|thuộc|của)\s*(?:nước\s+)?(?:{_COUNTRIES})\b"
                            r"(?![ \t]+[A-ZĐÂĂÊÔƠƯÁÀẢÃẠÉÈẺẼẸÍÌỈĨỊÓÒỎÕỌÚÙỦŨỤÝỲỶỸỴ])")
# (not "xã Yên Hồ, Đức Thọ" nor "huyện Bảo Thắng, Lào Cai": a capital after it continues a name)
# Chinese provinces and cities whose Sino-Vietnamese names are also Vietnamese units;
# Hà Nam, a Vietnamese province until 2025, only in a text written since.
_CHINESE_NAMES = frozenset(
    _exact_name_key(n) for n in "Hà Bắc|Sơn Tây|Sơn Đông|Hải Nam|Thanh Hải|Giang Tây|"
    "Quảng Tây|Quảng Đông|Vân Nam|Phúc Kiến|An Huy|Cát Lâm|Hồ Nam|Hồ Bắc|Trùng Khánh|"
    "Thiên Tân|Tô Châu|Hàng Châu".split("|")
)
_HA_NAM = _exact_name_key("Hà Nam")
# A Chinese province written after a name: "thành phố Trường Sa, tỉnh Hồ Nam" is Changsha.
# (Not Sơn Tây nor Hà Bắc: Vietnamese provinces once, still named so in older texts.)
_CHINESE_PROVINCE_AFTER = re.compile(
    r"\s*(?:,\s*tỉnh|\(\s*(?:tỉnh)?)\s*(?:Hồ Nam|Hồ Bắc|Quảng Đông|Quảng Tây|Vân Nam|Phúc Kiến|"
    r"An Huy|Cát Lâm|Giang Tây|Giang Tô|Chiết Giang|Tứ Xuyên|Sơn Đông|Thiểm Tây|Hải Nam|"
    r"Thanh Hải|Cam Túc|Quý Châu|Liêu Ninh|Hắc Long Giang)\b")
# A street junction before a name: "ngã ba Trường Chinh - Trường Sa" names two streets.
_JUNCTION_BEFORE = re.compile(
    r"(?:ngã (?:ba|tư|năm|sáu|bảy)|giao lộ|nút giao)\s+[^,.;:()\n\"“”]{1,40}?\s[-–]\s*$",
    re.IGNORECASE)
_CREDIT_BEFORE = re.compile(r"(?:Ảnh|Video|Clip|Đồ họa|Theo)\s*:\s*$")
_STREET_WORDS = ("đường", "phố", "đại lộ", "tuyến", "giao lộ", "ngã tư", "ngã ba", "ngã sáu")
_CHINA = re.compile(r"\bTrung Quốc\b|\bBắc Kinh\b|\bTQ\b")


class _Token:
    """One word of the text, with its comparison keys."""

    __slots__ = ("text", "start", "end", "exact", "folded", "upper", "accented")

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text = text
        self.start = start
        self.end = end
        info = _WORD_INFO.get(text)
        if info is None:
            exact, folded = _keys(text)
            info = _WORD_INFO[text] = (exact, folded, text[0].isupper() or text[0].isdigit(),
                                       not text.isascii())
        self.exact, self.folded, self.upper, self.accented = info


_WORD_INFO: dict[str, tuple[str, str, bool, bool]] = {}


@dataclass
class _Mention:
    start: int
    end: int
    candidates: list[Unit]
    bare: bool
    lead: int = -1  # where its unit word starts (the name itself when bare)
    preferred: list[Unit] | None = None  # candidates of the unit type written (xã, phường…)
    resolved: Unit | None = None
    written: frozenset[str] = frozenset()  # the unit types its unit word names
    child: _Mention | None = None  # the name this one is written after as its parent


def _tokenize(text: str) -> list[_Token]:
    if len(_WORD_INFO) > 300_000:  # a long-lived worker: keep the word cache bounded
        _WORD_INFO.clear()
    return [_Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def _gap_ok(text: str, a: _Token, b: _Token, allow_dot: bool = False) -> bool:
    """Two tokens belong to one name: only spaces (or a hyphen, a TP. dot) between."""
    gap = text[a.end:b.start]
    if allow_dot:
        return re.fullmatch(r"\s*\.?\s*", gap) is not None
    return re.fullmatch(r"\s+|\s*[-–]\s*", gap) is not None


def _space_only(text: str, a: _Token, b: _Token) -> bool:
    """Only spaces between two tokens: they read as one proper name."""
    return text[a.end:b.start].isspace()


class _Matcher:
    def __init__(self, text: str, gaz: Gazetteer) -> None:
        self.text = text
        self.gaz = gaz
        self.tokens = _tokenize(text)
        # runs[i]: how many capitalised words from i on read as one name (spaces or a hyphen)
        self.runs = [0] * (len(self.tokens) + 1)
        for k in range(len(self.tokens) - 1, -1, -1):
            tok = self.tokens[k]
            if not tok.upper:
                continue
            nxt = self.tokens[k + 1] if k + 1 < len(self.tokens) else None
            joined = nxt is not None and nxt.upper and _gap_ok(text, tok, nxt)
            self.runs[k] = 1 + (self.runs[k + 1] if joined else 0)
        letters = sum(1 for t in self.tokens if t.accented)
        # Text typed without accents: match everything by its folded form.
        self.unaccented = letters < max(1, len(self.tokens) // 50)

    def _is_unit_word(self, i: int, key: tuple[str, ...]) -> bool:
        toks = self.tokens[i:i + len(key)]
        if tuple(t.folded for t in toks) != key:
            return False
        for a, b in zip(toks, toks[1:], strict=False):
            if not _gap_ok(self.text, a, b):
                return False
        if self.unaccented:
            return True
        written = " ".join(t.exact for t in toks)
        return written == _UNIT_WORDS_WRITTEN[key] or (
            key == ("tp",) and toks[0].text in ("TP", "Tp", "T.P")
        )

    def _name_at(self, i: int, allow_digits: bool) -> list[tuple[int, list[Unit]]]:
        """Names starting at token i, longest first: (end token index, units matching)."""
        out = []
        toks = self.tokens
        by_fold = self.gaz.by_fold
        for length in range(min(self.gaz.max_len, self.runs[i]), 0, -1):
            span = toks[i:i + length]
            units = by_fold.get(tuple(t.folded for t in span))
            if not units:
                continue
            if not allow_digits and any(t.text[0].isdigit() for t in span):
                continue
            units = self._accent_filter(span, units)
            if units:
                out.append((i + length, units))
        return out

    def _accent_filter(self, span: list[_Token], units: list[Unit]) -> list[Unit]:
        """Keep units whose accented name matches; accent-free spans match folded."""
        if self.unaccented or not any(t.accented for t in span):
            return units
        written = tuple(t.exact for t in span)
        return [u for u in units if _exact_name_key(u.name) == written
                or self._alias_exact(u, written)]

    def _alias_exact(self, unit: Unit, written: tuple[str, ...]) -> bool:
        return any(
            unit.code in codes and _exact_name_key(alias) == written
            for alias, codes in _ALIASES.items()
        )

    def mentions(self) -> list[_Mention]:
        toks = self.tokens
        found: list[_Mention] = []
        i = 0
        while i < len(toks):
            matched = False
            keys = _UNIT_KEYS_BY_FIRST.get(toks[i].folded, ())
            for key in keys:
                if i + len(key) >= len(toks) or not self._is_unit_word(i, key):
                    continue
                j = i + len(key)
                if not _gap_ok(self.text, toks[j - 1], toks[j], allow_dot=True):
                    continue
                levels, types, _ = _UNIT_WORDS[key]
                digits = key in (("quan",), ("phuong",))
                names = self._name_at(j, allow_digits=digits)
                for end, units in names:
                    cands = [u for u in units if u.level in levels]
                    if not cands:
                        continue
                    if end == j + 1 and end < len(toks) and toks[end].upper and \
                            not toks[end].text[0].isdigit() and \
                            _space_only(self.text, toks[j], toks[end]) and \
                            not toks[j].text[0].isdigit():
                        break  # "xã Quế Bình" when only "Quế" is known: a longer, unknown name
                    typed = [u for u in cands if u.type in types]
                    found.append(_Mention(toks[j].start, toks[end - 1].end, cands, False,
                                          toks[i].start, typed or cands, written=types))
                    plural = i > 0 and (toks[i - 1].folded in _PLURALS
                                        or toks[i - 1].text.isdigit())
                    i = self._list_continuation(end, levels, types, found) if plural else end
                    matched = True
                    break
                if matched:
                    break
            if matched:
                continue
            bare = self._bare_at(i) if toks[i].upper else None
            if bare is not None:
                found.append(bare)
                i = self._token_index_after(bare.end)
                continue
            i += 1
        return found

    def _token_index_after(self, offset: int) -> int:
        """First token starting at or after `offset` (binary search: tokens are in order)."""
        return bisect.bisect_left(self.tokens, offset, key=lambda tok: tok.start)

    def _list_continuation(self, k: int, levels: str, types: frozenset[str],
                           found: list[_Mention]) -> int:
        """`các xã A, B và C`: further names of the same level after a plural unit word."""
        toks = self.tokens
        while k < len(toks):
            gap = self.text[toks[k - 1].end:toks[k].start]
            step = k
            if re.fullmatch(r"\s*[,;]\s*", gap):
                pass
            elif toks[k].folded == "va" and re.fullmatch(r"\s+", gap) and k + 1 < len(toks):
                step = k + 1
            else:
                break
            names = self._name_at(step, allow_digits=False)
            cands = [u for u in names[0][1] if u.level in levels] if names else []
            if not cands:
                break
            typed = [u for u in cands if u.type in types]
            end = names[0][0]
            found.append(_Mention(toks[step].start, toks[end - 1].end, cands, False,
                                  toks[step].start, typed or cands))
            k = end
        return k

    def _bare_at(self, i: int) -> _Mention | None:
        toks = self.tokens
        tok = toks[i]
        if not tok.upper or tok.text[0].isdigit():
            return None
        names = self._name_at(i, allow_digits=False)
        if not names:
            return None
        end, units = names[0]
        span = toks[i:end]
        one_word = len(span) == 1 and tok.text in _ONE_WORD_NAMES
        if len(span) == 1 and not one_word and not any(u.code == "d474" for u in units):
            return None  # one-syllable bare names are mostly people (Vinh, Hà)
        if tuple(t.exact for t in span) in _PERSON_PROVINCES:
            return None
        if i > 0 and _space_only(self.text, toks[i - 1], tok) and toks[i - 1].upper and \
                not self._before_place_ok(i - 1):
            return None  # part of a longer proper name: a person, a club, an organisation
        if end < len(toks) and _space_only(self.text, toks[end - 1], toks[end]) and \
                toks[end].upper and not toks[end].text.isdigit():
            return None
        if self._in_street_list(i):
            return None
        if _CREDIT_BEFORE.search(self.text, max(0, tok.start - 12), tok.start):
            return None  # "Ảnh: Hải Dương": a photographer
        words = [t.exact for t in toks[max(0, i - 3):i]]
        if words and self.text[toks[i - 1].end:tok.start].isspace():
            for n in (1, 2, 3):
                if len(words) >= n and " ".join(words[-n:]) in _NON_PLACE_BEFORE:
                    return None
        # a line of its own at a paragraph end: a byline, not a place
        after = self.text[span[-1].end:span[-1].end + 3]
        if _SENTENCE_END.search(self.text[max(0, tok.start - 3):tok.start]) and (
            re.fullmatch(r"\s*", after) or after.lstrip(" ").startswith("\n")
        ):
            return None
        clause = re.split(r"[.,;:!?()\n\"“”]", self.text[max(0, tok.start - 60):tok.start])[-1]
        clause_words = normalize(clause).lower().split()[-6:]
        if any(" ".join(clause_words[k:k + 2]) in _ORGANISATION_WORDS
               or clause_words[k] in _ORGANISATION_WORDS for k in range(len(clause_words))):
            return None  # "Công ty đấu giá hợp danh Hồng Lĩnh": a company's name
        return _Mention(tok.start, span[-1].end, list(units), True, tok.start)

    def _in_street_list(self, i: int) -> bool:
        """`đường Nguyễn Huệ, Đồng Khởi, Hai Bà Trưng`: names listed after a street word,
        or the second street of a junction (`ngã ba Trường Chinh - Trường Sa`)."""
        if _JUNCTION_BEFORE.search(self.text, max(0, self.tokens[i].start - 60),
                                   self.tokens[i].start):
            return True
        clause = re.split(r"[.;:()\n]", self.text[max(0, self.tokens[i].start - 200):
                                                 self.tokens[i].start])[-1]
        items = re.split(r",\s*(?:và\s+)?|\s+và\s+", clause)
        if len(items) < 2 or items[-1].strip():
            return False
        for item in reversed(items[:-1]):
            words = item.split()
            n = len(words)
            while n > 0 and (words[n - 1][0].isupper() or words[n - 1][0].isdigit()):
                n -= 1  # words[n:] is the name part of the item
            if n == len(words):
                return False
            if n and normalize(" ".join(words[max(0, n - 2):n])).lower().endswith(
                    _STREET_WORDS):
                return True
            if n:
                return False
        return False

    def _before_place_ok(self, k: int) -> bool:
        """Whether capitalised token k, right before a bare name, leaves the name a place.

        It does when it starts a sentence, or is an office's acronym or a word
        such as "Tại"; a surname, another acronym or any other capitalised word
        makes the name part of a longer one (Lê Xuân Huy, VNPT Hà Nội, Thép
        Xanh Nam Định).
        """
        tok = self.tokens[k]
        if tok.exact in _SURNAMES:
            return False
        if tok.exact in _BEFORE_PLACE_OK:
            return True
        if tok.text.isupper():
            return False
        return bool(_SENTENCE_END.search(self.text[max(0, tok.start - 3):tok.start]))


_LEVEL_RANK = {"c": 0, "d": 1, "p": 2}


def _contains(gaz: Gazetteer, parents: list[Unit], unit: Unit, by_2025: bool) -> bool:
    """Whether one of `parents` holds `unit`: in 2022, in 2025, or as the old unit it came from."""
    codes = {p.code for p in parents}
    if codes & gaz.ancestors(unit):
        return True
    if by_2025:
        provinces = {gaz.new_province(p) for p in parents if p.level == "p"}
        return gaz.new_province(unit) in provinces
    return False


def _constrain_by_adjacent_parent(mentions: list[_Mention], gaz: Gazetteer, text: str,
                                  by_2025: bool) -> None:
    """`xã Cẩm Nam, huyện Cẩm Xuyên` / `huyện Bình Lục (Hà Nam)`: the parent named
    right after a unit must contain it; a unit the parent cannot hold is dropped."""
    for m, n in zip(mentions, mentions[1:], strict=False):
        if not m.candidates or not n.candidates:
            continue
        if not re.fullmatch(r"\s*[,(–-]?\s*(?:cũ\s*,?\s*)?", text[m.end:n.lead]):
            continue
        top = max(_LEVEL_RANK[u.level] for u in m.candidates)
        # "Kim Thành (Lào Cai)": the bare name after it can only be read as a parent
        parents = [u for u in n.candidates if _LEVEL_RANK[u.level] > top]
        if not parents or (not n.bare and len(parents) < len(n.candidates)):
            continue
        # units the parent held in 2022 first; else those in its 2025 province
        m.candidates = [u for u in m.candidates if _contains(gaz, parents, u, False)] or \
            [u for u in m.candidates if by_2025 and _contains(gaz, parents, u, True)]
        n.child = m


def _filter_generations(mentions: list[_Mention], gaz: Gazetteer, text: str,
                        era: int | None) -> None:
    """Drop the candidates of a generation the text cannot mean.

    "(cũ)" after a name: the old unit only. Before July 2025: no 2025 unit;
    undated, a bare name of a 2025 unit is something else ("Vũng Áng" port).
    Since 2025 "TP Huế" is the province-level city.
    """
    for m in mentions:
        if _OLD_AFTER.match(text, m.end) or era == 2022 or (era is None and m.bare):
            _keep(m, [u for u in m.candidates if u.gen == 2022])
        elif era == 2025:
            _keep(m, [gaz.units["p46"] if u.code == "d474" else u for u in m.candidates])


def _prefer_generation(mentions: list[_Mention], era: int | None) -> None:
    """A name both generations have means the unit of the article's time.

    Applied after the parents written next to a name have had their say: in
    "xã Quảng Sơn, thị xã Ba Đồn (cũ)" only the old Quảng Sơn fits.
    """
    for m in mentions:
        if m.bare:
            continue
        if era == 2025:
            _keep(m, [u for u in m.candidates if u.gen == 2025 or u.level == "p"]
                  or m.candidates)
        elif era is None:
            _keep(m, [u for u in m.candidates if u.gen == 2022] or m.candidates)


def _keep(m: _Mention, kept: list[Unit]) -> None:
    if kept != m.candidates:
        m.candidates = kept
        m.preferred = [u for u in m.preferred or [] if u in kept] or kept


def _drop_foreign(mentions: list[_Mention], text: str, era: int | None) -> list[_Mention]:
    """Places of other countries: "tỉnh Hà Nam, Trung Quốc", "thành phố Trường Sa, tỉnh
    Hồ Nam"; in a text about China, the bare name of a Chinese province or city ("từ
    Hàng Châu về Trùng Khánh"), and since 2025, when Vietnam's own province Hà Nam is
    no more, "tỉnh Hà Nam"."""
    china = _CHINA.search(text) is not None
    out = []
    for m in mentions:
        if _FOREIGN_AFTER.match(text, m.end) or _CHINESE_PROVINCE_AFTER.match(text, m.end):
            continue
        name = _exact_name_key(text[m.start:m.end])
        if china and not _OLD_AFTER.match(text, m.end) and (
                (name == _HA_NAM and era == 2025) or (name in _CHINESE_NAMES and m.bare)):
            continue
        out.append(m)
    return out


def _resolve(mentions: list[_Mention], gaz: Gazetteer, text: str, era: int | None) -> None:
    """Give each mention one unit where the text allows, else leave it unresolved.

    Anchors are units named unambiguously; an ambiguous name takes the one
    candidate under an anchored district, else under an anchored province
    (a 2022 one, or since 2025 a 2025 one). Bare names prefer provinces, then
    districts; a bare commune needs its district named in the article. Ties
    between the two generations go to the one of the article's time.
    """
    by_2025 = era != 2022
    _constrain_by_adjacent_parent(mentions, gaz, text, by_2025)
    _prefer_generation(mentions, era)
    anchors: set[str] = set()
    new_provinces: set[str] = set()
    newer = 1 if era == 2025 else 0

    def anchor(unit: Unit) -> None:
        anchors.add(unit.code)
        anchors.update(gaz.ancestors(unit))
        if era == 2025:
            new_provinces.add(gaz.new_province(unit) or "")

    for m in mentions:
        if m.bare:
            provinces = [u for u in m.candidates if u.level == "p"]
            if provinces:
                m.candidates = provinces[:1]
        if m.preferred is None or m.bare:
            m.preferred = m.candidates
        else:
            m.preferred = [u for u in m.preferred if u in m.candidates]
        # provinces and districts named unambiguously anchor the rest
        if len(m.preferred) == 1 and m.preferred[0].level != "c":
            m.resolved = m.preferred[0]
            anchor(m.resolved)
    named = Counter(gaz.new_province(m.resolved) for m in mentions if m.resolved is not None)
    ranked = named.most_common(2)
    main_province = ranked[0][0] if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) \
        else None
    changed = True
    while changed:
        changed = False
        for m in mentions:
            if m.resolved is not None or not m.candidates:
                continue
            scored: list[tuple[int, Unit]] = []
            for u in m.candidates:
                ancestors = gaz.ancestors(u)
                chain = gaz.chain(u)
                if u.code in anchors:
                    score = 6
                elif any(a.startswith("d") for a in ancestors & anchors):
                    score = 4
                elif chain[-1].code in anchors and not m.bare and u.gen == 2022:
                    score = 3
                elif not m.bare and (ancestors & anchors or (
                        era == 2025 and gaz.new_province(u) in new_provinces)):
                    score = 2
                else:
                    score = 0
                generation = newer if u.gen == 2025 else 1 - newer
                scored.append((4 * score + 2 * (u in m.preferred) + generation, u))
            best = max((s for s, _ in scored), default=0)
            top = [u for s, u in scored if s == best]
            if len(top) > 1 and era == 2025 and best // 4 == 2 and main_province:
                # a 2025 province named more than the others decides between its units
                top = [u for u in top if gaz.new_province(u) == main_province] or top
            if best > 3 and len(top) == 1:
                m.resolved = top[0]
                anchor(top[0])
                changed = True
    provinces = {code for code in anchors if code.startswith("p")}
    for m in mentions:
        if m.resolved is not None or not m.candidates:
            continue
        if not m.bare:
            # a commune unique by name, unless the article is plainly about other provinces;
            # since 2025 a 2025 unit unique by name and of the unit type written is enough
            only = m.preferred[0] if len(m.preferred) == 1 else None
            if only is not None and (
                not provinces or gaz.chain(only)[-1].code in provinces
                or gaz.ancestors(only) & provinces
                or (era == 2025 and only.gen == 2025 and len(m.candidates) == 1
                    and only.type in m.written)
            ):
                m.resolved = only
            continue
        higher = [u for u in m.candidates if u.level in "pd"]
        # a 2025 unit named after the old district it was carved from is that district's area
        if len(higher) == 1 and all(
            u.level == "c" and not (gaz.ancestors(u) & anchors)
            for u in m.candidates if u is not higher[0]
            and not (u.gen == 2025 and higher[0].code in gaz.ancestors(u))
        ):
            m.resolved = higher[0]


def article_era(date: str | None) -> int | None:
    """2025 for an article dated since the reorganisation, 2022 before it, None undated."""
    if not date:
        return None
    return 2025 if date >= REORGANISATION_DATE else 2022


def find_localities(text: str, subject_spans: list[tuple[int, int]] | None = None,
                    title_span: tuple[int, int] | None = None,
                    date: str | None = None) -> list[Locality]:
    """Localities named in `text`; those in the title (or else the lead) get role subject.

    `title_span` and `subject_spans` are character ranges of `text`: the
    title, and the lead. When the title names places, lead places count as
    subject only when they are the title's places, their parents or children.
    `date` (ISO) is the article's: it decides between the 2022 and the 2025
    unit of a name both generations have.
    """
    gaz = gazetteer()
    era = article_era(date)
    mentions = _Matcher(text, gaz).mentions()
    mentions = _drop_foreign(mentions, text, era)
    _filter_generations(mentions, gaz, text, era)
    _resolve(mentions, gaz, text, era)
    resolved = [m for m in mentions if m.resolved is not None]

    def inside(m: _Mention, span: tuple[int, int] | None) -> bool:
        return span is not None and span[0] <= m.start and m.end <= span[1]

    def related(code: str) -> set[str]:
        return {code} | gaz.ancestors(gaz.units[code])

    title_units = {m.resolved.code for m in resolved if inside(m, title_span)}  # type: ignore[union-attr]
    lead_units = {m.resolved.code for m in resolved  # type: ignore[union-attr]
                  if any(inside(m, s) for s in subject_spans or [])}
    if title_units:
        around = set()
        for code in title_units:
            around |= related(code)
        subject = title_units | {
            code for code in lead_units if code in around or around & related(code)
        }
    else:
        subject = lead_units

    order: dict[str, int] = {}
    for m in resolved:
        order.setdefault(m.resolved.code, m.start)  # type: ignore[union-attr]
    named_2025 = {code for code in order if gaz.units[code].gen == 2025}
    written_parents = {(m.child.resolved.code, m.resolved.code) for m in resolved  # type: ignore[union-attr]
                       if m.child is not None and m.child.resolved is not None}
    successor = {code: gaz.successor(gaz.units[code], named_2025)
                 for code in order if gaz.units[code].gen == 2022}
    role = {code: ("subject" if code in subject else "mentioned") for code in order}
    rank = {"subject": 1, "mentioned": 0}

    def carries(other: str, code: str) -> bool:
        """Whether the record of `other` says all that the record of `code` would."""
        unit = gaz.units[code]
        if code in gaz.record_ancestors(gaz.units[other]) or code == successor.get(other):
            return True
        # since 2025 (or written as a 2025 unit's parent) "tỉnh Ninh Bình" is the 2025
        # province, which the unit's record names
        return (era == 2025 or (other, code) in written_parents) and unit.level == "p" and \
            gaz.same_province.get(gaz.new_province(unit) or "") == unit and \
            gaz.new_province(gaz.units[other]) == gaz.new_province(unit)

    keep = []
    for code in order:
        # an ancestor adds nothing when a descendant carries it with the same or a better
        # role; nor does a 2025 unit that an old unit's record already names
        covered = any(
            other != code and rank[role[other]] >= rank[role[code]] and carries(other, code)
            for other in order
        )
        if not covered:
            keep.append(code)
    keep.sort(key=lambda c: (-rank[role[c]], order[c]))
    return [gaz.locality(gaz.units[code], role[code], successor.get(code)) for code in keep]


def story_end(text: str) -> int:
    """Where the article's own text ends: before the teaser some pages append.

    24h bodies end with a sentence about another story, then "Nguồn: [Link
    nguồn]": that sentence's places are not the article's. Returns len(text)
    when there is no such tail.
    """
    marker = _TEASER_MARKER.search(text)
    if marker is None:
        return len(text)
    before = text[:marker.start()].rstrip()
    starts = sentence_starts(before)
    if len(starts) < 2 or _OWN_LAST_LINE.match(before, starts[-1]):
        return marker.start()
    return starts[-1]


def sentence_starts(text: str) -> list[int]:
    """Offsets where the sentences of a paragraph start (the first is 0)."""
    return [0] + [m.end() for m in _SENTENCE_BREAK.finditer(text)
                  if text[m.end()].isupper() or text[m.end()] in "\"“"]


# Last sentences that belong to the article (an advertiser's address), not a teaser.
_OWN_LAST_LINE = re.compile(r"Địa chỉ|Hotline|Liên hệ|Website", re.IGNORECASE)
_TEASER_MARKER = re.compile(r"\s*(?:Nguồn:\s*\[Link nguồn\]\s*)+$")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…”\"])\s+(?=\S)")


# -- search across the two generations -------------------------------------------
#
# The index stores, for every article, the units of both generations its places
# belong to (`locality_keys`): a filter or a query on an old district then finds
# the articles about the communes and wards it became, and a 2025 unit finds the
# articles about the old units it was made from. Keys are `d:<district name>`,
# `c:<commune name>` (the 2022 facets' values), `n:<2025 code>` (the
# `commune_2025` facet's value) and `q:<name, lower case>` for queries naming a
# place of either generation.

#: Unit words of the labels, by unit type.
UNIT_WORDS = {"tinh": "tỉnh", "thanh-pho": "thành phố", "huyen": "huyện", "quan": "quận",
              "thi-xa": "thị xã", "xa": "xã", "phuong": "phường", "thi-tran": "thị trấn",
              "dac-khu": "đặc khu"}
# Unit words a query may start with ("xã Bình Mỹ", "huyen Binh Luc"), folded.
_QUERY_UNIT_FOLDED = {"tinh": "p", "thanh pho": "d", "tp": "d", "tp.": "d", "huyen": "d",
                      "quan": "d", "thi xa": "d", "xa": "c", "phuong": "c", "thi tran": "c",
                      "dac khu": "c"}


def name_key(name: str) -> str:
    """How a place name is compared in keys and queries: NFC, lower case, single spaces."""
    return " ".join(normalize(name).lower().split())


@dataclass(frozen=True)
class Unit2025:
    """A 2025 commune, ward or special zone as the site shows it."""

    code: str
    type: str
    name: str
    province: str

    @property
    def label(self) -> str:
        """`xã Bình Mỹ (Ninh Bình)`: unambiguous across provinces."""
        return f"{UNIT_WORDS.get(self.type, '')} {self.name} ({self.province})".strip()


@lru_cache(maxsize=1)
def _table_2025() -> tuple[dict[str, Unit2025], dict[str, list[str]]]:
    """The 2025 units by code and by the names a user may type, from units_2025.tsv alone
    (labels and filters need no gazetteer)."""
    rows = _read_tsv("units_2025.tsv")
    provinces = {code: name for code, _, level, _, name in rows if level == "p"}
    units: dict[str, Unit2025] = {}
    by_name: dict[str, list[str]] = {}
    for code, parent, level, type_, name in rows:
        if level != "c":
            continue
        info = units[code] = Unit2025(code, type_, name, provinces.get(parent, ""))
        for text in (name, f"{UNIT_WORDS.get(type_, '')} {name}", info.label,
                     f"{name} ({info.province})"):
            codes = by_name.setdefault(name_key(text), [])
            if code not in codes:
                codes.append(code)
    return units, by_name


class _Generations:
    """The lookups between generations that search needs, built once from the gazetteer."""

    def __init__(self, gaz: Gazetteer) -> None:
        self.gaz = gaz
        self.units_2025, self.by_name_2025 = _table_2025()
        # 2022 units by the names their records carry
        self.old_by_names: dict[tuple[str, ...], str] = {}
        self.old_by_name: dict[str, list[str]] = {}
        for key, unit in gaz.units.items():
            if unit.gen != 2022 or unit.level == "p":
                continue
            names = tuple(u.name for u in reversed(gaz.chain(unit)))
            self.old_by_names.setdefault(names, key)
            self.old_by_name.setdefault(name_key(unit.name), []).append(key)
        # the names (as written) of both generations' communes and districts, by folded name
        self.by_folded_name: dict[str, list[str]] = {}
        for unit in gaz.units.values():
            if unit.level != "p":
                names = self.by_folded_name.setdefault(fold(unit.name), [])
                if unit.name not in names:
                    names.append(unit.name)
        self.predecessors: dict[str, list[str]] = {}
        for old, succ in gaz.successors.items():
            for new, _ in succ:
                self.predecessors.setdefault(new, []).append(old)

    def old_unit(self, loc: Locality) -> Unit | None:
        names = tuple(n for n in (loc.province, loc.district, loc.commune) if n)
        key = self.old_by_names.get(names) if len(names) > 1 else None
        return self.gaz.units[key] if key else None

    def successors(self, unit: Unit) -> list[str]:
        """The 2025 keys (`n…`) an old commune went into; an old district's when it became one."""
        if unit.level == "d":
            one = self.gaz.district_successor.get(unit.code)
            return [one] if one else []
        return [new for new, _ in self.gaz.successors.get(unit.code, [])]

    def district_successors(self, unit: Unit) -> list[str]:
        """Every 2025 key the communes of an old district went into, in code order."""
        out: set[str] = set()
        for old, succ in self.gaz.successors.items():
            if self.gaz.units[old].parent == unit.code or old == unit.code:
                out.update(new for new, _ in succ)
        return sorted(out)


#: Bump when the classes the cache of built tables pickles change shape.
CACHE_FORMAT = 1
#: The data files the tables are built from (their bytes key the cache).
_CACHE_SOURCES = ("units_2022.tsv", "units_2025.tsv", "map_2022_2025.tsv",
                  "provinces_2025.json")
_CACHE_PREFIX = "gazetteer-"


def cache_dir() -> Path:
    """Where built tables are kept between runs: `$VNSEARCH_CACHE_DIR`, else
    `$XDG_CACHE_HOME/vnsearch`, else `~/.cache/vnsearch`."""
    explicit = os.environ.get("VNSEARCH_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vnsearch"


def cache_path() -> Path:
    """The cache file for these data files, this code and this Python (its name is their hash)."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}:{sys.version_info[:2]}".encode())
    for name in _CACHE_SOURCES:
        data = (_DATA / name).read_bytes()
        digest.update(f"{name}:{len(data)}:".encode())
        digest.update(data)
    # the code that builds the tables: a change to it must not meet old tables
    from indexer import normalize as normalize_module
    for source in (__file__, normalize_module.__file__):
        digest.update(Path(source).read_bytes())
    return cache_dir() / f"{_CACHE_PREFIX}{digest.hexdigest()[:32]}.pickle"


def _load_cached(path: Path) -> _Generations | None:
    """The tables pickled at `path`; None when missing or damaged in any way (rebuilt then)."""
    collecting = gc.isenabled()
    gc.disable()  # ~100,000 objects, none freed: the collector would only walk them
    try:
        with open(path, "rb") as handle:
            tables = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never fatal
        return None
    finally:
        if collecting:
            gc.enable()
    if isinstance(tables, _Generations) and isinstance(tables.gaz, Gazetteer):
        return tables
    return None


def _save_cached(path: Path, tables: _Generations) -> None:
    """Write the tables atomically (temp file, rename); drop other versions' files.

    Best effort: an unwritable cache folder only means building again next time.
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{_CACHE_PREFIX}",
                                         suffix=".tmp", delete=False) as handle:
            tmp = handle.name
            pickle.dump(tables, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
        for old in path.parent.glob(f"{_CACHE_PREFIX}*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


@lru_cache(maxsize=1)
def _generations() -> _Generations:
    """The gazetteer and the tables between generations: built from the data files
    once (~0.6 s), then read from a pickle in `cache_dir()` (~0.1 s) by every process."""
    try:
        path: Path | None = cache_path()
    except OSError:  # the sources cannot be hashed: build, keep nothing
        path = None
    tables = _load_cached(path) if path is not None else None
    if tables is None:
        tables = _Generations(Gazetteer())
        if path is not None:
            _save_cached(path, tables)
    return tables


def unit_2025(code: str) -> Unit2025 | None:
    """The 2025 unit with this official code."""
    return _table_2025()[0].get(str(code))


def codes_2025(value: str) -> list[str]:
    """The 2025 codes a typed filter value means: a code, `Bình Mỹ`, `xã Bình Mỹ (Ninh Bình)`."""
    units, by_name = _table_2025()
    value = value.strip()
    if value in units:
        return [value]
    return list(by_name.get(name_key(value), []))


def locality_keys(localities: list[Locality], date: str | None = None) -> list[str]:
    """The keys of both generations' units an article's localities belong to (see above).

    A 2025 unit of an article dated since the reorganisation is the unit the
    article names: it gets the keys of all the old units it was made from. In
    an older article it is where the old unit went, and gets only its own key
    (an article about xã Đồn Xá is not about xã La Sơn, merged with it).
    """
    gens = _generations()
    gaz = gens.gaz
    keys: dict[str, None] = {}

    def old(unit: Unit) -> None:
        keys[f"q:{name_key(unit.name)}"] = None
        if unit.level == "c":
            keys[f"c:{unit.name}"] = None
            parent = gaz.parent(unit)
            if parent is not None and parent.level == "d":
                old(parent)
        elif unit.level == "d":
            keys[f"d:{unit.name}"] = None

    def new(key: str) -> None:
        keys[f"n:{gaz.code_2025[key]}"] = None
        keys[f"q:{name_key(gaz.units[key].name)}"] = None

    for loc in localities:
        for level, name in (("d", loc.district), ("c", loc.commune)):
            if name:
                keys[f"{level}:{name}"] = None
                keys[f"q:{name_key(name)}"] = None
        unit = gens.old_unit(loc) if not loc.code_2025 else None
        if unit is not None:  # a split commune: every part it went into
            for key in gens.successors(unit):
                new(key)
        if loc.code_2025:
            key = f"n{loc.code_2025}"
            new(key)
            if article_era(date) == 2025:
                for pred in gens.predecessors.get(key, []):
                    old(gaz.units[pred])
    return list(keys)


def locality_codes_2025(localities: list[Locality], date: str | None = None) -> list[str]:
    """The 2025 units (codes) an article's places are in or went into, split parts included:
    the `commune_2025` facet, so its counts agree with its filter."""
    return [key[2:] for key in locality_keys(localities, date) if key.startswith("n:")]


@lru_cache(maxsize=1)
def _province_names() -> frozenset[str]:
    """The name keys of the 2022 and 2025 provinces (read without building the gazetteer)."""
    mapping = json.loads((_DATA / "provinces_2025.json").read_text(encoding="utf-8"))["map"]
    return frozenset(name_key(name) for pair in mapping.items() for name in pair) | {
        name_key("Thừa Thiên Huế")}


def query_place_name(q: str) -> tuple[str | None, str] | None:
    """(level of its unit word, "d", "c" or None; the name) of a query that may be a place.

    "xã Bình Mỹ" → ("c", "Bình Mỹ"), "Bình Lục" → (None, "Bình Lục"). A name is
    at least two words (one word is a word first: "Hòa", "Vinh"); a province's
    name is the province unless a unit word says otherwise ("phường Hà Nam").
    Only the text is read: whether such a place exists is for the index to say
    (`q:` keys), so a query costs no gazetteer.
    """
    level, words = _query_unit_word(q)
    if level == "p" or len(words) < 2:
        return None
    name = " ".join(words)
    if level is None and name_key(name) in _province_names():
        return None
    return level, name


def _query_unit_word(q: str) -> tuple[str | None, list[str]]:
    """(level of the unit word a query starts with, "d" or "c"; the words after it)."""
    words = q.strip().strip('"').split()
    for size in (2, 1):  # a leading unit word: "thị xã", "xã", "huyen"
        level = _QUERY_UNIT_FOLDED.get(fold(" ".join(words[:size]))) if len(words) > size \
            else None
        if level is not None:
            return level, words[size:]
    return None, words


def _names(labels: list[str], limit: int = 6) -> str:
    return ", ".join(labels[:limit]) + (", …" if len(labels) > limit else "")


def relations(kind: str, value: str, provinces_2025: set[str] | None = None) -> list[str]:
    """Lines saying what became of an old unit, or what a 2025 unit was made from.

    `kind` is `district`, `commune` (2022 names), `commune_2025` (a code or
    name) or `place` (a name of either generation, as typed in a query).
    Only units in `provinces_2025` are described when it is given (a name
    shared by many units is described where the results are).
    """
    gens = _generations()
    gaz = gens.gaz
    lines: list[str] = []

    def wanted(province: str | None) -> bool:
        return not provinces_2025 or province in provinces_2025

    def label_new(key: str) -> str:
        unit = gaz.units[key]
        return f"{UNIT_WORDS.get(unit.type, '')} {unit.name}"

    if kind in ("district", "commune", "place"):
        level = {"district": "d", "commune": "c"}.get(kind)
        for key in gens.old_by_name.get(name_key(value), []):
            unit = gaz.units[key]
            if (level and unit.level != level) or not wanted(gaz.new_province(unit)):
                continue
            targets = gens.district_successors(unit) if unit.level == "d" \
                else gens.successors(unit)
            if not targets:
                continue
            where = ", ".join(u.name for u in gaz.chain(unit)[1:])
            lines.append(f"{unit.name} ({UNIT_WORDS.get(unit.type, '')} cũ, {where}) → "
                         f"{_names([label_new(t) for t in targets])} "
                         f"({gaz.new_province(unit)})")
    if kind in ("commune_2025", "place"):
        codes = codes_2025(value)
        for code in codes:
            info = gens.units_2025[code]
            if not wanted(info.province):
                continue
            preds = [gaz.units[p] for p in gens.predecessors.get(f"n{code}", [])]
            if not preds:
                continue
            olds = [f"{UNIT_WORDS.get(p.type, '')} {p.name}" for p in preds]
            parents = list(dict.fromkeys(
                ", ".join(u.name for u in gaz.chain(p)[1:]) for p in preds))
            lines.append(f"{info.label} ← {_names(olds)} ({'; '.join(parents)}, cũ)")
    return list(dict.fromkeys(lines))
