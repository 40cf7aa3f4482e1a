"""The search page and the pages' new parts in Chromium, at a phone's width and a desktop's.

Screenshots of each page at both widths are written beside the test's files (and kept by CI as
artifacts when it keeps them); what they must show is asserted from the page's own geometry.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from browser import follow, open_chromium, wait_for
from helpers import ServedArchive as Site

PHONE, DESKTOP = (390, 844), (1280, 900)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    made = Site(tmp_path_factory.mktemp("search-pages"), 120, seed=5, max_items=10, stories=True)
    yield made
    made.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    driver = open_chromium(tmp_path_factory.mktemp("chromium"), "--hide-scrollbars")
    yield driver
    driver.quit()


def _at(driver: object, size: tuple[int, int]) -> None:
    """The viewport (not the window) at this size, as a phone's screen is."""
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size == PHONE},
    )


def _js(driver: object, script: str) -> object:
    return driver.execute_script(script)  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize(
    "path", ["", "outlets/rfi/", "stories/", "search?q=%E5%8F%B0%E6%B9%BE"], ids=["index", "feed", "stories", "search"]
)
def test_pages_read_well_at_phone_and_desktop_widths(
    site: Site, chromium: object, tmp_path: Path, size: tuple[int, int], path: str
) -> None:
    _at(chromium, size)
    chromium.get(site.base + path)  # type: ignore[attr-defined]
    name = path.split("?")[0].strip("/").replace("/", "-") or "index"
    assert chromium.save_screenshot(str(tmp_path / f"{name}-{size[0]}.png"))  # type: ignore[attr-defined]
    assert _js(chromium, "return document.documentElement.scrollWidth") <= size[0]  # nothing wider than the screen
    assert _js(
        chromium, "return document.querySelector('header.site form.search, main form.search, form.search') !== null"
    )
    # the first screen shows content, not only the subscribe box: an entry or hit starts on it
    first = _js(
        chromium,
        "const e = document.querySelector('article, section.feed-card'); return e && e.getBoundingClientRect().top",
    )
    assert first is not None and first < size[1] * 0.8, first
    # no address is broken across lines: they sit in one-line fields
    assert _js(chromium, "return [...document.querySelectorAll('.subscribe code')].length") == 0
    heights = _js(
        chromium, "return [...document.querySelectorAll('h1, h2, h3')].map(h => h.scrollWidth - h.clientWidth)"
    )
    assert all(overflow <= 1 for overflow in heights)  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_storys_reports_and_an_articles_other_reports_read_apart_from_the_text(
    site: Site, chromium: object, size: tuple[int, int]
) -> None:
    """The stories page lists each outlet's report as a block of its own, not as a bulleted list,
    and an article's "also reported by" line is a quiet note under it, like its date."""
    _at(chromium, size)
    chromium.get(site.base + "stories/")  # type: ignore[attr-defined]
    reports = _js(
        chromium,
        "return [...document.querySelectorAll('article.story .reports > li')].map(li => {"
        " const s = getComputedStyle(li); return [s.listStyleType, s.borderLeftStyle, li.getBoundingClientRect().right]; })",
    )
    assert reports, "the stories page lists no report"
    assert all(bullet == "none" and border == "solid" and right <= size[0] for bullet, border, right in reports), (
        reports
    )  # type: ignore[attr-defined]
    address: str | None = site.base + "all/"
    for _ in range(30):  # the pages of the all-outlets feed, until one shows an article's other reports
        chromium.get(address)  # type: ignore[attr-defined]
        styles = _js(
            chromium,
            "const a = document.querySelector('article.entry .also'), m = document.querySelector('article.entry .meta');"
            " return a && [getComputedStyle(a).color, getComputedStyle(m).color, getComputedStyle(a).fontSize,"
            " getComputedStyle(m).fontSize]",
        )
        if styles:
            assert styles[0] == styles[1] and styles[2] == styles[3], styles  # type: ignore[index]
            return
        older = _js(chromium, "const a = document.querySelector('nav.pager a[rel=next]'); return a && a.href")
        assert older, "no page of the all-outlets feed says an article was also reported by another outlet"
        address = str(older)
    pytest.fail("the all-outlets feed pages on and on")


