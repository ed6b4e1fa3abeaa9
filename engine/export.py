"""Every hit of a search, in the search's order, as export rows (CSV, JSON Lines).

A researcher exports the whole result set, not one page, so the rows come
from a generator that asks the engine for one page after another: memory
stays bounded by a page whatever the number of hits, and each page is the
same search (query, filters, order) the site shows. If the indexer commits
while an export runs, later pages come from the new generation.

The CSV is for spreadsheets: UTF-8 with a byte order mark (Excel reads
Vietnamese text correctly only with it), every field quoted as needed by the
csv module, and a cell that a spreadsheet would run as a formula (starting
with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading
apostrophe, so an article title cannot become a formula on a reader's machine.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .public import public_source

if TYPE_CHECKING:
    from .engine import SearchEngine

#: Hits asked from the engine at a time (its largest page).
EXPORT_PAGE = 100
#: Byte order mark that tells Excel the file is UTF-8.
BOM = "\ufeff"
#: Cell starts a spreadsheet would read as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Separator of several values in one CSV cell.
JOIN = "; "
CSV_COLUMNS = ("id", "date", "title", "outlet", "url", "province", "district", "commune",
               "province_2025", "commune_2025", "directives", "source")


def iter_hits(engine: SearchEngine, q: str | None, filters: dict[str, list[str]] | None = None,
              sort: str = "relevance", page_size: int = EXPORT_PAGE,
              **options: Any) -> Iterator[dict]:
    """Every hit of the search, page after page, in the order the site shows them.

    `options` go to `SearchEngine.search` unchanged (any further search
    parameter it takes), so an export is always exactly the search asked for.
    """
    page = 1
    while True:
        result = engine.search(q, filters=filters, sort=sort, page=page, per_page=page_size,
                               snippets=False, **options)
        if result.get("page") != page:  # the engine moved a page past the end back
            return
        yield from result.get("hits") or []
        if page >= int(result.get("pages") or 0):
            return
        page += 1


def export_record(hit: dict) -> dict:
    """One article as exported: its metadata, no snippet, no server path."""
    localities = []
    for loc in hit.get("localities") or []:
        if isinstance(loc, dict):
            localities.append({key: loc.get(key) for key in (
                "province", "district", "commune", "province_2025", "commune_2025",
                "code_2025", "role")})
    directives = []
    for d in hit.get("directives") or []:
        if isinstance(d, dict) and d.get("code"):
            directives.append({key: d.get(key) for key in (
                "code", "label", "type", "issuer", "date")})
    return {
        "id": hit.get("id"),
        "date": hit.get("date") or None,
        "title": hit.get("title") or "",
        "outlet": hit.get("outlet") or None,
        "url": hit.get("source_url") or None,
        "source": public_source(hit.get("source")),
        "localities": localities,
        "directives": directives,
    }


def jsonl_lines(hits: Iterable[dict]) -> Iterator[str]:
    """One JSON object per line per article (UTF-8 text, not escaped)."""
    for hit in hits:
        yield json.dumps(export_record(hit), ensure_ascii=False) + "\n"


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a would-be formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_row(record: dict) -> list[str]:
    """The CSV cells of one exported record, several values joined by `; `."""
    locs = record["localities"]

    def each(key: str) -> str:
        return JOIN.join(dict.fromkeys(str(loc[key]) for loc in locs if loc.get(key)))

    cells = [record["id"], record["date"], record["title"], record["outlet"], record["url"],
             each("province"), each("district"), each("commune"), each("province_2025"),
             each("commune_2025"), JOIN.join(d["code"] for d in record["directives"]),
             record["source"]]
    return [safe_cell(cell) for cell in cells]


def csv_lines(hits: Iterable[dict]) -> Iterator[str]:
    """The CSV text, a header and one row per article, the first chunk led by the BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield BOM + flush()
    for hit in hits:
        writer.writerow(csv_row(export_record(hit)))
        yield flush()
