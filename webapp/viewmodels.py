"""What the templates show, prepared in Python so templates hold no logic.

The search layer answers with the `/api/search` JSON; this module turns it
into ready-to-print pieces: formatted dates and counts, links for every
badge, chip, facet and page (all built from one SearchState, so every state
stays in the URL), and the locality tree of the sidebar.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from engine.snippets import unbreakable_codes
from engine.timeline import UNDATED, month_bounds

from .params import DEFAULT_PER_PAGE, FACET_PARAMS, MAX_PAGE, SearchState

#: Short names used on chips and badges.
FACET_NAMES = {
    "province": "Tỉnh/thành",
    "district": "Quận/huyện",
    "commune": "Xã/phường",
    "province_2025": "Tỉnh/thành (2025)",
    "commune_2025": "Xã/phường (2025)",
    "directive": "Văn bản",
    "year": "Năm",
    "outlet": "Nguồn",
}
#: What the year facet calls the articles that state no date.
UNDATED_LABEL = "Không rõ ngày"
#: How many values a facet list shows before “Xem thêm”.
FACET_VISIBLE = 8
#: How many locality badges a hit shows before “+N”.
HIT_BADGES = 4
#: How many directive badges a hit shows (the filtered ones first).
HIT_DIRECTIVES = 5
_MARK_TAGS = re.compile(r"</?mark>")


def marked_html(html: str | None) -> Markup:
    """Trust search-layer HTML only if its sole tags are <mark>; otherwise escape it all.

    The search layer promises escaped text with <mark> tags; this check is the
    last line of defence, so a regression there can never become an XSS here.
    """
    html = html or ""
    if "<" in _MARK_TAGS.sub("", html) or ">" in _MARK_TAGS.sub("", html):
        return Markup(escape(html))
    return Markup(unbreakable_codes(html))  # `05-HD/BTCTU` never wraps inside


def format_date(iso: str | None) -> str:
    """`2022-10-20` → `20/10/2022`, as Vietnamese readers write dates."""
    if not iso:
        return ""
    parts = iso[:10].split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[2]}/{parts[1]}/{parts[0]}"
    if len(parts) >= 1 and parts[0].isdigit():
        return "/".join(reversed(parts))
    return iso


def format_count(n: int) -> str:
    """Thousands separated by dots: `12.345`."""
    return f"{n:,}".replace(",", ".")


def format_seconds(ms: float | None) -> str:
    """`0,02 giây` (decimal comma)."""
    if ms is None:
        return ""
    return f"{ms / 1000:.2f}".replace(".", ",") + " giây"


def directive_title(directive: dict[str, Any]) -> str:
    """The label of a directive (`Kết luận 21-KL/TW`), made up if the record has none."""
    if directive.get("label"):
        return str(directive["label"])
    code = str(directive.get("code") or directive.get("value") or "")
    kind = directive.get("type")
    return f"{kind} {code}" if kind else code


def _as_2025(loc: dict[str, Any], date: str | None) -> bool:
    """Whether an article of `date` names this place by its 2025 unit (so it is shown so)."""
    from indexer.localities import REORGANISATION_DATE

    return bool(loc.get("code_2025") and loc.get("commune_2025")
                and str(date or "") >= REORGANISATION_DATE)


def locality_filters(loc: dict[str, Any], date: str | None = None) -> dict[str, list[str]]:
    """Filters that select exactly this locality (parents included, names repeat)."""
    if _as_2025(loc, date):
        return {"commune_2025": [str(loc["code_2025"])]}
    return {
        name: [loc[name]] for name in ("province", "district", "commune") if loc.get(name)
    }


def locality_label(loc: dict[str, Any], date: str | None = None) -> tuple[str, str]:
    """(short label, full path) of a locality: `Bình Lục`, `Bình Lục, Hà Nam`.

    Since 1 July 2025 an article's place is its 2025 unit: `Mộc Sơn`,
    `phường Mộc Sơn (Sơn La)`.
    """
    if _as_2025(loc, date):
        return str(loc["commune_2025"]), unit_2025_label(str(loc["code_2025"]))
    names = [unit_name(n, loc[n]) for n in ("commune", "district", "province") if loc.get(n)]
    if not names:
        return "", ""
    return names[0], ", ".join(names)


def _url(base: str, state: SearchState) -> str:
    """The search URL of a state (the state is the whole truth of a results page)."""
    qs = urlencode(state.items())
    return f"{base}?{qs}" if qs else base


@dataclass
class Link:
    label: str
    url: str
    title: str = ""
    current: bool = False
    kind: str = ""


@dataclass
class FacetNode:
    """One checkbox of the sidebar; `children` make the locality tree."""

    param: str
    value: str
    label: str
    count: int
    checked: bool
    input_id: str = ""
    children: list[FacetNode] = field(default_factory=list)
    #: Children left out of the page (the tree is folded below the province): opened on demand.
    folded: int = 0
    #: Children on the page split like a group's values: (on screen, behind “Xem thêm”).
    shown: list[FacetNode] = field(default_factory=list)
    hidden: list[FacetNode] = field(default_factory=list)

    @property
    def count_text(self) -> str:
        return format_count(self.count)


@dataclass
class FacetGroup:
    key: str
    title: str
    visible: list[FacetNode]
    more: list[FacetNode]
    #: The tree a folded node's children are fetched from (`2025`, `2022`), if any.
    tree: str = ""

    @property
    def more_count(self) -> int:
        return len(self.more)


class _Ids:
    """Unique, stable input ids for checkboxes (labels need them); short, for page size."""

    def __init__(self, prefix: str = "") -> None:
        self.n = 0
        self.prefix = prefix

    def __call__(self, param: str) -> str:
        self.n += 1
        return f"f{self.prefix}-{self.n}"  # short: a page has a hundred of them


def _split_visible(nodes: list[FacetNode], limit: int = FACET_VISIBLE
                   ) -> tuple[list[FacetNode], list[FacetNode]]:
    """Checked values and the biggest ones first on screen, the rest behind “Xem thêm”."""
    if len(nodes) <= limit + 2:  # “Xem thêm 1” would hide less than it costs
        return nodes, []
    def has_checked(node: FacetNode) -> bool:
        return node.checked or any(has_checked(c) for c in node.children)
    visible = [n for n in nodes if has_checked(n)]
    for node in nodes:
        if len(visible) >= limit:
            break
        if node not in visible:
            visible.append(node)
    visible.sort(key=nodes.index)
    return visible, [n for n in nodes if n not in visible]


def _flat_nodes(param: str, entries: Iterable[dict[str, Any]], state: SearchState,
                ids: _Ids) -> list[FacetNode]:
    nodes: list[FacetNode] = []
    seen: set[str] = set()
    for entry in entries:
        value = str(entry.get("value", ""))
        if not value or value in seen:
            continue
        seen.add(value)
        label = str(entry.get("label") or value) if param in ("directive", "year") else (
            unit_name(param, value))
        if param == "directive":
            label = directive_title(entry)
        nodes.append(FacetNode(param, value, label, int(entry.get("count", 0)),
                               state.selected(param, value), ids(param)))
    # A ticked value must stay on screen (to be unticked) even when nothing matches it now.
    for value in state.filters.get(param, []):
        if value not in seen:
            label = directive_title({"code": value}) if param == "directive" else (
                UNDATED_LABEL if (param, value) == ("year", UNDATED) else unit_name(param, value))
            nodes.append(FacetNode(param, value, label, 0, True, ids(param)))
    return nodes


def unit_name(param: str, name: str) -> str:
    """A place as readers say it: `Quận 1`, `Phường 4` where the bare name is a number."""
    if name.isdigit():
        return {"district": f"Quận {name}", "commune": f"Phường {name}"}.get(param, name)
    return name


def _tree_from_field(tree: list[dict[str, Any]], state: SearchState, ids: _Ids,
                     level: int = 0, fold: bool = False) -> list[FacetNode]:
    """The search layer's `locality_tree` facet, when it provides one.

    With `fold`, the provinces `fold_tree` would fold are not built below
    the top (a broad search counts thousands of places).
    """
    params = ("province", "district", "commune")
    param = params[min(level, 2)]
    nodes = []
    for entry in tree:
        value = str(entry.get("value", ""))
        node = FacetNode(param, value, unit_name(param, value), int(entry.get("count", 0)),
                         state.selected(param, value), ids(param))
        children = entry.get("children") or []
        if fold and _folded(node, entry, len(tree), state, params[1:]):
            node.folded = len(children)
        else:
            node.children = _tree_from_field(children, state, ids, level + 1)
        nodes.append(node)
    return nodes


def _folded(node: FacetNode, entry: dict[str, Any], siblings: int, state: SearchState,
            below: tuple[str, ...]) -> bool:
    """Whether `fold_tree` would fold this top-level node: the nodes under it need not be built."""
    return siblings > 1 and bool(entry.get("children")) and not node.checked \
        and not _ticks_below(entry, state, below)


def _ticks_below(entry: dict[str, Any], state: SearchState, params: tuple[str, ...]) -> bool:
    """Whether a ticked value lies below `entry` of a facet tree (`params`: the levels below)."""
    if not params or not any(state.filters.get(p) for p in params):
        return False
    return any(state.selected(params[0], str(child.get("value", "")))
               or _ticks_below(child, state, params[1:])
               for child in entry.get("children") or [])


@lru_cache(maxsize=1)
def _gazetteer_parents() -> dict[tuple[str, str], list[tuple[str, ...]]]:
    """(level, name) → the ancestor names (parent first) of every 2022 unit so named."""
    from indexer.localities import gazetteer

    gaz = gazetteer()
    parents: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for unit in gaz.units.values():
        if unit.level in ("d", "c"):
            level = "district" if unit.level == "d" else "commune"
            chain = tuple(u.name for u in gaz.chain(unit)[1:])
            parents.setdefault((level, unit.name), []).append(chain)
    return parents


def locality_tree(facets: dict[str, Any], hits: list[dict[str, Any]],
                  state: SearchState, ids: _Ids, fold: bool = False) -> list[FacetNode]:
    """Province → district → commune, with counts.

    Uses `facets["locality_tree"]` when the search layer gives it. Otherwise the
    flat facet lists are nested: parents come from the hits' localities, then
    from the 2022 gazetteer (choosing, for a name shared by several units, the
    parent that is itself in the facets). A name still unplaced stays on top.
    """
    if facets.get("locality_tree"):
        nodes = _tree_from_field(facets["locality_tree"], state, ids, fold=fold)
        present = {(n.param, n.value) for n in _walk(nodes)}
        for param in ("province", "district", "commune"):
            for value in state.filters.get(param, []):
                if (param, value) not in present:
                    nodes.append(FacetNode(param, value, unit_name(param, value), 0, True,
                                           ids(param)))
        return nodes
    parent: dict[tuple[str, str], tuple[str, str]] = {}
    for hit in hits:
        for loc in hit.get("localities") or []:
            if loc.get("district") and loc.get("province"):
                parent.setdefault(("district", loc["district"]), ("province", loc["province"]))
            if loc.get("commune"):
                up = ("district", loc["district"]) if loc.get("district") else (
                    ("province", loc["province"]) if loc.get("province") else None)
                if up:
                    parent.setdefault(("commune", loc["commune"]), up)
    by_key: dict[tuple[str, str], FacetNode] = {}
    roots: list[FacetNode] = []
    for param in ("province", "district", "commune"):
        for node in _flat_nodes(param, facets.get(param) or [], state, ids):
            key = (param, node.value)
            up = by_key.get(parent.get(key, ("", "")))
            if up is None and param != "province":
                up = _known_parent(key, by_key)
            by_key[key] = node
            (up.children if up else roots).append(node)
    return roots


def _known_parent(key: tuple[str, str], nodes: dict[tuple[str, str], FacetNode]
                  ) -> FacetNode | None:
    """The facet node of the gazetteer parent of a district or commune, if on screen."""
    try:
        candidates = _gazetteer_parents().get(key, [])
    except (ImportError, OSError, ValueError):
        return None
    levels = ("district", "province") if key[0] == "commune" else ("province",)
    for chain in candidates:
        names = dict(zip(levels, chain, strict=False))
        if key[0] == "commune" and "district" in names:
            node = nodes.get(("district", names["district"]))
            if node and (not names.get("province")
                         or ("province", names["province"]) in nodes):
                return node
        elif key[0] == "district" and "province" in names:
            node = nodes.get(("province", names["province"]))
            if node:
                return node
    return None


def _walk(nodes: list[FacetNode]) -> Iterable[FacetNode]:
    for node in nodes:
        yield node
        yield from _walk(node.children)


def unit_2025_label(value: str) -> str:
    """`xã Bình Mỹ (Ninh Bình)` for a 2025 code; other values as typed."""
    from indexer.localities import unit_2025

    unit = unit_2025(value)
    return unit.label if unit else value


def tree_2025(facets: dict[str, Any], state: SearchState, ids: _Ids,
              fold: bool = False) -> list[FacetNode]:
    """2025 province → commune/ward/special zone; ticked values stay on screen.

    With `fold`, as `_tree_from_field`.
    """
    nodes = []
    tree = facets.get("locality_tree_2025") or []
    for entry in tree:
        value = str(entry.get("value", ""))
        node = FacetNode("province_2025", value, value, int(entry.get("count", 0)),
                         state.selected("province_2025", value), ids("province_2025"))
        nodes.append(node)
        children = entry.get("children") or []
        if fold and _folded(node, entry, len(tree), state, ("commune_2025",)):
            node.folded = len(children)
            continue
        for child in children:
            code = str(child.get("value", ""))
            node.children.append(FacetNode(
                "commune_2025", code, str(child.get("label") or code),
                int(child.get("count", 0)), state.selected("commune_2025", code),
                ids("commune_2025")))
    if not nodes:
        nodes = _flat_nodes("province_2025", facets.get("province_2025") or [], state, ids)
    present = {(n.param, n.value) for n in _walk(nodes)}
    for param in ("province_2025", "commune_2025"):
        for value in state.filters.get(param, []):
            if (param, value) not in present:
                label = unit_2025_label(value) if param == "commune_2025" else value
                nodes.append(FacetNode(param, value, label, 0, True, ids(param)))
    return nodes


def _has_checked(node: FacetNode) -> bool:
    return node.checked or any(_has_checked(c) for c in node.children)


def fold_tree(nodes: list[FacetNode], depth: int = 0) -> None:
    """Below the top level, only the branches holding a ticked value stay on the page.

    The others keep a count of their children (`folded`), which the page
    opens on demand (a lone province is open already), so a search over
    many places does not print hundreds of checkboxes. What stays is split
    like a group: top values, then more.
    """
    for node in nodes:
        # A lone province is opened: there is nothing else to choose at its level.
        if depth == 0 and len(nodes) > 1 and node.children and not _has_checked(node):
            node.folded = len(node.children)
            node.children = []
            continue
        fold_tree(node.children, depth + 1)
        node.shown, node.hidden = _split_visible(node.children)


def open_branch(nodes: list[FacetNode]) -> None:
    """A branch fetched on demand: every level split into top values and more."""
    for node in nodes:
        open_branch(node.children)
        node.shown, node.hidden = _split_visible(node.children)


def split_branch(nodes: list[FacetNode]) -> tuple[list[FacetNode], list[FacetNode]]:
    """A fetched branch's top values and the rest."""
    return _split_visible(nodes)


