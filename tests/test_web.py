"""The web site over HTTP: JSON twins, pages, errors, escaping and security headers.

Everything runs against a real index built by `vnsearch index` from corpus/
and a real waitress server on loopback (fixtures in conftest.py).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import REPO, LiveServer, build_index_with_cli
from unidecode import unidecode

QUERY = "xay dung chinh don dang"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> dict:
        return json.loads(self.text)


def fetch(url: str) -> Reply:
    """GET without raising on error statuses (they are what some tests check)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return Reply(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers), error.read().decode())


def get(server: LiveServer, path: str, **params: object) -> Reply:
    query = urlencode(params, doseq=True)
    return fetch(f"{server.url}{path}" + (f"?{query}" if query else ""))


def fold(text: str) -> str:
    return unidecode(unicodedata.normalize("NFC", text)).lower()


def marks(html: str) -> list[str]:
    return re.findall(r"<mark>(.*?)</mark>", html)


# --------------------------------------------------------------------------- JSON twins


def test_api_search_finds_accented_text_for_accent_free_query(live_server: LiveServer) -> None:
    data = get(live_server, "/api/search", q=QUERY).json()
    assert data["query"] == QUERY
    assert data["total"] >= 3
    assert data["page"] == 1 and data["per_page"] == 10
    assert set(data["facets"]) >= {"province", "district", "commune", "province_2025",
                                   "directive", "year"}
    hit = data["hits"][0]
    assert {"id", "title", "date", "score", "snippet", "localities", "directives"} <= set(hit)
    marked = [m for h in data["hits"] for m in marks(h["snippet"])]
    assert marked, "snippets carry <mark>s"
    assert any("đ" in m.lower() or "ự" in m for m in marked), "the accented original is marked"
    assert {fold(m) for m in marked} & {"xay dung", "chinh don", "dang", "xay", "dung"}


def test_search_page_shows_what_the_api_returns(live_server: LiveServer) -> None:
    data = get(live_server, "/api/search", q=QUERY).json()
    page = get(live_server, "/search", q=QUERY)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert f"Tìm thấy <strong>{data['total']}</strong> kết quả" in page.text
    for hit in data["hits"]:
        assert f'href="/article/{hit["id"]}?q=' in page.text
    assert "<mark>" in page.text
    # The JSON twin is announced on the page.
    assert 'rel="alternate" type="application/json" href="/api/search?q=' in page.text


def test_facet_filters_narrow_and_repeat_as_or(live_server: LiveServer) -> None:
    facets = get(live_server, "/api/search", q=QUERY).json()["facets"]
    provinces = facets["province"]
    assert len(provinces) >= 2, "the sample corpus spans several provinces"
    first, second = provinces[0], provinces[1]
    one = get(live_server, "/api/search", q=QUERY, province=first["value"]).json()
    assert one["total"] == first["count"]
    for hit in one["hits"]:
        assert first["value"] in {loc["province"] for loc in hit["localities"]}
    both = get(live_server, "/api/search", q=QUERY,
               province=[first["value"], second["value"]]).json()
    assert max(first["count"], second["count"]) <= both["total"] <= (
        first["count"] + second["count"])
    assert both["total"] > one["total"] or second["count"] == 0

    code = "21-KL/TW"
    directive = get(live_server, "/api/search", q=QUERY, directive=code).json()
    assert directive["total"] >= 2
    for hit in directive["hits"]:
        assert code in {d["code"] for d in hit["directives"]}
    labels = {d["value"]: d.get("label") for d in directive["facets"]["directive"]}
    assert labels[code] and code in labels[code]


