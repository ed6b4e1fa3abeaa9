"""Finding the Party documents an article cites, as canonical codes (`21-KL/TW`).

Writers cite one document in many ways: `Kết luận số 21-KL/TW`, `21- KL/TW`,
`CT 05 –CT/TW`, `Quy định 37 – QĐ/TW`, or just `Kết luận số 21 của Ban Chấp
hành Trung ương`. A user filtering by `21-KL/TW` expects all of them, and
expects no dates (`25/10/2021`), fractions (`57/57`), phone numbers or state
documents (`Nghị quyết 42 của Quốc hội`) to show up as Party directives.

Rules: a full code (number, type letters from a known set, issuer letters
built from known Party bodies) is always taken. A bare number after a type
word is taken only when the sentence names the issuing Party body ("... của
Bộ Chính trị") or the same number and type appear as a full code elsewhere
in the article. Local codes (`44-KH/HU`) get the issuing body with its place
(`Huyện ủy Gò Công Tây`), from the sentence or else from the article's
localities, since the code alone is ambiguous across districts. A small
catalogue (data/directives.json) of central documents gives titles and dates.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources

from indexer.article import Directive, Locality
from indexer.normalize import fold

TYPE_NAMES = {
    "NQ": "Nghị quyết",
    "KL": "Kết luận",
    "CT": "Chỉ thị",
    "QĐ": "Quy định",
    "QĐi": "Quy định",
    "QĐNS": "Quyết định",
    "HD": "Hướng dẫn",
    "KH": "Kế hoạch",
    "ĐA": "Đề án",
    "TB": "Thông báo",
    "TBKL": "Thông báo kết luận",
    "CTr": "Chương trình",
    "BC": "Báo cáo",
    "TTr": "Tờ trình",
    "CV": "Công văn",
    "QC": "Quy chế",
    "CĐ": "Công điện",
}
# Letters written without the Đ, in accent-free text.
_TYPE_FIXES = {"QD": "QĐ", "QDi": "QĐi", "QDNS": "QĐNS", "DA": "ĐA"}

_PREFIX_NAMES = {
    "BTC": "Ban Tổ chức",
    "BTG": "Ban Tuyên giáo",
    "BDV": "Ban Dân vận",
    "BNC": "Ban Nội chính",
    "BKT": "Ban Kinh tế",
    "BĐN": "Ban Đối ngoại",
    "UBKT": "Ủy ban Kiểm tra",
    "VP": "Văn phòng",
    "BTV": "Ban Thường vụ",
    "BCĐ": "Ban Chỉ đạo",
    "BCH": "Ban Chấp hành",
}
_BASE_NAMES = {
    "TW": "Trung ương",
    "TU": "Tỉnh ủy",
    "HU": "Huyện ủy",
    "QU": "Quận ủy",
    "ThU": "Thành ủy",
    "TX": "Thị ủy",
    "ĐU": "Đảng ủy",
    "ĐUK": "Đảng ủy Khối",
    "QUTW": "Quân ủy Trung ương",
}
# Which locality a base body belongs to: province, district or commune.
_BASE_LEVEL = {"TU": "province", "ThU": "district", "HU": "district", "QU": "district",
               "TX": "district", "ĐU": "commune"}

_TYPES_RE = "|".join(sorted(list(TYPE_NAMES) + list(_TYPE_FIXES), key=len, reverse=True))
_PREFIX_RE = "|".join(sorted(_PREFIX_NAMES, key=len, reverse=True))
_ISSUER_RE = (
    rf"(?:(?:{_PREFIX_RE})?(?:QUTW|TW|TƯ|TU|HU|QU|ThU|TX|ĐUK|ĐU|DU)|BCSĐ[A-Z]{{0,4}})"
)
_DASH = r"\s*[-–—]\s*"
_FULL_RE = re.compile(
    rf"(?<![\d/.,])(\d{{1,4}}){_DASH}({_TYPES_RE})\s*/\s*({_ISSUER_RE})(?![\wĐđƯư])"
)
# The old slash-first way some writers use: 16/NQ-TW.
_SLASH_RE = re.compile(
    rf"(?<![\d/.,])(\d{{1,4}})\s*/\s*({_TYPES_RE}){_DASH}(TW|TU|HU)(?![\wĐđ])"
)
# Type words, folded (the bare-number rules run on folded text).
_TYPE_WORDS = {
    "nghi quyet": "NQ",
    "ket luan": "KL",
    "chi thi": "CT",
    "quy dinh": "QĐ",
    "quyet dinh": "QĐ",
    "huong dan": "HD",
    "ke hoach": "KH",
    "de an": "ĐA",
    "thong bao ket luan": "TB",
    "thong bao": "TB",
    "chuong trinh": "CTr",
    "quy che": "QC",
}
_TYPE_WORDS_RE = "|".join(sorted(_TYPE_WORDS, key=len, reverse=True))
_BARE_RE = re.compile(
    rf"\b({_TYPE_WORDS_RE})\s+(?:so\s+)?(\d{{1,3}})(?![\d/.,]\d|\s*[-–—/]\s*[a-z\d])"
)
# Numbers listed before a full code: `Nghị quyết số 18, 19-NQ/TW`.
_LISTED_RE = re.compile(
    r"(?:so|\b(?:" + _TYPE_WORDS_RE + r"))\s+((?:\d{1,3}\s*(?:,|va|&)\s*)+)$"
)
_DATE_AFTER_RE = re.compile(
    r"^\s*,?\s*(?:ban hanh\s+)?ngay\s+(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})"
)
_DATE_SKIP_RE = re.compile(
    r"^\s*,?\s*(?:(?:ban hanh\s+)?ngay\s+\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{4}"
    r"|nam\s+\d{4})?\s*,?\s*(?:\([^)]{0,30}\)\s*)?"
)
# Party bodies named after "của"/"do", folded, most specific first, with their letters.
_BODIES = [
    (r"ban to chuc trung uong", "BTCTW"),
    (r"ban tuyen giao trung uong", "BTGTW"),
    (r"ban dan van trung uong", "BDVTW"),
    (r"ban noi chinh trung uong", "BNCTW"),
    (r"ban kinh te trung uong", "BKTTW"),
    (r"uy ban kiem tra trung uong", "UBKTTW"),
    (r"quan uy trung uong", "QUTW"),
    (r"ban to chuc tinh uy", "BTCTU"),
    (r"ban tuyen giao tinh uy", "BTGTU"),
    (r"ban dan van tinh uy", "BDVTU"),
    (r"uy ban kiem tra tinh uy", "UBKTTU"),
    (r"ban to chuc huyen uy", "BTCHU"),
    (r"ban tuyen giao huyen uy", "BTGHU"),
    (r"(?:hoi nghi (?:lan thu \w+ )?)?(?:ban chap hanh|bch) (?:trung uong|tw)", "TW"),
    (r"hoi nghi trung uong(?: \d+| lan thu \w+)?", "TW"),
    (r"bo chinh tri|ban bi thu|trung uong dang|trung uong|dang cong san viet nam", "TW"),
    (r"(?:ban thuong vu |btv )?(?:tinh uy|ban chap hanh dang bo tinh)", "TU"),
    (r"(?:ban thuong vu |btv )?thanh uy", "ThU"),
    (r"(?:ban thuong vu |btv )?(?:huyen uy|ban chap hanh dang bo huyen)", "HU"),
    (r"(?:ban thuong vu |btv )?quan uy", "QU"),
    (r"(?:ban thuong vu |btv )?thi uy", "TX"),
    (r"(?:ban thuong vu |btv )?dang uy(?! khoi)", "ĐU"),
]
_BODY_RE = re.compile(
    r"^(?:cua|do)\s+(" + "|".join(f"(?:{p})" for p, _ in _BODIES) + r")\b"
)
_CENTRAL_BODY_NAMES = {
    "bo chinh tri": "Bộ Chính trị",
    "ban bi thu": "Ban Bí thư",
}
_CENTRAL_CITIES = {"Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ"}


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict]:
    """Central directives the corpus cites: code → type, issuer, date, title."""
    path = resources.files("indexer") / "data" / "directives.json"
    entries = json.loads(path.read_text(encoding="utf-8"))["directives"]
    return {entry["code"]: entry for entry in entries}


def canonical_code(number: str, type_letters: str, issuer: str) -> str:
    """`21`, `KL`, `TW` → `21-KL/TW`: two-digit number, Đ kept, TƯ as TW."""
    type_letters = _TYPE_FIXES.get(type_letters, type_letters)
    issuer = issuer.replace("TƯ", "TW")
    if issuer == "DU":
        issuer = "ĐU"
    return f"{int(number):02d}-{type_letters}/{issuer}"


def directive_label(code: str) -> str:
    """Facet label for a code: `Kết luận 21-KL/TW` (the type name, then the code)."""
    entry = catalogue().get(code)
    if entry and entry.get("type"):
        return f"{entry['type']} {code}"
    letters = code.split("-", 1)[1].split("/", 1)[0] if "-" in code and "/" in code else ""
    name = TYPE_NAMES.get(letters)
    return f"{name} {code}" if name else code


def issuer_name(letters: str) -> str:
    """Issuer letters → body name: `BTCTU` → `Ban Tổ chức Tỉnh ủy`, `TW` → `Trung ương`."""
    if letters.startswith("BCSĐ"):
        return "Ban cán sự đảng"
    for base in sorted(_BASE_NAMES, key=len, reverse=True):
        if letters.endswith(base):
            prefix = letters[: -len(base)]
            if prefix and prefix not in _PREFIX_NAMES:
                continue
            base_name = _BASE_NAMES[base]
            return f"{_PREFIX_NAMES[prefix]} {base_name}" if prefix else base_name
    return letters


def _base_of(letters: str) -> str | None:
    for base in sorted(_BASE_NAMES, key=len, reverse=True):
        if letters.endswith(base):
            return base
    return None


class _AlignedFold(dict):
    """str.translate table folding one character to one (đ→d, ộ→o), filled on demand."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = fold(ch)
        self[code] = result = folded if len(folded) == 1 else ch
        return result


