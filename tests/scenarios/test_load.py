"""`feedtool serve` under load while builds run: fifty clients asking different query feeds for half
a minute (FEEDTOOL_LOAD_SECONDS for longer), the static files still answered, no error and no torn
document. How fast they are answered is bench/'s to measure; here every request has a deadline
generous enough for a busy machine."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import feedparser
import pytest
from corpus import TITLE_WORDS, generate
from helpers import ROOT, SEEDS

CLIENTS = 50
SECONDS = float(os.environ.get("FEEDTOOL_LOAD_SECONDS", "30"))


# Fetches a static document every 0.2 s for the given seconds; prints how long each took, and failures.
PROBER = """
import json, sys, time, urllib.request
url, seconds = sys.argv[1], float(sys.argv[2])
waits, failures, stop = [], [], time.monotonic() + seconds
while time.monotonic() < stop:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read()
            if not body.rstrip().endswith(b"</feed>"):
                failures.append("static feed cut short")
    except OSError as exc:
        failures.append(f"static: {exc}")
    waits.append(time.monotonic() - started)
    time.sleep(0.2)
print(json.dumps({"waits": waits, "failures": failures}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _feedtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedtool", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_fifty_clients_of_query_feeds_while_a_build_runs(tmp_path: Path) -> None:
    shutil.copytree(SEEDS, tmp_path / "dumps" / "seeds")
    generate(tmp_path / "dumps" / "corpus", 300, seed=7)
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    starter = (ROOT / "feedtool.toml").read_text("utf-8")
    (tmp_path / "feedtool.toml").write_text(
        f'[build]\ninputs = ["dumps"]\n[site]\nbase_url = "{base}"\n' + starter[starter.index("[[topic]]") :], "utf-8"
    )
    assert _feedtool("build", "-q", cwd=tmp_path).returncode == 0
    server = subprocess.Popen(
        [sys.executable, "-m", "feedtool", "serve", "--port", str(port), "-q"], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    failures: list[str] = []
    asked = [0] * CLIENTS  # answers each client was given
    static_waits: list[float] = []
    stop = time.monotonic() + SECONDS
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)

        def client(n: int) -> None:
            folders = ["all", "outlets/rfi", "outlets/zaobao", "topics/taiwan", "topics/middle-east"]
            formats = ["atom.xml", "rss.xml", "feed.json"]
            i = 0
            while time.monotonic() < stop:
                i += 1
                params = {"q": TITLE_WORDS[(n + i) % len(TITLE_WORDS)], "limit": str(5 + (n * 7 + i) % 40)}
                if i % 3 == 0:
                    params["filterout_title"] = TITLE_WORDS[(n * 3 + i) % len(TITLE_WORDS)]
                if i % 4 == 0:
                    params["opencc"] = "s2t"
                name = formats[(n + i) % 3]
                url = f"/{folders[(n + i) % len(folders)]}/{name}?{urlencode(params)}"
                # Each reader from an address of its own, as readers come: the server gives one
                # address one answer at a time.
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(f"127.0.1.{n + 1}", 0))
                try:
                    conn.request("GET", url)
                    response = conn.getresponse()
                    body = response.read()
                    if response.status != 200:
                        failures.append(f"{url}: {response.status} {body[:100]!r}")
                    elif int(response.headers["Content-Length"]) != len(body):
                        failures.append(f"torn: {url}")
                    elif name == "feed.json" and "items" not in json.loads(body):
                        failures.append(f"no items: {url}")
                    elif name != "feed.json" and feedparser.parse(body).bozo:
                        failures.append(f"not well-formed: {url}")
                    else:
                        asked[n] += 1
                except (OSError, ValueError) as exc:
                    failures.append(f"{url}: {exc}")
                finally:
                    conn.close()

        # The prober runs in a process of its own: in this one it would wait on the clients' parsing
        # for Python's lock, and time that, not the server.
        prober = subprocess.Popen(
            [sys.executable, "-c", PROBER, base + "all/atom.xml", str(SECONDS)], stdout=subprocess.PIPE, text=True
        )

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        builds = 0
        while time.monotonic() < stop - 5:  # builds, each with new articles, all the while
            generate(tmp_path / "dumps" / "news", 20, seed=8, start=1000 + builds * 20)
            result = _feedtool("build", "-q", cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            builds += 1
        for thread in threads:
            thread.join()
        probed, _ = prober.communicate(timeout=60)
        static_waits += json.loads(probed)["waits"]
        failures += json.loads(probed)["failures"]
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
    assert not failures, (failures[:5], errors[-3000:])
    assert builds >= 1 and all(asked), asked  # builds ran while they asked, and every client was answered
    assert static_waits  # the static feed was probed, and every probe answered (no failures above)
    assert "Traceback" not in errors
