"""The HTML pages, as a person meets them: in headless Chromium, through `feedtool serve`.

Chromium and its driver are Debian's (`apt-get install chromium chromium-driver fonts-noto-cjk`);
`.ci/run` installs them where it can. Without them the browser tests say so and skip, except
under CI, where a missing browser is a failure: CI must show the pages work.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from browser import open_chromium, wait_for
from corpus import generate
from helpers import ROOT, SEEDS, dump, make_config, published, snapshot

from feedtool.build import build
from feedtool.cli import main
from feedtool.config import Config, Site
from feedtool.errors import ConfigError
from feedtool.models import StoredEntry
from feedtool.publish.feeds import OutletInfo
from feedtool.publish.pages import Pages
from feedtool.web.app import App
from feedtool.web.server import make_server

HOSTILE_SUMMARY = "导语：<b>假标签</b> 与 <script>window.pwned = 1</script> & 符号。"


# -- templates and escaping, no browser needed -----------------------------------------------------


def _entry(**fields: object) -> StoredEntry:
    when = datetime(2023, 10, 14, 13, 45, tzinfo=UTC)
    values: dict[str, object] = dict(
        id="https://www.rfi.fr/cn/a", url="https://www.rfi.fr/cn/a", title="标题", outlet="rfi", language="zh-CN",
        content="<p>正文 <img src=\"https://s.rfi.fr/x.jpg\"></p>", summary="导语。", published=when, updated=when,
        author=None, image=None, tags=(),
    )  # fmt: skip
    values.update(fields)
    return StoredEntry(**values)  # type: ignore[arg-type]


RFI = OutletInfo("rfi", "法广 RFI", "https://www.rfi.fr/cn/", "zh-CN", timezone="Europe/Paris")


def test_an_entry_shows_markup_in_its_text_as_text() -> None:
    html = (
        Pages(Site(), ("atom",))
        .entry(_entry(title="<b>粗体</b> & <i>", summary=HOSTILE_SUMMARY, author="<em>夏榕</em>"), RFI)
        .decode()
    )
    assert "&lt;b&gt;粗体&lt;/b&gt; &amp; &lt;i&gt;" in html
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in html and "<script" not in html
    assert "&lt;em&gt;夏榕&lt;/em&gt;" in html


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("zh-CN", "2023年10月14日 15:45 中欧夏令时间"),
        ("zh-TW", "2023年10月14日 15:45 中歐夏令時間"),
        ("en", "2023-10-14 15:45 Central European Summer Time"),
    ],
)
def test_an_entry_shows_its_time_in_the_outlets_time_zone_and_its_content_as_html(language: str, shown: str) -> None:
    html = Pages(Site(language=language), ("atom",)).entry(_entry(), RFI).decode()
    assert f'<time datetime="2023-10-14T13:45:00+00:00">{shown}</time>' in html
    assert '<p>正文 <img loading="lazy" referrerpolicy="no-referrer" src="https://s.rfi.fr/x.jpg"></p>' in html


@pytest.fixture
def seeds_config(tmp_path: Path) -> Config:
    return make_config(tmp_path, [SEEDS])


def _with_templates(tmp_path: Path, files: dict[str, str]) -> Config:
    folder = tmp_path / "theme"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, "utf-8")
    return make_config(tmp_path, [SEEDS], extra='[site]\ntemplates = "theme"')


def test_a_template_of_the_users_overrides_the_built_in_one_and_only_pages_change(tmp_path: Path) -> None:
    config = make_config(tmp_path, [SEEDS])
    build(config)
    before = snapshot(config.output)
    config = _with_templates(tmp_path, {"entry.html": '<article class="mine">{{ entry.title }}</article>\n'})
    report = build(config)
    assert report.publish is not None
    # Every page that lists articles; the stories page lists stories, which story.html renders.
    articles = {p for p in before if p.endswith("index.html") and p not in ("index.html", "stories/index.html")}
    assert set(report.publish.written) == articles
    page = (config.output / "outlets" / "rfa" / "index.html").read_text("utf-8")
    assert '<article class="mine">美国务院发言人谈布林肯国务卿与中国外长王毅会面</article>' in page
    (tmp_path / "theme" / "entry.html").write_text('<article class="mine2">{{ entry.title }}</article>\n', "utf-8")
    assert build(config).publish.written  # an edited template republishes, even when nothing else changed
    assert 'class="mine2"' in (config.output / "outlets" / "rfa" / "index.html").read_text("utf-8")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% extends 'base.html' %}\n{% block body %}\n{{ entries }\n{% endblock %}\n", "feed.html, line 3: unexpected '}'"),
        ("{% extends 'base.html' %}\n{% block body %}{{ entries | nosuchfilter }}{% endblock %}\n", "feed.html, line 2: No filter named 'nosuchfilter'"),
        ("{% extends 'base.html' %}\n{% block body %}\n\n{{ feed.title.nothing() }}{% endblock %}\n", "feed.html, line 4: 'str object' has no attribute 'nothing'"),
    ],
    ids=["syntax", "filter", "runtime"],
)  # fmt: skip
def test_a_broken_template_is_one_line_naming_its_file_and_line(
    tmp_path: Path, template: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, [SEEDS])
    build(config)
    before = snapshot(config.output)
    _with_templates(tmp_path, {"feed.html": template})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["build", "-c", "feedtool.toml"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"feedtool: error: template theme/{message}" in err  # the file as the config names it
    assert snapshot(config.output) == before  # nothing published from a broken template


def test_a_templates_folder_that_is_not_there_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "feedtool.toml").write_text('[site]\ntemplates = "nowhere"\n', "utf-8")
    with pytest.raises(ConfigError, match=r"\[site\] templates: .*nowhere is not a folder"):
        make_config.__globals__["load_config"](tmp_path / "feedtool.toml")


# -- in a real browser ------------------------------------------------------------------------------


class Served:
    """A corpus built and served by `feedtool serve`'s server on a loopback port."""

    def __init__(self, root: Path) -> None:
        dumps = root / "dumps"
        shutil.copytree(SEEDS, dumps)
        generate(dumps, 60, seed=3)
        (dumps / "hostile.txt").write_text(
            dump(title="标题里有 a < b", url="https://www.rfi.fr/cn/中国/20231015-hostile", stamp="1697380000000",
                 body=f"<p><strong>{HOSTILE_SUMMARY.replace('<', '&lt;')}</strong></p><p>正文。</p>"),
            "utf-8",
        )  # fmt: skip
        (root / "out").mkdir()
        self.server = make_server(App(root / "out"))
        self.base = self.server.base_url
        self.config = make_config(
            root, [dumps], max_items=10, archive_items=8, extra=f'[site]\nbase_url = "{self.base}"'
        )
        build(self.config, workers=1)
        self._running = self.server.running()
        self._running.__enter__()

    def status(self, url: str, accept: str = "*/*") -> int:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept}), timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def feed_ids(self, folder: str) -> list[str]:
        """Every entry of a feed, newest first, by following its JSON Feed pages."""
        ids, path = [], self.config.output / folder / "feed.json"
        while True:
            doc = json.loads(path.read_text("utf-8"))
            ids += [item["id"] for item in doc["items"]]
            if "next_url" not in doc:
                return ids
            path = self.config.output / doc["next_url"][len(self.base) :]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    site = Served(tmp_path_factory.mktemp("served"))
    yield site
    site._running.__exit__(None, None, None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    driver = open_chromium(tmp_path_factory.mktemp("chromium"), "--window-size=1000,1400")
    yield driver
    driver.quit()


def _ids_on_page(driver: object) -> list[str]:
    from selenium.webdriver.common.by import By

    return [a.get_attribute("data-id") for a in driver.find_elements(By.CSS_SELECTOR, "article.entry")]  # type: ignore[attr-defined]


def _older(driver: object) -> str | None:
    from selenium.webdriver.common.by import By

    links = driver.find_elements(By.CSS_SELECTOR, 'nav.pager a[rel="next"]')  # type: ignore[attr-defined]
    return links[0].get_attribute("href") if links else None


@pytest.mark.slow
@pytest.mark.parametrize("folder", ["all", "outlets/rfi", "topics/us-china"])
def test_paging_older_from_a_feeds_page_shows_every_entry_once_newest_first(
    served: Served, browser: object, folder: str
) -> None:
    seen: list[str] = []
    url: str | None = served.base + folder + "/"
    while url:
        browser.get(url)  # type: ignore[attr-defined]
        seen += _ids_on_page(browser)
        url = _older(browser)
    assert seen == served.feed_ids(folder)
    assert len(seen) > 10, "the feed has no archive pages: paging was not tested"


@pytest.mark.slow
def test_every_link_and_subscribe_address_on_the_pages_resolves(served: Served, browser: object) -> None:
    from selenium.webdriver.common.by import By

    pages = [served.base, served.base + "all/", served.base + "outlets/zaobao/"]
    browser.get(served.base)  # type: ignore[attr-defined]
    pages += [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "section.feed-card h3 a")]  # type: ignore[attr-defined]
    checked = set()
    for page in pages:
        browser.get(page)  # type: ignore[attr-defined]
        hrefs = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a[href], link[href]")]  # type: ignore[attr-defined]
        codes = [i.get_attribute("value") for i in browser.find_elements(By.CSS_SELECTOR, ".subscribe input")]  # type: ignore[attr-defined]
        for url in [*hrefs, *codes]:
            if url.startswith(served.base) and url not in checked:
                checked.add(url)
                assert served.status(url) == 200, f"{url} on {page}"
    assert len(checked) > 40


