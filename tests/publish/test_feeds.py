"""What subscribers get: valid, stable documents in three formats, archives, topics, OPML, the index page."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import jsonschema
import pytest
from helpers import ROOT, SEEDS, assert_as_fresh, dump, make_config, published, snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from feedtool.build import build
from feedtool.config import load_config
from feedtool.models import StoredEntry
from feedtool.publish import parts
from feedtool.publish.check import check_output
from feedtool.publish.feeds import EPOCH, FILENAMES, OutletInfo, Page, Renderer
from feedtool.publish.plan import feed_specs

GOLDEN = ROOT / "tests" / "golden"
BASE = "http://127.0.0.1:8000/"
SCHEMA = json.loads((ROOT / "feedtool" / "publish" / "jsonfeed.schema.json").read_text("utf-8"))
FEEDS = [
    "all",
    "stories",
    "outlets/rfi",
    "outlets/rfa",
    "outlets/zaobao",
    "topics/us-china",
    "topics/middle-east",
    "topics/taiwan",
]
RFI_001 = "https://www.rfi.fr/cn/%E4%B8%93%E6%A0%8F%E6%A3%80%E7%B4%A2/%E8%A6%81%E9%97%BB%E8%A7%A3%E8%AF%B4/20231206-%E7%8E%8B%E6%AF%85%E4%B8%8E%E5%B8%83%E6%9E%97%E8%82%AF%E9%80%9A%E7%94%B5%E8%AF%9D-%E8%81%9A%E7%84%A6%E5%8A%A0%E6%B2%99%E6%88%98%E4%BA%8B%E5%92%8C%E5%8F%B0%E6%B9%BE%E9%97%AE%E9%A2%98"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("seeds-build")
    config = make_config(tmp, [SEEDS], stories=True)  # every feed, the stories' too
    build(config)
    return config.output


@pytest.fixture(scope="module")
def default_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds built with the repository's own feedtool.toml, as .ci/package-check builds them."""
    tmp = tmp_path_factory.mktemp("seeds-default")
    shutil.copytree(SEEDS, tmp / "seeds")
    shutil.copy(ROOT / "feedtool.toml", tmp / "feedtool.toml")
    config = load_config(tmp / "feedtool.toml")
    build(config)
    return config.output


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds with two entries per subscription document, so the rest go to monthly archives."""
    tmp = tmp_path_factory.mktemp("seeds-archived")
    config = make_config(tmp, [SEEDS], max_items=2)
    build(config)
    return config.output


def parse(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
    return parsed


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_every_feed_parses_cleanly_and_links_to_itself(out: Path, feed: str, fmt: str) -> None:
    parsed = parse(out / feed / FILENAMES[fmt])
    links = {link["rel"]: link["href"] for link in parsed.feed.links}
    assert links["self"] == f"{BASE}{feed}/{FILENAMES[fmt]}"
    assert parsed.feed.title and parsed.feed.language == "zh-CN"
    assert parsed.feed.generator == "feedtool"


@pytest.mark.parametrize("feed", FEEDS)
def test_every_json_feed_is_valid_json_feed_1_1(out: Path, feed: str) -> None:
    doc = json.loads((out / feed / "feed.json").read_text("utf-8"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["feed_url"] == f"{BASE}{feed}/feed.json"


def test_feed_dates_are_the_newest_entry_never_the_build_time(out: Path) -> None:
    atom = parse(out / "all" / "atom.xml")
    rss = parse(out / "all" / "rss.xml")
    assert atom.feed.updated == "2023-12-06T15:45:03+00:00"
    assert rss.feed.updated == "Wed, 06 Dec 2023 15:45:03 +0000"  # lastBuildDate


def test_entries_newest_first_with_every_field(out: Path) -> None:
    atom = parse(out / "all" / "atom.xml")
    assert [e.published[:10] for e in atom.entries] == [
        "2023-12-06",
        "2023-10-28",
        "2023-10-28",
        "2023-10-14",
        "2022-11-01",
    ]
    first = atom.entries[0]
    assert first.id == first.link == RFI_001
    assert first.author == "夏榕"
    assert first.content[0].type == "text/html" and "基辛格" in first.content[0].value
    assert first.summary.startswith("据法新社援引中国外交部称")
    assert {t.term for t in first.tags} == {
        "法广 RFI",
        "中美外交 US-China diplomacy",
        "中东 Middle East",
        "台湾 Taiwan",
    }
    assert first.media_content[0]["url"].endswith("AP23299790617867.jpg")


def test_an_entry_without_byline_names_the_outlet_as_author(out: Path) -> None:
    atom = parse(out / "outlets" / "zaobao" / "atom.xml")
    assert atom.entries[0].author == "联合早报"


def test_rss_specifics(out: Path) -> None:
    rss = parse(out / "outlets" / "rfi" / "rss.xml")
    assert rss.feed.link == "https://www.rfi.fr/cn/"  # the alternate page, not the self link
    item = rss.entries[0]
    assert item.id == item.link == RFI_001
    assert item.content[0].value.startswith("<img") and item.summary.startswith("据法新社")
    text = (out / "outlets" / "rfi" / "rss.xml").read_text("utf-8")
    assert '<guid isPermaLink="true">' in text and "<dc:creator>夏榕</dc:creator>" in text


def test_feed_documents_carry_no_xslt(out: Path) -> None:
    """Browsers are dropping XSLT: a person opening a feed gets its HTML page instead (see test_pages)."""
    assert b"xml-stylesheet" not in (out / "outlets" / "rfi" / "atom.xml").read_bytes()
    assert not list(out.rglob("*.xsl"))


def test_archives_reach_every_entry_exactly_once(archived: Path) -> None:
    for fmt in ("atom", "rss"):
        head = parse(archived / "all" / FILENAMES[fmt])
        assert len(head.entries) == 2
        seen = [e.id for e in head.entries]
        links = {link["rel"]: link["href"] for link in head.feed.links}
        while "prev-archive" in links:
            path = archived / links["prev-archive"].removeprefix(BASE)
            doc = parse(path)
            text = path.read_text("utf-8")
            assert "<fh:archive/>" in text
            seen += [e.id for e in doc.entries]
            links = {link["rel"]: link["href"] for link in doc.feed.links}
            assert links["current"] == f"{BASE}all/{FILENAMES[fmt]}"
        assert len(seen) == len(set(seen)) == 5
    assert check_output(archived)[0] == []


def test_json_feed_pages_with_next_url(archived: Path) -> None:
    doc = json.loads((archived / "all" / "feed.json").read_text("utf-8"))
    ids = [i["id"] for i in doc["items"]]
    while "next_url" in doc:
        doc = json.loads((archived / doc["next_url"].removeprefix(BASE)).read_text("utf-8"))
        jsonschema.validate(doc, SCHEMA)
        ids += [i["id"] for i in doc["items"]]
    assert len(ids) == len(set(ids)) == 5


def test_an_old_month_archive_does_not_change_when_new_entries_arrive(tmp_path: Path, seeds: Path) -> None:
    config = make_config(tmp_path, [seeds], max_items=2)
    build(config)
    old_month = config.output / "all" / "archive" / "2022-11" / "atom.xml"
    before = snapshot(config.output)[old_month.relative_to(config.output).as_posix()]
    (seeds / "new.txt").write_text(dump(url="https://www.rfi.fr/cn/20240101-x", stamp="1704067200000"), "utf-8")
    build(config)
    assert snapshot(config.output)[old_month.relative_to(config.output).as_posix()] == before


def _languages(out: Path, feed: str) -> tuple[str, set[str], set[str]]:
    """A feed's language as Atom says it, its JSON Feed items' languages, and its page's articles'
    (the page itself is in the site's language, as its labels are)."""
    items = json.loads((out / feed / "feed.json").read_text("utf-8"))["items"]
    page = (out / feed / "index.html").read_text("utf-8")
    articles = set(re.findall(r'<article class="entry" lang="([^"]*)"', page))
    return parse(out / feed / "atom.xml").feed.language, {i["language"] for i in items}, articles


def test_an_outlet_in_any_language_has_each_article_once_in_its_language(tmp_path: Path) -> None:
    """An English article dumped as shared and as fed is one entry. An outlet nobody listed, and a
    listed one that names no language, speak the site's language; one that names its own and the
    built-in Chinese outlets keep theirs. When the site's language changes, so do those outlets'
    feeds, and every document reads back clean."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    guardian = "https://www.theguardian.com/world/2024/mar/01/gaza-aid"
    lemonde = "https://www.lemonde.fr/international/article/2024/03/01/gaza_6219573_3210.html"
    for name, title, url in [
        ("shared", "Gaza aid", guardian + "?CMP=share_btn_tw"),
        ("fed", "Gaza aid", guardian + "?at_medium=RSS&at_campaign=rss"),
        ("lemonde", "Aide à Gaza", lemonde + "?xtor=RSS-3208"),
        ("reuters", "Aid to Gaza", "https://www.reuters.com/world/gaza-aid-2024-03-01/?utm_source=x"),
        ("rfi", "加沙援助", "https://www.rfi.fr/cn/中东/20240301-加沙"),
    ]:
        (dumps / f"{name}.txt").write_text(dump(title, url, "<p>Text.</p>", "1709290000000"), "utf-8")
    outlets = (
        '[[outlet]]\nslug = "lemonde"\nname = "Le Monde"\nhosts = ["lemonde.fr"]\nlanguage = "fr"\n'
        '[[outlet]]\nslug = "reuters"\nname = "Reuters"\nhosts = ["reuters.com"]\n'
    )
    for written, tag in [("en-gb", "en-GB"), ("en-us", "en-US")]:
        config = make_config(tmp_path, [dumps], extra=f'[site]\nlanguage = "{written}"\n{outlets}')
        build(config)
        out = config.output
        assert [e.link for e in parse(out / "outlets" / "theguardian-com" / "atom.xml").entries] == [guardian]
        assert [e.link for e in parse(out / "outlets" / "lemonde" / "atom.xml").entries] == [lemonde]
        assert _languages(out, "all") == (tag, {tag, "fr", "zh-CN"}, {tag, "fr", "zh-CN"})
        assert _languages(out, "outlets/theguardian-com") == (tag, {tag}, {tag})
        assert _languages(out, "outlets/reuters") == (tag, {tag}, {tag})
        assert _languages(out, "outlets/lemonde") == ("fr", {"fr"}, {"fr"})
        assert _languages(out, "outlets/rfi") == ("zh-CN", {"zh-CN"}, {"zh-CN"})
        pages = [out / "outlets" / slug / "index.html" for slug in ("lemonde", "rfi", "reuters")]
        assert {re.search(r'<html lang="([^"]*)"', p.read_text("utf-8"))[1] for p in pages} == {tag}
        assert check_output(out)[0] == []


def test_check_names_a_language_that_is_not_a_bcp47_tag(out: Path, tmp_path: Path) -> None:
    """Set by hand or by a template, a language no reader can use is a problem, once a document."""
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    for name, old, new in [
        ("all/atom.xml", 'xml:lang="zh-CN"', 'xml:lang="english"'),
        ("all/rss.xml", "<language>zh-CN</language>", "<language>chinese</language>"),
        ("all/feed.json", '"language": "zh-CN"', '"language": "zh_CN.UTF-8"'),
        ("outlets/rfi/index.html", 'lang="zh-CN"', 'lang="cn-zh-x"'),
        ("feeds.opml", 'language="zh-CN"', 'language="Chinese (China)"'),
    ]:
        path = copy / name
        path.write_text(path.read_text("utf-8").replace(old, new), "utf-8")
    problems, _ = check_output(copy)
    assert [p.replace(f"{copy}/", "") for p in problems] == [
        "all/atom.xml: language 'english' is not a BCP 47 language tag",
        "all/feed.json: language 'zh_CN.UTF-8' is not a BCP 47 language tag",
        "all/rss.xml: language 'chinese' is not a BCP 47 language tag",
        "feeds.opml: language 'Chinese (China)' is not a BCP 47 language tag",
        "outlets/rfi/index.html: language 'cn-zh-x' is not a BCP 47 language tag",
    ]


def _may_2023(folder: Path, n: int, body: str = "<p>正文。</p>", minutes: int = 0) -> None:
    """Article n of a busy May 2023, an hour after article n - 1 (and `minutes` more)."""
    stamp = str(1682899200000 + n * 3_600_000 + minutes * 60_000)
    url = f"https://www.rfi.fr/cn/中国/20230501-article-{n}" + (f"-{minutes}" if minutes else "")
    name = f"{n:02d}-{minutes}.txt" if minutes else f"{n:02d}.txt"
    (folder / name).write_text(dump(title=f"五月第{n}篇", url=url, body=body, stamp=stamp), "utf-8")


def _archive_titles(out: Path) -> dict[str, list[str]]:
    """Entry titles of each of the all-outlets feed's archive documents (Atom), by path."""
    return {
        path.parent.relative_to(out / "all" / "archive").as_posix(): [e.title for e in parse(path).entries]
        for path in sorted((out / "all" / "archive").rglob("atom.xml"))
    }


def _parts_rewritten(before: dict[str, tuple[int, bytes]], after: dict[str, tuple[int, bytes]]) -> set[str]:
    """The all-outlets feed's archive parts any document of which was written, added or removed."""
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    return {path.rsplit("/", 1)[0] for path in changed if path.startswith("all/archive/")}


def test_a_busy_month_is_archived_in_parts_that_new_late_and_edited_articles_leave_alone(tmp_path: Path) -> None:
    """A month of 80 articles in parts of at most 8, cut where the entries say (publish/parts.py).

    Cut by count from the month's oldest entry, an article dated early in the month moved every
    later entry on by one and rewrote every part after its own (here, every part); now it rewrites
    its own part and those beside it whose cuts moved, and leaves the later ones alone.
    """
    folder = tmp_path / "dumps"
    folder.mkdir()
    for n in range(80):
        _may_2023(folder, n)
    config = make_config(tmp_path, [folder], max_items=2, archive_items=8)
    build(config)
    by_part = _archive_titles(config.output)
    archived = [f"五月第{n}篇" for n in range(77, -1, -1)]  # the newest two are the subscription document's
    assert [
        title for key in sorted(by_part, key=lambda k: (k != "2023-05", k))[::-1] for title in by_part[key]
    ] == archived
    assert len(by_part) >= 10 and all(1 <= len(titles) <= 8 for titles in by_part.values())
    assert all(
        len(titles) >= 6 for key, titles in by_part.items() if key != max(by_part)
    )  # three quarters, but the newest
    for key, titles in by_part.items():  # a later part is named by when its oldest entry was published
        oldest = int(titles[-1].removeprefix("五月第").removesuffix("篇"))
        if key != "2023-05":
            assert key == f"2023-05/{1 + oldest // 24:02d}-{oldest % 24:02d}0000", (key, titles)
    later = min(key for key in by_part if key != "2023-05")
    hour = int(later[-6:-4])
    assert parse(config.output / "all" / "archive" / later / "atom.xml").feed.title.endswith(
        f"（2023-05，2023-05-{later[8:10]} {hour:02d}:00:00 UTC 起）"  # the site's language: zh-CN
    )
    assert check_output(config.output)[0] == []  # the chain holds every entry once, every link resolves

    before = snapshot(config.output)
    _may_2023(folder, 2, minutes=30)  # a late article, dated between the month's third and fourth
    build(config)
    after = snapshot(config.output)
    rewritten = _parts_rewritten(before, after)  # its part, and a cut or two beside it moved
    assert all(part < "all/archive/2023-05/01-12" for part in rewritten), sorted(rewritten)
    assert len(_archive_parts(after) - rewritten) >= 8  # the month's later parts, as they were
    assert check_output(config.output)[0] == []

    before = after
    _may_2023(folder, 80)  # pushes article 78 out of the subscription document, into the newest part
    _may_2023(folder, 9, body="<p>正文。更正：标题有误。</p>")  # an edited re-scrape of an old article
    os.utime(folder / "09.txt", ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    build(config)
    after = snapshot(config.output)
    parts_after = _archive_titles(config.output)
    edited = next(f"all/archive/{key}" for key, titles in parts_after.items() if "五月第9篇" in titles)
    newest = f"all/archive/{max(parts_after, key=lambda key: (key != '2023-05', key))}"
    rewritten = _parts_rewritten(before, after)
    assert edited in rewritten and rewritten <= {edited, newest, *(_archive_parts(after) - _archive_parts(before))}
    assert check_output(config.output)[0] == []


def test_parts_published_under_another_rule_are_replaced_and_their_addresses_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An output whose months were cut by count, as feedtool cut them before, under "2023-05/2":
    the next build publishes every document again, and no old address is left behind."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    for n in range(40):
        _may_2023(folder, n)
    config = make_config(tmp_path, [folder], max_items=2, archive_items=8)
    with monkeypatch.context() as before:
        before.setattr(parts, "RULE", "by count from the month's oldest entry")
        before.setattr(parts, "cut", lambda rows, most: [list(rows[i : i + most]) for i in range(0, len(rows), most)])
        before.setattr(
            parts, "keys", lambda month, firsts: [f"{month}/{i + 1}" if i else month for i in range(len(firsts))]
        )
        build(config)
    assert (config.output / "all" / "archive" / "2023-05" / "2" / "atom.xml").is_file()
    build(config)
    assert_as_fresh(config, [folder], tmp_path / "fresh", max_items=2, archive_items=8)


def test_parts_that_begin_in_the_same_second_have_names_of_their_own(tmp_path: Path) -> None:
    """Thirty articles stamped with one millisecond (a scraper's batch): every part begins in the
    same second, so each after the first takes its oldest entry's hash, and the chain holds."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    for n in range(30):
        url = f"https://www.rfi.fr/cn/中国/20230501-batch-{n}"
        (folder / f"{n:02d}.txt").write_text(dump(title=f"同一秒第{n}篇", url=url, stamp="1682935200000"), "utf-8")
    config = make_config(tmp_path, [folder], max_items=2, archive_items=4)
    build(config)
    keys = sorted(_archive_titles(config.output))
    assert len(keys) >= 6 and keys[0] == "2023-05"
    later = keys[1:]
    assert all(re.fullmatch(r"2023-05/01-100000-[0-9a-f]{8}", key) for key in later), later
    assert sum(titles for titles in map(len, _archive_titles(config.output).values())) == 28
    title = parse(config.output / "all" / "archive" / later[-1] / "atom.xml").feed.title
    assert title.endswith("（2023-05，2023-05-01 10:00:00 UTC 起）")
    assert check_output(config.output)[0] == []
    assert_as_fresh(config, [folder], tmp_path / "fresh", max_items=2, archive_items=4)


def _archive_parts(files: dict[str, tuple[int, bytes]]) -> set[str]:
    """The all-outlets feed's archive parts in a snapshot of the output."""
    return {path.rsplit("/", 1)[0] for path in files if path.startswith("all/archive/")}


def test_opml_lists_every_feed_once(out: Path) -> None:
    root = ET.parse(out / "feeds.opml").getroot()
    assert root.get("version") == "2.0"
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")]
    assert sorted(urls) == sorted(f"{BASE}{f}/atom.xml" for f in FEEDS)


def test_index_page_autodiscovers_every_feed_in_every_format(out: Path) -> None:
    html = (out / "index.html").read_text("utf-8")
    found = re.findall(r'<link rel="alternate" type="([^"]+)" title="[^"]+" href="([^"]+)">', html)
    expected = {(t, f"{BASE}{f}/{name}") for f in FEEDS for t, name in
                [("application/atom+xml", "atom.xml"), ("application/rss+xml", "rss.xml"), ("application/feed+json", "feed.json")]}  # fmt: skip
    assert set(found) == expected and len(found) == len(expected)
    assert re.search(r"5 条，最新 <time[^>]*>2023年12月6日</time>", html)  # the site's language: zh-CN
    assert "美国务院发言人谈布林肯国务卿与中国外长王毅会面" in html


def test_topic_feeds_hold_exactly_the_matching_articles(out: Path) -> None:
    def titles(feed: str) -> set[str]:
        return {e.title for e in parse(out / feed / "atom.xml").entries}

    assert titles("topics/taiwan") == {
        "王毅与布林肯通电话 聚焦加沙战事和台湾问题 - 要闻解说",  # 台湾
        "美国务院发言人谈布林肯国务卿与中国外长王毅会面",  # 台海
    }
    assert len(titles("topics/us-china")) == 5
    assert "美国务院：布林肯王毅对话富有成效 不排除G20前再通话" not in titles("topics/middle-east")


def test_topics_match_across_scripts_and_case(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    articles = {
        "a": ("台灣問題再度升溫", "<p>繁體中文的報道。</p>"),
        "b": ("简体标题", "<p>BLINKEN met officials.</p>"),
        "c": ("Bus schedule", "<p>The bus was late.</p>"),
        "d": ("台湾新闻", "<p>体育消息。</p>"),
    }
    for key, (title, body) in articles.items():
        (tmp_path / "in" / f"{key}.txt").write_text(dump(title=title, url=f"https://www.rfi.fr/cn/{key}", body=body))
    extra = """
[[topic]]
slug = "strait"
title = "台湾问题"
any = ["台湾问题", "blinken", "us"]
none = ["体育"]
"""
    config = make_config(tmp_path, [tmp_path / "in"], extra=extra)
    build(config)
    titles = {e.title for e in parse(config.output / "topics" / "strait" / "atom.xml").entries}
    assert titles == {"台灣問題再度升溫", "简体标题"}


def test_golden_copy_of_the_seeds_feeds(default_out: Path) -> None:
    """Any byte change in what the seeds publish is deliberate: regenerate with FEEDTOOL_UPDATE_GOLDEN=1.

    The golden copy is what the repository's feedtool.toml publishes (stories off, as by default),
    which .ci/package-check compares with the wheel's build; the stories' documents are checked by
    the tests above."""
    produced = published(default_out)
    if os.environ.get("FEEDTOOL_UPDATE_GOLDEN"):
        for name, data in produced.items():
            (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / name).write_bytes(data)
    golden = published(GOLDEN)
    assert sorted(produced) == sorted(golden)
    for name in produced:
        assert produced[name] == golden[name], f"{name} differs from tests/golden/{name}"


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
_when = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@st.composite
def _entries(draw: st.DrawFn) -> list[StoredEntry]:
    count = draw(st.integers(0, 4))
    return [
        StoredEntry(
            id=f"https://example.org/{i}/{draw(st.sampled_from(['a', 'b&c', '%E4%B8%AD']))}",
            url=f"https://example.org/{i}",
            title=draw(_text),
            outlet=draw(st.sampled_from(["rfi", "zaobao", "example-org"])),
            language="zh-CN",
            content=draw(st.sampled_from(["<p>正文</p>", "<p>a</p>\n<entry>x</entry><item>", "]]> &amp; <"])),
            summary=draw(_text),
            published=draw(_when),
            updated=draw(_when),
            author=draw(st.none() | _text),
            image=draw(st.none() | st.just("https://img.example.org/x.png")),
            tags=tuple(draw(st.lists(_text, max_size=2))),
            topics=tuple(draw(st.lists(st.sampled_from(["us-china", "taiwan"]), max_size=2, unique=True))),
        )
        for i in range(count)
    ]


@settings(max_examples=60, deadline=None)
@given(entries=_entries(), month=st.sampled_from([None, "2023-05"]), fmt=st.sampled_from(["atom", "rss", "json"]))
def test_a_document_assembled_from_fragments_is_the_one_feedgen_writes_whole(
    entries: list[StoredEntry], month: str | None, fmt: str
) -> None:
    """The optimisation behind incremental publishing must not change a byte of any document."""
    config = load_config(ROOT / "feedtool.toml")
    infos = {"rfi": OutletInfo("rfi", "法广 RFI", "https://www.rfi.fr/cn/", "zh-CN", "https://www.rfi.fr/favicon.ico")}
    renderer = Renderer(config.site, infos, {t.slug: t.title for t in config.topics})
    for feed in feed_specs(config, infos):
        page = Page(feed, month, tuple(e.id for e in entries), prev_archive="2023-04", next_archive=month and "2023-06")
        newest = max((e.updated for e in entries), default=EPOCH)
        assembled = renderer.assemble(page, renderer.fragments(entries, ["atom", "rss", "json"])[fmt], newest, fmt)
        assert assembled == renderer.whole(page, entries, fmt)


def _one_entry(image: str | None, summary: str = "导语。") -> StoredEntry:
    return StoredEntry(
        id="https://www.rfi.fr/cn/a", url="https://www.rfi.fr/cn/a", title="标题", outlet="rfi", language="zh-CN",
        content="<p>正文</p>", summary=summary, published=datetime(2023, 10, 14, tzinfo=UTC),
        updated=datetime(2023, 10, 14, tzinfo=UTC), author=None, image=image, tags=(),
    )  # fmt: skip


def _render(entry: StoredEntry, fmt: str, icon: str = "https://www.rfi.fr/favicon.ico") -> feedparser.FeedParserDict:
    config = load_config(ROOT / "feedtool.toml")
    infos = {"rfi": OutletInfo("rfi", "法广 RFI", "https://www.rfi.fr/cn/", "zh-CN", icon)}
    renderer = Renderer(config.site, infos, {})
    outlet_feed = next(f for f in feed_specs(config, infos) if f.kind == "outlet")
    return feedparser.parse(renderer.whole(Page(outlet_feed, None, (entry.id,)), [entry], fmt))


@pytest.mark.parametrize(
    ("image", "media_type"),
    [
        ("https://img.example.org/a.JPG", "image/jpeg"),
        ("https://img.example.org/a.webp", "image/webp"),
        ("https://img.example.org/a.png?w=600", "image/png"),
        ("https://img.example.org/image?id=3", None),  # the extension says nothing: no type, not a guess
    ],
)
@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_a_lead_image_is_one_media_content_typed_by_its_extension(image: str, media_type: str | None, fmt: str) -> None:
    parsed = _render(_one_entry(image), fmt)
    (content,) = parsed.entries[0].media_content
    assert content["url"] == image and content.get("type") == media_type
    assert "media_group" not in str(parsed.entries[0].keys())


@pytest.mark.parametrize(
    ("icon", "rss_image"), [("https://www.rfi.fr/favicon.ico", False), ("https://www.rfi.fr/logo.png", True)]
)
def test_rss_image_only_for_gif_jpeg_or_png(icon: str, rss_image: bool) -> None:
    assert ("image" in _render(_one_entry(None), "rss", icon).feed) == rss_image
    assert _render(_one_entry(None), "atom", icon).feed.icon == icon


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_a_summary_holding_tag_like_text_reaches_readers_as_text(fmt: str) -> None:
    summary = "导语 </p> 里有 <b>假标签</b> & 符号。"
    detail = _render(_one_entry(None, summary), fmt).entries[0].summary_detail
    assert detail.type == "text/html"
    assert html.unescape(detail.value) == summary  # HTML whose text is the summary, not markup


def test_a_feed_with_no_entries_is_dated_by_the_newest_entry_in_the_store(out: Path) -> None:
    """Not 1970 (the validator calls that implausible), and not the build time (the bytes must be stable)."""
    empty = make_config(out.parent, [SEEDS], extra='[[topic]]\nslug = "none"\ntitle = "None"\nany = ["不会出现的词"]\n')
    build(empty)
    newest = max(parse(out / "all" / "atom.xml").entries, key=lambda e: e.updated_parsed).updated
    assert parse(empty.output / "topics" / "none" / "atom.xml").feed.updated == newest
