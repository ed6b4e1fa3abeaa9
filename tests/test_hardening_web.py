"""The site and `vnsearch search` under hostile requests, against the real `vnsearch serve`.

Every test talks to `vnsearch serve` in a subprocess on loopback (raw sockets
where a browser would never send such a request) over a real index built by
`vnsearch index` from the sample corpus plus `hostile.jsonl` (ids of 300 and
301 characters, a title full of terminal escape sequences), to which two
articles are added as an earlier indexer wrote them, before it limited ids
and cleaned titles: a 400-character id and a title that kept its escapes.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from conftest import REPO, copy_corpus, index_beside
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processes import Served

#: A word no sample article has: it finds exactly the hostile articles.
MARKER = "vnsxq"
BODY = (f"Huyện Bình Lục tổ chức hội nghị quán triệt Kết luận 21-KL/TW về xây dựng, "
        f"chỉnh đốn Đảng; mã kiểm tra {MARKER}.")
#: Ids at and just past the 300 characters the indexer accepts (an older index may
#: hold longer ones): Vietnamese letters, so the URL is long once percent-encoded.
ID_300 = ("bản-tin-bình-lục-" * 20)[:300]
ID_301 = ("bản-tin-bình-lục-" * 20)[:301]
ESCAPES = "\x1b]0;pwned\x07\x1b[31m"
ESCAPE_TITLE = f"Tin đỏ {ESCAPES}Bình Lục\x9b2J hết"
#: Articles an earlier indexer stored as they were.
LEGACY_LONG_ID = ("tin-cũ-rất-dài-" * 30)[:400]
LEGACY_ESCAPES_ID = "tieu-de-cu"
HOSTILE = [
    {"id": ID_300, "title": "Bài có mã dài ba trăm ký tự", "body": BODY},
    {"id": ID_301, "title": "Bài có mã dài ba trăm lẻ một ký tự", "body": BODY},
    {"id": "tieu-de-dieu-khien", "title": ESCAPE_TITLE, "body": BODY, "date": "2022-10-20"},
]
SAMPLE_ID = "000_3fbea2c4a168ddd1"
PAGE_ROUTES = ("/", "/search", "/api/search")
READ_TIMEOUT = 60  # seconds: a liveness bound (a locked-out request never returns), not a speed


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = copy_corpus(tmp_path_factory, "hardening-web")
    lines = (json.dumps(record, ensure_ascii=False) for record in HOSTILE)
    (folder / "hostile.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def index_dir(corpus: Path) -> Path:
    """The corpus indexed by `vnsearch index`, plus two articles of an earlier indexer.

    Today's indexer refuses ids over 300 characters and cleans titles as it
    reads them; an index written before it did may still hold both. They are
    added with the indexer's own schema and document fields, as it wrote them.
    """
    from whoosh import index

    from indexer.article import Article
    from indexer.schema import document_fields

    built = index_beside(corpus)
    old_source = str(corpus / "old.jsonl")
    legacy = [Article(id=LEGACY_LONG_ID, title="Bài cũ có mã rất dài", body=BODY,
                      source=old_source),
              Article(id=LEGACY_ESCAPES_ID, title=ESCAPE_TITLE, body=BODY, date="2021-05-01",
                      source=old_source)]
    writer = index.open_dir(str(built)).writer()
    for article in legacy:
        writer.add_document(**document_fields(article))
    writer.commit()
    return built


@pytest.fixture(scope="module")
def server(index_dir: Path) -> Iterator[Served]:
    served = Served(index_dir)
    yield served
    served.stop()
    assert "Traceback" not in served.output(), served.output()


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    """GET without raising on error statuses (they are what the tests check)."""
    try:
        with urllib.request.urlopen(url, timeout=READ_TIMEOUT) as reply:
            return reply.status, dict(reply.headers), reply.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode("utf-8", "replace")


def raw_exchange(port: int, request: bytes, body: bytes = b"") -> tuple[int, dict[str, str]]:
    """Send bytes as they are on one connection; (status, headers) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as sock:
        sock.sendall(request)
        try:
            sock.sendall(body)
        except OSError:  # the server may refuse the body and close: its answer is waiting
            pass
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert head[0].startswith("HTTP/1."), data[:200]
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(head[0].split()[1]), headers


def article_paths(doc_id: str) -> list[str]:
    quoted = quote(doc_id, safe="")
    return [f"/article/{quoted}", f"/api/article/{quoted}"]


# --------------------------------------------------------------------------- connections


