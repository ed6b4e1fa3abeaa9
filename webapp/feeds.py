"""`/feed.atom`: an Atom feed of any search, newest articles first, to follow it.

A researcher saves a search (a directive, a place) in a feed reader and sees
new articles as they are indexed. The feed is the search's first page by
date, written by feedgenerator (Django's Atom writer, everything escaped);
each entry links to the article page here and, when known, to the original
(`rel="related"`). Articles without a date cannot be placed in time and are
left out.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

from feedgenerator import Atom1Feed
from flask import Blueprint, Response, request, url_for

from .params import parse_search_args
from .shared_engine import get_engine

feeds = Blueprint("feeds", __name__)

#: Entries in a feed: the newest matching articles.
FEED_ENTRIES = 50
#: Article dates are days in Vietnam.
VIETNAM = timezone(timedelta(hours=7))
#: Characters XML 1.0 cannot hold: dropped from feed text (the writer would pass them on).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    return _NOT_XML.sub("", "" if value is None else str(value))


class SearchFeed(Atom1Feed):
    """Atom 1.0 with a link to each article's original (feedgenerator's extension point)."""

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        if item.get("source_url"):
            handler.addQuickElement("link", "", {"href": item["source_url"], "rel": "related",
                                                 "type": "text/html"})


def _day(iso: str) -> datetime | None:
    try:
        return datetime.strptime(iso[:10], "%Y-%m-%d").replace(tzinfo=VIETNAM)
    except ValueError:
        return None


@feeds.get("/feed.atom")
def feed() -> Response:
    """The newest articles of the search in the URL's parameters, as Atom 1.0."""
    state = parse_search_args(request.args)
    result = get_engine().search(state.q, filters=state.filters, sort="date", page=1,
                                 per_page=FEED_ENTRIES, date_from=state.date_from or None,
                                 date_to=state.date_to or None)
    query = urlencode(state.replace(sort="relevance").items())
    search_url = url_for("pages.search", _external=True) + (f"?{query}" if query else "")
    subject = state.q or ", ".join(v for values in state.filters.values() for v in values)
    title = f"Tìm kiếm tin tức: {subject}" if subject else "Tìm kiếm tin tức"
    atom = SearchFeed(
        title=xml_text(title), link=search_url, language="vi",
        description=xml_text(f"Các bài mới nhất cho tìm kiếm “{subject}”" if subject else title),
        author_name="Tìm kiếm tin tức", feed_url=request.url,
        feed_guid=f"urn:vnsearch:search:{quote(query, safe='')}",
    )
    for hit in result.get("hits") or []:
        when = _day(hit.get("date") or "")
        if when is None or not hit.get("id"):
            continue
        author = hit.get("author") or hit.get("outlet")
        atom.add_item(
            title=xml_text(hit.get("title") or "(không có tiêu đề)"),
            link=url_for("pages.article", doc_id=hit["id"], _external=True),
            description=xml_text(hit.get("snippet") or ""),
            unique_id=f"urn:vnsearch:article:{quote(str(hit['id']), safe='')}",
            pubdate=when, updateddate=when,
            author_name=xml_text(author) if author else None,
            source_url=xml_text(hit.get("source_url") or "") or None,
        )
    return Response(atom.writeString("utf-8"),
                    content_type="application/atom+xml; charset=utf-8")
