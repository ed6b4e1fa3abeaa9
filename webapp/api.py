"""JSON twins of the pages (the `/api/search` contract of interface.md) and autocomplete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request

from .pages import not_found_message
from .params import MAX_SUGGESTIONS, int_param, parse_search_args, prefix_param, query_param
from .shared_engine import get_engine

api = Blueprint("api", __name__)


@api.get("/search")
def search() -> dict[str, Any]:
    """Exactly what `vnsearch search --json` prints, for the same parameters."""
    state = parse_search_args(request.args)
    return get_engine().search(state.q, filters=state.filters, sort=state.sort,
                               page=state.page, per_page=state.per_page)


@api.get("/article/<path:doc_id>")
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
