r"""A soak of `feedtool serve`: its latency, failures and memory through minutes of mixed load.

    python bench/soak.py                                  # ten minutes against the installed feedtool
    python bench/soak.py --seconds 60                     # a quick look
    python bench/soak.py --pythonpath /work/wt-old        # the same load against another checkout's code

The attack tests (tests/web/test_attacks.py) bound each attack for seconds, one at a time; what they
cannot show is what minutes of them do, mixed with ordinary readers and with builds changing the
store: memory that creeps, store connections that pile up, answers that slow down or fail. So a
project is made in a work folder (the seeds and a generated corpus, bench/corpus.py), built, and
`feedtool serve --port 0` runs as a subprocess (with --pythonpath on its PYTHONPATH, and its
builds', so the same load measures older code) while, for --seconds:

- ordinary clients, each from its own loopback address (127.0.1.N, as readers come from different
  places), ask query feeds (a word or two of the corpus's titles, a limit, sometimes
  filterout_title or opencc=s2t; Atom, RSS and JSON), search pages and static files, a connection
  a request, as feed readers polling make them, with a short pause between requests;
- hostile clients, all from 127.0.0.2: a slow pattern that RE2 takes, `(?s)(.{0,20}[\p{Han}a-z]){4}Q`,
  asked every few seconds and dropped by its client after 0.3 s; slowloris connections that
  trickle a header line every two seconds; idle connections that send nothing;
- a build every 30 s adds 20 new generated articles, so the store changes under the server.

The server's resident memory (VmRSS) and its open descriptors of the store are read from /proc
every 0.5 s. The report, JSON on stdout: for each kind of request (query feed, search, static),
the count, the failures by status (or by what the connection met), median and p99 latency, the
failures included (a 503 after 30 s is a wait a reader had); the memory at the start (after a
warm-up), its min, max and end, and its slope from the first minute on (the first minute fills
caches and pools: growth then is not a leak); the most store descriptors held at once; the
builds; what happened to the hostile connections; what the server wrote to stderr. With --save it
is kept in bench/soak.json (the newest run of each command line), not in bench/results.json:
run.py rewrites that file whole on each --save, and the documentation's tables are made from it.

Every request has a 30 s timeout, every loop ends at the deadline, the server is stopped (SIGTERM,
then SIGKILL) at the end, and nothing outside 127.0.0.0/8 is touched. The choices of each client
are deterministic for a seed; the timing, on a shared machine, is not.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from urllib.parse import quote, urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import OUTLETS, TITLE_WORDS, generate  # noqa: E402

ROOT = HERE.parent
HOST = "127.0.0.1"  # the server listens here; every client connects here, from its own loopback address
ATTACKER = "127.0.0.2"
SLOW = r"(?s)(.{0,20}[\p{Han}a-z]){4}Q"  # RE2 takes it (977 steps), milliseconds an entry: over an answer's budget
REQUEST_SECONDS = 30.0  # every socket operation of every request
SAMPLE_SECONDS = 0.5
BUILD_EVERY = 30.0
BUILD_ARTICLES = 20
BUILD_SECONDS = 300.0  # a build that takes longer is killed and counted as failed
SETTLED_SECONDS = 60.0  # the memory's slope is fitted from here on
TRICKLE_SECONDS = 2.0  # a slowloris connection's pause between header lines
DROP_SECONDS = 0.3  # how long a slow pattern's client waits before hanging up
STOP_SECONDS = 30.0  # for the server to stop on SIGTERM before it is killed
KINDS = ("query feed", "search", "static")
MIX = (0.45, 0.25, 0.30)  # of an ordinary client's requests, in the order of KINDS
FEED_FILES = ("atom.xml", "rss.xml", "feed.json")
STATIC = ("/all/atom.xml", "/index.html")


@dataclass
class Asked:
    """One request of an ordinary client: its kind, when it began (seconds into the load), how long
    it took, and its outcome: the status ("200", "503") or what the connection met ("timeout")."""

    kind: str
    at: float
    seconds: float
    outcome: str


@dataclass
class Held:
    """One hostile connection: how long it stayed open, and whether the server was the one to end it."""

    seconds: float
    closed_by_server: bool
    answer: str = ""  # the status line the server sent before closing, if any


@dataclass
class Sample:
    at: float
    rss_kib: int
    store_fds: int  # descriptors of the store file itself (one a SQLite connection)
    wal_fds: int  # of its write-ahead log
    fds: int
    threads: int


@dataclass
class Build:
    at: float
    seconds: float
    returncode: int
    error: str = ""


@dataclass
class Hostile:
    slow_sent: int = 0
    slow_refused: int = 0  # connections the server did not take
    slow_answered: Counter[str] = field(default_factory=Counter)  # status lines sent within DROP_SECONDS
    slowloris: list[Held] = field(default_factory=list)
    idle: list[Held] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Server:
    """`feedtool serve --port 0` as a subprocess in the project, its stdout and stderr in files:
    a pipe nobody reads fills, and then the server blocks writing its log."""

    def __init__(self, project: Path, env: dict[str, str], logs: Path) -> None:
        self.stdout_path, self.stderr_path = logs / "server.stdout", logs / "server.stderr"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "feedtool", "serve", "--port", "0"], cwd=project, env=env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            )  # fmt: skip
        self.port = self._port()

    def _port(self) -> int:
        """From the first line, "feedtool: serving … on http://127.0.0.1:PORT/ (Ctrl-C stops)"."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            first = self.stdout_path.read_text("utf-8", "replace").partition("\n")
            if first[1] and "serving" in first[0]:
                return int(first[0].rsplit(f"{HOST}:", 1)[1].split("/")[0])
            time.sleep(0.05)
        self.stop()
        sys.exit(f"the server did not start:\n{self.stderr_path.read_text('utf-8', 'replace')[-3000:]}")

    def sample(self, at: float, store: Path) -> Sample | None:
        """Its memory, descriptors and threads now; None once it is gone."""
        pid = self.process.pid
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            targets = []
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
                except OSError:  # closed between the listing and the look
                    continue
        except (OSError, KeyError):
            return None
        if self.process.poll() is not None:
            return None
        return Sample(
            at=round(at, 2), rss_kib=int(fields["VmRSS"].split()[0]),
            store_fds=sum(t == str(store) for t in targets), wal_fds=sum(t == f"{store}-wal" for t in targets),
            fds=len(targets), threads=int(fields["Threads"]),
        )  # fmt: skip

    def stop(self) -> dict[str, object]:
        """SIGTERM, then SIGKILL after STOP_SECONDS; how it went, and what it wrote to stderr."""
        died = self.process.poll()
        started = time.monotonic()
        if died is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_SECONDS)
        errors = self.stderr_path.read_text("utf-8", "replace").splitlines()
        return {
            "exited_before_the_end": died is not None,
            "returncode": self.process.returncode,
            "stop_seconds": round(time.monotonic() - started, 2),
            "stderr_lines": len(errors),
            "tracebacks": sum(line.startswith("Traceback") for line in errors),
            "stderr_head": [line[:300] for line in errors[:12]],
            "stderr_tail": [line[:300] for line in errors[-12:]] if len(errors) > 12 else [],
        }


