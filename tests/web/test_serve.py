"""`feedtool serve` on a loopback port, read by a real feed reader (the `reader` library)."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT, dump, make_config
from reader import make_reader

from feedtool.build import build
from feedtool.config import Config
from feedtool.web.app import App
from feedtool.web.files import prefers_html
from feedtool.web.server import make_server


class Site:
    def __init__(self, tmp_path: Path, seeds: Path) -> None:
        self.seeds = seeds
        (tmp_path / "out").mkdir()
        self.statuses: list[tuple[str, int]] = []
        app = App(tmp_path / "out")

        async def recording(scope: Any, receive: Any, send: Any) -> None:  # every answer's status, by path
            async def sent(message: Any) -> None:
                if message["type"] == "http.response.start":
                    self.statuses.append((scope["path"], message["status"]))
                await send(message)

            await app(scope, receive, sent)

        self.server = make_server(recording)  # type: ignore[arg-type]
        self.base = self.server.base_url  # the port is known before the build
        self.config: Config = make_config(tmp_path, [seeds], extra=f'[site]\nbase_url = "{self.base}"')

    def get(self, path: str, **headers: str) -> tuple[int, Message, bytes]:
        request = urllib.request.Request(self.base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()


@pytest.fixture
def site(tmp_path: Path, seeds: Path) -> Iterator[Site]:
    site = Site(tmp_path, seeds)
    with site.server.running():
        build(site.config)
        yield site


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("all/atom.xml", "application/atom+xml; charset=utf-8"),
        ("all/rss.xml", "application/rss+xml; charset=utf-8"),
        ("all/feed.json", "application/feed+json; charset=utf-8"),
        ("feeds.opml", "text/x-opml; charset=utf-8"),
        ("", "application/atom+xml; charset=utf-8"),  # a client asking for no HTML: the all-outlets feed
        ("index.html", "text/html; charset=utf-8"),
    ],
)
def test_media_types(site: Site, path: str, media_type: str) -> None:
    status, headers, body = site.get(path)
    assert (status, headers["Content-Type"]) == (200, media_type)
    assert headers["ETag"] and headers["Last-Modified"] and int(headers["Content-Length"]) == len(body)


def test_conditional_requests_get_304(site: Site) -> None:
    _, headers, _ = site.get("outlets/rfi/atom.xml")
    assert site.get("outlets/rfi/atom.xml", **{"If-None-Match": headers["ETag"]})[0] == 304
    assert site.get("outlets/rfi/atom.xml", **{"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert site.get("outlets/rfi/atom.xml", **{"If-None-Match": '"other"'})[0] == 200


@pytest.mark.parametrize(
    "path", ["../feedtool.toml", "%2e%2e/feedtool.toml", "all/../../feedtool.toml", ".feedtool/state.sqlite3",
             "outlets/", "outlets", "nope.xml", "all/.atom.xml.1.feedtool-tmp"],
)  # fmt: skip
def test_nothing_outside_the_output_no_listings_no_hidden_files(site: Site, path: str) -> None:
    (site.config.output / "all" / ".atom.xml.1.feedtool-tmp").write_text("torn")
    assert site.get(path)[0] == 404


def test_a_feed_reader_subscribes_through_the_opml_and_sees_no_duplicates(site: Site, tmp_path: Path) -> None:
    reader = make_reader(str(tmp_path / "reader.sqlite"))
    status, _, opml = site.get("feeds.opml")
    assert status == 200
    reader.import_feeds(io.BytesIO(opml))
    feeds = list(reader.get_feeds())
    assert len(feeds) == 8  # all outlets, stories, three outlets, three topics
    reader.update_feeds(scheduled=False)
    for feed in reader.get_feeds():
        assert feed.last_exception is None, (feed.url, feed.last_exception)
    all_feed = site.base + "all/atom.xml"
    assert len(list(reader.get_entries(feed=all_feed))) == 5

    # Nothing changed: every feed answers 304 and nothing is downloaded again.
    site.statuses.clear()
    reader.update_feeds(scheduled=False)
    assert {code for _, code in site.statuses} == {304}

    # A rebuild with a new dump and a re-scrape of an old one under another URL.
    (site.seeds / "new.txt").write_text(dump(title="新文章", url="https://www.rfi.fr/cn/中国/20231215-new"), "utf-8")
    rescrape = (
        (site.seeds / "000_98a2bef58e7ca05f.txt")
        .read_text("utf-8")
        .replace("https://www.rfi.fr/", "http://www.rfi.fr/")
    )
    (site.seeds / "rescrape.txt").write_text(rescrape, "utf-8")
    build(site.config)
    reader.update_feeds(scheduled=False)
    entries = list(reader.get_entries(feed=all_feed))
    assert len(entries) == 6 == len({e.id for e in entries})
    for feed in reader.get_feeds():
        assert feed.last_exception is None
    assert ("/outlets/zaobao/atom.xml", 304) in site.statuses


def _serve(*args: str) -> subprocess.Popen[str]:
    """`feedtool serve` on a free port, as a subprocess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "feedtool", "serve", *args, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def test_the_serve_command(tmp_path: Path) -> None:
    config = make_config(tmp_path, [ROOT / "seeds"])
    build(config)
    process = _serve("-o", str(config.output))
    try:
        line = process.stdout.readline()
        assert line.startswith(f"feedtool: serving {config.output} on http://127.0.0.1:")
        port = int(line.rsplit(":", 1)[1].split("/")[0])
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as response:
                    assert b"<!DOCTYPE html>" in response.read()
                    break
            except urllib.error.URLError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not answer")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serving_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    process = _serve("-o", str(tmp_path / "missing"))
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert err.strip().endswith("does not exist; run 'feedtool build' first")


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
READERS = [
    "application/atom+xml,application/rss+xml,application/xml;q=0.9,*/*;q=0.8",  # the `reader` library's kind
    "application/rss+xml, application/rdf+xml;q=0.8, application/atom+xml;q=0.6, application/xml;q=0.4, text/xml;q=0.4",
    "*/*",
    "",
    "application/feed+json, application/json;q=0.9",
]