_ALIGNED_FOLD = _AlignedFold()


def _fold_aligned(text: str) -> str:
    """Folded text with the same length as `text`, so offsets carry over."""
    return text.translate(_ALIGNED_FOLD)


class _Finder:
    def __init__(self, text: str, localities: list[Locality]) -> None:
        self.text = text
        self.folded = _fold_aligned(text)
        self.localities = localities
        self.found: dict[str, Directive] = {}
        self.order: dict[str, int] = {}

    def _date_after(self, end: int) -> str | None:
        match = _DATE_AFTER_RE.match(self.folded[end:end + 40])
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
        try:
            from datetime import date

            return date(year, month, day).isoformat()
        except ValueError:
            return None

    def _body_after(self, end: int) -> tuple[str, str, str | None] | None:
        """(letters, body name, place) of `của <Party body> [Place]` right after `end`."""
        window = self.folded[end:end + 160]
        skip = _DATE_SKIP_RE.match(window)
        offset = skip.end() if skip else 0
        match = _BODY_RE.match(window[offset:])
        if not match:
            return None
        phrase = match.group(1)
        letters = next(code for pattern, code in _BODIES if re.fullmatch(pattern, phrase))
        start = end + offset + match.start(1)
        stop = end + offset + match.end(1)
        written = self.text[start:stop]
        place = self._place_after(stop, letters)
        if letters == "TW":
            name = _CENTRAL_BODY_NAMES.get(phrase, "Ban Chấp hành Trung ương")
            if phrase.startswith("trung uong") or phrase.startswith("dang"):
                name = "Trung ương"
            return letters, name, None
        if letters == "ThU" and place in _CENTRAL_CITIES:
            letters = "TU"
        return letters, written, place

    def _place_after(self, offset: int, letters: str) -> str | None:
        """The place named right after a local body (`Tỉnh ủy Hà Nam`), checked in the gazetteer."""
        from indexer.localities import gazetteer

        match = re.match(r"\s+((?:[A-ZĐÀ-Ỹ][^\s,.;:()]*\s?){1,4})", self.text[offset:offset + 60])
        if not match:
            return None
        words = match.group(1).split()
        gaz = gazetteer()
        base = _base_of(letters) or letters
        level = {"province": "p", "district": "d", "commune": "c"}.get(_BASE_LEVEL.get(base, ""))
        for n in range(len(words), 0, -1):
            key = tuple(fold(w) for w in words[:n])
            units = gaz.by_fold.get(key, [])
            if any(u.level == level or (base == "ThU" and u.level == "p") for u in units):
                unit = next(u for u in units if u.level == level or u.level == "p")
                return unit.name
        return None

    def _place_from_article(self, letters: str) -> str | None:
        base = _base_of(letters)
        level = _BASE_LEVEL.get(base or "")
        if not level:
            return None
        ordered = sorted(self.localities, key=lambda loc: loc.role != "subject")
        for loc in ordered:
            value = getattr(loc, level)
            if value:
                return value
        return None

    def _issuer(self, letters: str, body: tuple[str, str, str | None] | None) -> str:
        if letters.endswith("TW") or letters.startswith("BCSĐ"):
            if body and body[0] == "TW" and letters == "TW":
                return body[1]
            return issuer_name(letters)
        name = issuer_name(letters)
        place = body[2] if body and body[0] == letters else None
        place = place or self._place_from_article(letters)
        if place and _base_of(letters) == "ĐU":
            place = _commune_with_unit_word(place, self.localities)
        if place in _CENTRAL_CITIES and _base_of(letters) == "TU":
            name = name.replace("Tỉnh ủy", "Thành ủy")  # Hà Nội's "TU" is its Thành ủy
        return f"{name} {place}" if place else name

    def add(self, code: str, start: int, end: int, type_name: str | None,
            body: tuple[str, str, str | None] | None) -> None:
        if code in self.found:
            return
        letters = code.split("/", 1)[1]
        type_letters = code.split("-", 1)[1].split("/", 1)[0]
        entry = catalogue().get(code)
        date_ = self._date_after(end)
        known = entry is not None and (date_ is None or date_ == entry.get("date"))
        issuer = self._issuer(letters, body)
        if known and letters == "TW":
            issuer = entry["issuer"]  # type: ignore[index]
        self.found[code] = Directive(
            code=code,
            type=type_name or (entry["type"] if known else TYPE_NAMES.get(type_letters)),  # type: ignore[index]
            issuer=issuer,
            date=date_ or (entry["date"] if known else None),  # type: ignore[index]
            title=entry.get("title") if known else None,  # type: ignore[union-attr]
        )
        self.order[code] = start

    def run(self) -> list[Directive]:
        full: list[tuple[int, int, str]] = []
        for regex in (_FULL_RE, _SLASH_RE):
            for match in regex.finditer(self.text):
                code = canonical_code(*match.groups())
                full.append((match.start(), match.end(), code))
                # `Nghị quyết số 18, 19-NQ/TW`: numbers listed before a full code
                before = self.folded[max(0, match.start() - 40):match.start()]
                listed = _LISTED_RE.search(before)
                if listed and regex is _FULL_RE:
                    for number in re.findall(r"\d{1,3}", listed.group(1)):
                        letters = code.split("-", 1)[1]
                        full.append((match.start(), match.end(), f"{int(number):02d}-{letters}"))
        full.sort()
        type_before = re.compile(r"\b(" + _TYPE_WORDS_RE + r")\s+(?:so\s+)?$")
        for start, end, code in full:
            word = type_before.search(self.folded[max(0, start - 30):start])
            type_letters = code.split("-", 1)[1].split("/", 1)[0]
            type_name = None
            if word:
                wanted = _TYPE_WORDS[word.group(1)]
                if wanted == type_letters or (wanted == "QĐ" and type_letters.startswith("QĐ")):
                    type_name = TYPE_NAMES.get(type_letters)
                    if word.group(1) == "quyet dinh":
                        type_name = "Quyết định"
            self.add(code, start, end, type_name, self._body_after(end))
        covered = [(s, e) for s, e, _ in full]
        by_number: dict[tuple[int, str], set[str]] = {}
        for code in self.found:
            number, rest = code.split("-", 1)
            family = rest.split("/", 1)[0][:2]
            by_number.setdefault((int(number), family), set()).add(code)
        for match in _BARE_RE.finditer(self.folded):
            if any(s <= match.start(2) < e for s, e in covered):
                continue
            type_letters = _TYPE_WORDS[match.group(1)]
            number = match.group(2)
            body = self._body_after(match.end())
            if body:
                letters = body[0]
                code = canonical_code(number, type_letters, letters)
            else:
                codes = by_number.get((int(number), type_letters[:2]), set())
                if len(codes) != 1:
                    continue
                code = next(iter(codes))
            type_name = "Quyết định" if match.group(1) == "quyet dinh" else None
            self.add(code, match.start(), match.end(), type_name, body)
            number_key = (int(number), code.split("-", 1)[1][:2])
            by_number.setdefault(number_key, set()).add(code)
        return sorted(self.found.values(), key=lambda d: self.order[d.code])


def _commune_with_unit_word(name: str, localities: list[Locality]) -> str:
    """`Long Bình` → `xã Long Bình`, using the unit type of the article's commune."""
    from indexer.localities import gazetteer

    gaz = gazetteer()
    for loc in localities:
        if loc.commune == name:
            for unit in gaz.by_fold.get(tuple(fold(w) for w in name.split()), []):
                district = gaz.parent(unit)
                if unit.level == "c" and district is not None and district.name == loc.district:
                    word = {"xa": "xã", "phuong": "phường", "thi-tran": "thị trấn"}[unit.type]
                    return f"{word} {name}"
    return name


def find_directives(text: str, localities: list[Locality] | None = None) -> list[Directive]:
    """Directives cited in `text`, in order of first citation, one per code.

    `localities` (the article's, subject first) name the issuing place of
    local codes when the sentence does not.
    """
    return _Finder(text, localities or []).run()
