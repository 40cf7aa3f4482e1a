"""Query feeds and the search page of `feedtool serve`, asked over HTTP as a feed reader and a browser ask.

A generated archive (CJK in both scripts, Latin, every outlet) with the starter config's topics,
served with its store behind it.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path
from urllib.parse import urlencode

import feedparser
import pytest
from helpers import ServedArchive, serving, validate_documents

from feedtool.search.rsshub import MAX_ITEMS
from feedtool.store import Store
from feedtool.web.answers import Archive

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


class Served(ServedArchive):
    def get(self, path: str, params: dict[str, str] | None = None, **headers: str) -> tuple[int, Message, bytes]:
        address = self.base + path + ("?" + urlencode(params) if params else "")
        request = urllib.request.Request(address, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def ids(self, path: str, params: dict[str, str]) -> list[str]:
        status, _, body = self.get(path, params)
        assert status == 200, body[:300]
        return [entry.id for entry in feedparser.parse(body).entries]

    def store(self) -> Store:
        return Store(self.config.store, root=self.config.root)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served(tmp_path_factory.mktemp("queryfeeds"), 200, seed=3, max_items=10)
    yield served
    served.close()


def test_a_topic_feed_and_its_terms_asked_as_a_query_feed_list_the_same_entries(served: Served) -> None:
    with served.store() as store:
        for topic in served.config.topics:
            members = {
                i for (i,) in store.db.execute("SELECT entry_id FROM entry_topics WHERE topic = ?", (topic.slug,))
            }
            assert 0 < len(members) < MAX_ITEMS, topic.slug
            q = " OR ".join(f'"{term}"' for term in topic.any)
            asked = served.ids("all/atom.xml", {"q": q, "limit": str(MAX_ITEMS)})
            assert set(asked) == members, topic.slug
            assert len(asked) == len(members)  # each once
            # and the topic's own address, asked with no words, lists them too
            assert set(served.ids(f"topics/{topic.slug}/atom.xml", {"limit": str(MAX_ITEMS)})) == members


def test_a_traditional_word_finds_the_simplified_articles_and_back(served: Served) -> None:
    traditional = served.ids("all/atom.xml", {"q": "臺灣", "limit": "200"})
    simplified = served.ids("all/atom.xml", {"q": "台湾", "limit": "200"})
    assert traditional == simplified and traditional
    with served.store() as store:
        titles = [e.title for e in store.entries(simplified).values()]
    assert any("臺灣" in t for t in titles) and any("台湾" in t for t in titles)


def test_q_searches_the_whole_archive_of_the_feed_not_its_newest_page(served: Served) -> None:
    asked = served.ids("outlets/rfi/atom.xml", {"q": "加沙", "limit": "200"})
    static = {e.id for e in feedparser.parse((served.config.output / "outlets/rfi/atom.xml").read_bytes()).entries}
    assert len(asked) > len(set(asked) & static)  # older entries than the subscription document holds
    with served.store() as store:
        assert {e.outlet for e in store.entries(asked).values()} == {"rfi"}
        published = [store.entries([i])[i].published for i in asked]
    assert published == sorted(published, reverse=True)


def test_query_feeds_are_valid_and_their_self_links_carry_the_query(served: Served, tmp_path: Path) -> None:

    documents = []
    for n, (path, params) in enumerate(
        [
            ("all/atom.xml", {"q": "台湾 OR Gaza", "limit": "30"}),
            ("all/rss.xml", {"filter_title": "加沙|中美", "opencc": "s2t", "limit": "30"}),
            ("outlets/rfi/atom.xml", {"q": '"以色列"', "brief": "120"}),
            ("topics/middle-east/rss.xml", {"filterout": "哈马斯", "limit": "10"}),
            ("all/atom.xml", {"q": "nothingmatchesthis"}),
        ]
    ):
        status, _, body = served.get(path, params)
        assert status == 200
        name = tmp_path / f"{n}-{path.replace('/', '-')}"
        name.write_bytes(body)
        address = served.base + path + "?" + urlencode(params)
        parsed = feedparser.parse(body)
        self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
        assert self_links and self_links[0].split("?")[1] != "", self_links
        documents.append(f"{name}={self_links[0]}")
        assert address.split("?")[0] == self_links[0].split("?")[0]
    validate_documents(documents)
    status, _, body = served.get("all/feed.json", {"q": "台湾", "limit": "5"})
    feed = json.loads(body)
    assert len(feed["items"]) == 5 and "q=" in feed["feed_url"]


def test_etag_last_modified_304_and_vary(served: Served) -> None:
    params = {"q": "台湾", "limit": "7"}
    status, headers, body = served.get("all/atom.xml", params)
    assert status == 200 and headers["Vary"] == "Accept" and headers["ETag"] and headers["Last-Modified"]
    again = served.get("all/atom.xml", params)
    assert again[1]["ETag"] == headers["ETag"] and again[2] == body  # the same result, the same tag
    assert served.get("all/atom.xml", params, **{"If-None-Match": headers["ETag"]})[0] == 304
    # Only the ETag tells: the newest entry's time stays put when entries leave an answer (filter_time).
    assert served.get("all/atom.xml", params, **{"If-Modified-Since": headers["Last-Modified"]})[0] == 200
    other = served.get("all/atom.xml", {"q": "台湾", "limit": "6"})[1]["ETag"]
    assert other != headers["ETag"]


def test_a_browser_asking_for_a_query_feed_gets_its_page(served: Served) -> None:
    status, headers, body = served.get("all/atom.xml", {"q": "加沙", "limit": "3"}, Accept=BROWSER)
    assert status == 200 and headers["Content-Type"].startswith("text/html") and headers["Vary"] == "Accept"
    page = body.decode()
    assert page.count('<article class="entry"') == 3 and "加沙" in page
    assert 'class="notice"' in page and 'action="../search"' in page  # why a page, and the search box
    assert "atom.xml?q=%E5%8A%A0%E6%B2%99&amp;limit=3" in page  # subscribe to this query


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"q": "(台湾"}, "is not closed"),
        ({"q": "NOT 台湾"}, "not only terms to leave out"),
        ({"filter": "(unclosed"}, "not a regular expression"),
        ({"filter_title": "a{1,2"}, ""),
        ({"limit": "many"}, "not a whole number"),
        ({"limit": "0.5"}, "not a whole number"),
        ({"format": "ums"}, "not a feed format"),
        ({"filter": "台湾", "fold": "2"}, "is not 1"),
        ({"limit": "-3"}, "not a whole number"),
        ({"brief": "50"}, "out of range"),
        ({"opencc": "x2y"}, "not a conversion"),
        ({"filter_time": "1e9"}, "not a whole number"),
        ({"filter": "x" * 600}, "at most 500"),
        ({"filter_description": "(a|aa)+$", "q": "台湾"}, ""),
    ],
)
def test_bad_parameters_are_a_400_with_a_one_line_reason(served: Served, params: dict[str, str], reason: str) -> None:
    status, headers, body = served.get("all/atom.xml", params)
    if not reason and status == 200:  # accepted as a regular expression after all: then it must be served
        return
    assert status == 400, body[:200]
    assert headers["Content-Type"].startswith("text/plain") and body.count(b"\n") == 1
    assert reason.encode() in body


def test_a_catastrophic_expression_cannot_hold_the_server(served: Served) -> None:
    started = time.monotonic()
    status, _, body = served.get("all/atom.xml", {"filter_description": "(.*a){25}$", "limit": "200"})
    assert time.monotonic() - started < 20
    assert status in (200, 400) and (status == 200 or b"took too long" in body)
    assert served.get("index.html")[0] == 200


def test_a_huge_limit_is_capped(served: Served) -> None:
    assert len(served.ids("all/atom.xml", {"limit": "999999999"})) == MAX_ITEMS


def test_the_search_page_pages_and_offers_its_feeds(served: Served) -> None:
    status, _, body = served.get("search", {"q": "台湾"})
    page = body.decode()
    assert status == 200 and page.count('<article class="hit"') == 20 and "<mark>" in page
    assert '<link rel="alternate" type="application/atom+xml"' in page and "all/atom.xml?q=" in page
    older = re.search(r'<a rel="next" href="search\?q=%E5%8F%B0%E6%B9%BE&amp;cursor=([\w-]+)"', page)
    assert older is not None and 'rel="prev"' not in page
    second = served.get("search", {"q": "台湾", "cursor": older.group(1)})[2].decode()
    assert 'rel="prev" href="search?q=%E5%8F%B0%E6%B9%BE&amp;cursor=' in second
    first_titles = {line for line in page.splitlines() if line.startswith("<h2>")}
    assert first_titles.isdisjoint(line for line in second.splitlines() if line.startswith("<h2>"))
    status, _, body = served.get("search", {"q": "<script>alert(1)</script>("})
    assert status == 400 and b"<script>alert" not in body and b"&lt;script&gt;" in body
    rfi = served.get("search", {"q": "加沙", "outlet": "rfi"})[2].decode()
    assert "outlets/rfi/atom.xml?q=" in rfi


def test_static_pages_served_get_the_search_box_and_files_do_not(served: Served) -> None:
    assert b'<form class="search" action="search"' in served.get("index.html")[2]
    assert b'action="../../search"' in served.get("outlets/rfi/index.html")[2]
    assert served.get("all/atom.xml")[2] == (served.config.output / "all/atom.xml").read_bytes()
    assert served.get("style.css", {"q": "x"})[2] == (served.config.output / "style.css").read_bytes()


def test_filter_time_keeps_only_recent_entries(served: Served) -> None:
    with served.store() as store:
        newest = max(
            e.published for e in store.entries([i for (i,) in store.db.execute("SELECT id FROM entries")]).values()
        )
    seconds = int((datetime.now(UTC) - newest).total_seconds()) + 3600
    recent = served.ids("all/atom.xml", {"filter_time": str(seconds), "limit": "200"})
    assert 0 < len(recent) < 50


def test_a_store_that_cannot_be_read_is_a_503_with_a_reason_and_the_files_are_still_served(
    served: Served, tmp_path: Path
) -> None:
    from dataclasses import replace

    broken = tmp_path / "state.sqlite3"
    broken.write_bytes(b"not a database" * 100)
    with serving(served.config.output, Archive(replace(served.config, store=broken))) as base:
        try:
            urllib.request.urlopen(base + "all/atom.xml?q=x", timeout=10)
            raise AssertionError("answered")
        except urllib.error.HTTPError as exc:
            assert exc.code == 503 and exc.read().count(b"\n") == 1
        with urllib.request.urlopen(base + "all/atom.xml", timeout=10) as response:
            assert response.status == 200


def test_a_query_string_on_what_is_not_a_feed_serves_the_file(served: Served) -> None:
    for path in ("", "index.html", "style.css", "feeds.opml"):
        status = served.get(path, {"q": "((("})[0]
        assert status == 200, path
    assert served.get("nosuchfeed/atom.xml", {"q": "台湾"})[0] == 404


def test_the_search_page_bounds_by_days(served: Served) -> None:
    page = served.get("search", {"q": "台湾", "since": "2024-06-01", "until": "2024-07-01"})[2].decode()
    days = [line.split('datetime="')[1][:10] for line in page.splitlines() if 'class="meta"><time' in line]
    assert days and all("2024-06-01" <= day < "2024-07-01" for day in days)
    assert 'value="2024-06-01"' in page and 'value="2024-07-01"' in page  # the form keeps the days
    assert served.get("search", {"q": "台湾", "since": "yesterday"})[0] == 200  # not a day: no bound


def test_searches_past_the_slots_wait_their_turn_then_get_a_503(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    slots = served.app.slots
    monkeypatch.setattr(slots, "turn", 0.2)
    monkeypatch.setattr(slots, "free", 0)  # every slot taken
    status, headers, body = served.get("all/atom.xml", {"q": "台湾"})
    assert status == 503 and b"busy" in body and body.count(b"\n") == 1 and headers["Retry-After"]
    assert served.get("all/atom.xml")[0] == 200  # the files are not held up
    monkeypatch.undo()
    assert served.get("all/atom.xml", {"q": "台湾"})[0] == 200


def test_a_head_request_is_told_the_length_its_get_receives(served: Served) -> None:
    """A served page carries its search box: HEAD must count it too, as GET sends it."""
    for path in ("index.html", "outlets/rfi/"):
        request = urllib.request.Request(served.base + path, method="HEAD")
        with urllib.request.urlopen(request, timeout=10) as response:
            length, etag = int(response.headers["Content-Length"]), response.headers["ETag"]
        _, headers, body = served.get(path)
        assert (length, etag) == (len(body), headers["ETag"]), path
