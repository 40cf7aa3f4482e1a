"""parallel_map: results in input order, whatever pool runs the work, each worker's state made once."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from feedtool.workers import Setup, Stage, Workers, fork_early, parallel_map, started

T = TypeVar("T")
R = TypeVar("R")


def _square(state: object, n: int) -> int:
    return n * n


class _Threads:
    """A pool of the kind a cluster provides, made of threads: each made the stage's state once."""

    broken = (BrokenExecutor,)
    broken_for_good = True

    def __init__(self, executor: ThreadPoolExecutor, setup: Setup[Any]) -> None:
        self.executor, self.setup, self.states = executor, setup, threading.local()

    def submit(self, fn: Callable[[Any, T], R], chunk: list[T], seconds: float | None) -> Future[list[R]]:
        def run() -> list[R]:
            if not hasattr(self.states, "state"):
                self.states.state = self.setup()
            return [fn(self.states.state, job) for job in chunk]

        return self.executor.submit(run)


@contextmanager
def _threads(workers: int, setup: Setup[Any]) -> Iterator[_Threads]:
    with ThreadPoolExecutor(workers) as executor:
        yield _Threads(executor, setup)


def test_any_pool_plugs_in_and_results_keep_their_order() -> None:
    """The seam the Dask cluster uses: here, threads that each made the stage's state once."""
    made: list[str] = []
    found = parallel_map(
        _square, iter(range(500)), setup=Setup("ingest", made.append, ("made",)), count=500, workers=2,
        chunksize=7, pool=_threads,
    )  # fmt: skip
    assert list(found) == [n * n for n in range(500)]
    assert made and set(made) == {"made"} and len(made) <= 2


def test_a_few_jobs_are_shared_out_over_every_worker() -> None:
    """A cron run's hundred dumps, in chunks of 32 on two workers, went 64 to one worker and 36 to
    the other: cut finer, each worker takes a share, and a large map keeps its chunks whole."""
    sizes: list[int] = []

    @contextmanager
    def recorded(workers: int, setup: Setup[Any]) -> Iterator[_Threads]:
        with _threads(workers, setup) as pool:
            submit = pool.submit

            def noted(fn: Callable[[Any, T], R], chunk: list[T], seconds: float | None) -> Future[list[R]]:
                sizes.append(len(chunk))
                return submit(fn, chunk, seconds)

            pool.submit = noted  # type: ignore[method-assign]
            yield pool

    few = parallel_map(_square, range(100), setup=Setup("ingest", _nothing, ()), workers=2, chunksize=32, pool=recorded)
    assert list(few) == [n * n for n in range(100)]
    assert len(sizes) >= 8 and max(sizes) <= 13, sizes
    sizes.clear()
    many = parallel_map(
        _square, range(5000), setup=Setup("ingest", _nothing, ()), workers=2, chunksize=32, pool=recorded
    )
    assert list(many) == [n * n for n in range(5000)]
    assert set(sizes[:-1]) == {32}


def _note_pid(folder: Path) -> int:
    (folder / str(os.getpid())).touch()
    return os.getpid()


def _initialised(folder: Path, workers: int) -> set[int]:
    """The workers that ran their initializer, once there are as many as forked (each starts on its own)."""
    deadline = time.monotonic() + 60  # for a busy machine: it returns as soon as they are all there
    while len(pids := {int(p.name) for p in folder.iterdir()}) < workers and time.monotonic() < deadline:
        time.sleep(0.01)
    return pids


def _pid(state: int, _: int) -> int:
    assert state == os.getpid()  # the state this worker made, not another's
    return state


def test_a_pool_started_early_serves_several_maps_with_the_workers_it_started(tmp_path: Path) -> None:
    """Publishing forks its workers before its plan and lends them to both of its maps."""
    setup = Setup("publish", _note_pid, (tmp_path,))
    with started(setup, workers=2) as pool:
        assert pool is not None
        forked = _initialised(tmp_path, 2)  # running before any map is asked for
        assert len(forked) == 2 and os.getpid() not in forked
        for _ in range(2):
            found = parallel_map(_pid, list(range(300)), setup=setup, pool=pool)
            assert set(found) <= forked
    assert {int(p.name) for p in tmp_path.iterdir()} == forked


def test_one_worker_starts_no_pool() -> None:
    ready: list[str] = []
    with started(Setup("ingest", ready.append, ("early",)), workers=1) as pool:
        assert pool is None
    assert ready == []