def test_idle_connection_flood_does_not_lock_out_visitors(index_dir: Path) -> None:
    """Three times the connection limit in idle sockets: a visitor is still answered.

    The idle sockets fill every slot and the listen backlog; at the limit the
    server closes connections that stay idle to make room, so the visitor's
    request is answered instead of waiting for the idle ones to time out.
    """
    served = Served(index_dir, "--connection-limit", "20")
    idle: list[socket.socket] = []
    try:
        for _ in range(60):
            idle.append(socket.create_connection(("127.0.0.1", served.port), timeout=10))
        status, _headers, body = fetch(f"{served.url}/api/search?q=binh+luc")
        assert status == 200 and json.loads(body)["total"] >= 1
        for _ in range(3):  # and again, while the flood is still open
            assert fetch(f"{served.url}/api/suggest?q=bin")[0] == 200
    finally:
        for sock in idle:
            sock.close()
        served.stop()
    assert "Traceback" not in served.output()


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_request_body_on_get_is_refused_before_buffering(server: Served, framing: str) -> None:
    """A GET announcing 200 MB (or streaming chunks) gets 413 after a few KB, not a buffer."""
    if framing == "content-length":
        head = b"Content-Length: 200000000\r\n"
        body = b"x" * (128 * 1024)
    else:
        head = b"Transfer-Encoding: chunked\r\n"
        body = b"%x\r\n" % 200_000_000 + b"x" * (128 * 1024)
    status, _headers = raw_exchange(
        server.port,
        b"GET /api/search?q=binh HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + b"\r\n",
        body,
    )
    assert status == 413
    assert fetch(f"{server.url}/api/search?q=binh")[0] == 200  # still serving


# --------------------------------------------------------------------------- parameters

HUGE = "9" * 5000
ODD_NUMBERS = [HUGE, "0" * 5000 + "7", "-1", "-" + HUGE, "1.5", "1e3", "0x10", "١٢", "٣",
               "１２", "+3", " 4 ", "", "0", "NaN", "²"]
NUMERIC = [(route, name) for route in PAGE_ROUTES for name in ("page", "per_page")]
NUMERIC.append(("/api/suggest", "limit"))


@pytest.mark.parametrize(("route", "name"), NUMERIC, ids=lambda v: str(v))
def test_numeric_parameters_are_400_or_used_never_500(server: Served, route: str,
                                                      name: str) -> None:
    for value in ODD_NUMBERS:
        query = urlencode({"q": "binh luc", name: value})
        status, headers, body = fetch(f"{server.url}{route}?{query}")
        assert status in (200, 400), (route, name, value[:20], status, body[:300])
        assert "Traceback" not in body
        if value in (HUGE, "-1", "1.5", "١٢"):
            assert status == 400, (route, name, value[:20])
            if route.startswith("/api/"):
                assert json.loads(body)["error"]["message"]
            else:
                assert "Yêu cầu không hợp lệ" in body


# --------------------------------------------------------------------------- redirects

ODD_PATHS = ["/article//x", f"/article//{SAMPLE_ID}", "//x", "//evil.com/", "/api//search",
             "/api/article//x", "/static//style.css", "/search/", "/search//", "/article/x/",
             f"/article/{SAMPLE_ID}/", "/favicon.ico", "//favicon.ico", "/static/",
             "/api/search/", "/%2F%2Fevil.com/", "/article/%2F%2Fevil.com"]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_no_redirect_leaves_the_site(server: Served, path: str) -> None:
    """Whatever Host a client claims, a Location header never names another host."""
    for target in (path, f"http://other.example{path}"):
        status, headers = raw_exchange(
            server.port,
            f"GET {target} HTTP/1.1\r\nHost: evil.com\r\nConnection: close\r\n\r\n".encode(),
        )
        assert status < 500, (target, status)
        location = headers.get("location")
        if location is not None:
            parts = urlsplit(location)
            assert not parts.scheme and not parts.netloc, (target, location)
            assert location.startswith("/") and not location.startswith("//"), location


# --------------------------------------------------------------------------- ids and paths


def test_every_listed_id_opens(server: Served) -> None:
    """An id the index holds opens as a page and in the API, however long it is."""
    data = json.loads(fetch(f"{server.url}/api/search?q={MARKER}&per_page=100")[2])
    ids = [hit["id"] for hit in data["hits"]]
    assert ID_300 in ids and LEGACY_LONG_ID in ids
    search_page = fetch(f"{server.url}/search?q={MARKER}&per_page=100")[2]
    for doc_id in ids:
        page, api = article_paths(doc_id)
        status = fetch(server.url + page)[0]
        assert status == 200, (len(doc_id), status)
        status, _headers, body = fetch(server.url + api)
        assert status == 200 and json.loads(body)["id"] == doc_id, (len(doc_id), status)
        assert f'href="{page}' in search_page, "the results link to the same URL"