@pytest.mark.slow
def test_markup_in_a_summary_shows_as_text_and_runs_nothing(served: Served, browser: object) -> None:
    from selenium.webdriver.common.by import By

    browser.get(served.base + "outlets/rfi/")  # type: ignore[attr-defined]
    summaries = [p for p in browser.find_elements(By.CSS_SELECTOR, ".entry .summary") if "假标签" in p.text]  # type: ignore[attr-defined]
    assert len(summaries) == 1
    assert summaries[0].text == HOSTILE_SUMMARY
    assert not summaries[0].find_elements(By.CSS_SELECTOR, "b, script")
    assert browser.execute_script("return window.pwned === undefined")  # type: ignore[attr-defined]
    assert any(h.text == "标题里有 a < b" for h in browser.find_elements(By.CSS_SELECTOR, "article h2"))  # type: ignore[attr-defined]


# The images on the screen, each with whether it has its answer (loaded, failed, or from the cache).
_IMAGES_IN_VIEW = """return [...document.images].filter(i => {
    const r = i.getBoundingClientRect();
    return i.getClientRects().length && r.bottom >= 0 && r.top <= innerHeight && r.right >= 0 && r.left <= innerWidth;
}).map(i => [i.currentSrc || i.src, i.complete])"""


@pytest.mark.slow
def test_no_request_leaves_the_site_but_for_images(served: Served, browser: object) -> None:
    # Forget what came before, the browser's own start page among it (chrome://resources/...): once
    # the site's page has replaced it, all of its requests are in the log, to be drained.
    browser.get(served.base)  # type: ignore[attr-defined]
    browser.get_log("performance")  # type: ignore[attr-defined]
    requests: list[tuple[str, str | None]] = []

    def sent(driver: Any) -> list[tuple[str, str | None]]:
        """The requests the browser has logged since it was last asked, added to `requests`."""
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                requests.append((message["params"]["request"]["url"], message["params"].get("type")))
        return requests

    def asked_for_images_in_view(driver: Any) -> bool:
        """Every image the scroll brought on screen has been asked for (lazy images are asked for
        after the scroll, not by it), whether or not its host has answered yet."""
        asked = {url for url, _ in sent(driver)}
        return all(done or src in asked for src, done in driver.execute_script(_IMAGES_IN_VIEW))

    for path in ("", "all/", "outlets/rfi/", "topics/taiwan/"):
        browser.get(served.base + path)  # type: ignore[attr-defined]
        browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")  # type: ignore[attr-defined]
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")  # type: ignore[attr-defined]
        wait_for(browser, asked_for_images_in_view, f"the images in view on /{path} to be asked for")
    assert any(kind == "Image" for _, kind in requests), "no image was asked for: the check saw nothing"
    elsewhere = [(url, kind) for url, kind in requests if not url.startswith(served.base) and kind != "Image"]
    assert not elsewhere