def facet_groups(result: dict[str, Any], state: SearchState) -> list[FacetGroup]:
    """The sidebar: 2025 places first (today's news uses them), then the 2022 tree,
    directives and years (with the undated articles as “Không rõ ngày”)."""
    facets = result.get("facets") or {}
    ids = _Ids()
    groups = []
    p2025 = tree_2025(facets, state, ids, fold=True)
    fold_tree(p2025)
    groups.append(FacetGroup("province_2025", "Địa phương (từ 1/7/2025)",
                             *_split_visible(p2025), tree="2025"))
    tree = locality_tree(facets, result.get("hits") or [], state, ids, fold=True)
    fold_tree(tree)
    groups.append(FacetGroup("locality", "Địa phương (trước sáp nhập 2025)",
                             *_split_visible(tree), tree="2022"))
    directives = _flat_nodes("directive", facets.get("directive") or [], state, ids)
    groups.append(FacetGroup("directive", "Văn bản của Đảng", *_split_visible(directives)))
    years = _flat_nodes("year", facets.get("year") or [], state, ids)
    years.sort(key=lambda n: (n.value != UNDATED, n.value), reverse=True)
    groups.append(FacetGroup("year", "Năm", *_split_visible(years)))
    outlets = _flat_nodes("outlet", facets.get("outlet") or [], state, ids)
    groups.append(FacetGroup("outlet", "Nguồn tin", *_split_visible(outlets)))
    return [g for g in groups if g.visible]