def tree_nodes(tree: list[dict], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """Path (province, district, commune) → count of every node of a locality tree."""
    out: dict[tuple[str, ...], int] = {}
    for node in tree:
        out[(*path, node["value"])] = node["count"]
        out.update(tree_nodes(node.get("children") or [], (*path, node["value"])))
    return out


def test_api_lists_the_most_frequent_facet_values_up_to_facet_limit(
        live_server: LiveServer) -> None:
    """A broad search over a large archive lists every place it counts unless told not to:
    `facet_limit` keeps the top values (and the selected ones) and says how many there are."""
    every = get(live_server, "/api/search", q=QUERY, facet_limit=10_000).json()
    full = every["facets"]
    assert len(full["province"]) >= 2 and len(full["commune"]) >= 2
    assert every["facet_totals"]["province"] == len(full["province"])
    one = get(live_server, "/api/search", q=QUERY, facet_limit=1).json()
    assert one["total"] == every["total"] and one["hits"] == every["hits"]
    for name in ("province", "district", "commune", "province_2025", "directive"):
        assert one["facets"][name] == full[name][:1], name
    for name, values in full.items():
        if not name.startswith("locality_tree"):
            assert one["facet_totals"][name] == every["facet_totals"][name] == len(values), name
    levels = tree_nodes(full["locality_tree"])
    kept = tree_nodes(one["facets"]["locality_tree"])
    assert kept and set(kept) < set(levels)
    assert all(levels[node] == count for node, count in kept.items())
    for depth in (1, 2, 3):  # each level: its most frequent node, and the parents of those below
        top = max((p for p in levels if len(p) == depth), key=lambda p: (levels[p], p))
        parents = {p[:depth] for p in kept if len(p) > depth}
        own = {p for p in kept if len(p) == depth} - parents
        assert len(own) <= 1 and all(levels[p] == levels[top] for p in own)
    # A ticked value stays listed, with its count, however far down it ranks.
    last = full["province"][-1]
    ticked = get(live_server, "/api/search", q=QUERY, facet_limit=1,
                 province=last["value"]).json()
    assert last in ticked["facets"]["province"]
    assert (last["value"],) in tree_nodes(ticked["facets"]["locality_tree"])
    for bad in ("0", "many", "-1"):
        reply = get(live_server, "/api/search", q=QUERY, facet_limit=bad)
        assert reply.status == 400 and "facet_limit" in reply.json()["error"]["message"]
    default = get(live_server, "/api/search", q=QUERY).json()
    assert default["facets"] == full and default["facet_totals"] == every["facet_totals"]


def test_search_page_keeps_every_state_in_links(live_server: LiveServer) -> None:
    code = "21-KL/TW"
    page = get(live_server, "/search", q=QUERY, directive=code, sort="date", per_page=1)
    assert page.status == 200
    html = page.text
    # Pagination keeps query, filter, sort and page size.
    assert re.search(r'href="/search\?q=xay\+dung\+chinh\+don\+dang&amp;directive=21-KL%2FTW'
                     r'&amp;sort=date&amp;page=2&amp;per_page=1"', html), "link to page 2"
    # The chip removes only its own filter.
    assert re.search(r'class="chip" href="/search\?q=xay\+dung\+chinh\+don\+dang&amp;sort=date'
                     r'&amp;per_page=1"', html)
    # The filter is ticked in the sidebar.
    assert re.search(r'name="directive" value="21-KL/TW"\s+form="search-form" checked', html)
    # The sort link in use is marked current.
    assert re.search(r'<a href="[^"]*sort=date[^"]*" class="sort__link" aria-current="true">'
                     r'Mới nhất</a>', html)


def test_did_you_mean_only_when_useful(live_server: LiveServer) -> None:
    accent_free = get(live_server, "/search", q=QUERY).text
    assert "Có phải bạn muốn tìm: <a href=\"/search?q=x%C3%A2y+d%E1%BB%B1ng" in accent_free
    accented = get(live_server, "/search", q="xây dựng chỉnh đốn Đảng").text
    assert "Có phải bạn muốn tìm" not in accented


def test_filter_only_browse_without_query(live_server: LiveServer) -> None:
    page = get(live_server, "/search", directive="21-KL/TW")
    assert page.status == 200
    data = get(live_server, "/api/search", directive="21-KL/TW").json()
    assert data["total"] >= 2
    assert f"<strong>{data['total']}</strong>" in page.text


def test_article_page_and_its_json_twin(live_server: LiveServer) -> None:
    hit = get(live_server, "/api/search", q=QUERY).json()["hits"][0]
    record = get(live_server, f"/api/article/{hit['id']}", q=QUERY).json()
    assert record["id"] == hit["id"] and record["title"] == hit["title"]
    assert marks(record["body_html"]), "the query is highlighted in the body"
    assert isinstance(record["related"], list)
    assert all(r["id"] != hit["id"] for r in record["related"])

    page = get(live_server, f"/article/{hit['id']}", q=QUERY)
    assert page.status == 200
    assert "<mark>" in page.text
    assert "Quay lại kết quả" in page.text
    for loc in record["localities"]:
        assert f"province={urlencode({'': loc['province']})[1:]}" in page.text
    for directive in record["directives"]:
        assert f"directive={urlencode({'': directive['code']})[1:]}" in page.text
    for related in record["related"]:
        assert f'href="/article/{related["id"]}' in page.text
    no_query = get(live_server, f"/article/{hit['id']}")
    assert no_query.status == 200 and "<mark>" not in no_query.text


def test_page_and_json_twin_treat_a_too_long_query_alike(live_server: LiveServer) -> None:
    """One limit for every twin: a query over 500 characters is a 400 on both sides."""
    hit = get(live_server, "/api/search", q=QUERY).json()["hits"][0]
    long_query = "xây dựng " * 60
    for path in (f"/article/{hit['id']}", f"/api/article/{hit['id']}", "/search", "/api/search"):
        reply = get(live_server, path, q=long_query)
        assert reply.status == 400, path
        assert "500 ký tự" in reply.text, path
    for path in (f"/article/{hit['id']}", f"/api/article/{hit['id']}"):
        assert get(live_server, path, q=long_query[:500]).status == 200, path


def test_suggest_completes_accent_free_prefixes(live_server: LiveServer) -> None:
    data = get(live_server, "/api/suggest", q="chinh do").json()
    assert data["query"] == "chinh do"
    assert data["suggestions"], "accent-free prefix gets completions"
    assert any(fold(s).startswith("chinh do") or " chinh do" in fold(s)
               for s in data["suggestions"])
    assert any(s != fold(s) for s in data["suggestions"]), "completions come back accented"
    assert get(live_server, "/api/suggest", q="").json()["suggestions"] == []


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("path", ["/article/no-such-article", "/no/such/page"])
def test_unknown_pages_are_friendly_404s(live_server: LiveServer, path: str) -> None:
    page = get(live_server, path)
    assert page.status == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Lỗi 404" in page.text and "Về trang chủ" in page.text


@pytest.mark.parametrize("path", ["/api/article/no-such-article", "/api/nothing"])
def test_unknown_api_urls_are_json_404s(live_server: LiveServer, path: str) -> None:
    reply = get(live_server, path)
    assert reply.status == 404
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json()["error"]["status"] == 404


BAD_PARAMS = [
    {"q": QUERY, "page": "0"},
    {"q": QUERY, "page": "-1"},
    {"q": QUERY, "page": "abc"},
    {"q": QUERY, "page": "99999999999999999999999"},
    {"q": QUERY, "page": "٣"},  # an Arabic-Indic digit: isdigit() but not a page number
    {"q": QUERY, "per_page": "0"},
    {"q": QUERY, "per_page": "100000"},
    {"q": QUERY, "sort": "title"},
    {"q": "x" * 5000},
]


@pytest.mark.parametrize("params", BAD_PARAMS, ids=lambda p: str(p)[:40])
def test_bad_parameters_are_400_with_a_message(live_server: LiveServer, params: dict) -> None:
    api = get(live_server, "/api/search", **params)
    assert api.status == 400
    assert api.json()["error"]["message"]
    page = get(live_server, "/search", **params)
    assert page.status == 400
    assert "Yêu cầu không hợp lệ" in page.text


ODD_QUERIES = [
    "", " ", "\"", "\"\"", "'", "*", "?", "-", "--", "+", "AND", "OR NOT", "a AND OR b",
    "(", ")", "[x", "title:abc", "body:", "~", "^2", "\\", "/", "%", "%00", "\x00", "\u200b",
    "🇻🇳🎉", "ﷺ", "שלום", "𝔵𝔞𝔶", "A\u0301\u0301\u0301", "x̴̡̛̖̟̓̊͗", "\ufeff", "\ud7ff",
    "đ" * 400, "xây dựng " * 50, "xay-dung/chinh.don_dang", "21-KL/TW", "<>&\"'",
    unicodedata.normalize("NFD", "xây dựng chỉnh đốn Đảng"), "ＸＡＹ　ＤＵＮＧ",
]


@pytest.mark.parametrize("q", ODD_QUERIES, ids=lambda q: repr(q)[:30])
def test_odd_queries_never_fail(live_server: LiveServer, q: str) -> None:
    for path in ("/search", "/api/search", "/api/suggest", "/article/000_3fbea2c4a168ddd1"):
        reply = get(live_server, path, q=q)
        assert reply.status == 200, (path, reply.status, reply.text[:300])


@pytest.mark.parametrize("params", [
    {"province": "Không Tồn Tại"}, {"year": "abcd"}, {"directive": "<b>99-XX/YY</b>"},
    {"q": QUERY, "page": "1000"}, {"district": ["a", "b", "a"]}, {"commune": "\u0000"},
], ids=str)
def test_odd_filters_give_empty_results_not_errors(live_server: LiveServer, params: dict) -> None:
    for path in ("/search", "/api/search"):
        reply = get(live_server, path, **params)
        assert reply.status == 200, (path, reply.text[:300])


def test_wrong_methods_are_405(live_server: LiveServer) -> None:
    request = urllib.request.Request(f"{live_server.url}/api/search?q=a", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    assert error.value.code == 405
    assert json.loads(error.value.read())["error"]["status"] == 405


# --------------------------------------------------------------------------- safety


SCRIPT = "<script>alert(1)</script>"


def test_user_text_is_escaped_everywhere(live_server: LiveServer) -> None:
    pages = [
        get(live_server, "/search", q=SCRIPT),
        get(live_server, "/search", q=SCRIPT, province=SCRIPT, directive=SCRIPT),
        get(live_server, "/article/000_3fbea2c4a168ddd1", q=SCRIPT),
        get(live_server, f"/article/{SCRIPT}"),
    ]
    for page in pages:
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    bad_page = get(live_server, "/search", q=QUERY, page=SCRIPT)
    assert bad_page.status == 400
    assert "<script>alert" not in bad_page.text and "&lt;script&gt;" in bad_page.text
    api = get(live_server, "/api/search", q=SCRIPT).json()
    assert api["query"] == SCRIPT  # JSON keeps the text; it is data, not markup
    assert all("<script>" not in hit["snippet"] for hit in api["hits"])


def test_pages_follow_the_content_security_policy(live_server: LiveServer) -> None:
    for path in ("/", f"/search?q={QUERY}", "/article/000_3fbea2c4a168ddd1", "/nope",
                 "/api/search?q=a", "/api/nope"):
        reply = fetch(live_server.url + path.replace(" ", "+"))
        csp = reply.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        if reply.headers["Content-Type"].startswith("text/html"):
            # No inline script or style, no handler attributes, nothing from another host.
            assert not re.search(r"<script(?![^>]*\ssrc=)", reply.text)
            assert not re.search(r"\sstyle=|\son[a-z]+=", reply.text)
            for url in re.findall(r'(?:src|href)="([^"]+)"', reply.text):
                assert url.startswith(("/", "#", "?")), url


def test_static_assets_are_served(live_server: LiveServer) -> None:
    css = get(live_server, "/static/style.css")
    js = get(live_server, "/static/app.js")
    assert css.status == 200 and ":focus-visible" in css.text
    assert js.status == 200 and "aria-activedescendant" in js.text


def test_home_page_is_a_labelled_search_form(live_server: LiveServer) -> None:
    page = get(live_server, "/")
    assert page.status == 200
    html = page.text
    assert '<html lang="vi">' in html
    assert '<label for="q"' in html and 'id="q" name="q"' in html
    for landmark in ("<header", "<main", "<footer", 'role="search"'):
        assert landmark in html


# --------------------------------------------------------------------------- serving


def test_index_updates_show_up_without_restart(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("000_3fbea2c4a168ddd1.txt", "001_e49936e6cdc21bfd.txt"):
        (corpus / name).write_bytes((REPO / "corpus" / name).read_bytes())
    index_dir = tmp_path / "index"
    assert build_index_with_cli(corpus, index_dir).returncode == 0
    server = LiveServer(index_dir)
    try:
        assert get(server, "/api/search", q="quylongbien").json()["total"] == 0
        (corpus / "new_article.txt").write_text(
            "Phường Long Biên triển khai quylongbien\n\n12/01/2023 08:00\n"
            "Đảng uỷ phường Long Biên (Hà Nội) triển khai mô hình quylongbien mới.\n",
            encoding="utf-8",
        )
        assert build_index_with_cli(corpus, index_dir).returncode == 0
        data = get(server, "/api/search", q="quylongbien").json()
        assert data["total"] == 1 and data["hits"][0]["id"] == "new_article"
        assert get(server, "/article/new_article").status == 200
    finally:
        server.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("left_empty", [False, True], ids=["no-index", "empty-index"])
def test_vnsearch_serve_builds_the_index_then_serves(tmp_path: Path, left_empty: bool) -> None:
    """`vnsearch serve` in a fresh folder: builds ./index from ./corpus, then answers.

    An index committed empty (say by a first run that failed) counts as none.
    """
    (tmp_path / "corpus").mkdir()
    for path in (REPO / "corpus").iterdir():
        (tmp_path / "corpus" / path.name).write_bytes(path.read_bytes())
    if left_empty:
        from whoosh import index

        from indexer.schema import build_schema

        (tmp_path / "idx").mkdir()
        index.create_in(str(tmp_path / "idx"), build_schema())
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vnsearch", "serve", "--index", "idx", "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 300
        reply = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                reply = fetch(f"http://127.0.0.1:{port}/api/search?q=chinh+don")
                break
            except OSError:
                time.sleep(0.5)
        assert reply is not None, process.stdout.read() if process.poll() is not None else ""
        assert reply.status == 200 and reply.json()["total"] >= 1
        assert (tmp_path / "idx").is_dir()
        assert "Server" in reply.headers and "waitress" in reply.headers["Server"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_create_app_reads_the_index_from_the_environment(
    web_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp import create_app

    monkeypatch.setenv("VNSEARCH_INDEX", str(web_index))
    app = create_app()
    assert not app.debug
    reply = app.test_client().get("/api/search", query_string={"q": QUERY})
    assert reply.status_code == 200 and reply.get_json()["total"] >= 3


def test_flask_cli_finds_the_app() -> None:
    """`flask --app webapp run` uses the same factory: its route table has every URL."""
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "routes"],
                            cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    for rule in ("/search", "/api/search", "/article/<docid:doc_id>",
                 "/api/article/<docid:doc_id>", "/api/suggest"):
        assert rule in result.stdout


def test_missing_index_is_a_clear_503(tmp_path: Path) -> None:
    from webapp import create_app

    client = create_app({"INDEX_DIR": str(tmp_path / "none")}).test_client()
    page = client.get("/search?q=a")
    assert page.status_code == 503 and "vnsearch index" in page.get_data(as_text=True)
    api = client.get("/api/search?q=a")
    assert api.status_code == 503 and api.get_json()["error"]["status"] == 503
    assert client.get("/").status_code == 200


def test_articles_whose_ids_hold_slashes_open_from_their_links(tmp_path: Path) -> None:
    """Ids that are a source's own path (`/2026/01/tin-moi`) open from the results page."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    articles = [
        {"id": "/2026/01/tin-moi", "title": "Xã Bình Mỹ đón Tết", "date": "2026-01-05",
         "body": "Xã Bình Mỹ tổ chức đón Tết Bính Ngọ."},
        {"id": "a/b c?d#e", "title": "Phường Bình Mỹ làm đường", "date": "2026-01-06",
         "body": "Phường Bình Mỹ khởi công con đường mới."},
    ]
    (corpus / "news.jsonl").write_text(
        "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), "utf-8")
    result = build_index_with_cli(corpus, tmp_path / "index")
    assert result.returncode == 0, result.stderr
    server = LiveServer(tmp_path / "index")
    try:
        page = fetch(server.url + "/search?q=binh+my").text
        links = re.findall(r'href="(/article/[^"?]+)', page)
        assert len(links) == 2
        for link in links:
            assert fetch(server.url + link).status == 200
        assert {fetch(server.url + "/api" + link).json()["id"] for link in links} \
            == {a["id"] for a in articles}
    finally:
        server.stop()