def make_project(work: Path, articles: int, seed: int, env: dict[str, str]) -> Path:
    """The seeds and a generated corpus under dumps/, the config of the attack tests' fixture, built."""
    project = work / "project"
    shutil.copytree(ROOT / "seeds", project / "dumps" / "seeds")
    generate(project / "dumps" / "corpus", articles, seed=seed)
    starter = (ROOT / "feedtool.toml").read_text("utf-8")
    (project / "feedtool.toml").write_text(
        '[build]\ninputs = ["dumps"]\n[site]\nbase_url = "http://127.0.0.1:8000/"\n'
        + starter[starter.index("[[topic]]") :],
        "utf-8",
    )
    built = _build(project, env)
    if built.returncode != 0:
        sys.exit(f"the first build failed ({built.returncode}):\n{built.error}")
    return project


def _build(project: Path, env: dict[str, str]) -> Build:
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "feedtool", "build", "-q"], cwd=project, env=env, capture_output=True, text=True,
            timeout=BUILD_SECONDS,
        )  # fmt: skip
        code, error = done.returncode, (done.stderr or done.stdout)[-2000:] if done.returncode else ""
    except subprocess.TimeoutExpired:
        code, error = -1, f"killed after {BUILD_SECONDS:g} s"
    return Build(0.0, round(time.monotonic() - started, 2), code, error)