def branch(result: dict[str, Any], state: SearchState, tree: str, parent: str
           ) -> list[FacetNode]:
    """The children of one province of a tree (`2025` or `2022`), for opening it in place."""
    facets = result.get("facets") or {}
    ids = _Ids(f"{tree}-{zlib.crc32(parent.encode()) % 10**6}")
    nodes = (tree_2025(facets, state, ids) if tree == "2025"
             else locality_tree(facets, result.get("hits") or [], state, ids))
    for node in nodes:
        if node.value == parent and node.param in ("province", "province_2025"):
            open_branch(node.children)
            return node.children
    return []


def chips(state: SearchState, base: str) -> list[Link]:
    """Active filters, each a link to the same search without it."""
    out = []
    for param in FACET_PARAMS:
        for value in state.filters.get(param, []):
            label = directive_title({"code": value}) if param == "directive" else (
                unit_2025_label(value) if param == "commune_2025" else (
                    UNDATED_LABEL if (param, value) == ("year", UNDATED)
                    else unit_name(param, value)))
            url = _url(base, state.toggled(param, value))
            out.append(Link(f"{FACET_NAMES[param]}: {label}", url,
                            title=f"Bỏ bộ lọc {FACET_NAMES[param]}: {label}", kind=param))
    if state.date_from or state.date_to:
        label = f"Ngày: {range_text(state)}"
        out.append(Link(label, _url(base, state.replace(date_from="", date_to="")),
                        title=f"Bỏ bộ lọc {label}", kind="date"))
    return out


