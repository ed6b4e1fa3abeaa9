"""The web site in a real browser: Debian's Chromium driven by Playwright.

Each test walks one thing a user does, on the live server over the sample
index, and saves screenshots of the states it reaches to tests/artifacts/.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import LiveServer
from playwright.sync_api import Browser, Page, expect, sync_playwright
from unidecode import unidecode

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
QUERY = "xay dung chinh don dang"


def fold(text: str) -> str:
    return unidecode(unicodedata.normalize("NFC", text)).lower()


def params(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def shot(page: Page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def total(page: Page) -> int:
    text = page.locator(".results__summary strong").inner_text()
    return int(text.replace(".", ""))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for this module, closed after it (Playwright's sync API keeps an
    event loop running in this thread while it is open)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium must be installed (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh desktop-sized tab; fails the test on any console error (CSP violations too)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN",
                                  base_url=live_server.url)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, errors


def search_from_home(page: Page, query: str) -> None:
    page.goto("/")
    box = page.get_by_role("combobox", name="Từ khoá tìm kiếm")
    box.click()
    box.press_sequentially(query, delay=20)
    # Enter with no suggestion picked submits what was typed.
    with page.expect_navigation():
        box.press("Enter")


def test_accent_free_query_shows_highlighted_results(page: Page) -> None:
    search_from_home(page, QUERY)
    assert params(page)["q"] == [QUERY]
    hits = page.locator(".hit")
    expect(hits.first).to_be_visible()
    assert hits.count() >= 3
    assert total(page) >= 3
    expect(page.locator(".results__summary")).to_contain_text("giây")
    marked = page.locator(".hit__snippet mark").all_inner_texts()
    assert marked, "snippets highlight the query"
    for m in marked:  # only query words are marked
        words = fold(m).replace(",", " ").split()
        assert words and all(w in QUERY.split() for w in words), m
    assert any(m != fold(m) for m in marked), "the marked words are the accented originals"
    # Badges: every hit shows a date and at least one locality or directive badge.
    first = hits.first
    expect(first.locator("time")).to_have_text(re.compile(r"\d{2}/\d{2}/\d{4}"))
    assert hits.locator(".badge--place, .badge--mentioned").count() >= 1
    assert hits.locator(".badge--directive").count() >= 1
    expect(page.get_by_role("combobox")).to_have_value(QUERY)
    shot(page, "01-results-accent-free")


def test_autocomplete_offers_accented_completions(page: Page) -> None:
    page.goto("/")
    box = page.get_by_role("combobox", name="Từ khoá tìm kiếm")
    box.click()
    box.press_sequentially("chinh do", delay=40)
    options = page.get_by_role("option")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    texts = options.all_inner_texts()
    assert any(t != fold(t) for t in texts), texts
    shot(page, "02-autocomplete")
    box.press("ArrowDown")
    expect(options.first).to_have_attribute("aria-selected", "true")
    chosen = options.first.inner_text()
    with page.expect_navigation():
        box.press("Enter")
    assert params(page)["q"] == [chosen]
    expect(page.locator(".hit").first).to_be_visible()


def test_did_you_mean_links_to_the_accented_query(page: Page) -> None:
    page.goto(f"/search?q={QUERY.replace(' ', '+')}")
    link = page.locator(".did-you-mean a")
    expect(page.locator(".did-you-mean")).to_contain_text("Có phải bạn muốn tìm:")
    suggestion = link.inner_text()
    assert suggestion != fold(suggestion) and fold(suggestion).replace(",", "") == QUERY
    shot(page, "03-did-you-mean")
    with page.expect_navigation():
        link.click()
    assert params(page)["q"] == [suggestion]
    expect(page.get_by_role("combobox")).to_have_value(suggestion)
    expect(page.locator(".hit").first).to_be_visible()
    marked = page.locator(".hit__snippet mark").all_inner_texts()
    assert marked and any(m != fold(m) for m in marked)


def facet_box(page: Page, param: str, value: str | None = None):  # noqa: ANN201
    selector = f'input[type="checkbox"][name="{param}"]'
    if value is not None:
        selector += f'[value="{value}"]'
    return page.locator(selector)


def facet_count(page: Page, param: str, value: str) -> int:
    box = facet_box(page, param, value)
    label = page.locator(f'label[for="{box.get_attribute("id")}"] .facet-item__count')
    return int(re.sub(r"\D", "", label.text_content() or ""))


def directive_facet_counts(page: Page) -> dict[str, int]:
    return {box.get_attribute("value") or "": facet_count(page, "directive",
                                                         box.get_attribute("value") or "")
            for box in facet_box(page, "directive").all()}


def test_ticking_a_province_and_a_directive_filters(page: Page) -> None:
    page.goto(f"/search?q={QUERY.replace(' ', '+')}")
    before = total(page)
    titles_before = page.locator(".hit__title").all_inner_texts()
    province = facet_box(page, "province").first
    province_name = province.get_attribute("value") or ""
    province_count = facet_count(page, "province", province_name)
    assert province_count < before, "the first province does not hold every result"
    directive_counts = directive_facet_counts(page)
    with page.expect_navigation():
        province.check()
    assert params(page)["province"] == [province_name]
    assert total(page) == province_count
    expect(facet_box(page, "province", province_name)).to_be_checked()
    expect(facet_box(page, "province", province_name)).to_be_focused()  # focus comes back
    expect(page.locator(".chip")).to_have_count(1)
    expect(page.locator(".chip").first).to_contain_text(province_name)
    assert page.locator(".hit__title").all_inner_texts() != titles_before
    assert directive_facet_counts(page) != directive_counts, "the other facets are recounted"
    assert sum(directive_facet_counts(page).values()) < sum(directive_counts.values())
    shot(page, "04-filtered-province")

    # Now the directive; its count is computed over the province's results.
    directive = facet_box(page, "directive").first
    code = directive.get_attribute("value") or ""
    count = facet_count(page, "directive", code)
    with page.expect_navigation():
        directive.check()
    assert params(page)["province"] == [province_name]
    assert params(page)["directive"] == [code]
    assert total(page) == count
    expect(page.locator(".chip")).to_have_count(2)
    for hit in page.locator(".hit").all():
        expect(hit.locator(".badge--directive", has_text=code)).to_have_count(1)
    shot(page, "05-filtered-province-directive")

    # Removing the province chip keeps the directive.
    with page.expect_navigation():
        page.locator(".chip", has_text=province_name).click()
    assert "province" not in params(page)
    assert params(page)["directive"] == [code]
    expect(page.locator(".chip")).to_have_count(1)
    expect(facet_box(page, "directive", code)).to_be_checked()
    assert total(page) >= count
    shot(page, "06-chip-removed")


@pytest.mark.parametrize("per_page", [10, 1])
def test_locality_facet_is_a_tree(page: Page, per_page: int) -> None:
    """Every district sits under its province and every commune under its district,
    also for places that are not among the hits on screen (per_page=1)."""
    page.goto(f"/search?q={QUERY.replace(' ', '+')}&per_page={per_page}")
    group = page.locator('[data-facet="locality"]')
    districts = group.locator('input[name="district"]')
    communes = group.locator('input[name="commune"]')
    assert districts.count() >= 4 and communes.count() >= 2
    parent_of = "xpath=ancestor::li[contains(@class,'facet-item')][2]/input"
    for box in districts.all():
        assert box.locator(parent_of).get_attribute("name") == "province"
    for box in communes.all():
        assert box.locator(parent_of).get_attribute("name") == "district"
    # Bình Lục is a district of Hà Nam: the tree says so.
    binh_luc = group.locator('input[name="district"][value="Bình Lục"]')
    assert binh_luc.locator(parent_of).get_attribute("value") == "Hà Nam"
    if per_page == 10:
        shot(page, "10-locality-tree")


def test_sort_by_date(page: Page) -> None:
    page.goto(f"/search?q={QUERY.replace(' ', '+')}")
    with page.expect_navigation():
        page.get_by_role("link", name="Mới nhất").click()
    assert params(page)["sort"] == ["date"]
    expect(page.get_by_role("link", name="Mới nhất")).to_have_attribute("aria-current", "true")
    dates = page.locator(".hit time").evaluate_all("els => els.map(e => e.dateTime)")
    assert len(dates) >= 3 and dates == sorted(dates, reverse=True)
    shot(page, "07-sorted-by-date")
    # Searching again from the box keeps the order.
    box = page.get_by_role("combobox")
    box.fill("sinh hoat chinh tri")
    with page.expect_navigation():
        box.press("Enter")
    assert params(page)["sort"] == ["date"]


def test_open_an_article(page: Page) -> None:
    page.goto(f"/search?q={QUERY.replace(' ', '+')}")
    first = page.locator(".hit__title a").first
    title = first.inner_text()
    with page.expect_navigation():
        first.click()
    assert urlparse(page.url).path.startswith("/article/")
    expect(page.locator("h1")).to_have_text(title)
    assert page.locator(".article__body mark").count() >= 1
    expect(page.locator(".article__meta time")).to_have_text(re.compile(r"\d{2}/\d{2}/\d{4}"))
    expect(page.get_by_role("link", name=re.compile("Quay lại kết quả"))).to_be_visible()
    shot(page, "08-article")
    place = page.locator(".article-side .badge--place").first
    with page.expect_navigation():
        place.click()
    assert "province" in params(page)
    assert total(page) >= 1


def test_keyboard_reaches_everything_with_visible_focus(page: Page) -> None:
    page.goto(f"/search?q={QUERY.replace(' ', '+')}")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Bỏ qua, đến nội dung chính")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")
    style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert style not in ("none", ""), "focus is visible"
    # A facet can be ticked with the space bar.
    box = facet_box(page, "year").first
    box.focus()
    with page.expect_navigation():
        page.keyboard.press("Space")
    assert "year" in params(page)
    expect(facet_box(page, "year").first).to_be_focused()


@pytest.mark.parametrize("path", [
    "/",
    f"/search?q={QUERY.replace(' ', '+')}",
    f"/search?q={QUERY.replace(' ', '+')}&directive=21-KL%2FTW&sort=date&per_page=2",
    "/article/003_b884a5e5383089b0?q=xay+dung",
    "/article/nope",
])
def test_phone_width_has_no_horizontal_overflow(browser: Browser, live_server: LiveServer,
                                                path: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                                  base_url=live_server.url, is_mobile=True, has_touch=True)
    tab = context.new_page()
    try:
        tab.goto(path)
        width = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width
        name = {"/": "home"}.get(path) or re.sub(r"\W+", "-", path.strip("/"))[:40]
        shot(tab, f"09-phone-{name}", full_page=False)
        if path.startswith("/search"):
            # On a phone the filter panel starts folded, results first; it opens and fits.
            panel = tab.locator(".facets__panel")
            expect(panel).not_to_have_attribute("open", "")
            expect(tab.locator(".hit").first).to_be_in_viewport()
            panel.locator("> summary").click()
            expect(panel).to_have_attribute("open", "")
            width = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], width
            shot(tab, f"09-phone-{name}-filters", full_page=False)
    finally:
        context.close()