def test_a_small_job_runs_here_and_builds_its_state_only_when_there_is_work() -> None:
    ready: list[str] = []
    setup = Setup("ingest", ready.append, ("ready",))
    assert list(parallel_map(_square, [], setup=setup)) == []
    assert ready == []
    assert list(parallel_map(_square, [3, 4], setup=setup)) == [9, 16]
    assert ready == ["ready"]


def test_a_builds_workers_lend_a_stages_early_pool_to_its_maps_and_to_no_other_stage(tmp_path: Path) -> None:
    pools = Workers(2)
    with pools.early(Setup("publish", _note_pid, (tmp_path,)), when=True):
        forked = _initialised(tmp_path, 2)
        found = pools.map(_pid, list(range(300)), setup=Setup("publish", _note_pid, (tmp_path,)))
        assert set(found) <= forked
        assert set(pools.map(_pid, list(range(3)), setup=Setup("ingest", _note_pid, (tmp_path,)))) == {
            os.getpid()
        }  # too little work for a pool of its own: run here
    assert pools.lent == {}
    with Workers(1).early(Setup("ingest", _note_pid, (tmp_path / "none",)), when=True):
        assert not (tmp_path / "none").exists()  # one worker: nothing forked


def _nothing() -> None:
    return None


def _slow_square(state: None, n: int) -> int:
    time.sleep(0.01)
    return n * n


def _square_unless_13(state: None, n: int) -> int:
    if n == 13:
        os.kill(os.getpid(), 9)  # as the kernel's OOM killer would
    return n * n


def _lost(job: int, what: str) -> int:
    return -1


def test_a_map_beside_one_whose_job_kills_its_worker_goes_on_with_every_result() -> None:
    """Ingest hashes and parses on the same lent pool: a dump that kills its worker breaks the pool
    under both maps, and each carries on, the one job that killed it told by on_crash."""
    pools = Workers(2)
    setup = Setup("ingest", _nothing)
    with pools.early(setup, when=True):
        first = pools.map(_slow_square, range(300), setup=setup, chunksize=1, on_crash=_lost)
        assert next(first) == 0  # the rest of its window is in flight
        second = list(pools.map(_square_unless_13, range(100), setup=setup, chunksize=1, on_crash=_lost))
        assert second == [-1 if n == 13 else n * n for n in range(100)]
        assert list(first) == [n * n for n in range(1, 300)]


@pytest.mark.parametrize(
    ("stage", "lists_every_folder", "plans_whole", "early"),
    [
        ("ingest", True, False, True), ("ingest", False, False, False), ("ingest", False, True, False),
        ("publish", True, False, True), ("publish", False, True, True), ("publish", False, False, False),
    ],
)  # fmt: skip
def test_when_a_stage_forks_before_its_large_state(
    stage: Stage, lists_every_folder: bool, plans_whole: bool, early: bool
) -> None:
    assert fork_early(stage, lists_every_folder=lists_every_folder, plans_whole=plans_whole) is early


def test_a_publish_runs_both_its_maps_in_one_pool_when_their_work_together_is_worth_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cron run's publish: a hundred fragments, then fifty documents, each too little for a pool
    alone. One pool is started for both, and neither map runs in the build process."""
    from helpers import SEEDS, make_config

    import feedtool.publish.run
    import feedtool.workers.pool
    from feedtool.build import build

    config = make_config(tmp_path, [SEEDS])
    build(config, do_publish=False, workers=1)
    made: list[Stage] = []
    ran_here: list[str] = []

    @contextmanager
    def counted(workers: int, setup: Setup[Any]) -> Iterator[_Threads]:
        made.append(setup.stage)
        with _threads(workers, setup) as pool:
            yield pool

    def watched(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def run(state: Any, job: Any) -> Any:
            if threading.current_thread() is threading.main_thread():
                ran_here.append(fn.__name__)
            return fn(state, job)

        return run

    monkeypatch.setattr(feedtool.workers.pool, "processes", counted)
    monkeypatch.setattr(feedtool.workers.pool, "POOL_THRESHOLD", 20)  # the seeds' 5 fragments and 8 pages: 29
    for name in ("_render_fragments", "_assemble"):
        monkeypatch.setattr(feedtool.publish.run, name, watched(getattr(feedtool.publish.run, name)))
    report = build(config, do_ingest=False, workers=2)
    assert report.publish is not None and "all/atom.xml" in report.publish.written
    assert (made, ran_here) == (["publish"], [])