@pytest.mark.parametrize("name", ["atom.xml", "rss.xml", "feed.json"])
def test_a_browser_opening_a_feed_gets_its_page(site: Site, name: str) -> None:
    status, headers, body = site.get(f"outlets/rfi/{name}", Accept=BROWSER)
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8")
    assert headers["Vary"] == "Accept"
    assert body == (site.config.output / "outlets" / "rfi" / "index.html").read_bytes()


@pytest.mark.parametrize("accept", READERS)
@pytest.mark.parametrize("name", ["atom.xml", "rss.xml", "feed.json"])
def test_a_feed_reader_gets_the_feed_byte_for_byte(site: Site, name: str, accept: str) -> None:
    status, headers, body = site.get(f"all/{name}", **({"Accept": accept} if accept else {}))
    assert status == 200 and headers["Vary"] == "Accept" and not headers["Content-Type"].startswith("text/html")
    assert body == (site.config.output / "all" / name).read_bytes()


@pytest.mark.parametrize(
    ("path", "accept", "served"),
    [
        ("", BROWSER, "index.html"),
        ("", "", "all/atom.xml"),
        ("", "*/*", "all/atom.xml"),
        ("", "application/rss+xml, application/atom+xml;q=0.5", "all/rss.xml"),
        ("", "application/feed+json", "all/feed.json"),
        ("", "text/html;q=0.5, application/atom+xml", "all/atom.xml"),
        ("", "text/html;q=0.5, application/rss+xml", "all/rss.xml"),  # the type asked for, not the first
        ("outlets/rfi/", "", "outlets/rfi/atom.xml"),
        ("outlets/rfi/", BROWSER, "outlets/rfi/index.html"),
        ("outlets/rfi/", "application/feed+json, application/json;q=0.9", "outlets/rfi/feed.json"),
        ("outlets/", "", "outlets/index.html"),  # a folder of folders has no feed: its page, if any
    ],
)
def test_a_reader_given_a_folders_address_gets_its_feed_and_a_browser_its_page(
    site: Site, path: str, accept: str, served: str
) -> None:
    """The address a person hands a feed reader is the site's: readers get the all-outlets feed."""
    status, headers, body = site.get(path, **({"Accept": accept} if accept else {}))
    if not (site.config.output / served).is_file():
        assert status == 404
        return
    assert status == 200 and body == (site.config.output / served).read_bytes()
    assert headers["Vary"] == "Accept"


