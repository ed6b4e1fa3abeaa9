"""The results page's research tools over HTTP and the command line: date range, timeline,
undated articles, pages past the end, place names, compression, caching, link previews.

A real index of corpus/ plus tests/data/results_page.jsonl (a Quận 1 article of
2023 and an undated one), built by `vnsearch index` and served by waitress.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import REPO, LiveServer, copy_corpus, index_beside

QUERY = "giao thong"


@pytest.fixture(scope="module")
def results_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = copy_corpus(tmp_path_factory, "results",
                         REPO / "tests" / "data" / "results_page.jsonl")
    return index_beside(corpus)


@pytest.fixture(scope="module")
def server(results_index: Path) -> Iterator[LiveServer]:
    live = LiveServer(results_index)
    yield live
    live.stop()


def fetch(server: LiveServer, path: str, headers: dict[str, str] | None = None,
          **params: object) -> tuple[int, dict[str, str], bytes]:
    url = server.url + path + (f"?{urlencode(params, doseq=True)}" if params else "")
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def page(server: LiveServer, path: str = "/search", **params: object) -> str:
    status, _, body = fetch(server, path, **params)
    assert status == 200, body[:500]
    return body.decode()


def api(server: LiveServer, path: str, **params: object) -> dict:
    status, _, body = fetch(server, path, **params)
    assert status == 200, body[:500]
    return json.loads(body)


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def cli_search(index: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vnsearch", "search", *args, "--index",
                           str(index)], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)


def test_date_range_is_inclusive_and_agrees_everywhere(server: LiveServer,
                                                       results_index: Path) -> None:
    everything = api(server, "/api/search", q=QUERY)
    assert {h["id"] for h in everything["hits"]} >= {"rp-quan1", "rp-undated"}
    march = {"from": "2023-03-01", "to": "2023-03-31"}
    result = api(server, "/api/search", q=QUERY, **march)
    assert [h["id"] for h in result["hits"]] == ["rp-quan1"]
    assert (result["from"], result["to"]) == ("2023-03-01", "2023-03-31")
    # Both ends inclusive; one day later and nothing is left.
    assert api(server, "/api/search", q=QUERY, **{"from": "2023-03-15", "to": "2023-03-15"}
               )["total"] == 1
    after = api(server, "/api/search", q=QUERY, per_page=100, **{"from": "2023-03-16"})
    assert "rp-quan1" not in {h["id"] for h in after["hits"]}
    assert all(h["date"] and h["date"] >= "2023-03-16" for h in after["hits"])
    before = api(server, "/api/search", q=QUERY, to="2023-03-14", per_page=100)
    assert "rp-quan1" not in {h["id"] for h in before["hits"]}
    assert all(h["date"] and h["date"] <= "2023-03-14" for h in before["hits"])
    # The command line prints the same JSON (the timing aside).
    cli = cli_search(results_index, QUERY, "--from", "2023-03-01", "--to", "2023-03-31",
                     "--json")
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)
    assert [h["id"] for h in printed["hits"]] == ["rp-quan1"]
    assert (printed["from"], printed["to"]) == ("2023-03-01", "2023-03-31")
    bad = cli_search(results_index, QUERY, "--from", "15/03/2023")
    assert bad.returncode == 2 and "--from" in bad.stderr
    # The page shows one result and the range as a removable chip.
    html = page(server, q=QUERY, **march)
    assert "Tìm thấy <strong>1</strong> kết quả" in html
    assert "Ngày: từ 01/03/2023 đến 31/03/2023" in text_of(html)
    assert 'id="date-from" name="from" form="search-form" value="2023-03-01"' in html


def test_bad_or_reversed_dates(server: LiveServer) -> None:
    status, _, body = fetch(server, "/search", q=QUERY, **{"from": "2023-02-30"})
    assert status == 400
    assert "năm-tháng-ngày" in body.decode() and "2023-02-30" in body.decode()
    status, _, body = fetch(server, "/api/search", q=QUERY, to="tomorrow")
    assert status == 400 and json.loads(body)["error"]["status"] == 400
    # A range picked the wrong way round is the same range.
    swapped = api(server, "/api/search", q=QUERY, **{"from": "2023-03-31", "to": "2023-03-01"})
    assert [h["id"] for h in swapped["hits"]] == ["rp-quan1"]


def test_undated_articles_are_counted_not_dropped(server: LiveServer) -> None:
    result = api(server, "/api/search", q=QUERY)
    years = {y["value"]: y for y in result["facets"]["year"]}
    assert years["none"]["label"] == "Không rõ ngày" and years["none"]["count"] == 1
    only = api(server, "/api/search", q=QUERY, year="none")
    assert [h["id"] for h in only["hits"]] == ["rp-undated"]
    assert only["filters"]["year"] == ["none"]
    html = page(server, q=QUERY)
    assert re.search(r'name="year" value="none" form="search-form"><label[^>]*>Không rõ ngày',
                     html)
    timeline = api(server, "/api/timeline", q=QUERY)
    assert timeline["undated"] == 1
    assert "Không rõ ngày: 1 bài" in text_of(page(server, q=QUERY))


def test_timeline_api_and_chart(server: LiveServer) -> None:
    query = "xay dung chinh don dang"
    timeline = api(server, "/api/timeline", q=query)
    months = [b["month"] for b in timeline["buckets"]]
    assert months == sorted(months) and len(months) >= 2
    assert all(re.fullmatch(r"\d{4}-\d{2}", m) for m in months)
    counts = {b["month"]: b["count"] for b in timeline["buckets"]}
    assert sum(counts.values()) + timeline["undated"] == api(server, "/api/search",
                                                             q=query)["total"]
    # Months between are listed with 0, so bars stand at their place in time.
    assert 0 in counts.values() or len(months) == len(set(months))
    # The range itself does not hide the other months (a chart to pick from).
    first = months[0]
    ranged = api(server, "/api/timeline", q=query, **{"from": f"{first}-01", "to": f"{first}-28"})
    assert ranged["buckets"] == timeline["buckets"]
    # Every bar of the page's chart is a link selecting its month, labelled with its count.
    html = page(server, q=query)
    bars = re.findall(r'<a href="([^"]+)" class="timeline__bar[^"]*" aria-label="([^"]+)"', html)
    assert len(bars) == len(months)
    url, label = bars[0]
    year, mon = first.split("-")
    assert f"from={first}-01" in unescape(url) and "to=" in unescape(url)
    assert label == f"tháng {int(mon)}/{year}: {counts[first]} bài"
    # The twin is linked from the page.
    assert "/api/timeline?q=xay+dung+chinh+don+dang" in html


def test_a_page_past_the_end_says_so(server: LiveServer) -> None:
    total = api(server, "/api/search", q=QUERY, per_page=1)["total"]
    assert total >= 2
    html = page(server, q=QUERY, per_page=1, page=50)
    assert "Không có trang 50" in html
    assert f"chỉ có {total} trang" in text_of(html)
    assert 'class="hit"' not in html
    assert f"page={total}&amp;per_page=1" in html  # a link to the last page


def test_numbered_districts_read_with_their_unit_word(server: LiveServer) -> None:
    html = page(server, q="pho di bo nguyen hue")
    # The hit's badge and the opened province's branch say "Quận 1", never a bare "1".
    assert "Quận 1" in text_of(html) or "Sài Gòn" in text_of(html)
    branch = page(server, "/facet-branch", q="pho di bo nguyen hue", tree="2022",
                  parent="Hồ Chí Minh")
    assert re.search(r'name="district" value="1" form="search-form"><label[^>]*>Quận 1 ', branch)
    assert "Bến Nghé" in branch
    chip = page(server, q="pho di bo nguyen hue", district="1")
    assert "Quận/huyện: Quận 1" in text_of(chip)
    # A province's branch needs a known tree and a parent.
    assert fetch(server, "/facet-branch", q=QUERY, tree="x", parent="Hà Nam")[0] == 400


def test_sidebar_shows_2025_places_first_and_folds_below_the_province(server: LiveServer
                                                                      ) -> None:
    html = page(server, q="xay dung chinh don dang")
    first_2025 = html.index('data-facet="province_2025"')
    assert first_2025 < html.index('data-facet="locality"')
    # Districts and communes wait behind their province until it is opened.
    assert 'name="district"' not in html and 'name="commune"' not in html
    assert re.search(r'<li data-folded="\d+"><input type="checkbox"[^>]+name="province"', html)
    # A ticked district keeps its branch open, so the choice stays in view.
    ticked = page(server, q="xay dung chinh don dang", district="Bình Lục")
    assert re.search(r'name="district" value="Bình Lục" form="search-form" checked', ticked)


def test_messages_use_plain_words(server: LiveServer) -> None:
    status, _, body = fetch(server, "/search", q=QUERY, sort="best")
    assert status == 400 and "relevance" not in body.decode()
    status, _, body = fetch(server, "/article/no-such-article")
    assert status == 404 and "chỉ mục" not in body.decode()
    status, _, body = fetch(server, "/search", q=QUERY, province=[f"p{i}" for i in range(60)])
    message = re.search(r"<h1 id=\"error-title\">.*?</section>", body.decode(), re.S)
    assert status == 400 and message and "province" not in message.group(0)


def test_text_is_compressed_and_static_files_are_cached_by_content(server: LiveServer) -> None:
    status, headers, body = fetch(server, "/search", headers={"Accept-Encoding": "gzip"},
                                  q=QUERY)
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(body).startswith(b"<!doctype html>")
    assert len(body) < len(gzip.decompress(body)) / 3
    status, headers, body = fetch(server, "/api/search", headers={"Accept-Encoding": "gzip"},
                                  q=QUERY)
    assert headers.get("Content-Encoding") == "gzip" and json.loads(gzip.decompress(body))
    html = page(server, q=QUERY)
    for name in ("style.css", "app.js"):
        url = re.search(rf'"(/static/{re.escape(name)}\?v=[0-9a-f]+)"', html)
        assert url, name
        digest = hashlib.sha256((REPO / "webapp" / "static" / name).read_bytes()).hexdigest()
        assert url.group(1).endswith(digest[:12])
        status, headers, _ = fetch(server, url.group(1))
        assert status == 200
        assert "max-age=31536000" in headers["Cache-Control"]
        assert "immutable" in headers["Cache-Control"]
        # A URL that names another version of the file is not cached for long.
        status, headers, _ = fetch(server, f"/static/{name}?v=000000000000")
        assert headers["Cache-Control"] == "no-cache"


def test_article_page_has_link_preview_tags(server: LiveServer) -> None:
    html = page(server, "/article/rp-quan1")
    title = re.search(r'<meta property="og:title" content="([^"]*)">', html)
    assert title and unescape(title.group(1)) == (
        "Quận 1 phân luồng giao thông phố đi bộ Nguyễn Huệ")
    description = re.search(r'<meta name="description" content="([^"]*)">', html)
    assert description and unescape(description.group(1)).startswith("Ủy ban nhân dân Quận 1")
    assert '<meta property="og:type" content="article">' in html
    assert '<meta property="article:published_time" content="2023-03-15">' in html


def test_snippet_keeps_a_few_words_before_the_first_match(server: LiveServer) -> None:
    result = api(server, "/api/search", q="ham chui le van luong")
    hit = next(h for h in result["hits"] if h["id"] == "rp-context")
    before = hit["snippet"].split("<mark>")[0].strip(" …")
    assert len(before.split()) >= 3, hit["snippet"]
