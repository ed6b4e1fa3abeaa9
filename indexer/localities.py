"""Finding the administrative units an article is about (2022 units, 2025 province).

Half of all commune names exist in more than one district, many names are
also people's names or phrases ("tư tưởng Hồ Chí Minh"), and users search
by names that no longer exist. So a name counts only when the text says what
it is: after its unit word ("xã Long Bình", "Huyện ủy Gò Công Tây"), or bare
when it is a province, a district name no other district or province shares,
or a commune whose district the article names. Ambiguous names are resolved
by the parents the article mentions, never guessed. See
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
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from indexer.article import Locality
from indexer.normalize import fold, normalize

_DATA = resources.files("indexer") / "data"

_Y_TO_I = str.maketrans("yýỳỷỹỵ", "iíìỉĩị")
_CONSONANTS = frozenset("bcdđghklmnpqrstvx")


@dataclass(frozen=True)
class Unit:
    """One 2022 administrative unit."""

    code: str
    parent: str
    level: str  # "p" province, "d" district, "c" commune
    type: str  # tinh, thanh-pho, huyen, quan, thi-xa, xa, phuong, thi-tran
    name: str


def _syllable_key(syllable: str, accented: bool) -> str:
    """A syllable's comparison form: i/y spellings (Quí/Quý, Kì/Kỳ) made one."""
    text = normalize(syllable).lower() if accented else fold(syllable)
    if len(text) >= 2 and text[-1] in "yýỳỷỹỵ" and (
        text[-2] in _CONSONANTS or text[:-1] == "qu"
    ):
        text = text[:-1] + text[-1].translate(_Y_TO_I)
    return text


@lru_cache(maxsize=200_000)
def _keys(token: str) -> tuple[str, str]:
    """(exact key, folded key) of one token."""
    return _syllable_key(token, True), _syllable_key(token, False)


class Gazetteer:
    """The 2022 units, indexed by folded name, with the 2025 province of each province."""

    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        lines = (_DATA / "units_2022.tsv").read_text(encoding="utf-8").splitlines()
        for line in lines[1:]:
            code, parent, level, type_, name = line.split("\t")
            key = f"{level}{code}"
            self.units[key] = Unit(key, f"{'p' if level == 'd' else 'd'}{parent}" if parent
                                   else "", level, type_, name)
        mapping = json.loads((_DATA / "provinces_2025.json").read_text(encoding="utf-8"))["map"]
        self.province_2025 = {normalize(k).lower(): v for k, v in mapping.items()}
        self.province_2025[normalize("Thừa Thiên Huế").lower()] = mapping["Huế"]
        self.by_fold: dict[tuple[str, ...], list[Unit]] = {}
        for unit in self.units.values():
            self._add(unit.name, unit)
        for alias, code in _ALIASES.items():
            self._add(alias, self.units[code])
        self.max_len = max(len(key) for key in self.by_fold)

    def _add(self, name: str, unit: Unit) -> None:
        key = tuple(_keys(tok)[1] for tok in _TOKEN_RE.findall(name))
        units = self.by_fold.setdefault(key, [])
        if unit not in units:
            units.append(unit)

    def exact_key(self, unit: Unit) -> tuple[str, ...]:
        return _exact_name_key(unit.name)

    def parent(self, unit: Unit) -> Unit | None:
        return self.units.get(unit.parent) if unit.parent else None

    def chain(self, unit: Unit) -> list[Unit]:
        """The unit and its ancestors, commune first."""
        out = [unit]
        while (parent := self.parent(out[-1])) is not None:
            out.append(parent)
        return out

    def locality(self, unit: Unit, role: str) -> Locality:
        names = {u.level: u.name for u in self.chain(unit)}
        province = names["p"]
        return Locality(
            province=province,
            district=names.get("d"),
            commune=names.get("c"),
            province_2025=self.province_2025.get(normalize(province).lower()),
            role=role,
        )


@cache
def _exact_name_key(name: str) -> tuple[str, ...]:
    return tuple(_keys(tok)[0] for tok in _TOKEN_RE.findall(name))


_TOKEN_RE = re.compile(r"[^\W_]+")

# Other spellings of provinces people write (code of the unit they mean).
_ALIASES = {
    "HCM": "p79",
    "TPHCM": "p79",
    "Sài Gòn": "p79",
    "Đắc Lắc": "p66",
    "Daklak": "p66",
    "Đắk Lăk": "p66",
    "Đắc Nông": "p67",
    "Daknong": "p67",
    "Kontum": "p62",
    "Thừa Thiên - Huế": "p46",
    "TT-Huế": "p46",
    "Huế": "d474",
    "Bà Rịa Vũng Tàu": "p77",
    "BR-VT": "p77",
}


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The gazetteer, loaded once per process."""
    return Gazetteer()


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
    nút giao|hầm|bùng binh""".replace("\n", "").split("|")
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
# Province names that are also people's names: need their unit word.
_PERSON_PROVINCES = frozenset({("hồ", "chí", "minh")})
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*$|^\s*$")


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
            if not units:
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
            code == unit.code and _exact_name_key(alias) == written
            for alias, code in _ALIASES.items()
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
                                          toks[i].start, typed or cands))
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
        if len(span) == 1 and not any(u.code == "d474" for u in units):
            return None  # one-syllable bare names are mostly people (Vinh, Hà)
        if tuple(t.exact for t in span) in _PERSON_PROVINCES:
            return None
        # part of a longer proper name: a person (Lê Xuân Huy) or an organisation
        if i > 0 and _space_only(self.text, toks[i - 1], tok) and toks[i - 1].upper and (
            toks[i - 1].exact in _SURNAMES or toks[i - 1].text.isupper()
        ):
            return None
        if end < len(toks) and _space_only(self.text, toks[end - 1], toks[end]) and \
                toks[end].upper and not toks[end].text.isdigit():
            return None
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


