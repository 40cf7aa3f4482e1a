"""A build on a real Dask cluster, started as an operator starts one: `dask scheduler` and two
`dask worker` processes on 127.0.0.1. The output must be a local build's, byte for byte, also when
a worker is killed midway; a scheduler lost midway fails the build in one line, and the next
(local) build finishes the job."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import dump, make_config, published, story_corpus, write_reports

from feedtool.build import build
from feedtool.config import Config
from feedtool.errors import ClusterError, ConfigError

try:
    import distributed  # noqa: F401
except ImportError:
    if os.environ.get("CI"):  # the test extras install it: CI must run these
        raise
    pytest.skip("the cluster tests need feedtool[dask] (in the test extras)", allow_module_level=True)

ARTICLES = 1500  # enough dumps (about 2,000) for a build that is still running when a process is killed
WAIT = 120  # seconds, for a busy machine; every wait returns as soon as its condition holds


class Cluster:
    """A scheduler and workers in processes of their own, as `dask scheduler` / `dask worker` start them."""

    def __init__(self, folder: Path, workers: int) -> None:
        dask = Path(sys.executable).with_name("dask")
        self.file = folder / "scheduler.json"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.scheduler = subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", self.file],
            **quiet,  # type: ignore[call-overload]
        )
        self.workers = [
            subprocess.Popen(
                [dask, "worker", "--scheduler-file", self.file, "--nthreads", "1", "--no-nanny", "--no-dashboard"],
                **quiet,  # type: ignore[call-overload]
            )
            for _ in range(workers)
        ]
        until(lambda: self.file.is_file() and self._joined() == workers, "the workers to join the scheduler")

    @property
    def address(self) -> str:
        return str(json.loads(self.file.read_text())["address"])

    def _joined(self) -> int:
        from distributed import Client

        try:
            with Client(self.address, timeout=5, set_as_default=False) as client:  # type: ignore[no-untyped-call]
                return len(client.scheduler_info()["workers"])  # type: ignore[no-untyped-call]
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.kill()
            process.wait()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path, workers=2)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from corpus import generate

    folder = tmp_path_factory.mktemp("cluster") / "dumps"
    generate(folder, ARTICLES, seed=5)
    return folder


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> dict[str, bytes]:
    """What a local build of the corpus publishes: the truth the cluster's builds are held to."""
    config = make_config(tmp_path_factory.mktemp("local"), [corpus])
    build(config)
    return published(config.output)