@pytest.mark.slow
def test_a_feed_address_opened_in_the_browser_is_a_readable_page(served: Served, browser: object) -> None:
    from selenium.webdriver.common.by import By

    for name in ("atom.xml", "rss.xml", "feed.json"):
        browser.get(served.base + "topics/taiwan/" + name)  # type: ignore[attr-defined]
        assert browser.find_element(By.TAG_NAME, "h1").text == "台湾 Taiwan"  # type: ignore[attr-defined]
        assert _ids_on_page(browser) == served.feed_ids("topics/taiwan")[:10]
        address = urlsplit(browser.current_url).path  # type: ignore[attr-defined]
        assert address.endswith(name)  # the address stays the feed's, to copy into a reader
    request = urllib.request.Request(served.base + "topics/taiwan/atom.xml", headers={"Accept": "application/atom+xml"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read() == (served.config.output / "topics" / "taiwan" / "atom.xml").read_bytes()


@pytest.mark.slow
def test_the_pages_autodiscover_their_feeds(served: Served, browser: object) -> None:
    """A feed's page and its archive pages announce the feed's subscription documents."""
    from selenium.webdriver.common.by import By

    expected = {
        (kind, urljoin(served.base, f"outlets/rfi/{name}"))
        for kind, name in [("application/atom+xml", "atom.xml"), ("application/rss+xml", "rss.xml"),
                           ("application/feed+json", "feed.json")]
    }  # fmt: skip
    browser.get(served.base + "outlets/rfi/")  # type: ignore[attr-defined]
    archive = _older(browser)
    assert archive and "/archive/" in archive
    for page in (served.base + "outlets/rfi/", archive):
        browser.get(page)  # type: ignore[attr-defined]
        found = {
            (link.get_attribute("type"), link.get_attribute("href"))
            for link in browser.find_elements(By.CSS_SELECTOR, 'link[rel="alternate"]')  # type: ignore[attr-defined]
        }
        assert found == expected, page


def test_a_build_over_an_older_output_removes_its_feed_xsl(tmp_path: Path) -> None:
    """Outputs of feedtool before the pages had feed.xsl, recorded as a published document."""
    from feedtool.store import Store

    config = make_config(tmp_path, [SEEDS])
    build(config)
    xsl = config.output / "feed.xsl"
    xsl.write_text("<xsl:stylesheet/>", "utf-8")
    with Store(config.store, root=config.root) as store, store.transaction():
        store.set_document("feed.xsl", "old", xsl.stat().st_size, xsl.stat().st_mtime_ns)
        store.set_published_marker("")
        store.forget_published_config()  # releases before the publish by change recorded none
    report = build(config)
    assert report.publish is not None and report.publish.removed == ("feed.xsl",) and not xsl.exists()


def test_a_restyled_release_rewrites_the_stylesheet_of_an_older_output(tmp_path: Path) -> None:
    """Static files are fingerprinted by their bytes: a stylesheet changed without a new version still arrives."""
    from feedtool.store import Store

    config = make_config(tmp_path, [SEEDS])
    build(config)
    style = config.output / "style.css"
    style.write_text("/* an older release's stylesheet */", "utf-8")
    from feedtool import __version__
    from feedtool.publish.plan import digest

    older_fingerprint = digest([__version__, "style.css"])  # what releases before this one recorded
    with Store(config.store, root=config.root) as store, store.transaction():
        store.set_document("style.css", older_fingerprint, style.stat().st_size, style.stat().st_mtime_ns)
        store.set_published_marker("")
    build(config)
    assert style.read_bytes() == (ROOT / "feedtool" / "publish" / "style.css").read_bytes()


def test_compiled_templates_are_kept_between_runs_and_a_damaged_one_is_compiled_again(tmp_path: Path) -> None:
    """Each process of a publish compiles the templates it renders with; a cron run's would compile
    them every few minutes. They are kept in Jinja2's private folder for the user's caches (under
    TMPDIR), named for the settings they were compiled under; a file there that is damaged is
    compiled again, never rendered from."""
    import os
    import subprocess
    import sys

    config = make_config(tmp_path, [SEEDS])
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "feedtool", "build", "-q", "-c", str(config.path)]
    subprocess.run(command, env=env, check=True)
    kept = list(temporary.glob("_jinja2-cache-*/feedtool-*.cache"))
    assert len(kept) >= 5  # entry, feed, index, pager, subscribe, base: those a build renders
    before = published(config.output)
    for path in kept:
        path.write_bytes(b"j2\x00not bytecode at all")
    shutil.rmtree(config.output)
    shutil.rmtree(config.store.parent)
    subprocess.run(command, env=env, check=True)
    assert published(config.output) == before
