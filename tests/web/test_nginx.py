"""The nginx configuration of docs/serving.md, run as written (the folder and ports replaced) in
front of a built site and `feedtool serve`: the types, a browser's page, query feeds and /search."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ROOT, SEEDS, make_config

from feedtool.build import build

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _documented() -> str:
    text = (ROOT / "docs" / "serving.md").read_text("utf-8")
    found = re.search(r"```nginx\n(.*?)```", text, re.S)
    assert found, "docs/serving.md has no nginx configuration"
    return found.group(1)


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if NGINX is None:
        why = "no nginx: apt-get install nginx-light"
        if os.environ.get("CI"):
            pytest.fail(f"the nginx test must run in CI: {why}")
        pytest.skip(why)
    root = tmp_path_factory.mktemp("nginx")
    shutil.copytree(SEEDS, root / "dumps")
    config = make_config(root, [root / "dumps"])
    build(config)
    ours, theirs = _port(), _port()
    server = _documented().replace("/srv/feeds/out", str(config.output)).replace("127.0.0.1:8000", f"127.0.0.1:{ours}")
    server = server.replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{theirs}")
    (root / "nginx.conf").write_text(
        ("user root;\n" if os.getuid() == 0 else "")  # its workers read the test's private folder
        + f"daemon off;\nworker_processes 1;\nerror_log {root}/error.log;\npid {root}/nginx.pid;\nevents {{}}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {root}/tmp;\nproxy_temp_path {root}/tmp;\n{server}\n}}\n",
        "utf-8",
    )
    (root / "tmp").mkdir()
    serve = subprocess.Popen(["feedtool", "serve", "--port", str(ours), "-q"], cwd=root)
    nginx = subprocess.Popen([NGINX, "-c", str(root / "nginx.conf"), "-p", str(root)])
    base = f"http://127.0.0.1:{theirs}/"
    deadline = time.monotonic() + 60  # for a busy machine: both answer within a second on an idle one
    while True:  # until nginx answers /search with feedtool serve's page
        try:
            urllib.request.urlopen(base + "search", timeout=10).close()
            break
        except (OSError, urllib.error.HTTPError):
            if time.monotonic() > deadline or nginx.poll() is not None or serve.poll() is not None:
                nginx.terminate()
                serve.terminate()
                log = root / "error.log"
                pytest.fail(f"nginx and feedtool serve did not answer {base}search: {log.exists() and log.read_text()}")
            time.sleep(0.1)
    yield base
    nginx.terminate()
    serve.terminate()
    nginx.wait(10)
    serve.wait(10)


def _get(url: str, accept: str = "*/*") -> tuple[int, str, str, bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept}), timeout=10) as response:
        return response.status, response.headers["Content-Type"], response.headers.get("Vary", ""), response.read()


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("all/atom.xml", "application/atom+xml; charset=utf-8"),
        ("all/rss.xml", "application/rss+xml; charset=utf-8"),
        ("all/feed.json", "application/feed+json; charset=utf-8"),
        ("feeds.opml", "text/x-opml; charset=utf-8"),
        ("outlets/rfi/", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
    ],
)
def test_the_documents_have_their_types(front: str, path: str, media_type: str) -> None:
    assert _get(front + path)[1] == media_type


@pytest.mark.parametrize("name", ["atom.xml", "rss.xml", "feed.json"])
def test_a_browser_gets_the_page_and_a_query_goes_to_feedtool_serve(front: str, name: str) -> None:
    status, media_type, vary, body = _get(front + f"topics/taiwan/{name}", BROWSER)
    assert (status, media_type, vary) == (200, "text/html; charset=utf-8", "Accept") and b"<h1>" in body
    status, media_type, _, body = _get(front + f"all/{name}?q=%E5%8F%B0%E6%B9%BE&limit=2")
    assert status == 200 and not media_type.startswith("text/html")
    assert "q=%E5%8F%B0%E6%B9%BE" in body.decode()  # its self link carries the query
    status, media_type, _, body = _get(front + "search?q=%E5%8F%B0%E6%B9%BE")
    assert status == 200 and b'<article class="hit"' in body