def until(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"waited {WAIT} s for {what}"
        time.sleep(0.05)


def feedtool(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "feedtool", "build", "-q", "-c", str(root / "feedtool.toml"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root,
    )  # fmt: skip


def merged(root: Path) -> int:
    """How many dumps the build has committed to its store so far."""
    try:
        with sqlite3.connect(f"file:{root / '.feedtool' / 'state.sqlite3'}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT count(*) FROM sources").fetchone()[0])
    except sqlite3.Error:  # not made yet
        return 0


def differing(output: Path, truth: dict[str, bytes]) -> list[str]:
    mine = published(output)
    return sorted(p for p in mine.keys() | truth.keys() if mine.get(p) != truth.get(p))


def test_a_build_on_the_cluster_publishes_what_a_local_build_does(
    tmp_path: Path, cluster: Cluster, corpus: Path, local: dict[str, bytes]
) -> None:
    config = make_config(tmp_path, [corpus], build=f'executor = "dask:{cluster.address}"')
    run = feedtool(tmp_path)
    assert run.wait(WAIT) == 0, run.communicate()
    assert differing(config.output, local) == []
    # The work ran on both workers.
    from distributed import Client

    with Client(cluster.address, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        ran = client.run(lambda dask_worker: dask_worker.state.executed_count)  # type: ignore[no-untyped-call]
    assert len(ran) == 2 and all(count > 0 for count in ran.values()), ran


def test_stories_linked_on_the_cluster_are_those_a_local_build_links(
    tmp_path: Path, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first build's stories cut into pieces, each a task: on the cluster's workers, never in the
    build process (where linking is made to fail), and the output a local build's, byte for byte.
    Each task carries its articles' texts as the store keeps them: the build process reads them
    and unpacks none."""
    import feedtool.stories.kept as kept
    from feedtool.store import Unpacker

    dumps = tmp_path / "dumps"
    write_reports(dumps, story_corpus())
    monkeypatch.setattr(kept, "PIECE_ARTICLES", 30)
    (tmp_path / "local").mkdir()
    (tmp_path / "cluster").mkdir()
    here = make_config(tmp_path / "local", [dumps], stories=True)
    build(here, workers=2)
    assert (here.output / "stories" / "atom.xml").read_bytes().count(b"<entry>") > 5

    def not_here(*args: object) -> None:
        raise AssertionError("a piece's links were made in the build process")

    monkeypatch.setattr(kept, "zone_links", not_here)  # the workers' own processes import the real one
    unpacked: list[int] = []  # frames the build process unpacked while the zones' links were made
    remade, unpack = kept._remade, Unpacker.unpack

    def counted(*args: Any) -> set[str]:
        def counting(self: Unpacker, blob: bytes) -> bytes:
            unpacked.append(len(blob))
            return unpack(self, blob)

        with monkeypatch.context() as patched:
            patched.setattr(Unpacker, "unpack", counting)
            return remade(*args)

    monkeypatch.setattr(kept, "_remade", counted)
    config = make_config(tmp_path / "cluster", [dumps], stories=True, build=f'executor = "dask:{cluster.address}"')
    build(config)
    assert differing(config.output, published(here.output)) == []
    assert unpacked == []


# A dump's time bound in the test below, for a busy machine: a worker's first dump (its imports
# too) takes well under it; the slow dump's 400,000 links take four times it and more here.
SLOW_SECONDS = 2


def test_a_dump_slow_to_read_in_a_workers_thread_is_rejected_at_its_deadline(tmp_path: Path, cluster: Cluster) -> None:
    """A Dask worker runs its tasks in a thread, where no SIGALRM arrives: `dump_seconds` holds
    there too (derive/limits.py). A dump of 400,000 links, seconds of feedtool's own Python on any
    machine, is rejected with the reason once its time is up, and the others are published."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for n in range(80):  # enough for the map to go to the cluster
        (dumps / f"{n:03d}.txt").write_text(dump(url=f"https://www.rfi.fr/cn/a/{n}", body=f"<p>正文 {n}。</p>"))
    links = "".join(f"<a href=/{i}>x</a>" for i in range(400_000))
    (dumps / "040-slow.txt").write_text(dump(url="https://www.rfi.fr/cn/slow", body=f"<p>{links}</p>"))
    (tmp_path / "site").mkdir()
    config = make_config(
        tmp_path / "site", [dumps], build=f'executor = "dask:{cluster.address}"\ndump_seconds = {SLOW_SECONDS}'
    )
    report = build(config)
    assert report.ingest is not None
    reason = f"reading it took over {SLOW_SECONDS} s ([build] dump_seconds)"
    assert [(Path(r.path).name, r.reason) for r in report.ingest.rejections] == [("040-slow.txt", reason)]
    assert report.ingest.counts.new == 80


def midway(tmp_path: Path, cluster: Cluster, corpus: Path) -> tuple[Config, subprocess.Popen[str]]:
    """A build on the cluster, once it has committed its first batch and while it still runs."""
    config = make_config(tmp_path, [corpus], build=f'executor = "dask:{cluster.address}"')
    run = feedtool(tmp_path)
    until(lambda: merged(tmp_path) >= 500 or run.poll() is not None, "the build to commit its first batch")
    assert run.poll() is None, "the build ended before anything could be killed midway"
    return config, run


def test_a_worker_killed_midway_loses_nothing(
    tmp_path: Path, cluster: Cluster, corpus: Path, local: dict[str, bytes]
) -> None:
    config, run = midway(tmp_path, cluster, corpus)
    cluster.workers[0].send_signal(signal.SIGKILL)
    assert run.wait(WAIT) == 0, run.communicate()
    assert differing(config.output, local) == []


def test_a_scheduler_lost_midway_fails_in_one_line_and_the_next_build_finishes_the_job(
    tmp_path: Path, cluster: Cluster, corpus: Path, local: dict[str, bytes]
) -> None:
    config, run = midway(tmp_path, cluster, corpus)
    committed = merged(tmp_path)
    cluster.scheduler.send_signal(signal.SIGKILL)
    status = run.wait(WAIT)
    _, err = run.communicate()
    assert status == ClusterError.exit_code, err
    assert err.count("\n") == 1 and err.startswith("feedtool: error: lost the Dask scheduler at tcp://127.0.0.1:"), err
    assert merged(tmp_path) >= committed  # the batches committed before stay
    with sqlite3.connect(config.store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again = feedtool(tmp_path, "--executor", "local")
    assert again.wait(WAIT) == 0, again.communicate()
    assert differing(config.output, local) == []


def test_a_stage_that_starts_after_the_scheduler_is_lost_is_a_cluster_error(cluster: Cluster) -> None:
    """A build's stages each register with the scheduler as they start: one that starts after it is
    gone meets whatever Dask raises then (a timeout reconnecting; then, from the client the loss
    closed, an AttributeError), and says it in one line like a loss midway."""
    from feedtool.workers.cluster import connected
    from feedtool.workers.tasks import Setup

    with connected(cluster.address) as pool:
        with pool(2, Setup("publish", int)):  # a stage while the scheduler lives
            pass
        cluster.scheduler.send_signal(signal.SIGKILL)
        cluster.scheduler.wait()
        (client,) = [c.cell_contents for c in pool.__closure__ or () if type(c.cell_contents).__name__ == "Client"]
        lost = r"^lost the Dask scheduler at tcp://127\.0\.0\.1:"
        with pytest.raises(ClusterError, match=lost), pool(2, Setup("publish", int)):
            pass  # reconnecting, it times out
        until(lambda: client.status == "closed", "the client to close")
        with pytest.raises(ClusterError, match=lost), pool(2, Setup("publish", int)):
            pass  # closed, it has no scheduler to ask


def test_an_unreachable_scheduler_is_one_line_within_its_time_and_nothing_is_written(tmp_path: Path) -> None:
    with socket_nobody_listens_on() as port:
        make_config(tmp_path, [tmp_path], build=f'executor = "dask:tcp://127.0.0.1:{port}"')
        started = time.monotonic()
        run = feedtool(tmp_path)
        status = run.wait(WAIT)
    _, err = run.communicate()
    assert (status, err.count("\n")) == (ClusterError.exit_code, 1), err
    assert err.startswith(f"feedtool: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"), err
    assert time.monotonic() - started < WAIT
    assert not (tmp_path / ".feedtool").exists() and not (tmp_path / "out").exists()


def test_without_dask_installed_the_executor_is_a_usage_error_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # what `import distributed` meets without the extra
    config = make_config(tmp_path, [tmp_path], build='executor = "dask:tcp://127.0.0.1:8786"')
    with pytest.raises(ConfigError, match=r"pip install 'feedtool\[dask\]'"):
        build(config)
    assert not config.store.exists()


@pytest.mark.parametrize("executor", ["dask", "dask:", "ray:tcp://127.0.0.1:1", "processes"])
def test_an_executor_named_wrongly_is_a_config_error(tmp_path: Path, executor: str) -> None:
    with pytest.raises(ConfigError, match=r"\[build\] executor .*dask:tcp://HOST:8786"):
        make_config(tmp_path, [tmp_path], build=f'executor = "{executor}"')


class socket_nobody_listens_on:
    """A loopback port bound but never listened on: a connection to it is refused at once."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *_: object) -> None:
        self.sock.close()