_LEVEL_RANK = {"c": 0, "d": 1, "p": 2}


def _constrain_by_adjacent_parent(mentions: list[_Mention], gaz: Gazetteer, text: str) -> None:
    """`xã Cẩm Nam, huyện Cẩm Xuyên` / `huyện Bình Lục (Hà Nam)`: the parent named
    right after a unit must contain it; a unit the parent cannot hold is dropped."""
    for m, n in zip(mentions, mentions[1:], strict=False):
        if not m.candidates or not n.candidates:
            continue
        if not re.fullmatch(r"\s*[,(–-]?\s*", text[m.end:n.lead]):
            continue
        top = max(_LEVEL_RANK[u.level] for u in m.candidates)
        if min(_LEVEL_RANK[u.level] for u in n.candidates) <= top:
            continue
        parents = {u.code for u in n.candidates}
        m.candidates = [u for u in m.candidates
                        if parents & {c.code for c in gaz.chain(u)}]


def _resolve(mentions: list[_Mention], gaz: Gazetteer, text: str) -> None:
    """Give each mention one unit where the text allows, else leave it unresolved.

    Anchors are units named unambiguously; an ambiguous name takes the one
    candidate under an anchored district, else under an anchored province.
    Bare names prefer provinces, then districts; a bare commune needs its
    district named in the article.
    """
    _constrain_by_adjacent_parent(mentions, gaz, text)
    anchors: set[str] = set()

    def anchor(unit: Unit) -> None:
        for u in gaz.chain(unit):
            anchors.add(u.code)

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
    changed = True
    while changed:
        changed = False
        for m in mentions:
            if m.resolved is not None or not m.candidates:
                continue
            scored: list[tuple[int, Unit]] = []
            for u in m.candidates:
                chain = gaz.chain(u)
                if u.code in anchors:
                    score = 3
                elif len(chain) > 1 and chain[1].code in anchors and chain[1].level == "d":
                    score = 2
                elif chain[-1].code in anchors and not m.bare:
                    score = 1
                else:
                    score = 0
                scored.append((2 * score + (u in m.preferred), u))
            best = max((s for s, _ in scored), default=0)
            top = [u for s, u in scored if s == best]
            if best > 1 and len(top) == 1:
                m.resolved = top[0]
                anchor(top[0])
                changed = True
    provinces = {code for code in anchors if code.startswith("p")}
    for m in mentions:
        if m.resolved is not None or not m.candidates:
            continue
        if not m.bare:
            # a commune unique by name, unless the article is plainly about other provinces
            if len(m.preferred) == 1 and (
                not provinces or gaz.chain(m.preferred[0])[-1].code in provinces
            ):
                m.resolved = m.preferred[0]
            continue
        higher = [u for u in m.candidates if u.level in "pd"]
        if len(higher) == 1 and all(
            u.level == "c" and not (set(c.code for c in gaz.chain(u)) & anchors)
            for u in m.candidates if u is not higher[0]
        ):
            m.resolved = higher[0]


def find_localities(text: str, subject_spans: list[tuple[int, int]] | None = None,
                    title_span: tuple[int, int] | None = None) -> list[Locality]:
    """Localities named in `text`; those in the title (or else the lead) get role subject.

    `title_span` and `subject_spans` are character ranges of `text`: the
    title, and the lead. When the title names places, lead places count as
    subject only when they are the title's places, their parents or children.
    """
    gaz = gazetteer()
    mentions = _Matcher(text, gaz).mentions()
    _resolve(mentions, gaz, text)
    resolved = [m for m in mentions if m.resolved is not None]

    def inside(m: _Mention, span: tuple[int, int] | None) -> bool:
        return span is not None and span[0] <= m.start and m.end <= span[1]

    title_units = {m.resolved.code for m in resolved if inside(m, title_span)}  # type: ignore[union-attr]
    lead_units = {m.resolved.code for m in resolved  # type: ignore[union-attr]
                  if any(inside(m, s) for s in subject_spans or [])}
    if title_units:
        related = set()
        for code in title_units:
            related |= {u.code for u in gaz.chain(gaz.units[code])}
        subject = title_units | {
            code for code in lead_units
            if code in related or related & {u.code for u in gaz.chain(gaz.units[code])}
        }
    else:
        subject = lead_units

    order: dict[str, int] = {}
    for m in resolved:
        order.setdefault(m.resolved.code, m.start)  # type: ignore[union-attr]
    role = {code: ("subject" if code in subject else "mentioned") for code in order}
    rank = {"subject": 1, "mentioned": 0}
    keep = []
    for code in order:
        # an ancestor adds nothing when a descendant carries it with the same or a better role
        covered = any(
            other != code and code in {u.code for u in gaz.chain(gaz.units[other])[1:]}
            and rank[role[other]] >= rank[role[code]]
            for other in order
        )
        if not covered:
            keep.append(code)
    keep.sort(key=lambda c: (-rank[role[c]], order[c]))
    return [gaz.locality(gaz.units[code], role[code]) for code in keep]