def get(port: int, path: str, source: str) -> tuple[str, float]:
    """One GET on a connection of its own from `source`: its outcome and its seconds."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_SECONDS, source_address=(source, 0))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        outcome = str(response.status)
    except TimeoutError:
        outcome = "timeout"
    except ConnectionRefusedError:
        outcome = "refused"
    except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        outcome = "disconnected"
    except (OSError, http.client.HTTPException) as exc:
        outcome = type(exc).__name__
    finally:
        conn.close()
    return outcome, time.monotonic() - started


def feed_path(rng: Random) -> str:
    """A query feed a reader might subscribe to: the archive's words, a limit, now and then a filter
    or a conversion, in one of the three formats, of all outlets or of one."""
    folder = "all" if rng.random() < 0.7 else f"outlets/{rng.choice(OUTLETS[:6]).slug}"
    params = {"q": " ".join(rng.sample(TITLE_WORDS, rng.choice((1, 1, 2)))), "limit": str(rng.choice((5, 10, 20, 50)))}
    if rng.random() < 0.3:
        params["filterout_title"] = rng.choice(TITLE_WORDS)
    if rng.random() < 0.2:
        params["opencc"] = "s2t"
    return f"/{folder}/{rng.choice(FEED_FILES)}?{urlencode(params)}"


def search_path(rng: Random) -> str:
    return "/search?q=" + quote(rng.choice(TITLE_WORDS)) + ("&page=2" if rng.random() < 0.2 else "")


def request(rng: Random) -> tuple[str, str]:
    """An ordinary client's next request: its kind and its path."""
    kind = rng.choices(KINDS, MIX)[0]
    if kind == "query feed":
        return kind, feed_path(rng)
    if kind == "search":
        return kind, search_path(rng)
    return kind, rng.choice(STATIC)


