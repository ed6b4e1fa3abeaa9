"""Exports, the Atom feed and article sources, against the real `vnsearch serve`.

The index is built by `vnsearch index` from the sample corpus plus
`sources.jsonl` (articles with web addresses, outlets, captions, a title that
a spreadsheet would run as a formula, and more hits than one engine page) and
a saved HTML page with a canonical link. Exports are downloaded over HTTP and
parsed back with the csv module, JSON and feedparser, as a user's tools would.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import feedparser
import pytest
from conftest import REPO, copy_corpus, index_beside
from playwright.sync_api import Browser, expect, sync_playwright
from test_hardening_web import Served, fetch

#: A word only the generated articles hold; more of them than one engine page (100).
MARKER = "vnsexport"
BULK = 130
FORMULA_TITLE = '=HYPERLINK("http://evil.example","bấm") vnsexport công thức'
CODE = "05-HD/BTCTU"
CAPTION = "Lãnh đạo xã kiểm tra tuyến đường mới. Ảnh: TTXVN"
SOURCES = [
    {"id": "src-url", "title": f"Giao thông nông thôn {MARKER} ở Bình Lục",
     "date": "2026-02-03", "source": "vnexpress.net",
     "source_url": "https://www.vnexpress.net/giao-thong-nong-thon-1.html",
     "body": f"{CAPTION}\nHuyện Bình Lục, tỉnh Hà Nam làm đường giao thông nông thôn theo "
             f"Hướng dẫn {CODE} của Ban Tổ chức Tỉnh ủy. Đường bê tông dài 10 km."},
    {"id": "src-source-only", "title": f"Tin {MARKER} của báo in", "date": "2026-02-02",
     "source": "Báo Nhân Dân", "url": "javascript:alert(1)",
     "body": "Bản tin in của báo về giao thông dịp Tết, không có địa chỉ trên mạng."},
    {"id": "src-formula", "title": FORMULA_TITLE, "date": "2026-02-01",
     "url": "http://dantri.com.vn/xa-hoi/bai.htm",
     "body": "(Ảnh minh họa)\n-1 là giá trị kiểm tra; @ và + ở đầu ô không được chạy "
             "thành công thức."},
    {"id": "src-undated", "title": f"Bài {MARKER} không có ngày",
     "body": "Bài viết không ghi ngày đăng, một feed không xếp được nó theo thời gian."},
    *({"id": f"bulk-{n:03d}", "title": f"Tin ngắn {MARKER} số {n}",
       "date": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}",
       "source_url": f"https://tuoitre.vn/tin-{n}.htm",
       "body": f"Bản tin số {n} về giao thông."} for n in range(BULK)),
]
HTML_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>Khánh thành cầu mới</title>
<link rel="canonical" href="https://thanhnien.vn/khanh-thanh-cau-moi.html">
</head><body><article><h1>Khánh thành cầu mới vnsexport</h1>
<p>Sáng nay, tỉnh Hà Nam khánh thành cây cầu mới nối hai bờ sông Châu, giúp người dân
đi lại thuận tiện hơn trong mùa mưa lũ và dịp Tết Nguyên đán sắp tới.</p>
<p>Công trình được xây dựng trong hai năm với tổng vốn đầu tư hơn 200 tỷ đồng.</p>
</article></body></html>"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = copy_corpus(tmp_path_factory, "exports")
    lines = (json.dumps(record, ensure_ascii=False) for record in SOURCES)
    (folder / "sources.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "cau-moi.html").write_text(HTML_PAGE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def index_dir(corpus: Path) -> Path:
    return index_beside(corpus)


@pytest.fixture(scope="module")
def server(index_dir: Path) -> Iterator[Served]:
    served = Served(index_dir)
    yield served
    served.stop()
    assert "Traceback" not in served.output(), served.output()


def download(url: str) -> tuple[dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=120) as reply:
        assert reply.status == 200
        return dict(reply.headers), reply.read()


def all_api_hits(server: Served, **params: object) -> list[dict]:
    """Every hit of a search, read page by page from /api/search."""
    hits: list[dict] = []
    page = 1
    while True:
        query = urlencode({**params, "page": page, "per_page": 100}, doseq=True)
        result = json.loads(fetch(f"{server.url}/api/search?{query}")[2])
        hits.extend(result["hits"])
        if page >= result["pages"]:
            return hits
        page += 1


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --------------------------------------------------------------------------- exports


def test_csv_export_holds_every_hit_in_the_search_order(server: Served) -> None:
    hits = all_api_hits(server, q=MARKER, sort="date")
    assert len(hits) > 100  # more than one engine page
    headers, data = download(f"{server.url}/export.csv?{urlencode({'q': MARKER, 'sort': 'date'})}")
    assert headers["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="ket-qua-vnsexport.csv"' == headers["Content-Disposition"]
    rows = read_csv(data)
    assert [row["id"] for row in rows] == [hit["id"] for hit in hits]
    by_id = {row["id"]: row for row in rows}
    first = by_id["src-url"]
    assert first["title"] == f"Giao thông nông thôn {MARKER} ở Bình Lục"  # Vietnamese intact
    assert (first["outlet"], first["url"]) == (
        "vnexpress.net", "https://www.vnexpress.net/giao-thong-nong-thon-1.html")
    assert "Hà Nam" in first["province"] and "Ninh Bình" in first["province_2025"]
    assert first["directives"] == CODE
    assert first["date"] == "2026-02-03"


def test_csv_cells_never_become_formulas(server: Served) -> None:
    _, data = download(f"{server.url}/export.csv?q={MARKER}")
    rows = {row["id"]: row for row in read_csv(data)}
    assert rows["src-formula"]["title"] == "'" + FORMULA_TITLE  # quotes and commas kept
    for row in rows.values():
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@"))


def test_jsonl_export_follows_filters_and_order(server: Served) -> None:
    params = {"q": MARKER, "outlet": "tuoitre.vn"}
    hits = all_api_hits(server, **params)
    headers, data = download(f"{server.url}/export.jsonl?{urlencode(params)}")
    assert headers["Content-Type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert len(records) == BULK
    assert [r["id"] for r in records] == [hit["id"] for hit in hits]
    assert {r["outlet"] for r in records} == {"tuoitre.vn"}
    assert all(r["url"].startswith("https://tuoitre.vn/") for r in records)
    sample = json.loads(download(f"{server.url}/export.jsonl?q=binh+luc+{MARKER}")[1]
                        .decode().splitlines()[0])
    assert sample["id"] == "src-url"
    assert {"province": "Hà Nam", "district": "Bình Lục"}.items() <= \
        sample["localities"][0].items()
    assert sample["localities"][0]["province_2025"] == "Ninh Bình"
    assert sample["directives"][0]["code"] == CODE


def test_exports_of_an_empty_or_bad_search(server: Served) -> None:
    _, data = download(f"{server.url}/export.csv?q=zzqxyw")
    assert read_csv(data) == []
    assert download(f"{server.url}/export.jsonl?q=zzqxyw")[1] == b""
    status, _, body = fetch(f"{server.url}/export.csv?q={MARKER}&sort=nope")
    assert status == 400 and "sắp xếp" in body


# --------------------------------------------------------------------------- feed


def test_feed_is_valid_atom_newest_first(server: Served) -> None:
    _, data = download(f"{server.url}/feed.atom?q={MARKER}")
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert MARKER in feed.feed.title
    entries = feed.entries
    assert len(entries) == 50  # the newest, not the whole set
    dates = [entry.updated_parsed for entry in entries]
    assert dates == sorted(dates, reverse=True)
    assert entries[0].title == f"Giao thông nông thôn {MARKER} ở Bình Lục"
    links = {link.rel: link.href for link in entries[0].links}
    assert links["alternate"] == f"{server.url}/article/src-url"
    assert links["related"] == "https://www.vnexpress.net/giao-thong-nong-thon-1.html"
    assert all(entry.id.startswith("urn:vnsearch:article:") for entry in entries)
    assert "src-undated" not in {entry.id.rsplit(":", 1)[1] for entry in entries}


def test_feed_of_a_filter_only_search(server: Served) -> None:
    _, data = download(f"{server.url}/feed.atom?directive={CODE}")
    feed = feedparser.parse(data)
    assert not feed.bozo
    assert [entry.title for entry in feed.entries][:1] == [
        f"Giao thông nông thôn {MARKER} ở Bình Lục"]


def test_results_page_links_to_exports_and_feed(server: Served) -> None:
    status, _, html = fetch(f"{server.url}/search?q={MARKER}&page=2")
    assert status == 200
    found = dict(re.findall(r'<a href="(/(?:export\.\w+|feed\.atom)[^"]*)"[^>]*>([^<]+)</a>',
                            html))
    links = {label: href.replace("&amp;", "&") for href, label in found.items()}
    assert set(links) == {"CSV", "JSONL", "Atom (theo dõi)"}
    assert all("page=" not in href for href in links.values())  # the whole set, not page 2
    rows = read_csv(download(server.url + links["CSV"])[1])
    assert len(rows) == len(all_api_hits(server, q=MARKER))
    assert not feedparser.parse(download(server.url + links["Atom (theo dõi)"])[1]).bozo
    assert 'type="application/atom+xml"' in html.split("</head>")[0]


# --------------------------------------------------------------------------- sources


def test_source_url_and_outlet_are_stored_and_shown(server: Served) -> None:
    article = json.loads(fetch(f"{server.url}/api/article/src-url")[2])
    assert article["source_url"] == "https://www.vnexpress.net/giao-thong-nong-thon-1.html"
    assert article["outlet"] == "vnexpress.net"
    page = fetch(f"{server.url}/article/src-url")[2]
    assert ('<a class="article__source" href="https://www.vnexpress.net/giao-thong-nong-thon-1'
            '.html" rel="noopener noreferrer nofollow">Bài gốc</a>') in page
    assert "Nguồn: vnexpress.net" in page
    # a `javascript:` address is never stored; the outlet then comes from `source`
    other = json.loads(fetch(f"{server.url}/api/article/src-source-only")[2])
    assert (other["source_url"], other["outlet"]) == (None, "Báo Nhân Dân")
    assert "Bài gốc" not in fetch(f"{server.url}/article/src-source-only")[2]
    # a saved HTML page: its canonical address; a scraped .txt page: none
    html_page = json.loads(fetch(f"{server.url}/api/article/cau-moi")[2])
    assert (html_page["source_url"], html_page["outlet"]) == (
        "https://thanhnien.vn/khanh-thanh-cau-moi.html", "thanhnien.vn")
    txt = json.loads(fetch(f"{server.url}/api/article/000_3fbea2c4a168ddd1")[2])
    assert txt["source_url"] is None and txt["outlet"] is None


def test_outlet_facet_filters_on_page_api_and_cli(server: Served, index_dir: Path) -> None:
    result = json.loads(fetch(f"{server.url}/api/search?q={MARKER}")[2])
    counts = {e["value"]: e["count"] for e in result["facets"]["outlet"]}
    assert counts == {"tuoitre.vn": BULK, "vnexpress.net": 1, "Báo Nhân Dân": 1,
                      "dantri.com.vn": 1, "thanhnien.vn": 1}
    filtered = json.loads(fetch(f"{server.url}/api/search?q={MARKER}&outlet=vnexpress.net")[2])
    assert [hit["id"] for hit in filtered["hits"]] == ["src-url"]
    assert filtered["hits"][0]["outlet"] == "vnexpress.net"
    page = fetch(f"{server.url}/search?{urlencode({'q': MARKER, 'outlet': 'Báo Nhân Dân'})}")[2]
    assert page.count('class="hit"') == 1
    assert '<span class="hit__outlet">Báo Nhân Dân</span>' in page
    assert 'data-facet="outlet"' in page
    cli = subprocess.run(
        [sys.executable, "-m", "vnsearch", "search", MARKER, "--index", str(index_dir),
         "--outlet", "vnexpress.net", "--json"],
        cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=300, check=True)
    assert [hit["id"] for hit in json.loads(cli.stdout)["hits"]] == ["src-url"]


def test_no_response_names_a_server_path(server: Served, corpus: Path) -> None:
    """Ids and paths inside the indexed folder only: API, pages, exports and feed."""
    secrets = {str(corpus), str(corpus.resolve()), str(corpus.parent), str(REPO)}
    bodies = [fetch(server.url + path)[2] for path in (
        f"/api/search?q={MARKER}&per_page=100", "/api/search?q=binh+luc",
        "/api/article/src-url", "/api/article/000_3fbea2c4a168ddd1", "/api/article/cau-moi",
        f"/export.csv?q={MARKER}", f"/export.jsonl?q={MARKER}", "/export.jsonl?q=binh+luc",
        f"/feed.atom?q={MARKER}", f"/search?q={MARKER}", "/article/src-url")]
    for body in bodies:
        for secret in secrets:
            assert secret not in body
    sources = {json.loads(line)["source"] for line in bodies[7].splitlines()}
    assert sources and all((corpus / source).is_file() for source in sources)


# --------------------------------------------------------------------------- captions, codes


def test_caption_is_kept_out_of_body_and_snippets(server: Served) -> None:
    article = json.loads(fetch(f"{server.url}/api/article/src-url")[2])
    assert "Ảnh: TTXVN" not in article["body"]
    assert article["body"].startswith("Huyện Bình Lục, tỉnh Hà Nam")
    # a search by filter only shows the start of the body: no caption there either
    result = json.loads(fetch(f"{server.url}/api/search?outlet=vnexpress.net")[2])
    assert result["hits"][0]["snippet"].startswith("Huyện Bình Lục")
    formula = json.loads(fetch(f"{server.url}/api/article/src-formula")[2])
    assert not formula["body"].startswith("(Ảnh minh họa)")


def test_codes_never_break_on_the_page(server: Served) -> None:
    result = json.loads(fetch(f"{server.url}/api/search?q={CODE}")[2])
    assert f"<mark>{CODE}</mark>" in result["hits"][0]["snippet"]  # the JSON as written
    page = fetch(f"{server.url}/search?{urlencode({'q': CODE})}")[2]
    assert "<mark>05\u2011HD/\u2060BTCTU</mark>" in page  # shown unbreakable
    assert "<mark>05-HD/BTCTU</mark>" not in page


def test_cli_prints_the_same_exports(server: Served, index_dir: Path) -> None:
    for fmt in ("csv", "jsonl"):
        cli = subprocess.run(
            [sys.executable, "-m", "vnsearch", "search", MARKER, "--index", str(index_dir),
             "--sort", "date", "--format", fmt],
            cwd=REPO, capture_output=True, timeout=300, check=True)
        web = download(f"{server.url}/export.{fmt}?q={MARKER}&sort=date")[1]
        assert cli.stdout == web


# --------------------------------------------------------------------------- in the browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium must be installed (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.mark.parametrize("width", [1280, 360])
def test_user_downloads_exports_and_follows_the_source(browser: Browser, server: Served,
                                                       width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN",
                                  base_url=server.url, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"/search?q={MARKER}")
    shown = int(page.locator(".results__summary strong").inner_text().replace(".", ""))
    exports = page.locator(".results__exports")
    expect(exports).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"exports-results-{width}.png"))
    with page.expect_download() as csv_download:
        exports.get_by_role("link", name="CSV").click()
    rows = read_csv(Path(csv_download.value.path()).read_bytes())
    assert len(rows) == shown and csv_download.value.suggested_filename.endswith(".csv")
    with page.expect_download() as jsonl_download:
        exports.get_by_role("link", name="JSONL").click()
    lines = Path(jsonl_download.value.path()).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [row["id"] for row in rows]
    feed_href = exports.get_by_role("link", name="Atom (theo dõi)").get_attribute("href")
    feed = feedparser.parse(page.request.get(feed_href).body())
    assert not feed.bozo and len(feed.entries) == 50
    # the result's outlet, then the article's link to the original
    page.goto(f"/search?q={MARKER} giao thông nông thôn Bình Lục")
    hit = page.locator(".hit", has_text="Giao thông nông thôn")
    expect(hit.locator(".hit__outlet")).to_have_text("vnexpress.net")
    hit.get_by_role("link").first.click()
    source = page.get_by_role("link", name="Bài gốc")
    expect(source).to_have_attribute(
        "href", "https://www.vnexpress.net/giao-thong-nong-thon-1.html")
    expect(source).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    page.screenshot(path=str(ARTIFACTS / f"exports-article-{width}.png"))
    context.close()
    assert not errors, errors


def test_a_code_never_wraps_inside(browser: Browser, server: Served) -> None:
    """At every width wider than the code, the marked `05-HD/BTCTU` stays on one line."""
    context = browser.new_context(viewport={"width": 360, "height": 800}, base_url=server.url)
    page = context.new_page()
    page.goto(f"/search?{urlencode({'q': CODE})}")
    lines = page.evaluate("""() => {
        const snippet = document.querySelector('.hit__snippet');
        const mark = [...snippet.querySelectorAll('mark')].find(m => m.textContent.length > 8);
        const counts = [];
        for (let w = 120; w <= 400; w += 2) {  // wider than the code itself
            snippet.style.width = w + 'px';
            counts.push(mark.getClientRects().length);
        }
        return counts;
    }""")
    assert set(lines) == {1}
    context.close()
