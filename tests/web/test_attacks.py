"""`feedtool serve` attacked as the internet would: each attack against a real server process on
127.0.0.1, with a bound on its outcome and on the server's memory (read from /proc while it runs).

The archive is the seeds and 2,000 generated articles, with stories on. Attackers ask from 127.0.0.2 and the
ordinary clients from other loopback addresses, as they would come from different places.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from corpus import generate
from helpers import ROOT, SEEDS

MEMORY_BOUND = 300 * 2**20  # the server's resident memory, whatever it is asked
ATTACKER = "127.0.0.2"
SLOW = r"(?s)(.{0,20}[\p{Han}a-z]){4}Q"  # legal in RE2 (977 steps), milliseconds an entry: over budget on 2,000
SECONDS = float(os.environ.get("FEEDTOOL_ATTACK_SECONDS", "15"))  # of the slowloris and the crowd


class Server:
    """`feedtool serve` as a subprocess, and the most memory it has held since `watching()` began."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.process = subprocess.Popen(
            [sys.executable, "-m", "feedtool", "serve", "--port", "0"], cwd=project,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.process.stdout.readline() if self.process.stdout else ""
        assert "serving" in line, (line, self.process.stderr.read() if self.process.stderr else "")
        self.port = int(line.rsplit(":", 1)[1].split("/")[0])
        self.peak = 0
        self._stop = threading.Event()
        threading.Thread(target=self._watch, daemon=True).start()

    def rss(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024

    def _watch(self) -> None:
        while not self._stop.is_set() and self.process.poll() is None:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def get(self, path: str, *, source: str = "127.0.0.1", timeout: float = 30, **headers: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout, source_address=(source, 0))
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def raw(self, data: bytes, *, timeout: float = 10) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as conn:
            conn.sendall(data)
            return conn.recv(65536)

    def alive(self) -> bool:
        return self.process.poll() is None and self.get("/all/atom.xml", timeout=10)[0] == 200

    def stop(self) -> str:
        self._stop.set()
        self.process.send_signal(signal.SIGTERM)
        _, errors = self.process.communicate(timeout=30)
        return errors


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    project = tmp_path_factory.mktemp("attacked")
    shutil.copytree(SEEDS, project / "dumps" / "seeds")
    generate(project / "dumps" / "corpus", 2000, seed=5)
    starter = (ROOT / "feedtool.toml").read_text("utf-8")
    (project / "feedtool.toml").write_text(
        '[build]\ninputs = ["dumps"]\n[site]\nbase_url = "http://127.0.0.1:8000/"\n[stories]\nenabled = true\n'
        + starter[starter.index("[[topic]]") :],
        "utf-8",
    )
    built = subprocess.run(
        [sys.executable, "-m", "feedtool", "build", "-q"], cwd=project, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    server = Server(project)
    yield server
    errors = server.stop()
    assert server.process.returncode == 0, errors[-2000:]  # a graceful stop on SIGTERM
    assert "Traceback" not in errors, errors[-3000:]


@pytest.fixture
def watched(server: Server) -> Iterator[Server]:
    """The server, its peak memory held under MEMORY_BOUND through the test, and alive after it."""
    server.peak = server.rss()
    yield server
    assert server.alive()
    assert server.peak < MEMORY_BOUND, f"the server held {server.peak / 2**20:.0f} MiB"


def feed(**params: str) -> str:
    return "/all/atom.xml?" + urlencode(params)


def test_a_memory_bomb_in_a_filter_is_a_400_at_once(watched: Server) -> None:
    """Nested counted repeats, which a backtracking engine expands while compiling."""
    for pattern in ("(?:a{65535}){65535}", "(?:a{1000}){1000}b", "((a{100}){100}){100}", "(?s)((?R)?.)+"):
        started = time.monotonic()
        status, body = watched.get(feed(filter=pattern), source=ATTACKER)
        assert status == 400 and body.startswith(b"Bad query: filter is not a regular expression RE2 takes"), body
        assert time.monotonic() - started < 5  # refused before any work, not after a timeout


def test_what_re2_does_not_take_is_a_400_that_says_so(watched: Server) -> None:
    for pattern in ("(?<=a)b", "(?=x)", r"(\w)\1"):
        status, body = watched.get(feed(filter_title=pattern), source=ATTACKER)
        assert status == 400 and b"RE2 has no lookaround, backreferences or recursion" in body, body


def test_a_folded_expression_is_held_to_the_same_bounds(watched: Server) -> None:
    """fold=1 writes each Chinese character as a class of its forms, three times the steps in RE2's
    program: these expressions, taken as written (364 to 904 steps), are refused folded (1,084 to
    2,704) as too complex, at once."""
    for pattern in ("臺灣" * 60, "(?:台湾){150}", "[發]{300}"):
        started = time.monotonic()
        status, body = watched.get(feed(filter=pattern, fold="1"), source=ATTACKER)
        assert status == 400 and b"it is too complex" in body, body
        assert time.monotonic() - started < 5


def test_a_thousand_distinct_heavy_patterns_leave_the_memory_bounded(watched: Server) -> None:
    """Half of them refused by RE2 (a backtracking engine expands each, 140 to 250 MB), half compiled
    and kept for reuse, the cache bounded by what they hold, not by their count. filter_time=1 finds
    no entry to try them on: this is the cost of compiling and keeping them."""
    before = watched.rss()
    wrong: list[str] = []

    def ask(numbers: range) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", watched.port, timeout=30, source_address=(ATTACKER, 0))
        for n in numbers:
            heavy = rf"(?:a{{1000}}){{1000}}{n}" if n % 2 else rf"(?s)(.{{0,18}}[\p{{Han}}a-z]){{4}}{n}"
            conn.request("GET", feed(filter=heavy, filter_time="1"))
            response = conn.getresponse()
            body = response.read()
            if response.status != (400 if n % 2 else 200):
                wrong.append(f"{heavy}: {response.status} {body[:100]!r}")

    threads = [threading.Thread(target=ask, args=(range(k, 1000, 4),)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong, wrong[:3]
    assert watched.rss() - before < 100 * 2**20


def test_slow_patterns_dropped_by_their_clients_do_not_hold_the_others_up(watched: Server) -> None:
    """Six slow patterns, each dropped by its client after 0.3 s, while twenty clients ask query
    feeds and /search: every one of those answered, none a 503, none kept waiting for seconds."""
    waits: list[float] = []
    failures: list[str] = []
    stop = time.monotonic() + SECONDS

    def attacker(n: int) -> None:
        while time.monotonic() < stop:
            with socket.create_connection(("127.0.0.1", watched.port), source_address=(ATTACKER, 0)) as conn:
                path = feed(filter=SLOW + str(n))
                conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                time.sleep(0.3)

    def client(n: int) -> None:
        words = ["台湾", "中美", "经济", "加沙", "外长"]
        i = 0
        while time.monotonic() < stop:
            i += 1
            word = words[(n + i) % len(words)]
            path = feed(q=word, limit="10") if i % 2 else "/search?q=" + quote(word)
            started = time.monotonic()
            status, body = watched.get(path, source=f"127.0.1.{n + 1}")
            waits.append(time.monotonic() - started)
            if status != 200:
                failures.append(f"{status} {body[:100]!r}")

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(6)]
    threads += [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:5]
    assert len(waits) >= 20
    waits.sort()
    print(f"answers: {len(waits)}, median {waits[len(waits) // 2]:.3f} s, slowest {waits[-1]:.3f} s")
    assert waits[-1] < 5  # generous for a busy machine; a 503 after the turn's wait would be a failure above


def test_a_slow_pattern_kept_waiting_for_is_stopped_by_its_budget(watched: Server) -> None:
    status, body = watched.get(feed(filter=SLOW), source=ATTACKER)
    assert status == 400 and b"of work, its bound; narrow it" in body, body


def test_one_address_cannot_queue_without_end(watched: Server) -> None:
    """Past the requests one address may have waiting, a 429 at once; the others are served."""
    statuses: list[int] = []

    def ask() -> None:
        statuses.append(watched.get(feed(filter=SLOW), source=ATTACKER)[0])

    threads = [threading.Thread(target=ask) for _ in range(14)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    assert watched.get(feed(q="台湾"), source="127.0.1.99")[0] == 200
    for thread in threads:
        thread.join()
    assert 429 in statuses and set(statuses) <= {400, 429, 503}, statuses  # a 503: waited its turn too long


def test_slowloris_connections_are_closed_by_the_header_deadline(watched: Server) -> None:
    """300 connections that send a header line every two seconds and never finish, and 20 that send
    nothing: each is closed within the deadline, and meanwhile a reader is served at once."""
    conns: list[socket.socket] = []
    for n in range(320):  # from sixteen addresses: one address's connections past its share are refused
        source = f"127.0.3.{n % 16 + 1}"
        conn = socket.create_connection(("127.0.0.1", watched.port), timeout=30, source_address=(source, 0))
        if n < 300:
            conn.sendall(b"GET /all/atom.xml HTTP/1.1\r\nHost: x\r\n")
        conns.append(conn)
    opened = time.monotonic()
    closed: dict[int, float] = {}
    served: list[float] = []
    while len(closed) < len(conns) and time.monotonic() - opened < 30:
        for n, conn in enumerate(conns):
            if n in closed or n >= 300:
                continue
            try:
                conn.sendall(f"X-Slow-{n}: {time.monotonic()}\r\n".encode())
            except OSError:
                closed[n] = time.monotonic() - opened
        started = time.monotonic()
        assert watched.get("/all/atom.xml", timeout=10)[0] == 200
        served.append(time.monotonic() - started)
        time.sleep(2)
        for n in range(300, 320):
            if n not in closed:
                conns[n].setblocking(False)
                try:
                    if conns[n].recv(1) == b"":
                        closed[n] = time.monotonic() - opened
                except BlockingIOError:
                    pass
    for conn in conns:
        conn.close()
    print(f"reader served in at most {max(served):.3f} s; connections closed after {max(closed.values()):.1f} s")
    assert len(closed) == len(conns), f"{len(conns) - len(closed)} slow connections still open after 30 s"
    assert max(served) < 5  # generous for a busy machine: the point is that it is served at all


def test_the_edges_of_a_request(watched: Server) -> None:
    """Each odd request answered with one status and a line, the server unchanged."""
    assert watched.get(feed(q="台\0湾"))[0] == 400  # a NUL is a bad query, not an unreadable store
    assert watched.get("/" + "a" * 300 + "/atom.xml")[0] == 404
    assert watched.get("/all/" + "b" * 3000)[0] == 414
    assert watched.raw(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431")
    assert watched.raw(b"POST /all/atom.xml HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").startswith(
        b"HTTP/1.1 405"
    )
    assert watched.raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64)).startswith(b"HTTP/1.1 400")
    head = watched.raw(b"GET /all/atom.xml HTTP/1.1\r\nHost: x\r\n\r\n").split(b"\r\n\r\n")[0].lower()
    assert b"\r\nserver: feedtool\r\n" in head + b"\r\n" and b"python" not in head and b"uvicorn" not in head


def test_hostile_cursors_are_refused_or_are_only_a_place(watched: Server) -> None:
    """A cursor not made by the server is a 400 before the store is read; one forged with the check
    (its making is public) is only a place in the hits, however far: a page like any other, or a
    400 for a time no date can hold. None costs more than a page."""
    from feedtool.search.cursor import Cursor, Place

    for cursor in [
        "x" * 1500,
        "A" * 27,
        "A" * 26 + "B",
        "%00" * 9,
        "=" * 27,
        "AQAAAAAAAAAAAAAAAAAAAAAAAA\n",
        "A" * 199,
    ]:
        for path in (feed(q="台湾", cursor=cursor), "/search?" + urlencode({"q": "台湾", "cursor": cursor})):
            status, body = watched.get(path, source=ATTACKER)
            assert status == 400 and b"cursor" in body, (path, body[:200])
    for published in (-(2**63), -62_135_596_800 * 10**6, 0, 1_700_000_000 * 10**6, 253_402_300_799 * 10**6, 2**63 - 1):
        for id_start, digest in ((b"", 0), (b"\xff" * 128, 2**64 - 1), (b"https://www.rfi.fr/\x00", 1)):
            for direction in ("after", "before"):
                token = Cursor(Place(published, id_start, digest), direction).token()  # type: ignore[arg-type]
                status, body = watched.get(feed(q="台湾", limit="200", cursor=token), source=ATTACKER)
                assert status == 200 or (status == 400 and b"cursor" in body), body[:200]
                assert watched.get(feed(cursor=token, limit="200"), source=ATTACKER)[0] in (200, 400)


def test_a_topics_stories_address_redirects_once_whatever_its_query(watched: Server) -> None:
    """`/topics/SLUG/stories/…` carries any query string into one Location header, escaped, with
    one `group=story`; the server is never made to write a header of the attacker's."""
    for query in ["q=%0d%0aSet-Cookie:%20x=1", "group=story&group=x&group=", "%ff%fe%00", "q=" + "台" * 300,
                  "&" * 120, "a=" + "b" * 1500]:  # fmt: skip
        request = f"GET /topics/taiwan/stories/atom.xml?{query} HTTP/1.1\r\nHost: x\r\n\r\n"
        head = watched.raw(request.encode()).split(b"\r\n\r\n")[0].split(b"\r\n")
        statuses = (
            b"HTTP/1.1 308 Permanent Redirect",
            b"HTTP/1.1 400 Bad Request",
            b"HTTP/1.1 414 Request-URI Too Long",
        )
        assert head[0] in statuses, (query, head)  # 400: raw UTF-8 in a request line, which the parser refuses
        if head[0].endswith(b"Redirect"):
            (location,) = [line for line in head if line.lower().startswith(b"location:")]
            assert location.count(b"group=") == 1 and location.endswith(b"group=story"), location
            assert not any(line.lower().startswith(b"set-cookie") for line in head)
            status, _ = watched.get(location.split(b": ", 1)[1].decode(), source=ATTACKER)
            assert status in (200, 400), (query, status)  # the feed grouped, or what is wrong with the query
    for path in (
        "/topics/taiwan/stories/../../all/atom.xml",
        "/topics/%2e%2e/stories/",
        "/topics/taiwan/stories/x.exe",
    ):
        assert watched.get(path, source=ATTACKER)[0] in (308, 404), path


def test_grouped_pages_from_any_cursor_are_held_to_the_budget(watched: Server) -> None:
    """A grouped page from a place far in the hits looks at the pages before it (a story is on the
    page of its newest article): from any forged place, with the slow pattern too, it is a page, a
    400, or a 503 within the answer's bounds."""
    from feedtool.search.cursor import Cursor, Place

    for published in (0, 1_700_000_000 * 10**6, 1_720_000_000 * 10**6, 2**62):
        token = Cursor(Place(published, b"https://", 0)).token()
        for params in ({"limit": "200"}, {"q": "台湾", "limit": "200"}, {"filter": SLOW, "limit": "200"}):
            started = time.monotonic()
            status, body = watched.get(feed(group="story", cursor=token, **params), source=ATTACKER, timeout=60)
            assert status in (200, 400, 503), (params, status, body[:200])
            assert time.monotonic() - started < 30, params  # the wall bound is 10 s; a busy machine's margin


def test_a_long_mixed_load_keeps_connections_and_memory_flat(watched: Server) -> None:
    """Hundreds of connections, each asking a query feed with a conversion: the answering threads
    and their store connections are made once, not once a connection."""

    def ask(n: int) -> None:
        for i in range(40):
            params = {"q": ["台湾", "中美", "经济"][i % 3], "limit": "5", "opencc": ["s2t", "s2tw", "t2s"][n % 3]}
            assert watched.get(feed(**params), source=f"127.0.2.{n + 1}")[0] == 200

    for _ in range(2):
        threads = [threading.Thread(target=ask, args=(n,)) for n in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        settled = watched.rss()
    store = [
        os.readlink(f"/proc/{watched.process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{watched.process.pid}/fd")
    ]
    assert sum(path.endswith("state.sqlite3") for path in store) <= 2  # one a thread that answers
    assert watched.rss() - settled < 30 * 2**20


def test_compiling_patterns_never_holds_up_the_files(watched: Server) -> None:
    """Requests with eight distinct expressions each (or one RE2 refuses), sent by clients that hang
    up at once: the compiling is the answers' work, in their turn, and the files are served meanwhile."""
    stop = time.monotonic() + SECONDS / 2
    sent = [0]

    def attacker(k: int) -> None:
        n = 0
        while time.monotonic() < stop:
            n += 1
            heavy = {f"filter{'out' if i > 3 else ''}_{['title', 'description', 'author', 'category'][i % 4]}":
                     r"\pL" * 30 + f"{k}{n}{i}" for i in range(8)}  # fmt: skip
            refused = {"filter": r"\pL{1000}" + f"{k}{n}"}
            with socket.create_connection(("127.0.0.1", watched.port), source_address=(ATTACKER, 0)) as conn:
                path = feed(**(heavy if n % 2 else refused))
                conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            sent[0] += 1

    threads = [threading.Thread(target=attacker, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    waits = []
    while time.monotonic() < stop:
        started = time.monotonic()
        assert watched.get("/style.css", source="127.0.1.50", timeout=10)[0] == 200
        waits.append(time.monotonic() - started)
        time.sleep(0.1)
    for thread in threads:
        thread.join()
    print(f"{sent[0]} requests sent; the stylesheet answered in at most {max(waits):.3f} s")
    assert (
        sent[0] > 50 and max(waits) < 5
    )  # generous for a busy machine; compiling on the event loop holds it tens of seconds


def test_refused_patterns_from_clients_that_hang_up_leave_no_memory_behind(watched: Server) -> None:
    """Each refused expression's half-made program must go with its refusal."""
    before = watched.rss()
    for n in range(600):
        with socket.create_connection(("127.0.0.1", watched.port), source_address=(ATTACKER, 0)) as conn:
            path = feed(filter=r"\pL{1000}" + str(n))
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert watched.get(feed(q="台湾"), source="127.0.1.51")[0] == 200
    time.sleep(1)
    assert watched.rss() - before < 50 * 2**20, f"{(watched.rss() - before) / 2**20:.0f} MiB more"


def test_one_address_cannot_take_every_connection(watched: Server) -> None:
    """A thousand idle connections from one address: past its share they are refused at once, and
    a reader elsewhere is served throughout."""
    held: list[socket.socket] = []
    refused = 0
    for _ in range(1000):
        conn = socket.create_connection(("127.0.0.1", watched.port), timeout=10, source_address=(ATTACKER, 0))
        held.append(conn)
    for conn in held:
        conn.setblocking(False)
    time.sleep(0.5)
    for conn in held:
        try:
            if conn.recv(200).startswith(b"HTTP/1.1 503"):
                refused += 1
        except BlockingIOError:
            pass
    assert watched.get("/all/atom.xml", source="127.0.1.52", timeout=10)[0] == 200
    assert watched.get(feed(q="台湾"), source="127.0.1.52", timeout=10)[0] == 200
    for conn in held:
        conn.close()
    assert refused >= 900, refused


def test_a_client_that_never_reads_its_answer_is_dropped(watched: Server) -> None:
    biggest = max((watched.project / "out").rglob("*.xml"), key=lambda p: p.stat().st_size)
    path = "/" + biggest.relative_to(watched.project / "out").as_posix()
    conns = []
    for _ in range(5):
        conn = socket.socket()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        conn.bind((ATTACKER, 0))
        conn.connect(("127.0.0.1", watched.port))
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        conns.append(conn)
    time.sleep(1)
    fds = len(os.listdir(f"/proc/{watched.process.pid}/fd"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(os.listdir(f"/proc/{watched.process.pid}/fd")) > fds - 5:
        time.sleep(1)
    dropped = fds - len(os.listdir(f"/proc/{watched.process.pid}/fd"))
    for conn in conns:
        conn.close()
    assert dropped >= 5, f"{biggest.stat().st_size} bytes unread: {dropped} of 5 connections dropped"


def test_costly_answers_from_many_addresses_do_not_starve_a_reader(watched: Server) -> None:
    """Thirty addresses each asking a slow expression again and again; a reader's searches are
    answered throughout, each soon: an expression counts as though its address had spent an
    answer's allowance already, so thirty addresses new to the server do not go before a reader
    who has asked before, and once answered they have cost much."""
    stop = time.monotonic() + SECONDS
    statuses: list[int] = []
    waits: list[float] = []

    def attacker(n: int) -> None:
        while time.monotonic() < stop:
            watched.get(feed(filter=SLOW + str(n)), source=f"127.0.4.{n + 1}", timeout=60)

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    while time.monotonic() < stop:
        started = time.monotonic()
        statuses.append(watched.get(feed(q="台湾", limit="5"), source="127.0.1.53", timeout=60)[0])
        waits.append(time.monotonic() - started)
    for thread in threads:
        thread.join()
    assert statuses and set(statuses) == {200}, statuses
    # At most one expression's answer (half a second of its thread's CPU) before each search:
    # generous for a busy machine, and well under fifteen of them one after another.
    assert max(waits) < 5, [round(wait, 2) for wait in waits]


def test_a_stop_during_answers_answers_them_and_exits_cleanly(server: Server) -> None:
    """SIGTERM with slow answers in the making and more waiting: each gets a 503 soon, and the
    server exits 0 without a traceback."""
    other = Server(server.project)
    statuses: list[int] = []

    def ask(n: int) -> None:
        try:
            statuses.append(other.get(feed(filter=SLOW + str(n)), source=f"127.0.5.{n + 1}", timeout=60)[0])
        except (OSError, http.client.HTTPException):
            statuses.append(0)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    errors = other.stop()
    stopped = time.monotonic() - started
    for thread in threads:
        thread.join()
    assert other.process.returncode == 0 and "Traceback" not in errors, errors[-2000:]
    assert stopped < 10 and set(statuses) <= {400, 503}, (stopped, statuses)