class Load:
    """The soak's threads, all ending at `deadline`: clients, hostile clients, builds, the sampler."""

    def __init__(self, server: Server, project: Path, env: dict[str, str], args: argparse.Namespace) -> None:
        self.server, self.project, self.env, self.args = server, project, env, args
        self.store = (project / ".feedtool" / "state.sqlite3").resolve()
        self.stop = threading.Event()
        self.started = 0.0
        self.asked: list[list[Asked]] = [[] for _ in range(args.clients)]
        self.hostile = Hostile()
        self.builds: list[Build] = []
        self.samples: list[Sample] = []
        self.died_at: float | None = None
        self.load_before = _load_average()  # the machine's, over 1, 5 and 15 minutes, before the load

    def now(self) -> float:
        return time.monotonic() - self.started

    def warm_up(self) -> dict[str, int]:
        """Each kind asked a few times before the clock starts, so the start's memory is a server's
        that has answered (code imported, pools and caches made), not one that just started."""
        rng, outcomes = Random(self.args.seed), Counter[str]()
        for _ in range(5):
            for path in (feed_path(rng), search_path(rng), *STATIC):
                outcomes[get(self.server.port, path, "127.0.1.250")[0]] += 1
        return dict(outcomes)

    def run(self) -> None:
        args = self.args
        threads = [threading.Thread(target=self._client, args=(n,)) for n in range(args.clients)]
        if args.slow_every > 0:
            threads.append(threading.Thread(target=self._slow_patterns))
        threads += [threading.Thread(target=self._held, args=(True,)) for _ in range(args.slowloris)]
        threads += [threading.Thread(target=self._held, args=(False,)) for _ in range(args.idle)]
        threads += [threading.Thread(target=self._builds), threading.Thread(target=self._sampler)]
        self.started = time.monotonic()
        for thread in threads:
            thread.start()
        self.stop.wait(args.seconds)
        self.stop.set()
        for thread in threads:  # each ends within a request's timeout of the deadline, a build within its own
            thread.join(BUILD_SECONDS + REQUEST_SECONDS)

    def _client(self, n: int) -> None:
        rng, source, mine = Random(self.args.seed * 1000 + n), f"127.0.1.{n + 1}", self.asked[n]
        while not self.stop.is_set():
            kind, path = request(rng)
            at = self.now()
            outcome, seconds = get(self.server.port, path, source)
            mine.append(Asked(kind, round(at, 2), seconds, outcome))
            self.stop.wait(rng.uniform(0, 2 * self.args.think))

    def _slow_patterns(self) -> None:
        """A slow pattern every --slow-every seconds, each a different one (no answer cached), its
        client gone after DROP_SECONDS as an impatient attacker's would be."""
        n = 0
        while not self.stop.is_set():
            n += 1
            path = "/all/atom.xml?" + urlencode({"filter": SLOW + str(n)})
            try:
                with socket.create_connection(
                    (HOST, self.server.port), timeout=REQUEST_SECONDS, source_address=(ATTACKER, 0)
                ) as conn:
                    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    readable, _, _ = select.select([conn], [], [], DROP_SECONDS)
                    answer = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")[:80] if readable else ""
                with self.hostile.lock:
                    self.hostile.slow_sent += 1
                    self.hostile.slow_answered[answer or "none before the drop"] += 1
            except OSError:
                with self.hostile.lock:
                    self.hostile.slow_refused += 1
            self.stop.wait(max(0.0, self.args.slow_every - DROP_SECONDS))

    def _held(self, trickle: bool) -> None:
        """A connection held open, opened again each time the server closes it: with `trickle`, a
        request head that never ends (a header line every TRICKLE_SECONDS), else nothing at all."""
        line = 0
        while not self.stop.is_set():
            opened = time.monotonic()
            try:
                conn = socket.create_connection(
                    (HOST, self.server.port), timeout=REQUEST_SECONDS, source_address=(ATTACKER, 0)
                )
            except OSError:
                with self.hostile.lock:
                    self.hostile.refused += 1
                self.stop.wait(1)
                continue
            closed, answer = False, ""
            with conn:
                try:
                    if trickle:
                        conn.sendall(b"GET /all/atom.xml HTTP/1.1\r\nHost: x\r\n")
                    while not self.stop.is_set() and not closed:
                        readable, _, _ = select.select([conn], [], [], TRICKLE_SECONDS)
                        if readable:  # an answer (a 408) or the end: either way the server gave up on it
                            answer = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")[:80]
                            closed = True
                        elif trickle:
                            line += 1
                            conn.sendall(f"X-Slow-{line}: {line}\r\n".encode())
                except OSError:
                    closed = True
            kept = Held(round(time.monotonic() - opened, 2), closed, answer)
            with self.hostile.lock:
                (self.hostile.slowloris if trickle else self.hostile.idle).append(kept)

    def _builds(self) -> None:
        """Every BUILD_EVERY seconds, BUILD_ARTICLES new articles (numbered after the corpus's) and a build."""
        batch = 0
        while not self.stop.wait(BUILD_EVERY):
            start = self.args.articles + batch * BUILD_ARTICLES
            generate(self.project / "dumps" / "corpus", BUILD_ARTICLES, seed=self.args.seed, start=start)
            batch += 1
            at = self.now()
            built = _build(self.project, self.env)
            built.at = round(at, 2)
            self.builds.append(built)

    def _sampler(self) -> None:
        while not self.stop.is_set():
            sample = self.server.sample(self.now(), self.store)
            if sample is None:
                self.died_at = round(self.now(), 1)
                return
            self.samples.append(sample)
            self.stop.wait(SAMPLE_SECONDS)


