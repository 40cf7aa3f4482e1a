"""Pages in the site's language: the catalogues shipped, the one a `[site] language` finds, an
operator's own, and the pages as a reader of that language meets them in Chromium, where no
English label may be left.

The browser is started speaking the site's language (LANGUAGE in its environment, as a Chinese
desktop sets it), so that its own parts, the date fields among them, are in that language too:
that takes Chromium's language packs (Debian's chromium-l10n). Screenshots of each page at a
phone's width and a desktop's are written beside the test's files, and over docs/images/ with
FEEDTOOL_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
from browser import open_chromium, wait_for
from helpers import ROOT, SEEDS, serving, snapshot

from feedtool.build import build
from feedtool.cli import main
from feedtool.config import Config, load_config
from feedtool.store import Store
from feedtool.web.answers import Archive
from feedtool.web.server import bind

LOCALE = ROOT / "feedtool" / "publish" / "locale"
SHIPPED = ("en", "zh_Hans", "zh_Hant")
PHONE, DESKTOP = (390, 844), (1280, 900)
IMAGES = ROOT / "docs" / "images"
# The screenshots docs/languages.md shows: (page, language), at both widths.
SHOWN = {("outlet", "zh-Hant"), ("search", "zh-Hant"), ("index", "zh-Hans"), ("search", "zh-Hans")}


@pytest.mark.parametrize(
    ("tag", "catalogue"),
    [
        ("zh-CN", "zh_Hans"), ("zh-SG", "zh_Hans"), ("zh", "zh_Hans"), ("zh-Hans", "zh_Hans"), ("zh-hans-cn", "zh_Hans"),
        ("zh-TW", "zh_Hant"), ("zh-HK", "zh_Hant"), ("zh-MO", "zh_Hant"), ("zh-Hant", "zh_Hant"), ("zh_TW", "zh_Hant"),
        ("zh-Hant-HK", "zh_Hant"), ("zh-Hans-HK", "zh_Hans"), ("en", "en"), ("en-GB", "en"), ("fr-CA", "en"), ("", "en"),
    ],
)  # fmt: skip
def test_a_language_tag_finds_the_nearest_catalogue(tag: str, catalogue: str) -> None:
    from feedtool.publish.messages import Messages

    assert Messages(tag).catalogue == catalogue


# -- the catalogues: every message, translated, compiled -------------------------------------------


def _extracted() -> set[tuple[str | None, str]]:
    """Every message the templates and the code ask for, as `pybabel extract -F pyproject.toml` finds them."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import _parse_mappings_from_toml

    with (ROOT / "pyproject.toml").open("rb") as fh:
        method_map, options_map = _parse_mappings_from_toml(fh, "pyproject.toml", style="pyproject.toml")
    found = set()
    for _, _, message, _, context in extract_from_dir(str(ROOT), method_map, options_map):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def _read_po(path: Path) -> object:
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        return read_po(fh, abort_invalid=True)


def test_every_catalogue_translates_every_message_of_the_templates_and_code() -> None:
    wanted = _extracted()
    assert len(wanted) > 40 and (None, "Full text") in wanted and (None, "All outlets") in wanted
    template = _read_po(LOCALE / "feedtool.pot")
    assert {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in template if m.id} == wanted  # type: ignore[attr-defined]
    for name in SHIPPED:
        catalog = _read_po(LOCALE / name / "LC_MESSAGES" / "feedtool.po")
        messages = [m for m in catalog if m.id]  # type: ignore[attr-defined]
        assert {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in messages} == wanted, name
        untranslated = [
            m.id for m in messages if m.fuzzy or not all(m.string if isinstance(m.string, tuple) else [m.string])
        ]
        assert untranslated == [], name
        problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]  # type: ignore[attr-defined]
        assert problems == [], name  # placeholders the same as the English ones


def test_the_compiled_catalogues_are_in_step_with_their_po() -> None:
    from babel.messages.mofile import write_mo

    for name in SHIPPED:
        compiled = io.BytesIO()
        write_mo(compiled, _read_po(LOCALE / name / "LC_MESSAGES" / "feedtool.po"))  # type: ignore[arg-type]
        mo = LOCALE / name / "LC_MESSAGES" / "feedtool.mo"
        assert mo.read_bytes() == compiled.getvalue(), f"{mo}: run pybabel compile (docs/development.md)"


# -- a built site in a language --------------------------------------------------------------------

TOPICS = """
[[topic]]
slug = "taiwan"
title = "台湾"
any = ["台湾", "台海"]

[[topic]]
slug = "middle-east"
title = "中东"
description = "以色列、加沙与伊朗"
any = ["以色列", "加沙", "伊朗"]
"""