def test_no_response_names_the_servers_folders(server: Served, corpus: Path,
                                               index_dir: Path) -> None:
    """`source` is the file inside the indexed folder, in the API, pages and CLI alike."""
    secrets = {str(corpus.resolve().parent), str(corpus.parent), str(REPO)}
    bodies = []
    api = json.loads(fetch(f"{server.url}/api/search?q={MARKER}&per_page=100")[2])
    sources = {hit["id"]: hit["source"] for hit in api["hits"]}
    assert sources[ID_300] == "hostile.jsonl" and sources[LEGACY_LONG_ID] == "old.jsonl"
    sample = json.loads(fetch(f"{server.url}/api/article/{SAMPLE_ID}")[2])
    assert sample["source"] == f"{SAMPLE_ID}.txt"
    for path in [f"/search?q={MARKER}", "/?q=binh+luc", "/api/search?q=binh+luc",
                 "/api/suggest?q=binh", *article_paths(SAMPLE_ID),
                 *article_paths(LEGACY_LONG_ID), "/article/nope", "/api/article/nope",
                 "/api/search?page=" + HUGE]:
        bodies.append(fetch(server.url + path)[2])
    cli = subprocess.run(
        [sys.executable, "-m", "vnsearch", "search", MARKER, "--index", str(index_dir),
         "--per-page", "100", "--json"],
        cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=300, check=True,
    )
    bodies.append(cli.stdout)
    for body in bodies:
        for secret in secrets:
            assert secret not in body
    # `--json` is exactly the API's JSON (but the time it took)
    from_cli = json.loads(cli.stdout)
    assert {**from_cli, "took_ms": 0} == {**api, "took_ms": 0}


# --------------------------------------------------------------------------- command line


def test_serve_warns_when_open_to_the_network(index_dir: Path, server: Served) -> None:
    served = Served(index_dir, "--host", "0.0.0.0")
    try:
        assert fetch(f"{served.url}/api/search?q=binh")[0] == 200
    finally:
        served.stop()
    warning = served.output().split("Serving")[0]
    assert "WARNING" in warning and "open to the network" in warning
    assert "open to the network" not in server.output()  # loopback: no warning


def terminal_output(index_dir: Path, query: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "vnsearch", "search", query, "--index", str(index_dir),
         "--per-page", "100"],
        cwd=REPO, capture_output=True, timeout=300, check=True,
    )
    return result.stdout.decode("utf-8")


def test_search_output_keeps_escape_sequences_off_the_terminal(index_dir: Path) -> None:
    """Control characters in a title or the query are shown as text, never acted on."""
    out = terminal_output(index_dir, f"{MARKER} {ESCAPES}")
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", out), repr(out)
    assert LEGACY_ESCAPES_ID in out  # the old article is listed...
    assert "Tin đỏ \\x1b]0;pwned\\x07\\x1b[31mBình Lục\\x9b2J hết" in out  # ...made visible
    assert f"«{MARKER} \\x1b]0;pwned\\x07\\x1b[31m»" in out  # and so is the query


# --------------------------------------------------------------------------- fuzzing

ROUTES = ["/", "/search", "/api/search", "/api/suggest", f"/article/{SAMPLE_ID}",
          f"/api/article/{SAMPLE_ID}"]
NAMES = ["q", "page", "per_page", "limit", "sort", "province", "district", "commune",
         "province_2025", "directive", "year", "x", ""]
VALUES = st.one_of(
    st.text(max_size=30).map(lambda v: quote(v, safe="")),
    st.binary(max_size=12).map(lambda b: "".join(f"%{byte:02x}" for byte in b)),
    st.sampled_from([HUGE, "-" + HUGE, "1" * 4301, "0" * 4400, quote("١٢"), "1e309", "%", "%zz",
                     "%ff", "%00", "+", "&&", "=", "..%2f..%2f", "%2e%2e"]),
    st.integers(-(10**30), 10**30).map(str),
)
PATH_SEGMENTS = st.one_of(
    st.sampled_from(["", ".", "..", "%2e%2e", "%2F", "//", "x", SAMPLE_ID, quote(ID_300),
                     "%ff", "%00", "a%2Fb", "~", "static", "api", "article"]),
    st.text(max_size=12).map(lambda v: quote(v, safe="/")),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route=st.sampled_from(ROUTES),
       pairs=st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=5),
       segments=st.lists(PATH_SEGMENTS, max_size=3))
def test_odd_requests_never_fail(server: Served, corpus: Path, route: str,
                                 pairs: list[tuple[str, str]], segments: list[str]) -> None:
    """Odd query strings on every route, odd paths under every prefix: no 500, no leak."""
    query = "&".join(f"{k}={v}" for k, v in pairs)
    for path in (route, route.rsplit("/", 1)[0] + "/" + "/".join(segments)):
        status, headers, body = fetch(f"{server.url}{path or '/'}?{query}")
        assert status in (200, 301, 400, 404, 405), (path, query[:200], status, body[:300])
        assert "Traceback" not in body
        assert str(corpus.parent) not in body and str(REPO) not in body
        location = headers.get("Location")
        assert location is None or location.startswith("/") and not location.startswith("//")
