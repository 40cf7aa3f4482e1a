"""Whole answers, paged: a query feed, the search page, `feedtool search --all` and `Archive.hits`
each reach every match of a search exactly once, newest first, also while a build adds entries.

A generated archive (bench/corpus.py) served by `feedtool serve`'s server with its store behind
it; what each door answers is compared with a scan of every stored entry (test_fulltext._brute).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import Message
from html import unescape
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlencode, urljoin
from zoneinfo import ZoneInfo

import feedparser
import pytest
from helpers import ServedArchive, dump, run_cli, scanned_for

import feedtool
from feedtool.build import build
from feedtool.models import StoredEntry
from feedtool.store import Store

WORD = "台湾"


class Served(ServedArchive):
    def get(self, address: str, params: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
        url = address if address.startswith("http") else self.base + address
        url += ("?" + urlencode(params)) if params else ""
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def store(self) -> Store:
        return Store(self.config.store, root=self.config.root)

    def scan(self, word: str = WORD, outlet: str | None = None, topic: str | None = None) -> dict[str, StoredEntry]:
        """The entries a search for `word` must find, by reading every stored entry."""
        with self.store() as store:
            found = store.entries(sorted(scanned_for(store, word)))
            if topic is not None:
                members = {
                    i for (i,) in store.db.execute("SELECT entry_id FROM entry_topics WHERE topic = ?", (topic,))
                }
                found = {i: e for i, e in found.items() if i in members}
        return {i: e for i, e in found.items() if outlet is None or e.outlet == outlet}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served(tmp_path_factory.mktemp("paging"), 600, seed=11, max_items=10)
    yield served
    served.close()


def _links(fmt: str, body: bytes) -> tuple[list[str], dict[str, str]]:
    """The entries' ids of a feed document, and its paging links by relation."""
    if fmt == "json":
        doc = json.loads(body)
        links = {"next": doc["next_url"]} if "next_url" in doc else {}
        return [item["id"] for item in doc["items"]], links
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    links = {link.rel: link.href for link in parsed.feed.get("links", []) if link.rel in ("first", "previous", "next")}
    return [entry.id for entry in parsed.entries], links


def _follow(
    served: Served, path: str, params: dict[str, str], between: Callable[[int], None] | None = None
) -> list[str]:
    """A script reading a query feed whole: its first page, then each `next` link until there is none."""
    fmt = {"atom.xml": "atom", "rss.xml": "rss", "feed.json": "json"}[path.rsplit("/", 1)[-1]]
    address, ids, pages = served.base + path + "?" + urlencode(params), [], 0
    while address:
        status, _, body = served.get(address)
        assert status == 200, body[:300]
        found, links = _links(fmt, body)
        ids += found
        pages += 1
        assert pages < 500, "the next links never end"
        if between is not None:
            between(pages)
        address = links.get("next", "")
    return ids


def _newest_first(entries: dict[str, StoredEntry], ids: list[str]) -> None:
    published = [entries[i].published for i in ids]
    assert published == sorted(published, reverse=True)


@pytest.mark.parametrize(
    ("path", "outlet", "topic"),
    [("all/atom.xml", None, None), ("outlets/rfi/rss.xml", "rfi", None), ("topics/taiwan/feed.json", None, "taiwan")],
)
def test_following_next_from_a_query_feed_gets_every_match_exactly_once(
    served: Served, path: str, outlet: str | None, topic: str | None
) -> None:
    truth = served.scan(outlet=outlet, topic=topic)
    assert len(truth) > 3 * 7, "too few matches to page through"
    ids = _follow(served, path, {"q": WORD, "limit": "7"})
    assert len(ids) == len(set(ids)), "an entry came twice"
    assert set(ids) == set(truth)
    _newest_first(truth, ids)


