"""HTML pages: home, search results, article. Each has a JSON twin under /api/."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .engine import get_engine
from .params import SearchState, clean_text, parse_search_args
from .viewmodels import article_page, search_page

pages = Blueprint("pages", __name__)

#: Article ids are file names; anything longer cannot exist.
MAX_ID_CHARS = 300


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
    result = get_engine().search(state.q, filters=state.filters, sort=state.sort,
                                 page=state.page, per_page=state.per_page)
    if isinstance(result.get("page"), int) and result["page"] >= 1:
        # The search layer moves a page past the end back to the last page.
        state = state.replace(page=result["page"])
    page = search_page(result, state, base=url_for("pages.search"),
                       api_base=url_for("api.search"),
                       article_base=url_for("pages.article", doc_id="x")[:-1])
    return render_template("search.html", home=False, page=page, state=state)


@pages.get("/article/<path:doc_id>")
def article(doc_id: str) -> str:
    """One article, the query highlighted, with links to filter by its facets."""
    q = clean_text(request.args.get("q") or "")[:500]
    if len(doc_id) > MAX_ID_CHARS:
        abort(404)
    record = get_engine().article(doc_id, q=q)
    if record is None:
        abort(404, description=f"Không có bài viết nào có mã “{doc_id}” trong chỉ mục.")
    view = article_page(record, q, search_base=url_for("pages.search"),
                        article_base=url_for("pages.article", doc_id="x")[:-1],
                        api_url=url_for("api.article", doc_id=doc_id))
    return render_template("article.html", article=view, state=SearchState(q=q))


@pages.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page says; the icon is an SVG."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