def hit_view(hit: dict[str, Any], state: SearchState, base: str, article_base: str
             ) -> dict[str, Any]:
    """One result: title link, date, badges that filter, snippet, the query words it lacks."""
    article_qs = f"?{urlencode({'q': state.q})}" if state.q else ""
    localities = hit.get("localities") or []
    localities = sorted(localities, key=lambda loc: loc.get("role") != "subject")
    badges = []
    seen = set()
    for loc in localities:
        short, full = locality_label(loc, hit.get("date"))
        if not short or full in seen:
            continue
        seen.add(full)
        url = _url(base, state.only(**locality_filters(loc, hit.get("date"))))
        role = "chủ đề" if loc.get("role") == "subject" else "được nhắc đến"
        badges.append(Link(short, url, title=f"{full} ({role}) — lọc theo địa phương này",
                           kind="subject" if loc.get("role") == "subject" else "mentioned"))
    directives = []
    chosen = state.filters.get("directive", [])
    for d in sorted(hit.get("directives") or [], key=lambda d: d.get("code") not in chosen):
        code = d.get("code")
        if not code:
            continue
        url = _url(base, state.only(directive=[code]))
        directives.append(Link(code, url, title=directive_title(d) + " — lọc theo văn bản này",
                               current=code in chosen))
    return {
        "url": f"{article_base}{hit_url_id(hit['id'])}{article_qs}",
        "title_html": marked_html(hit.get("title_html") or str(escape(hit.get("title") or ""))),
        "date": format_date(hit.get("date")),
        "iso_date": hit.get("date") or "",
        "outlet": hit.get("outlet") or "",
        "snippet": marked_html(hit.get("snippet")),
        "missing": ", ".join(str(word) for word in hit.get("missing") or []),
        "badges": badges[:HIT_BADGES],
        "more_badges": max(0, len(badges) - HIT_BADGES),
        "directives": directives[:HIT_DIRECTIVES],
        "more_directives": max(0, len(directives) - HIT_DIRECTIVES),
    }


