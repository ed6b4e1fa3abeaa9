"""The web site in a real browser: Debian's Chromium driven by Playwright.

Each test walks one thing a user does, on the live server over the sample
index, and saves screenshots of the states it reaches to tests/artifacts/.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import LiveServer
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright
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
    label = page.locator(f'label[for="{box.get_attribute("id")}"] .n')
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
    """The tree is folded below the province; opening a province shows its districts
    and their communes, also for places that are not among the hits on screen."""
    page.goto(f"/search?q={QUERY.replace(' ', '+')}&per_page={per_page}")
    group = page.locator('[data-facet="locality"]')
    expect(group.locator('input[name="district"]')).to_have_count(0)
    toggles = group.locator("button.facet-toggle")
    assert toggles.count() >= 4
    for toggle in toggles.all():
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    districts = group.locator('input[name="district"]')
    communes = group.locator('input[name="commune"]')
    expect(districts).to_have_count(toggles.count())
    assert communes.count() >= 2
    parent_of = "xpath=ancestor::li[2]/input"
    for box in districts.all():
        assert box.locator(parent_of).get_attribute("name") == "province"
    for box in communes.all():
        assert box.locator(parent_of).get_attribute("name") == "district"
    # Bình Lục is a district of Hà Nam: the tree says so.
    binh_luc = group.locator('input[name="district"][value="Bình Lục"]')
    assert binh_luc.locator(parent_of).get_attribute("value") == "Hà Nam"
    if per_page == 10:
        shot(page, "10-locality-tree")
    # Closing a province hides its places again.
    toggles.first.click()
    expect(toggles.first).to_have_attribute("aria-expanded", "false")
    expect(group.locator("li:has(> button.facet-toggle) .facet-sub").first).to_be_hidden()
    # Ticking an opened district filters, and the ticked branch stays open after reload.
    district = group.locator('input[name="district"]:visible').first
    name = district.get_attribute("value") or ""
    with page.expect_navigation():
        district.check()
    assert params(page)["district"] == [name]
    expect(page.locator(f'[data-facet="locality"] input[name="district"][value="{name}"]')
           ).to_be_checked()


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
    skip = page.get_by_role("link", name="Bỏ qua, đến kết quả tìm kiếm")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#results') !== null")
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


# -- the results page at real size ----------------------------------------------------

SEARCH = f"/search?q={QUERY.replace(' ', '+')}"


def phone(browser: Browser, live_server: LiveServer, **options: object) -> BrowserContext:
    return browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                               base_url=live_server.url, is_mobile=True, has_touch=True,
                               **options)  # type: ignore[arg-type]


def visible_values(group: Locator) -> list[str]:
    return [box.get_attribute("value") or "" for box in group.locator("input[type=checkbox]").all()
            if box.is_visible()]


@pytest.mark.parametrize("width", [1280, 360])
def test_filter_box_and_more_less_in_a_long_list(browser: Browser, live_server: LiveServer,
                                                 width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN",
                                  base_url=live_server.url)
    tab = context.new_page()
    try:
        tab.goto(SEARCH)
        if width == 360:
            tab.locator(".facets__panel > summary").click()
        group = tab.locator('[data-facet="directive"]')
        more = group.locator("details.facet__more > summary")
        expect(more).to_contain_text("Xem thêm")
        shown = visible_values(group)
        total_boxes = group.locator("input[type=checkbox]").count()
        assert len(shown) < total_boxes
        more.click()
        expect(more.locator(".more-close")).to_have_text("Thu gọn")
        expect(more.locator(".more-close")).to_be_visible()
        expect(more.locator(".more-open")).to_be_hidden()
        assert len(visible_values(group)) == total_boxes
        more.click()
        expect(more.locator(".more-open")).to_be_visible()
        expect(more.locator(".more-close")).to_be_hidden()
        assert visible_values(group) == shown
        # The filter box keeps what matches, typed without accents, hidden ones included.
        box = group.get_by_role("searchbox")
        expect(box).to_have_attribute("aria-label", re.compile("không dấu"))
        labels = {b.get_attribute("value") or "": b.evaluate(
            "b => b.labels[0].firstChild.textContent.trim()")
            for b in group.locator("input[type=checkbox]").all()}
        kind = next(label.split()[0] for label in labels.values()
                    if fold(label.split()[0]) != label.split()[0].lower())
        box.fill(fold(kind))
        matching = {v for v, label in labels.items() if fold(kind) in fold(label)}
        assert 0 < len(matching) < total_boxes
        expect(group.locator("input[type=checkbox]:visible")).to_have_count(len(matching))
        assert set(visible_values(group)) == matching
        shot(tab, f"11-filter-box-{width}", full_page=width == 1280)
        box.fill("zzzz")
        expect(group.locator(".facet-filter__empty")).to_be_visible()
        box.fill("")
        assert visible_values(group) == shown
    finally:
        context.close()


def test_date_range_picker_presets_and_undated(page: Page) -> None:
    page.goto(SEARCH)
    everything = total(page)
    undated = page.locator('[data-facet="year"] input[value="none"]')
    expect(page.locator(f'label[for="{undated.get_attribute("id")}"]')).to_contain_text(
        "Không rõ ngày")
    undated_count = facet_count(page, "year", "none")
    assert 0 < undated_count < everything
    page.locator("#date-from").fill("2022-12-01")
    page.locator("#date-to").fill("2022-12-31")
    with page.expect_navigation():
        page.get_by_role("button", name="Lọc theo ngày").click()
    assert params(page)["from"] == ["2022-12-01"] and params(page)["to"] == ["2022-12-31"]
    assert 0 < total(page) < everything
    for stamp in page.locator(".hit time").evaluate_all("els => els.map(e => e.dateTime)"):
        assert "2022-12-01" <= stamp <= "2022-12-31"
    expect(page.locator(".chip[data-param=date]")).to_contain_text(
        "từ 01/12/2022 đến 31/12/2022")
    expect(page.locator("#date-from")).to_have_value("2022-12-01")
    shot(page, "12-date-range")
    # A preset is a range ending today.
    with page.expect_navigation():
        page.get_by_role("link", name="30 ngày").click()
    start, end = params(page)["from"][0], params(page)["to"][0]
    from datetime import date, timedelta
    assert date.fromisoformat(end) - date.fromisoformat(start) == timedelta(days=29)
    expect(page.get_by_role("link", name="30 ngày")).to_have_attribute("aria-current", "true")
    # Removing the chip brings every article back.
    with page.expect_navigation():
        page.locator(".chip[data-param=date]").click()
    assert "from" not in params(page) and total(page) == everything


def test_clicking_a_timeline_bar_selects_its_month(page: Page) -> None:
    page.goto(SEARCH)
    bars = page.locator(".timeline__bar")
    assert bars.count() >= 2
    shot(page, "13-timeline")
    first = bars.first
    label = first.get_attribute("aria-label") or ""
    month, year = re.match(r"tháng (\d+)/(\d{4}): (\d+) bài", label).groups()[:2]  # type: ignore[union-attr]
    count = int(re.search(r": (\d+) bài", label).group(1))  # type: ignore[union-attr]
    with page.expect_navigation():
        first.click()
    assert params(page)["from"] == [f"{year}-{int(month):02d}-01"]
    assert params(page)["to"][0].startswith(f"{year}-{int(month):02d}-")
    assert total(page) == count
    expect(page.locator(".timeline__bar").first).to_have_class(re.compile("timeline__bar--chosen"))
    # The chart is one Tab stop; the arrow keys walk its months.
    page.locator(".timeline__bar").first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(".timeline__bar").nth(1)).to_be_focused()
    expect(page.locator(".timeline__bar[tabindex='0']")).to_have_count(1)


def test_phone_filters_apply_in_place_with_the_new_count(browser: Browser,
                                                         live_server: LiveServer) -> None:
    context = phone(browser, live_server)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        tab.goto(SEARCH)
        everything = total(tab)
        expect(tab.locator(".hit").first).to_be_in_viewport()
        tab.locator(".results__filters-link").click()
        panel = tab.locator(".facets__panel")
        expect(panel).to_have_attribute("open", "")
        counts = {code: n for code, n in directive_facet_counts(tab).items()
                  if facet_box(tab, "directive", code).is_visible()}
        code = min(counts, key=lambda c: counts[c])
        count = counts[code]
        box = facet_box(tab, "directive", code)
        box.scroll_into_view_if_needed()
        box.check()  # no reload on a phone: the choice waits, the count shows at once
        apply = tab.locator(".facets__apply")
        expect(apply).to_have_text(f"Xem {count} kết quả")
        expect(apply).to_be_in_viewport()
        assert "directive" not in params(tab)
        shot(tab, "14-phone-filter-pending", full_page=False)
        def place() -> float:
            return float(facet_box(tab, "directive", code).evaluate(
                "b => b.getBoundingClientRect().top"))
        before = place()
        with tab.expect_navigation():
            apply.click()
        assert params(tab)["directive"] == [code]
        expect(panel).to_have_attribute("open", "")
        expect(tab.locator(".facets__count")).to_contain_text(f"Tìm thấy {count} kết quả")
        # The ticked value is where it was in the window, though the page above it changed.
        expect(facet_box(tab, "directive", code)).to_be_in_viewport()
        assert tab.evaluate("window.scrollY") > 0
        assert abs(place() - before) < 60, (before, place())
        assert count < everything
        shot(tab, "15-phone-filter-applied", full_page=False)
    finally:
        context.close()
    assert not errors, errors


def test_results_page_size_and_keyboard_path(browser: Browser, live_server: LiveServer) -> None:
    """The figures bench/results_page.py measures on the big sample, here on the corpus."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from results_page import measure

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        figures = measure(context.new_page(), live_server.url, QUERY)
    finally:
        context.close()
    assert figures["html_bytes"] < 40_000, figures  # type: ignore[operator]
    assert figures["before_more"] <= 40, figures  # type: ignore[operator]
    assert figures["tabs_to_first_result"] is not None, figures
    assert figures["tabs_to_first_result"] <= 15, figures  # type: ignore[operator]
    assert figures["gzip_bytes"], figures