def _config(
    root: Path, language: str, base_url: str = "http://127.0.0.1:8000/", site: str = "", max_items: int = 2
) -> Config:
    path = root / "feedtool.toml"
    path.write_text(
        f'[site]\nbase_url = "{base_url}"\nlanguage = "{language}"\n{site}\n'
        f'[build]\ninputs = ["{SEEDS}"]\noutput = "out"\n'
        f"[feeds]\nmax_items = {max_items}\narchive_items = 1\n[store]\nlock_timeout = 1\n"
        "[stories]\nenabled = true\n" + TOPICS,  # the stories' pages and labels too
        "utf-8",
    )
    return load_config(path)


def test_the_feeds_titles_descriptions_and_opml_are_in_the_sites_language(tmp_path: Path) -> None:
    config = _config(tmp_path, "zh-Hant")
    build(config)
    out = config.output
    rfi = feedparser.parse((out / "outlets" / "rfi" / "atom.xml").read_bytes())
    assert rfi.feed.subtitle == "法广 RFI：由抓取的網頁重建的文章"
    everything = feedparser.parse((out / "all" / "atom.xml").read_bytes()).feed
    assert everything.subtitle == "由抓取的文章重建的新聞訂閱源"  # [site] description unset: the catalogue's
    taiwan = json.loads((out / "topics" / "taiwan" / "feed.json").read_text("utf-8"))
    assert taiwan["description"] == "各媒體關於「台湾」的文章"
    part = feedparser.parse((out / "all" / "archive" / "2023-10" / "28-101501" / "atom.xml").read_bytes())
    assert part.feed.title == "feedtool（2023-10，2023-10-28 10:15:01 UTC 起）"  # the part's oldest entry
    opml = (out / "feeds.opml").read_text("utf-8")
    assert '<outline text="全部媒體">' in opml and '<outline text="媒體">' in opml and '<outline text="專題">' in opml


def test_a_build_with_nothing_to_publish_reads_no_catalogue(tmp_path: Path) -> None:
    """It knows its feeds by their folders, and its catalogue by a hash of its files: Babel stays unloaded."""
    from feedtool.publish.plan import feed_folders, feed_specs
    from feedtool.publish.run import outlet_infos

    config = _config(tmp_path, "zh-Hant")
    build(config)
    with Store.reader(config.store) as store:
        infos = outlet_infos(config, store.outlets())
    assert feed_folders(config, infos) == [spec.folder for spec in feed_specs(config, infos)]
    script = (
        "import sys; from pathlib import Path; from feedtool.build import build; from feedtool.config import load_config\n"
        f"report = build(load_config(Path({str(config.path)!r})))\n"
        "assert report.publish is not None and not report.publish.written, report\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('babel', 'jinja2')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_an_operators_catalogue_adds_a_language_and_overrides_a_shipped_message(tmp_path: Path) -> None:
    theme = tmp_path / "theme"
    french = theme / "locale" / "fr" / "LC_MESSAGES" / "feedtool.po"
    french.parent.mkdir(parents=True)
    french.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Full text"\nmsgstr "Texte intégral"\n\n'
        'msgid "%(outlet)s: articles rebuilt from scraped pages"\nmsgstr "%(outlet)s : articles reconstruits"\n',
        "utf-8",
    )
    config = _config(tmp_path, "fr-CA", site='templates = "theme"')
    build(config)
    page = (config.output / "outlets" / "rfi" / "index.html").read_text("utf-8")
    assert '<html lang="fr-CA">' in page and "Texte intégral" in page
    assert "Subscribe" in page  # what the operator did not translate is English
    assert feedparser.parse((config.output / "outlets" / "rfi" / "atom.xml").read_bytes()).feed.subtitle == (
        "法广 RFI : articles reconstruits"
    )
    # An edit to the catalogue reaches every page and feed it changes at the next build.
    french.write_text(french.read_text("utf-8").replace("Texte intégral", "Lire la suite"), "utf-8")
    assert build(config).publish.written  # type: ignore[union-attr]
    assert "Lire la suite" in (config.output / "outlets" / "rfi" / "index.html").read_text("utf-8")

    # A catalogue for a shipped language overrides the messages it has; the others stay shipped.
    (theme / "locale" / "fr").rename(theme / "locale" / "zh_Hant")
    config = _config(tmp_path, "zh-TW", site='templates = "theme"')
    build(config)
    page = (config.output / "outlets" / "rfi" / "index.html").read_text("utf-8")
    assert "Lire la suite" in page and "訂閱" in page and "Subscribe" not in page