def test_newsboat_given_the_sites_address_reads_the_entries(site: Site, tmp_path: Path) -> None:
    """The README tells a reader to subscribe to the site's address: newsboat, given it, gets the entries."""
    newsboat = shutil.which("newsboat")
    if newsboat is None:
        if os.environ.get("CI"):
            pytest.fail("newsboat must run in CI (Debian package newsboat)")
        pytest.skip("newsboat is not installed (Debian package newsboat)")
    (tmp_path / "urls").write_text(site.base + "\n", "utf-8")
    cache = tmp_path / "cache.db"
    config = tmp_path / "config"
    config.write_text("", "utf-8")
    fetched = subprocess.run(
        [newsboat, "-x", "reload", "-u", str(tmp_path / "urls"), "-c", str(cache), "-C", str(config)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    with sqlite3.connect(cache) as db:
        titles = {title for (title,) in db.execute("SELECT title FROM rss_item")}
    items = json.loads((site.config.output / "all" / "feed.json").read_text("utf-8"))["items"]
    assert titles == {item["title"] for item in items} and len(titles) == 5


def test_a_not_modified_answer_for_a_feed_says_it_varies_by_accept(site: Site) -> None:
    etag = site.get("all/atom.xml")[1]["ETag"]
    status, headers, _ = site.get("all/atom.xml", **{"If-None-Match": etag})
    assert (status, headers.get("Vary")) == (304, "Accept")
    assert "Vary" not in site.get("index.html")[1]


def test_the_page_and_the_feed_have_different_etags(site: Site) -> None:
    """A cache that keeps one by ETag must not answer a reader with the page."""
    page = site.get("all/atom.xml", Accept=BROWSER)[1]["ETag"]
    feed = site.get("all/atom.xml")[1]["ETag"]
    assert page != feed
    assert site.get("all/atom.xml", **{"If-None-Match": page})[0] == 200


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("text/html;q=0.5, application/atom+xml", False),
        ("application/atom+xml;q=0.5, text/*", True),
        ("text/html;q=0.8, */*;q=0.8", False),  # a tie goes to the feed
        ("TEXT/HTML", True),
        ("text/html;q=nonsense, application/*;q=0.1", False),
        *((reader, False) for reader in READERS),
    ],
)
def test_prefers_html(accept: str, html: bool) -> None:
    assert prefers_html(accept, "application/atom+xml") is html


def test_serve_warns_when_it_listens_where_the_output_was_not_published_for(tmp_path: Path, seeds: Path) -> None:
    """The base URL a build published under is stored; a build under a new one says so, and serve
    on another address says how to rebuild for it, before a subscriber is sent to the wrong one."""
    from feedtool.build import build as run_build

    config = make_config(tmp_path, [seeds])
    run_build(config)
    moved = make_config(tmp_path, [seeds], extra='[site]\nbase_url = "http://127.0.0.1:8999/"')
    assert "published under a new base URL (was http://127.0.0.1:8000/)" in run_build(moved).summary()
    assert "new base URL" not in run_build(moved).summary()
    process = _serve("-c", str(config.path))
    try:
        line = process.stderr.readline()
    finally:
        process.kill()
        process.communicate()
    assert line.startswith("feedtool: the output was published for http://127.0.0.1:8999/, not http://127.0.0.1:")
    assert "to serve it here, run 'feedtool build --base-url http://127.0.0.1:" in line


def test_the_systemd_unit_of_the_docs_verifies(tmp_path: Path) -> None:
    """docs/serving.md's unit for `feedtool serve`, as systemd reads it (only the program's path replaced)."""
    import re
    import shutil

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze must be installed in CI (.ci/run installs systemd)")
        pytest.skip("systemd-analyze is not installed (Debian's systemd package)")
    text = (ROOT / "docs" / "serving.md").read_text("utf-8")
    unit = re.search(r"# /etc/systemd/system/feedtool-serve.service\n(.*?)```", text, re.S)
    assert unit, "docs/serving.md has no unit for feedtool serve"
    program = shutil.which("feedtool")
    assert program is not None
    path = tmp_path / "feedtool-serve.service"
    path.write_text(unit.group(1).replace("/usr/local/bin/feedtool", program), "utf-8")
    verified = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and not verified.stderr.strip(), verified.stderr
    broken = path.read_text("utf-8").replace("TimeoutStopSec", "TimeoutStopSecs")
    path.write_text(broken, "utf-8")  # the check can fail: an unknown key is reported
    assert "Unknown key" in subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True).stderr


def test_the_application_runs_under_uvicorn_as_the_docs_say_behind_a_prefix(tmp_path: Path, seeds: Path) -> None:
    config = make_config(tmp_path, [seeds])
    build(config)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "feedtool.web.app:from_config",
        "--port",
        str(port),
        "--root-path",
        "/feeds",
    ]
    env = {**os.environ, "FEEDTOOL_CONFIG": str(config.path)}
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/all/atom.xml", timeout=5) as response:
                    assert response.read() == (config.output / "all" / "atom.xml").read_bytes()
                    break
            except urllib.error.URLError:
                time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not serve the application")
        query = urllib.parse.quote("台湾")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/all/atom.xml?q={query}", timeout=10) as response:
            assert b"<entry>" in response.read()
    finally:
        server.terminate()
        server.wait(timeout=30)
