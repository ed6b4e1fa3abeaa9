"""The search state carried in a URL, parsed and validated once.

Every page and JSON twin reads the same parameters (`q`, one list per facet,
`sort`, `page`, `per_page`), so a shared search link always means the same
thing. Anything a user can type in a URL is bounded and checked here, which is
what keeps odd input from ever reaching the search layer as a 500.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from engine.engine import MAX_PER_PAGE
from engine.query import MAX_QUERY_CHARS
from engine.timeline import parse_date

#: Facet parameters, in the order the sidebar and the chips show them.
FACET_PARAMS = ("province", "district", "commune", "province_2025", "commune_2025", "directive",
                "year", "outlet")
SORTS = ("relevance", "date")
MAX_VALUE_CHARS = 200
MAX_VALUES_PER_FACET = 50
MAX_PAGE = 1000
DEFAULT_PER_PAGE = 10
MAX_PREFIX_CHARS = 100
MAX_SUGGESTIONS = 20

# C0/C1 control characters and lone surrogates: never meaningful in a query.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class BadRequest(ValueError):
    """A parameter a user can fix; the message is shown to them (Vietnamese)."""


def clean_text(value: str) -> str:
    """NFC, no control characters, single spaces: what the user meant to type."""
    value = _CONTROL.sub(" ", unicodedata.normalize("NFC", value))
    return " ".join(value.split())


def int_param(args: MultiDict[str, str], name: str, default: int, low: int, high: int,
              label: str) -> int:
    """A whole number in [low, high] from the URL, or BadRequest saying what to type.

    Only ASCII digits count (not `-1`, `1.5`, `1e3` or Arabic-Indic digits), and
    the length is checked before conversion: Python refuses to convert more
    than 4,300 digits at all, and no bound here needs more than a few.
    """
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit():
        raise BadRequest(f"{label} phải là số nguyên dương (nhận được “{raw[:20]}”).")
    digits = raw.lstrip("0") or "0"
    if len(digits) > len(str(high)) or not low <= int(digits) <= high:
        raise BadRequest(f"{label} phải nằm trong khoảng {low}–{high}.")
    return int(digits)


@dataclass(frozen=True)
class SearchState:
    """One search as the user sees it: query, filters, order and page."""

    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    date_from: str = ""
    date_to: str = ""

    @property
    def is_empty(self) -> bool:
        """Nothing asked yet: the home page."""
        return not self.q and not self.filters and not self.date_from and not self.date_to

    @property
    def engine_args(self) -> dict[str, object]:
        """The keyword arguments of `SearchEngine.search` for this state."""
        return {"filters": self.filters, "sort": self.sort, "page": self.page,
                "per_page": self.per_page, "date_from": self.date_from or None,
                "date_to": self.date_to or None}

    def selected(self, facet: str, value: str) -> bool:
        return value in self.filters.get(facet, [])

    def items(self, *, page: int | None = None) -> list[tuple[str, str]]:
        """URL parameters in a stable order (defaults left out, so links stay short)."""
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        for name in FACET_PARAMS:
            pairs.extend((name, value) for value in self.filters.get(name, []))
        if self.date_from:
            pairs.append(("from", self.date_from))
        if self.date_to:
            pairs.append(("to", self.date_to))
        if self.sort != "relevance":
            pairs.append(("sort", self.sort))
        page = self.page if page is None else page
        if page > 1:
            pairs.append(("page", str(page)))
        if self.per_page != DEFAULT_PER_PAGE:
            pairs.append(("per_page", str(self.per_page)))
        return pairs

    def query_string(self, **changes: object) -> str:
        """The URL query of this state with `changes` applied (page resets to 1)."""
        return urlencode(self.replace(**changes).items())

    def replace(self, **changes: object) -> SearchState:
        """A copy with some fields changed; any change but `page` goes back to page 1."""
        values: dict[str, object] = {
            "q": self.q,
            "filters": {k: list(v) for k, v in self.filters.items()},
            "sort": self.sort,
            "page": 1 if "page" not in changes else changes["page"],
            "per_page": self.per_page,
            "date_from": self.date_from,
            "date_to": self.date_to,
        }
        values.update({k: v for k, v in changes.items() if k != "page"})
        return SearchState(**values)  # type: ignore[arg-type]

    def toggled(self, facet: str, value: str) -> SearchState:
        """The state with one facet value added or removed (back to page 1)."""
        filters = {k: list(v) for k, v in self.filters.items()}
        current = filters.setdefault(facet, [])
        if value in current:
            current.remove(value)
        else:
            current.append(value)
        return self.replace(filters={k: v for k, v in filters.items() if v})

    def only(self, **facets: list[str]) -> SearchState:
        """A fresh search with just these filters (and the query), as article links use."""
        return SearchState(q=self.q, filters={k: v for k, v in facets.items() if v})


def date_param(args: MultiDict[str, str], name: str, label: str) -> str:
    """A `YYYY-MM-DD` bound from the URL ("" when absent), or BadRequest saying how to write it."""
    raw = clean_text(args.get(name) or "")
    if not raw:
        return ""
    value = parse_date(raw)
    if value is None:
        raise BadRequest(f"{label} phải là một ngày có thật, viết dạng năm-tháng-ngày, "
                         f"ví dụ 2025-07-01 (nhận được “{raw[:20]}”).")
    return value


def query_param(args: MultiDict[str, str]) -> str:
    """The `q` of any page or JSON twin: cleaned, and refused (400) when over the limit."""
    q = clean_text(args.get("q") or "")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"Câu truy vấn quá dài: tối đa {MAX_QUERY_CHARS} ký tự.")
    return q


def prefix_param(args: MultiDict[str, str]) -> str:
    """The typed prefix of a completion request: only its end matters, so it is cut, not refused."""
    return clean_text(args.get("q") or "")[:MAX_PREFIX_CHARS]


def parse_search_args(args: MultiDict[str, str]) -> SearchState:
    """Read a SearchState from request arguments; raise BadRequest on what cannot be used."""
    q = query_param(args)
    filters: dict[str, list[str]] = {}
    for name in FACET_PARAMS:
        values: list[str] = []
        for raw in args.getlist(name):
            value = clean_text(raw)
            if not value or value in values:
                continue
            if len(value) > MAX_VALUE_CHARS:
                raise BadRequest(f"Giá trị bộ lọc quá dài: tối đa {MAX_VALUE_CHARS} ký tự.")
            values.append(value)
        if len(values) > MAX_VALUES_PER_FACET:
            raise BadRequest(f"Quá nhiều giá trị cho một bộ lọc: tối đa {MAX_VALUES_PER_FACET}.")
        if values:
            filters[name] = values
    sort = (args.get("sort") or "relevance").strip() or "relevance"
    if sort not in SORTS:
        raise BadRequest("Cách sắp xếp không hợp lệ: chỉ sắp xếp được theo mức liên quan "
                         "hoặc theo ngày (mới nhất trước).")
    date_from = date_param(args, "from", "Ngày bắt đầu")
    date_to = date_param(args, "to", "Ngày kết thúc")
    if date_from and date_to and date_from > date_to:
        date_from, date_to = date_to, date_from  # picked the wrong way round: still one range
    page = int_param(args, "page", 1, 1, MAX_PAGE, "Số trang")
    per_page = int_param(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE,
                         "Số kết quả mỗi trang")
    return SearchState(q=q, filters=filters, sort=sort, page=page, per_page=per_page,
                       date_from=date_from, date_to=date_to)