def test_a_broken_operators_catalogue_is_one_line_naming_its_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    po = tmp_path / "theme" / "locale" / "zh_Hant" / "LC_MESSAGES" / "feedtool.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid "Full text"\nmsgstr "全文"\n', "utf-8")
    build(_config(tmp_path, "zh-Hant", site='templates = "theme"'))
    before = snapshot(tmp_path / "out")
    po.write_text('msgid "Full text"\nmsgstr "全文"\nmsgid\n', "utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["build", "-c", "feedtool.toml"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "theme/locale/zh_Hant/LC_MESSAGES/feedtool.po, line 3" in err
    assert snapshot(tmp_path / "out") == before  # nothing published from a broken catalogue


class Served:
    """The seeds built in a language and served by `feedtool serve`'s server, store and all."""

    def __init__(self, root: Path, language: str, max_items: int = 2) -> None:
        sock = bind("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        self.config = _config(root, language, self.base, max_items=max_items)
        build(self.config, workers=1)
        self._serving = serving(self.config.output, Archive(self.config), sock)
        self._serving.__enter__()

    def get(self, path: str) -> str:
        request = urllib.request.Request(self.base + path, headers={"Accept": "text/html"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(response.read().decode())

    def close(self) -> None:
        self._serving.__exit__(None, None, None)


_TIMES = re.compile(
    r'<article class="(?:entry|hit)"[^>]*>.*?<a href="([^"]+)">.*?<time datetime="[^"]+">([^<]+)</time>', re.S
)


def test_times_on_the_search_page_are_the_outlets_as_on_its_feeds_page(tmp_path: Path) -> None:
    site = Served(tmp_path, "zh-Hans", max_items=50)  # every entry on its outlet's page
    try:
        on_pages = {}
        for outlet in ("rfi", "rfa", "zaobao"):
            on_pages.update(_TIMES.findall(site.get(f"outlets/{outlet}/")))
        found = dict(_TIMES.findall(site.get("search?q=" + quote("布林肯"))))
    finally:
        site.close()
    assert len(found) == 5 and found.keys() <= on_pages.keys()
    assert {url: on_pages[url] for url in found} == found
    assert any("中欧" in shown for shown in found.values()) and any("北美东部" in shown for shown in found.values())


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("zh-Hans", "无法搜索<q>\"台湾</q>：引号 '\"' 没有闭合。"),
        ("zh-Hant", "無法搜尋<q>\"台湾</q>：引號 '\"' 沒有閉合。"),
        ("en", "Cannot search for <q>\"台湾</q>: a quote '\"' is not closed."),
    ],
)
def test_a_search_that_cannot_be_run_says_why_in_the_sites_language(tmp_path: Path, language: str, said: str) -> None:
    import html
    import urllib.error

    site = Served(tmp_path, language)
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            site.get("search?q=" + quote('"台湾'))
        page = refused.value.read().decode()
    finally:
        site.close()
    assert refused.value.code == 400
    assert said in html.unescape(page)


# -- in Chromium, speaking the site's language ------------------------------------------------------

# The text a reader sees, and the labels a screen reader says, leaving out the articles' own text
# (their titles, summaries, snippets and full text) and the query language's syntax as one types it.
_SHOWN = """
const own = 'article h2, .summary, .content, .snippet, .feed-card li > a, code';
const shown = [document.title];
const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    const element = node.parentElement;
    if (node.data.trim() && !element.closest(own) && element.checkVisibility()) shown.push(node.data);
}
for (const element of document.querySelectorAll('[aria-label], [placeholder], [title], [alt], button')) {
    if (!element.checkVisibility() || element.tagName === 'LINK') continue;
    for (const name of ['aria-label', 'placeholder', 'title', 'alt']) shown.push(element.getAttribute(name) || '');
}
return shown;
"""


def _date_fields(driver: object) -> list[str]:
    """What each date field shows (its placeholder or its value), read from Chromium's own shadow tree."""
    document = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1, "pierce": True})  # type: ignore[attr-defined]
    shown: list[str] = []

    def walk(node: dict[str, Any], inside: bool) -> None:
        if node.get("nodeName") == "INPUT" and "date" in node.get("attributes", []):
            inside = True
            shown.append("")
        if inside and node.get("nodeType") == 3:
            shown[-1] += node["nodeValue"]
        for child in [*node.get("children", []), *node.get("shadowRoots", [])]:
            walk(child, inside)

    walk(document["root"], False)
    return shown