def latencies(asked: list[Asked]) -> dict[str, object]:
    """Count, failures by outcome, and latency (failures included) of one kind of request."""
    spent = sorted(a.seconds * 1000 for a in asked)
    failures = Counter(a.outcome for a in asked if a.outcome != "200")
    return {
        "count": len(asked),
        "ok": len(asked) - sum(failures.values()),
        "errors": dict(sorted(failures.items())),
        "median_ms": round(statistics.median(spent), 1) if spent else None,
        "p99_ms": round(spent[min(len(spent) - 1, int(len(spent) * 0.99))], 1) if spent else None,
        "max_ms": round(spent[-1], 1) if spent else None,
    }


def memory(samples: list[Sample]) -> dict[str, float | None]:
    """The resident memory in MiB: at the start of the load, its least and most, at the end, and
    the slope of a least-squares line through the samples after SETTLED_SECONDS (MiB a minute)."""
    if not samples:
        return {"start": None, "min": None, "max": None, "end": None, "slope_mib_per_min": None}
    mib = [s.rss_kib / 1024 for s in samples]
    settled = [(s.at, s.rss_kib / 1024) for s in samples if s.at >= SETTLED_SECONDS]
    slope = None
    if len(settled) >= 10:
        at, rss = zip(*settled, strict=True)
        slope = round(statistics.linear_regression(at, rss).slope * 60, 3)
    return {
        "start": round(mib[0], 1), "min": round(min(mib), 1), "max": round(max(mib), 1), "end": round(mib[-1], 1),
        "slope_mib_per_min": slope,
    }  # fmt: skip


def held(connections: list[Held]) -> dict[str, object]:
    by_server = [h.seconds for h in connections if h.closed_by_server]
    return {
        "connections": len(connections),
        "closed_by_server": len(by_server),
        "answers": dict(Counter(h.answer for h in connections if h.answer)),
        "held_median_s": round(statistics.median(by_server), 1) if by_server else None,
        "held_max_s": round(max(h.seconds for h in connections), 1) if connections else None,
    }


