"""Odd queries: property-based fuzzing of the search layer and of /api/search.

Hypothesis throws random Unicode, query operators, HTML, control and
zero-width characters, bad percent-encoding and nonsense parameters at
`SearchEngine.search / suggest / article` and at the live site over HTTP.
Whatever comes in: no exception, no 500, always valid JSON, and the only tags
in titles and snippets are <mark>, everything else escaped.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from urllib.parse import quote, quote_from_bytes

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.schema import FACETS

#: Pieces users (and attackers) really type, mixed with random text.
TOKENS = [
    "xây dựng", "xay dung", "Đảng", "dang", "chỉnh đốn", "Bình Lục", "Hà Nam", "hoà", "hòa",
    "uỷ", "ủy", "21-KL/TW", "21- KL/TW", "37-QĐ/TW", "123/QĐ-UBND", "20/10/2022", "2022",
    '"', '""', "-", "--", "+", "OR", "AND", "NOT", "or", "(", ")", "*", "?", "~", "^2", ":",
    "title:", "body:x", "\\", "/", "<script>alert(1)</script>", "<mark>", "</mark>", "&amp;",
    "&lt;b&gt;", "'", "%", "\u200b", "\u200d", "\ufeff", "\u0301", "\u0323", "x\u0300",
    "\u202e", "\x00", "\x1f", "\x7f", "🇻🇳", "😀", "ß", "İ", "ǅ", "ﬁ", "Ａ", "𝐀", " ", "\t",
    "\n", "a" * 60,
]
TAG = re.compile(r"<[^>]*>")
FACET_VALUES = ["Hà Nam", "Bình Lục", "Ninh Bình", "21-KL/TW", "2022", "2099", "", " ",
                "<b>x</b>", "ha nam", "0", "-1"]

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
)
queries = st.lists(st.one_of(st.sampled_from(TOKENS), texts), max_size=8).map(" ".join)
facet_filters = st.dictionaries(
    st.one_of(st.sampled_from(FACETS), st.sampled_from(["nope", "", "q", "page"])),
    st.lists(st.one_of(st.sampled_from(FACET_VALUES), texts), max_size=3),
    max_size=3,
)
numbers = st.one_of(st.integers(-10**12, 10**12), st.sampled_from(["", "x", "1e3", "٣", None]))


def assert_only_marks(html: str | None) -> None:
    """HTML with <mark> as its only tag; any other '<' or '>' is escaped."""
    if html is None:
        return
    assert isinstance(html, str)
    for tag in TAG.findall(html):
        assert tag in ("<mark>", "</mark>"), (tag, html)
    bare = html.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in bare and ">" not in bare, html


def check_result(result: dict) -> None:
    json.loads(json.dumps(result, ensure_ascii=False))  # JSON-serialisable as it is
    assert isinstance(result["total"], int) and result["total"] >= 0
    assert set(FACETS) <= set(result["facets"])  # the contract's facets, maybe more
    for hit in result["hits"]:
        assert_only_marks(hit["snippet"])
        assert_only_marks(hit["title_html"])


FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(q=queries, filters=facet_filters, sort=st.one_of(st.sampled_from(["relevance", "date"]),
       texts), page=numbers, per_page=numbers)
def test_engine_search_never_fails(engine, q, filters, sort, page, per_page) -> None:
    check_result(engine.search(q, filters=filters, sort=sort, page=page, per_page=per_page))


@FUZZ
@given(prefix=queries, limit=numbers)
def test_engine_suggest_never_fails(engine, prefix, limit) -> None:
    suggestions = engine.suggest(prefix, limit=limit)
    assert isinstance(suggestions, list) and all(isinstance(s, str) for s in suggestions)


@settings(max_examples=100, deadline=None)
@given(doc_id=st.one_of(st.sampled_from(["000_3fbea2c4a168ddd1", "srch-nho"]), texts),
       q=queries)
def test_engine_article_never_fails(engine, doc_id, q) -> None:
    record = engine.article(doc_id, q=q)
    if record is not None:
        json.dumps(record, ensure_ascii=False)
        assert_only_marks(record["title_html"])
        assert_only_marks(record["body_html"])


# ---------------------------------------------------------------- over HTTP

PARAM_NAMES = ["q", "q", *FACETS, "sort", "page", "per_page", "limit", "x", "", "q[]"]
raw_values = st.one_of(
    queries.map(lambda v: quote(v, safe="")),
    st.binary(max_size=12).map(lambda b: quote_from_bytes(b, safe="")),  # any bytes, bad UTF-8
    st.sampled_from(["%", "%zz", "%e1%ba", "%ff%fe", "%00", "+", "&", "=", "a=b", "..%2f"]),
    numbers.map(lambda n: quote(str(n), safe="")),
)
query_strings = st.lists(
    st.tuples(st.sampled_from(PARAM_NAMES), raw_values), max_size=6
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))


def fetch(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            return reply.status, reply.headers.get("Content-Type", ""), reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read().decode()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=query_strings)
def test_api_search_over_http_never_500(live_server, query) -> None:
    status, kind, body = fetch(f"{live_server.url}/api/search?{query}")
    assert status in (200, 400), (status, query, body[:300])
    assert kind.startswith("application/json")
    data = json.loads(body)
    if status == 200:
        check_result(data)
    else:
        assert data["error"]["status"] == 400 and data["error"]["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=query_strings, doc_id=st.one_of(texts, st.just("000_3fbea2c4a168ddd1")))
def test_other_endpoints_over_http_never_500(live_server, query, doc_id) -> None:
    status, kind, body = fetch(f"{live_server.url}/api/suggest?{query}")
    assert status in (200, 400), (status, query, body[:300])
    json.loads(body)
    path = quote(doc_id, safe="") or "x"
    status, kind, body = fetch(f"{live_server.url}/api/article/{path}?{query}")
    assert status in (200, 400, 404), (status, doc_id, query, body[:300])
    data = json.loads(body)
    if status == 200:
        assert_only_marks(data["title_html"])
        assert_only_marks(data["body_html"])
    status, kind, body = fetch(f"{live_server.url}/search?{query}")
    assert status in (200, 400), (status, query, body[:300])
    assert kind.startswith("text/html")
