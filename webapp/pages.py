"""HTML pages: home, search results, article. Each has a JSON twin under /api/."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .params import (
    MAX_VALUE_CHARS,
    BadRequest,
    SearchState,
    clean_text,
    parse_search_args,
    query_param,
)
from .shared_engine import get_engine
from .viewmodels import article_page, branch, search_page, split_branch, unit_name

pages = Blueprint("pages", __name__)

#: How much of an unknown id the "not found" message repeats.
SHOWN_ID_CHARS = 120


def not_found_message(doc_id: str) -> str:
    """The 404 text for an id the index does not hold (a long id is cut short)."""
    shown = doc_id if len(doc_id) <= SHOWN_ID_CHARS else f"{doc_id[:SHOWN_ID_CHARS]}…"
    return f"Không có bài viết nào có mã “{shown}” trong kho bài viết."


@pages.get("/")
def home() -> str:
    """The home page; it also answers searches, so `/?q=…` works like `/search?q=…`."""
    return search()


@pages.get("/search")
def search() -> str:
    """The search page; with no query and no filter it is the home page."""
    state = parse_search_args(request.args)
    if state.is_empty:
        return render_template("search.html", home=True, page=None, state=state)
    result = get_engine().search(state.q, timeline=True, **state.engine_args)  # type: ignore[arg-type]
    page = search_page(result, state, base=url_for("pages.search"),
                       api_base=url_for("api.search"),
                       article_base=url_for("pages.article", doc_id="x")[:-1],
                       timeline_api=url_for("api.timeline"),
                       branch_base=url_for("pages.facet_branch"))
    return render_template("search.html", home=False, page=page, state=state)


@pages.get("/facet-branch")
def facet_branch() -> str:
    """The places inside one province of the sidebar's tree, as an HTML fragment.

    The results page prints the provinces only (hundreds of communes would
    bloat it); opening a province fetches its part of the tree from here,
    counted for the same search.
    """
    state = parse_search_args(request.args)
    tree = request.args.get("tree", "")
    parent = clean_text(request.args.get("parent") or "")
    if (tree not in ("2025", "2022") or not parent or len(parent) > MAX_VALUE_CHARS
            or state.is_empty):
        raise BadRequest("Không rõ danh sách địa phương cần mở.")
    result = get_engine().search(state.q, **state.engine_args)  # type: ignore[arg-type]
    shown, hidden = split_branch(branch(result, state, tree, parent))
    return render_template("_branch.html", shown=shown, hidden=hidden,
                           label=unit_name("province", parent))


@pages.get("/article/<docid:doc_id>")
def article(doc_id: str) -> str:
    """One article, the query highlighted, with links to filter by its facets.

    Any id the index holds opens, however long: the request-line limit of the
    server bounds what can be asked, and a look-up of an unknown id is cheap.
    """
    q = query_param(request.args)
    record = get_engine().article(doc_id, q=q)
    if record is None:
        abort(404, description=not_found_message(doc_id))
    view = article_page(record, q, search_base=url_for("pages.search"),
                        article_base=url_for("pages.article", doc_id="x")[:-1],
                        api_url=url_for("api.article", doc_id=doc_id))
    return render_template("article.html", article=view, state=SearchState(q=q))


@pages.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page says; the icon is an SVG."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