AXE_PAGES = ["/", SEARCH, f"{SEARCH}&directive=21-KL%2FTW&from=2022-01-01&to=2022-12-31",
             "/article/003_b884a5e5383089b0?q=xay+dung", "/article/nope", f"{SEARCH}&page=50"]


@pytest.mark.parametrize(("width", "scheme"), [(1280, "light"), (360, "light"), (1280, "dark")])
def test_axe_finds_no_violation(browser: Browser, live_server: LiveServer, width: int,
                                scheme: str) -> None:
    """axe-core (bundled with axe-playwright-python, nothing fetched) over the main pages,
    with the facet lists opened so every control is checked."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN",
                                  base_url=live_server.url, color_scheme=scheme)  # type: ignore[arg-type]
    tab = context.new_page()
    try:
        for path in AXE_PAGES:
            tab.goto(path)
            tab.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            for toggle in tab.locator("button.facet-toggle").all()[:2]:
                toggle.click()
                expect(toggle).to_have_attribute("aria-expanded", "true")
            results = axe.run(tab)
            assert results.violations_count == 0, (path, results.generate_report())
        shot(tab, f"16-axe-last-page-{width}-{scheme}", full_page=False)
        tab.goto(SEARCH)
        shot(tab, f"17-results-{width}-{scheme}", full_page=width == 1280)
    finally:
        context.close()


def test_print_leaves_out_the_sidebar_and_prints_the_address(page: Page) -> None:
    page.goto(SEARCH)
    page.emulate_media(media="print")
    expect(page.locator(".facets")).to_be_hidden()
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".print-url")).to_be_visible()
    expect(page.locator(".print-url")).to_contain_text(f"{page.url}")
    expect(page.locator(".hit").first).to_be_visible()
    shot(page, "18-print")