def per_minute(asked: list[Asked], samples: list[Sample], seconds: float) -> list[dict[str, object]]:
    """Answers, failures and memory minute by minute: a server that degrades shows it here."""
    rows: list[dict[str, object]] = []
    for minute in range(max(1, int(-(-seconds // 60)))):
        inside = [a for a in asked if minute * 60 <= a.at < (minute + 1) * 60]
        rss = [s.rss_kib for s in samples if minute * 60 <= s.at < (minute + 1) * 60]
        rows.append({
            "minute": minute + 1,
            "requests": len(inside),
            "errors": sum(a.outcome != "200" for a in inside),
            "rss_mib_end": round(rss[-1] / 1024, 1) if rss else None,
        })  # fmt: skip
    return rows


def code_of(env: dict[str, str], project: Path) -> dict[str, object]:
    """Which feedtool the server imports, and the commit of its checkout (with files changed since)."""
    found = subprocess.run(
        [sys.executable, "-c", "import feedtool; print(feedtool.__file__)"], cwd=project, env=env,
        capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    tree = Path(found).parent.parent

    def git(*words: str) -> str:
        done = subprocess.run(["git", "-C", str(tree), *words], capture_output=True, text=True, timeout=60)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--untracked-files=no")
    return {"module": found, "commit": git("rev-parse", "--short", "HEAD"), "changed_files": len(changed.splitlines())}


def save(report: dict[str, object]) -> Path:
    """Keep this run in bench/soak.json, beside the others, one a command line (the newest)."""
    path = HERE / "soak.json"
    saved = json.loads(path.read_text("utf-8")) if path.is_file() else {"runs": []}
    runs = [run for run in saved["runs"] if run["command"] != report["command"]] + [report]
    path.write_text(json.dumps({"runs": runs}, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600, help="of load, after the build and the warm-up")
    parser.add_argument("--articles", type=int, default=2000, help="of the generated corpus, beside the seeds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=20, help="ordinary clients, each from its own address")
    parser.add_argument("--think", type=float, default=0.1, help="mean pause of a client between requests, s")
    parser.add_argument("--slow-every", type=float, default=2.0, help="seconds between slow patterns (0: none)")
    parser.add_argument("--slowloris", type=int, default=5, help="slowloris connections held at once")
    parser.add_argument("--idle", type=int, default=5, help="idle connections held at once")
    parser.add_argument("--pythonpath", help="put first on the server's and builds' PYTHONPATH (older code)")
    parser.add_argument("--work", type=Path, help="the project's folder (default: a temporary one, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (project, server logs)")
    parser.add_argument("--save", action="store_true", help="keep the report in bench/soak.json")
    args = parser.parse_args()
    if args.clients > 250:
        parser.error("--clients: at most 250 (one address each, 127.0.1.1 to 127.0.1.250)")
    command = " ".join(["python", "bench/soak.py", *sys.argv[1:]])

    env = dict(os.environ, PYTHONUNBUFFERED="1")  # the server's first line, read from a file, at once
    if args.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (args.pythonpath, os.environ.get("PYTHONPATH")) if p)
    work = args.work.resolve() if args.work else Path(tempfile.mkdtemp(prefix="feedtool-soak-"))
    if args.work:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    server: Server | None = None
    try:
        _say(f"making and building the project in {work}")
        project = make_project(work, args.articles, args.seed, env)
        code = code_of(env, project)
        server = Server(project, env, work)
        _say(f"serving on port {server.port} ({code['module']}); warming up")
        load = Load(server, project, env, args)
        warm = load.warm_up()
        _say(f"load for {args.seconds:g} s")
        load.run()
        stopped = server.stop()
        report = _report(command, args, code, warm, load, stopped)
    finally:
        if server is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait(STOP_SECONDS)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.save:
        _say(f"saved in {save(report).relative_to(ROOT)}")


def _report(
    command: str, args: argparse.Namespace, code: dict[str, object], warm: dict[str, int], load: Load,
    stopped: dict[str, object],
) -> dict[str, object]:  # fmt: skip
    asked = [a for mine in load.asked for a in mine]
    samples, hostile = load.samples, load.hostile
    failed = [{"at": b.at, "returncode": b.returncode, "error": b.error[-500:]} for b in load.builds if b.returncode]
    return {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            # The machine may be shared: what else ran is part of what the figures mean.
            "load_average_before": load.load_before,
            "load_average_after": _load_average(),
        },
        "code": code,
        "seconds": args.seconds,
        "articles": args.articles,
        "clients": args.clients,
        "warm_up": warm,
        "requests": {kind: latencies([a for a in asked if a.kind == kind]) for kind in KINDS},
        "requests_per_second": round(len(asked) / args.seconds, 1),
        "rss_mib": memory(samples),
        "store_fds_max": max((s.store_fds for s in samples), default=None),
        "store_wal_fds_max": max((s.wal_fds for s in samples), default=None),
        "fds_max": max((s.fds for s in samples), default=None),
        "threads_max": max((s.threads for s in samples), default=None),
        "samples": len(samples),
        "server_died_at_s": load.died_at,
        "hostile": {
            "slow_patterns_sent": hostile.slow_sent,
            "slow_patterns_refused": hostile.slow_refused,
            "slow_patterns_answered": dict(sorted(hostile.slow_answered.items())),
            "slowloris": held(hostile.slowloris),
            "idle": held(hostile.idle),
            "connections_refused": hostile.refused,
        },
        "builds": {
            "count": len(load.builds),
            "failed": failed,
            "median_s": round(statistics.median(b.seconds for b in load.builds), 2) if load.builds else None,
            "articles_added": len(load.builds) * BUILD_ARTICLES,
        },
        "per_minute": per_minute(asked, samples, args.seconds),
        "server": stopped,
    }


def _load_average() -> list[float]:
    return [round(n, 2) for n in os.getloadavg()]


def _say(text: str) -> None:
    print(f"soak: {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