def test_the_pages_of_a_filtered_feed_reach_past_what_one_answer_may_scan(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer tries at most MAX_SCANNED entries on its filters: a page that stops there links
    on to the next one, so the filtered feed is whole too."""
    from feedtool.web import answers

    monkeypatch.setattr(answers, "MAX_SCANNED", 25)
    truth = {i for i, e in served.scan().items() if re.search("中美|加沙", e.title)}
    assert truth
    ids = _follow(served, "all/atom.xml", {"q": WORD, "filter_title": "中美|加沙", "limit": "5"})
    assert len(ids) == len(set(ids)) and set(ids) == truth


def test_previous_and_first_links_lead_back(served: Served) -> None:
    params = {"q": WORD, "limit": "6"}
    pages: list[tuple[list[str], dict[str, str], bytes]] = []
    address = served.base + "all/atom.xml?" + urlencode(params)
    for _ in range(3):
        body = served.get(address)[2]
        ids, links = _links("atom", body)
        pages.append((ids, links, body))
        address = links["next"]
    first, second, third = pages
    assert "previous" not in first[1] and "first" not in first[1]
    assert third[1]["first"] == served.base + "all/atom.xml?" + urlencode(params)
    back = served.get(third[1]["previous"])[2]
    assert _links("atom", back)[0] == second[0]
    ids, links = _links("atom", served.get(second[1]["previous"])[2])
    assert ids == first[0] and "previous" not in links  # back at the newest page
    again = _links("atom", served.get(served.base + "all/atom.xml?" + urlencode(params))[2])[1]
    assert again["next"] == first[1]["next"]  # a cursor is the same address every time


def test_a_browser_pages_through_a_query_feeds_page_as_a_reader_through_the_feed(served: Served) -> None:
    params = {"q": WORD, "limit": "5"}
    browser = {"Accept": "text/html,*/*;q=0.8"}
    feed = _links("atom", served.get("all/atom.xml", params)[2])[1]["next"]
    request = urllib.request.Request(served.base + "all/atom.xml?" + urlencode(params), headers=browser)
    with urllib.request.urlopen(request, timeout=60) as response:
        page = response.read().decode()
    older = re.search(r'<a rel="next" href="([^"]+)"', page)
    assert older is not None and 'rel="prev"' not in page
    address = urljoin(served.base + "all/atom.xml", unescape(older.group(1)))
    assert address.split("?")[1] == feed.split("?")[1]  # the same page as the feed's next link
    second = served.get(address)[2].decode()
    assert _links("atom", served.get(feed)[2])[0] == re.findall(
        r'<article class="entry"[^>]* data-id="([^"]+)"', second
    )
    assert re.search(r'<a rel="prev" href="index.html\?[^"]*cursor=', second)


def test_a_page_past_the_first_is_a_valid_feed_whose_id_is_the_first_pages(served: Served, tmp_path: Path) -> None:
    from helpers import validate_documents

    documents = []
    for name in ("atom.xml", "rss.xml"):
        first = served.get("all/" + name, {"q": WORD, "limit": "5"})[2]
        address = _links(name.split(".")[0], first)[1]["next"]
        second = served.get(address)[2]
        assert feedparser.parse(second).feed.get("id") == feedparser.parse(first).feed.get("id")
        (tmp_path / name).write_bytes(second)
        documents.append(f"{tmp_path / name}={address}")
    validate_documents(documents)


def test_the_search_page_pages_through_every_hit(served: Served) -> None:
    truth = served.scan()
    address, ids = served.base + "search?" + urlencode({"q": WORD}), []
    while address:
        status, _, body = served.get(address)
        page = body.decode()
        assert status == 200
        ids += [unescape(i) for i in re.findall(r'<article class="hit".*?<h2><a href="([^"]+)"', page, re.S)]
        older = re.search(r'<a rel="next" href="([^"]+)"', page)
        address = urljoin(address, unescape(older.group(1))) if older else ""
    assert len(ids) == len(set(ids)) and set(ids) == set(truth)
    _newest_first(truth, ids)


@pytest.mark.parametrize(
    "cursor",
    ["x", "A" * 27, "!" * 27, "AQ" + "A" * 25, "_" * 27, "A" * 200, "AQAF" + "%" * 23, "☃" * 27, ""],
)
def test_a_cursor_not_made_by_the_server_is_a_400_with_a_reason(served: Served, cursor: str) -> None:
    for path in ("all/atom.xml", "search"):
        status, headers, body = served.get(path, {"q": WORD, "cursor": cursor})
        if cursor == "":  # no cursor: the first page
            assert status == 200
            continue
        assert status == 400, (path, body[:200])
        assert b"cursor" in body
        if path != "search":
            assert headers["Content-Type"].startswith("text/plain") and body.count(b"\n") == 1


def test_feedtool_search_all_prints_every_match_as_json_lines(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    truth = served.scan()
    code, out, err = run_cli(capsys, "search", WORD, "--all", "--json", "-c", str(served.config.path))
    assert code == 0, err
    hits = [json.loads(line) for line in out.splitlines()]
    ids = [hit["id"] for hit in hits]
    assert len(ids) == len(set(ids)) and set(ids) == set(truth) and len(ids) > 200
    _newest_first(truth, ids)
    assert all(hit["url"] == hit["id"] for hit in hits)  # the canonical address, as the feeds give it
    code, out, _ = run_cli(capsys, "search", WORD, "--limit", "210", "-c", str(served.config.path))
    assert code == 0 and out.splitlines()[1::3] == [f"  {i}" for i in ids[:210]]  # more than a page


def test_a_reader_that_stops_reading_ends_feedtool_search_all_quietly(served: Served) -> None:
    """`feedtool search --all | head`: the command ends when head does, without a traceback."""
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "feedtool", "search", WORD, "--all", "--json", "-c", str(served.config.path)]
    env = {**os.environ, "PYTHONPATH": str(Path(feedtool.__file__).parent.parent)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stderr is not None
    assert json.loads(process.stdout.readline())["id"]
    process.stdout.close()  # more than a pipe holds is still to come
    assert process.wait(timeout=120) == 0
    assert process.stderr.read() == b""


def test_a_query_starting_with_a_minus_is_a_search_on_the_command_line(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(served.config.path)
    code, out, err = run_cli(capsys, "search", "-加沙", WORD, "--all", "--json", "-c", config)
    assert code == 0, err
    ids = {json.loads(line)["id"] for line in out.splitlines()}
    with served.store() as store:
        assert ids == scanned_for(store, WORD) - scanned_for(store, "加沙") and ids
    code, _, err = run_cli(capsys, "search", "-台湾", "-c", config)
    assert code == 2 and "not only terms to leave out" in err and err.count("\n") == 1


def test_the_command_line_shows_the_canonical_address_and_the_outlets_time(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "search", WORD, "--outlet", "rfi", "--limit", "3", "-c", str(served.config.path))
    assert code == 0
    lines = out.splitlines()
    with served.store() as store:
        for n in range(3):
            entry = store.entries([lines[3 * n + 1].strip()])[lines[3 * n + 1].strip()]  # the id: its canonical URL
            local = entry.published.astimezone(ZoneInfo("Europe/Paris"))
            assert lines[3 * n].startswith(f"{local:%Y-%m-%d %H:%M %Z}  rfi  "), lines[3 * n]


def _more(served: Served, tag: str, word_at: list[datetime]) -> None:
    """Dumps of new articles holding WORD, published at these times, and a build that adds them."""
    folder = served.config.inputs[0] / f"more-{tag}"
    folder.mkdir()
    for n, when in enumerate(word_at):
        url = f"https://www.rfi.fr/cn/中国/{when:%Y%m%d}-paging-{tag}-{n}"
        stamp = str(int(when.timestamp() * 1000))
        (folder / f"{n}.txt").write_text(dump(title=f"{WORD} 新闻 {tag} {n}", url=url, stamp=stamp), "utf-8")
    build(served.config, workers=1)


def test_next_links_followed_while_a_build_adds_entries_get_each_match_once(served: Served) -> None:
    """Entries newer than where the reader is do not shift the pages; older ones it has yet to
    reach are found; none comes twice."""
    before = served.scan()
    newest_first = sorted(before.values(), key=lambda e: e.published, reverse=True)
    added: list[datetime] = []

    def a_build(pages: int) -> None:
        if pages == 1:  # the reader is at the 8th newest match: a build adds entries on both sides
            newer = newest_first[0].published + timedelta(days=1)
            older = newest_first[len(newest_first) // 2].published - timedelta(seconds=1)
            added.extend([newer.replace(microsecond=0), older.replace(microsecond=0)])
            _more(served, "http", added)

    ids = _follow(served, "all/atom.xml", {"q": WORD, "limit": "8"}, between=a_build)
    after = served.scan()
    assert len(ids) == len(set(ids))
    assert set(before) <= set(ids) <= set(after)
    new = {e.published: i for i, e in after.items() if i not in before}
    assert new[added[1]] in ids and new[added[0]] not in ids  # the older one found, the newer one past


def test_the_python_api_iterates_every_hit_also_while_a_build_adds_entries(served: Served) -> None:
    archive = feedtool.open_archive(served.config)
    truth = served.scan()
    hits = archive.hits(WORD)
    seen = [next(hits).entry.id for _ in range(200)]  # the first page, read whole; the next is read after the build
    oldest = min(truth[i].published for i in seen)
    _more(served, "api", [(oldest - timedelta(days=1)).replace(microsecond=0)])
    seen += [hit.entry.id for hit in hits]
    after = served.scan()
    assert len(seen) == len(set(seen)) and set(truth) <= set(seen) and set(seen) == set(after)
    page = archive.search(WORD, limit=5)
    following = archive.search(WORD, limit=5, cursor=page.next)
    assert [h.entry.id for h in page.hits + following.hits] == seen[:10]


def test_entries_of_one_second_and_one_microsecond_are_paged_exactly_once_either_way(tmp_path: Path) -> None:
    """The index orders rows by the second; pages of any size cut through a second, and through
    entries of the same microsecond, without losing or repeating one, forward and back."""
    from helpers import make_config

    folder = tmp_path / "dumps"
    folder.mkdir()
    stamps = (
        [1_700_000_000_000] * 5
        + [1_700_000_000_001 + 97 * n for n in range(4)]
        + [1_699_999_999_999, 1_700_000_001_000]
    )
    for n, stamp in enumerate(stamps):
        url = f"https://www.rfi.fr/cn/中国/20231114-same-second-{n}"
        (folder / f"{n}.txt").write_text(dump(title=f"{WORD} {n}", url=url, stamp=str(stamp)), "utf-8")
    config = make_config(tmp_path, [folder])
    archive = feedtool.open_archive(config)
    archive.build(workers=1)
    every = [hit.entry for hit in archive.hits(WORD)]
    assert len({e.id for e in every}) == len(every) == len(stamps)
    assert [e.published for e in every] == sorted((e.published for e in every), reverse=True)
    assert all(a.published > b.published or a.id < b.id for a, b in pairwise(every))  # as the feeds order them
    for limit in (1, 2, 3, 4, 7):
        pages, cursor = [], None
        while True:
            found = archive.search(WORD, limit=limit, cursor=cursor)
            pages.append((found, [hit.entry.id for hit in found.hits]))
            if (cursor := found.next) is None:
                break
        assert [i for _, ids in pages for i in ids] == [e.id for e in every], limit  # one order, whatever the page
        assert pages[0][0].previous is None
        for (_, ids), (after, _) in pairwise(pages):
            assert after.previous is not None
            assert [hit.entry.id for hit in archive.search(WORD, limit=limit, cursor=after.previous).hits] == ids
    with pytest.raises(feedtool.ConfigError, match="cursor"):
        archive.search(WORD, cursor=pages[-1][0].previous[:-1] + "x")  # type: ignore[index]