@pytest.mark.slow
def test_a_summary_the_full_text_repeats_shows_once(site: Site, chromium: object) -> None:
    from selenium.webdriver.common.by import By

    _at(chromium, DESKTOP)
    chromium.get(site.base + "outlets/rfi/")  # type: ignore[attr-defined]
    entry = chromium.find_element(By.CSS_SELECTOR, "article.entry")  # type: ignore[attr-defined]
    teaser = entry.find_element(By.CSS_SELECTOR, ".summary.repeated")
    assert teaser.is_displayed()
    entry.find_element(By.CSS_SELECTOR, "details > summary .more").click()
    wait_for(chromium, lambda _: not teaser.is_displayed(), "the repeated summary to hide")
    assert entry.find_element(By.CSS_SELECTOR, ".content").text.startswith(teaser.get_attribute("textContent")[:20])


@pytest.mark.slow
def test_searching_from_a_page_paging_and_subscribing(site: Site, chromium: object) -> None:
    from selenium.webdriver.common.by import By

    _at(chromium, DESKTOP)
    chromium.get(site.base + "outlets/rfi/")  # type: ignore[attr-defined]
    box = chromium.find_element(By.CSS_SELECTOR, "header.site form.search input[name=q]")  # type: ignore[attr-defined]
    box.send_keys("臺灣")
    follow(chromium, box.submit, "/search?q=")
    first = [h.text for h in chromium.find_elements(By.CSS_SELECTOR, "article.hit h2")]  # type: ignore[attr-defined]
    assert len(first) == 20
    marks = {m.text for m in chromium.find_elements(By.CSS_SELECTOR, "article.hit mark")}  # type: ignore[attr-defined]
    assert marks and marks <= {"台湾", "臺灣"}
    follow(chromium, chromium.find_element(By.CSS_SELECTOR, 'nav.pager a[rel="next"]').click, "cursor=")  # type: ignore[attr-defined]
    second = [h.text for h in chromium.find_elements(By.CSS_SELECTOR, "article.hit h2")]  # type: ignore[attr-defined]
    assert second and not set(first) & set(second)
    atom = chromium.find_element(By.CSS_SELECTOR, '.subscribe a[type="application/atom+xml"]')  # type: ignore[attr-defined]
    href = atom.get_attribute("href")
    assert href.startswith(site.base + "all/atom.xml?q=")
    request = urllib.request.Request(href, headers={"Accept": "application/atom+xml"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("application/atom+xml") and b"<entry>" in response.read()
    alternates = chromium.find_elements(By.CSS_SELECTOR, 'link[rel="alternate"]')  # type: ignore[attr-defined]
    assert {a.get_attribute("href") for a in alternates} >= {href}
    # a browser following it gets the query feed's page, and is told why
    follow(chromium, atom.click, "/all/atom.xml?q=")
    assert chromium.find_element(By.CSS_SELECTOR, "p.notice").is_displayed()  # type: ignore[attr-defined]
    assert len(chromium.find_elements(By.CSS_SELECTOR, "article.entry")) == 10  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_hostile_query_string_is_shown_as_text(site: Site, chromium: object) -> None:
    from selenium.webdriver.common.by import By

    hostile = '<img src=x onerror="window.pwned=1"> OR'
    chromium.get(site.base + "search?q=" + quote(hostile))  # type: ignore[attr-defined]
    error = chromium.find_element(By.CSS_SELECTOR, "p.error")  # type: ignore[attr-defined]
    assert hostile in error.text and not error.find_elements(By.CSS_SELECTOR, "img")
    assert (
        chromium.find_element(
            By.CSS_SELECTOR, "main form.search input[name=q], form.search input[name=q]"
        ).get_attribute("value")
        == hostile
    )  # type: ignore[attr-defined]
    assert _js(chromium, "return window.pwned === undefined")
    chromium.get(site.base + "all/atom.xml?q=" + quote(hostile))  # type: ignore[attr-defined]
    assert "Bad query" in chromium.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    assert _js(chromium, "return window.pwned === undefined")


@pytest.mark.slow
def test_opening_atom_on_a_feeds_page_says_why_the_page_shows_again(site: Site, chromium: object) -> None:
    from selenium.webdriver.common.by import By

    chromium.get(site.base + "outlets/rfi/")  # type: ignore[attr-defined]
    assert not chromium.find_elements(By.CSS_SELECTOR, "p.notice")  # type: ignore[attr-defined]
    atom = chromium.find_element(By.CSS_SELECTOR, '.subscribe a[type="application/atom+xml"]')  # type: ignore[attr-defined]
    follow(chromium, atom.click, "outlets/rfi/atom.xml")
    assert chromium.current_url.endswith("outlets/rfi/atom.xml")  # type: ignore[attr-defined]
    assert "Atom 订阅源" in chromium.find_element(By.CSS_SELECTOR, "p.notice").text  # type: ignore[attr-defined]
