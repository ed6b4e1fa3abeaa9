"""JSON twins of the pages (the `/api/search` contract of interface.md) and autocomplete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request

from engine.engine import DEFAULT_FACET_LIMIT, MAX_FACET_LIMIT

from .pages import not_found_message
from .params import MAX_SUGGESTIONS, int_param, parse_search_args, prefix_param, query_param
from .shared_engine import get_engine

api = Blueprint("api", __name__)


@api.get("/search")
def search() -> dict[str, Any]:
    """Exactly what `vnsearch search --json` prints, for the same parameters."""
    state = parse_search_args(request.args)
    limit = int_param(request.args, "facet_limit", DEFAULT_FACET_LIMIT, 1, MAX_FACET_LIMIT,
                      "Số giá trị mỗi bộ lọc (facet_limit)")
    return get_engine().search(state.q, facet_limit=limit,  # type: ignore[arg-type]
                               **state.engine_args)


@api.get("/timeline")
def timeline() -> dict[str, Any]:
    """Matching articles per month, the twin of the results page's chart.

    `{"buckets": [{"month": "2022-10", "count": 3}], "undated": 1}`; the date
    range itself is left out of the counts, so every month stays in view.
    """
    state = parse_search_args(request.args)
    if state.is_empty:
        return {"query": "", "from": None, "to": None, "buckets": [], "undated": 0}
    return get_engine().timeline(state.q, filters=state.filters,
                                 date_from=state.date_from or None,
                                 date_to=state.date_to or None)


@api.get("/article/<docid:doc_id>")
def article(doc_id: str) -> dict[str, Any]:
    """The article record with `title_html`/`body_html` highlighted for `q`, and related."""
    q = query_param(request.args)
    record = get_engine().article(doc_id, q=q)
    if record is None:
        abort(404, description=not_found_message(doc_id))
    return record


@api.get("/suggest")
def suggest() -> dict[str, Any]:
    """Completions for what is typed so far, accent-free prefixes included."""
    prefix = prefix_param(request.args)
    limit = int_param(request.args, "limit", 8, 1, MAX_SUGGESTIONS, "limit")
    suggestions = get_engine().suggest(prefix, limit=limit) if prefix else []
    return {"query": prefix, "suggestions": suggestions}