def _english_words() -> set[str]:
    """Every word of the English catalogue's labels (not of its date patterns)."""
    catalog = _read_po(LOCALE / "en" / "LC_MESSAGES" / "feedtool.po")
    words = set()
    for message in catalog:  # type: ignore[attr-defined]
        if not message.id or message.context == "date pattern":
            continue
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in texts:
            text = re.sub(r"%\(\w+\)s|<[^>]+>", " ", text)
            words |= {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    return words


@pytest.fixture(scope="module", params=["zh-Hant", "zh-Hans"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    site = Served(tmp_path_factory.mktemp("languages"), request.param)
    yield site
    site.close()


@pytest.fixture(scope="module")
def reader(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Chromium as a reader of the site's language has it: its interface in that language."""
    language = {"zh-Hant": "zh_TW", "zh-Hans": "zh_CN"}[served.config.site.language]
    driver = open_chromium(tmp_path_factory.mktemp("chromium"), "--hide-scrollbars", env={"LANGUAGE": language})
    locale = driver.execute_script("return Intl.DateTimeFormat().resolvedOptions().locale")
    if locale != language.replace("_", "-"):
        why = f"Chromium speaks {locale}, not {language}: apt-get install chromium-l10n"
        driver.quit()
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI: {why}")
        pytest.skip(why)
    yield driver
    driver.quit()


PAGES = {
    "index": "",
    "all": "all/",
    "stories": "stories/",
    "outlet": "outlets/rfi/",
    "archive": "all/archive/2023-10/28-101501/",  # the month's later part, from its oldest entry's time
    "topic": "topics/middle-east/",
    "search": "search?q=" + quote("布林肯") + "&since=2023-01-01",
    "search-help": "search",
    "search-nothing": "search?q=" + quote("没有这个词"),
    "query-feed": "all/atom.xml?q="
    + quote("王毅")
    + "&filter_title="
    + quote("布林肯")
    + "&filterout="
    + quote("体育"),
}


@pytest.mark.slow
@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_no_english_label_on_any_page(served: Served, reader: object, tmp_path: Path, size: tuple[int, int]) -> None:
    config = served.config
    with Store.reader(config.store) as store:
        entries = store.entries([row.entry_id for row in store.search(None, limit=100)])
        outlets = store.outlets()
    names = [name for name, _, _ in outlets.values()] + [o.name for slug in outlets if (o := config.outlet(slug))]
    names += [e.author for e in entries.values() if e.author]
    names += [t.title for t in config.topics] + [t.description for t in config.topics]
    # The site's, the formats', the program's and the subscription list's file's names.
    names += [config.site.title, "JSON Feed", "Atom", "RSS", "feedtool", "feeds.opml"]
    english = _english_words()
    language = config.site.language
    reader.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size == PHONE},
    )
    for name, path in PAGES.items():
        reader.get(served.base + path)  # type: ignore[attr-defined]
        wait_for(reader, lambda d: d.execute_script("return document.readyState") == "complete", path)
        assert reader.execute_script("return document.documentElement.lang") == language, path  # type: ignore[attr-defined]
        shown = [*reader.execute_script(_SHOWN), *_date_fields(reader)]  # type: ignore[attr-defined]
        text = "\n".join(shown)
        for own in sorted(filter(None, names), key=len, reverse=True):
            text = text.replace(own, " ")
        text = re.sub(r"\b(?:OR|NOT)\b", " ", text)  # the query language's operators, typed as they are
        left = sorted({w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in english})
        assert left == [], f"English on /{path} ({language}, {size[0]} px): {left}\n{text}"
        assert re.search(r"[\u4e00-\u9fff]", text), f"nothing but names on /{path}"  # the labels were seen
        if name.startswith("search"):
            assert len(_date_fields(reader)) == 2 and all("/" in f and "y" not in f for f in _date_fields(reader))
        shot = f"{name}-{language}-{size[0]}.png"
        assert reader.save_screenshot(str(tmp_path / shot))  # type: ignore[attr-defined]
        if os.environ.get("FEEDTOOL_UPDATE_SCREENSHOTS") and (name, language) in SHOWN:
            shutil.copy(tmp_path / shot, IMAGES / f"language-{shot}")
        if os.environ.get("FEEDTOOL_UPDATE_SCREENSHOTS") and (name, language, size) == ("outlet", "zh-Hans", DESKTOP):
            shutil.copy(tmp_path / shot, IMAGES / "outlet-page.png")  # the README's, in the default language