def hit_url_id(doc_id: str) -> str:
    """An article id as a URL path segment (ids are file names and may hold anything)."""
    return quote(str(doc_id), safe="")


def pagination(state: SearchState, pages: int, base: str) -> dict[str, Any] | None:
    """Previous/next and a window of page numbers with gaps (`1 … 4 5 [6] 7 8 … 20`)."""
    pages = min(pages, MAX_PAGE)
    if pages <= 1 and state.page <= 1:
        return None
    def url(n: int) -> str:
        return f"{base}?{urlencode(state.items(page=n))}"
    numbers: list[int | None] = []
    window = set(range(max(1, state.page - 2), min(pages, state.page + 2) + 1)) | {1, pages}
    previous = 0
    for n in sorted(w for w in window if w >= 1):
        if n - previous == 2:
            numbers.append(n - 1)  # a gap of one page shows the page, not “…”
        elif n - previous > 2:
            numbers.append(None)
        numbers.append(n)
        previous = n
    return {
        "prev": url(state.page - 1) if state.page > 1 else None,
        "next": url(state.page + 1) if state.page < pages else None,
        "pages": [Link(str(n), url(n), current=n == state.page) if n else None
                  for n in numbers],
    }


#: The chart's drawing box (the SVG scales to the column's width).
CHART_WIDTH, CHART_HEIGHT, CHART_BAR_MAX = 640, 96, 72
#: Date presets: label, days back from today.
DATE_PRESETS = (("7 ngày", 7), ("30 ngày", 30), ("12 tháng", 365))
_MONTHS_VI = "tháng {m}/{y}"


