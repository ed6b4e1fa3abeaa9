"""`/export.csv` and `/export.jsonl`: the whole result set of any search, streamed.

The same parameters as `/search` and `/api/search`; the rows come from
`engine.export`, page by page, so a large result set is never held in
memory and the first bytes leave at once. The file name says what was
searched for (ASCII, so every browser keeps it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from flask import Blueprint, Response, request, stream_with_context
from unidecode import unidecode

from engine.export import csv_lines, iter_hits, jsonl_lines

from .params import SearchState, parse_search_args
from .shared_engine import get_engine

exports = Blueprint("exports", __name__)

#: Longest part of the query kept in a download's file name.
NAME_CHARS = 60


def search_hits(state: SearchState) -> Iterator[dict]:
    """Every hit of the search `state` describes, in the order the site shows them."""
    return iter_hits(get_engine(), state.q, filters=state.filters, sort=state.sort,
                     date_from=state.date_from or None, date_to=state.date_to or None)


def download_name(state: SearchState, extension: str) -> str:
    """`ket-qua-<query>.<ext>`: the query folded to ASCII letters, digits and hyphens."""
    words = re.sub(r"[^a-z0-9]+", "-", unidecode(state.q).lower()).strip("-")[:NAME_CHARS]
    return f"ket-qua-{words.strip('-')}.{extension}" if words else f"ket-qua.{extension}"


def _stream(state: SearchState, lines: Callable[[Iterable[dict]], Iterator[str]],
            content_type: str, extension: str) -> Response:
    hits = search_hits(state)  # the engine is looked up now: no index is a 503, not a cut file
    response = Response(stream_with_context(lines(hits)), content_type=content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{download_name(state, extension)}"')
    response.headers["Cache-Control"] = "no-store"
    return response


@exports.get("/export.csv")
def export_csv() -> Response:
    """The result set as CSV that Excel opens with Vietnamese text intact (UTF-8, BOM)."""
    state = parse_search_args(request.args)
    return _stream(state, csv_lines, "text/csv; charset=utf-8", "csv")


@exports.get("/export.jsonl")
def export_jsonl() -> Response:
    """The result set as JSON Lines, one article record per line."""
    state = parse_search_args(request.args)
    return _stream(state, jsonl_lines, "application/x-ndjson; charset=utf-8", "jsonl")
