"""JSON twins of the pages (the `/api/search` contract of interface.md) and autocomplete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request

from .engine import get_engine
from .pages import MAX_ID_CHARS
from .params import BadRequest, clean_text, parse_search_args

api = Blueprint("api", __name__)

MAX_SUGGESTIONS = 20


@api.get("/search")
def search() -> dict[str, Any]:
    """Exactly what `vnsearch search --json` prints, for the same parameters."""
    state = parse_search_args(request.args)
    return get_engine().search(state.q, filters=state.filters, sort=state.sort,
                               page=state.page, per_page=state.per_page)


@api.get("/article/<path:doc_id>")
def article(doc_id: str) -> dict[str, Any]:
    """The article record with `title_html`/`body_html` highlighted for `q`, and related."""
    q = clean_text(request.args.get("q") or "")
    if len(q) > 500:
        raise BadRequest("Câu truy vấn quá dài: tối đa 500 ký tự.")
    if len(doc_id) > MAX_ID_CHARS:
        abort(404)
    record = get_engine().article(doc_id, q=q)
    if record is None:
        abort(404, description=f"Không có bài viết nào có mã “{doc_id}” trong chỉ mục.")
    return record


@api.get("/suggest")
def suggest() -> dict[str, Any]:
    """Completions for what is typed so far, accent-free prefixes included."""
    prefix = clean_text(request.args.get("q") or "")[:100]
    raw_limit = request.args.get("limit") or "8"
    if not raw_limit.isascii() or not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 20:
        raise BadRequest(f"limit phải là số từ 1 đến {MAX_SUGGESTIONS}.")
    suggestions = get_engine().suggest(prefix, limit=int(raw_limit)) if prefix else []
    return {"query": prefix, "suggestions": suggestions}