def month_label(month: str) -> str:
    """`2022-10` → `tháng 10/2022`."""
    year, mon = month.split("-")
    return _MONTHS_VI.format(m=int(mon), y=year)


def timeline_view(result: dict[str, Any], state: SearchState, base: str
                  ) -> dict[str, Any] | None:
    """The per-month bars above the results: geometry for the SVG, a link per bar
    (a click selects that month as the date range), and the undated count."""
    buckets = [b for b in result.get("timeline") or [] if b.get("month")]
    undated = int(result.get("undated") or 0)
    if not buckets:
        return None
    peak = max(int(b["count"]) for b in buckets) or 1
    step = CHART_WIDTH / len(buckets)
    gap = min(4.0, step * 0.2)
    bars = []
    for i, bucket in enumerate(buckets):
        count = int(bucket["count"])
        start, end = month_bounds(str(bucket["month"]))
        height = max(2.0, CHART_BAR_MAX * count / peak) if count else 0.0
        chosen = bool(state.date_from or state.date_to) and (
            (not state.date_to or start <= state.date_to)
            and (not state.date_from or end >= state.date_from))
        bars.append({
            "x": round(i * step + gap / 2, 1), "width": round(step - gap, 1),
            "y": round(CHART_BAR_MAX - height + 4, 1), "height": round(height, 1),
            "url": _url(base, state.replace(date_from=start, date_to=end)),
            "label": f"{month_label(str(bucket['month']))}: {format_count(count)} bài",
            "chosen": chosen, "count": count,
        })
    every = max(1, math.ceil(len(buckets) / 8))
    ticks = [{"x": round(i * step + step / 2, 1), "text": _short_month(str(b["month"]))}
             for i, b in enumerate(buckets) if i % every == 0 or i == len(buckets) - 1
             and (len(buckets) - 1) % every > every // 2]
    return {
        "bars": bars, "ticks": ticks, "width": CHART_WIDTH, "height": CHART_HEIGHT,
        "baseline": CHART_BAR_MAX + 4,
        "summary": (f"Số bài theo tháng, từ {month_label(buckets[0]['month'])} "
                    f"đến {month_label(buckets[-1]['month'])}"),
        "undated": format_count(undated) if undated else "",
    }


def _short_month(month: str) -> str:
    year, mon = month.split("-")
    return f"{int(mon)}/{year[2:]}"


def date_view(state: SearchState, base: str, today: dt.date | None = None) -> dict[str, Any]:
    """The date filter: the chosen range, the presets as links, and a link to clear it."""
    today = today or dt.datetime.now(dt.UTC).date()
    presets = []
    for label, days in DATE_PRESETS:
        start = (today - dt.timedelta(days=days - 1)).isoformat()
        end = today.isoformat()
        presets.append(Link(label, _url(base, state.replace(date_from=start, date_to=end)),
                            title=f"Các bài từ {format_date(start)} đến {format_date(end)}",
                            current=(state.date_from, state.date_to) == (start, end)))
    return {
        "from": state.date_from, "to": state.date_to, "presets": presets,
        "today": today.isoformat(),
        "clear_url": (_url(base, state.replace(date_from="", date_to=""))
                      if state.date_from or state.date_to else ""),
    }


def range_text(state: SearchState) -> str:
    """`từ 01/01/2026 đến 31/01/2026`, as a chip says it."""
    if state.date_from and state.date_to:
        return f"từ {format_date(state.date_from)} đến {format_date(state.date_to)}"
    if state.date_from:
        return f"từ {format_date(state.date_from)}"
    return f"đến {format_date(state.date_to)}"


def search_page(result: dict[str, Any], state: SearchState, base: str, api_base: str,
                article_base: str, timeline_api: str = "", branch_base: str = ""
                ) -> dict[str, Any]:
    """Everything the results page prints.

    A page past the end says so (with links to the last and first pages)
    rather than quietly showing another page.
    """
    total = int(result.get("total") or 0)
    per_page = int(result.get("per_page") or state.per_page)
    pages = int(result.get("pages") or math.ceil(total / max(per_page, 1)))
    beyond = bool(total) and state.page > pages
    suggestion = result.get("suggestion")
    sort_links = [
        Link("Liên quan nhất", f"{base}?{state.query_string(sort='relevance')}",
             current=state.sort == "relevance"),
        Link("Mới nhất", f"{base}?{state.query_string(sort='date')}",
             current=state.sort == "date"),
    ]
    hits = [] if beyond else [hit_view(h, state, base, article_base)
                              for h in result.get("hits") or []]
    first = (state.page - 1) * per_page + 1
    return {
        "state": state,
        "total": total,
        "total_text": format_count(total),
        "took": format_seconds(result.get("took_ms")),
        "range_text": (f"{format_count(first)}–{format_count(first + len(hits) - 1)}"
                       if hits and total > len(hits) else ""),
        "hits": hits,
        "beyond_last_page": beyond,
        "asked_page": format_count(state.page),
        "pages_text": format_count(pages),
        "last_page_url": f"{base}?{urlencode(state.items(page=max(pages, 1)))}",
        "first_page_url": f"{base}?{urlencode(state.items(page=1))}",
        "timeline": timeline_view(result, state, base),
        "timeline_json_url": f"{timeline_api}?{urlencode(state.items(page=1))}",
        "branch_url": f"{branch_base}?{urlencode(state.items(page=1))}",
        "count_url": api_base,
        "dates": date_view(state, base),
        "suggestion": (Link(suggestion, f"{base}?{state.query_string(q=suggestion)}")
                       if suggestion else None),
        "unmatched": ", ".join(str(word) for word in result.get("unmatched") or []),
        "facets": facet_groups(result, state),
        "chips": chips(state, base),
        "active_filters": sum(len(v) for v in state.filters.values())
        + bool(state.date_from or state.date_to),
        "clear_filters_url": (f"{base}?{state.query_string(filters={}, date_from='', date_to='')}"
                              if state.q else "/"),
        "sort_links": sort_links,
        "pagination": None if beyond else pagination(state, pages, base),
        "json_url": f"{api_base}?{urlencode(state.items())}",
        # the whole result set (exports, feed): no page, no page size
        "export_qs": "?" + urlencode(state.replace(per_page=DEFAULT_PER_PAGE).items(page=1)),
        "relations": [str(line) for line in result.get("relations") or []],
    }


#: Length of a link preview's description (what chat apps and search engines show).
DESCRIPTION_CHARS = 200


def describe(record: dict[str, Any]) -> str:
    """The article's summary, else the start of its body, cut at a word, for link previews."""
    text = " ".join(str(record.get("summary") or record.get("body") or "").split())
    if len(text) <= DESCRIPTION_CHARS:
        return text
    cut = text.rfind(" ", 0, DESCRIPTION_CHARS)
    return text[: cut if cut > 0 else DESCRIPTION_CHARS] + "…"


def article_page(record: dict[str, Any], q: str, search_base: str, article_base: str,
                 api_url: str) -> dict[str, Any]:
    """Everything the article page prints."""
    body_html = record.get("body_html")
    if body_html is None:
        body_html = str(escape(record.get("body") or ""))
    paragraphs = [marked_html(p.strip()) for p in body_html.split("\n") if p.strip()]
    state = SearchState(q=q)
    localities = []
    for loc in record.get("localities") or []:
        short, full = locality_label(loc, record.get("date"))
        if not short:
            continue
        entry = {
            "link": Link(full, _url(search_base,
                                    state.only(**locality_filters(loc, record.get("date")))),
                         title=f"Tìm các bài về {full}"),
            "role": "chủ đề chính" if loc.get("role") == "subject" else "được nhắc đến",
            "p2025": None,
            "c2025": None,
            "before": "",
        }
        if loc.get("province_2025"):
            p = loc["province_2025"]
            entry["p2025"] = Link(p, _url(search_base, state.only(province_2025=[p])),
                                  title=f"Tìm các bài thuộc {p} (sau sáp nhập 2025)")
        if _as_2025(loc, record.get("date")):
            entry["before"] = locality_label(loc)[1]
        elif loc.get("code_2025"):
            code = str(loc["code_2025"])
            label = unit_2025_label(code)
            entry["c2025"] = Link(label, _url(search_base, state.only(commune_2025=[code])),
                                  title=f"Tìm các bài về {label} và các xã, phường cũ hợp thành")
        localities.append(entry)
    directives = []
    for d in record.get("directives") or []:
        if not d.get("code"):
            continue
        details = ", ".join(x for x in (d.get("issuer"), format_date(d.get("date"))) if x)
        directives.append({
            "link": Link(directive_title(d),
                         _url(search_base, state.only(directive=[d["code"]])),
                         title=f"Tìm các bài trích dẫn {d['code']}"),
            "details": details,
        })
    source_url = record.get("source_url") or ""
    if not str(source_url).startswith(("http://", "https://")):
        source_url = ""
    article_qs = f"?{urlencode({'q': q})}" if q else ""
    related = [
        Link(str(r.get("title") or r.get("id")),
             f"{article_base}{hit_url_id(r['id'])}{article_qs}", title=format_date(r.get("date")))
        for r in record.get("related") or [] if r.get("id")
    ]
    return {
        "id": record.get("id"),
        "q": q,
        "title": record.get("title") or "(không có tiêu đề)",
        "title_html": marked_html(record.get("title_html")
                                  or str(escape(record.get("title") or "(không có tiêu đề)"))),
        "date": format_date(record.get("date")),
        "iso_date": record.get("date") or "",
        "author": record.get("author") or "",
        "source_url": source_url,
        "outlet": record.get("outlet") or "",
        "source": record.get("source") or "",
        "summary": record.get("summary") or "",
        "paragraphs": paragraphs,
        "localities": localities,
        "directives": directives,
        "related": related,
        "back_url": f"{search_base}?{urlencode({'q': q})}" if q else "",
        "description": describe(record),
        "json_url": api_url + article_qs,
    }
