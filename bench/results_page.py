"""The results page at real size: bytes of HTML, checkboxes, Tab presses to the first result.

Starts `vnsearch serve` on a built index (a real server on loopback), loads the
results page of a query in Debian's Chromium (Playwright) and prints:
- the HTML size as sent without compression and with gzip,
- how many facet checkboxes the page holds, how many come before the first
  "Xem thêm", and how many are visible without opening anything,
- how many Tab presses take the keyboard from the search box to the first result.

    xz -dc ../shared/data/crawl-news-2026-sample/crawl_news_2026.jsonl.xz > /tmp/c/crawl.jsonl
    .venv/bin/vnsearch index /tmp/c --index /tmp/ix
    .venv/bin/python bench/results_page.py --index /tmp/ix --query "giao thong"
    git archive <commit> | tar -x -C /tmp/base   # the same figures for an older version:
    .venv/bin/python bench/results_page.py --index /tmp/ix --source /tmp/base
"""

from __future__ import annotations

import argparse
import gzip
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
#: Tab presses tried before giving up on reaching the first result.
MAX_TABS = 300

#: Checkbox counts, in document order: all, before the first "Xem thêm", visible on load.
COUNT_CHECKBOXES = """() => {
  const boxes = [...document.querySelectorAll('input[type="checkbox"]')];
  const more = [...document.querySelectorAll('summary')]
    .find(s => s.textContent.includes('Xem thêm'));
  const before = more ? boxes.filter(b => b.compareDocumentPosition(more)
    & Node.DOCUMENT_POSITION_FOLLOWING).length : boxes.length;
  const visible = boxes.filter(b => b.checkVisibility()).length;
  return {checkboxes: boxes.length, before_more: before, visible_on_load: visible};
}"""


def tabs_to_first_result(page: Page) -> int | None:
    """Tab presses from the focused search box until the first result's link has focus."""
    page.locator("#q").focus()
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.querySelector('.hit__title a')"):
            return presses
    return None


def measure(page: Page, base_url: str, query: str) -> dict[str, object]:
    """Every figure for the results page of `query` (the page object must be fresh)."""
    url = f"{base_url}/search?{urlencode({'q': query})}"
    with urllib.request.urlopen(url) as response:  # noqa: S310 (loopback)
        html = response.read()
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as response:  # noqa: S310
        sent = response.read()
        encoding = response.headers.get("Content-Encoding")
    assert encoding != "gzip" or gzip.decompress(sent).startswith(b"<!doctype html>")
    page.goto(url)
    figures: dict[str, object] = {"query": query, "html_bytes": len(html),
                                  "gzip_bytes": len(sent) if encoding == "gzip" else None}
    figures.update(page.evaluate(COUNT_CHECKBOXES))
    figures["tabs_to_first_result"] = tabs_to_first_result(page)
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--query", action="append", help="repeatable (default: giao thong)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--screenshot", type=Path, help="save the page here (PNG)")
    parser.add_argument("--source", type=Path, default=REPO,
                        help="serve the code of this checkout (e.g. an older commit, "
                             "for a baseline); default: this one")
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "vnsearch", "serve", "--index",
                               str(args.index), "--port", str(port)], cwd=args.source)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base_url + "/", timeout=1).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--headless", "--no-sandbox"])
            for query in args.query or ["giao thong"]:
                context = browser.new_context(viewport={"width": args.width, "height": 900})
                page = context.new_page()
                print(json.dumps(measure(page, base_url, query), ensure_ascii=False))
                if args.screenshot:
                    page.screenshot(path=str(args.screenshot), full_page=True)
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
