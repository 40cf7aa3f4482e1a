"""parallel_map: results in input order, whatever executor runs the work."""

from __future__ import annotations

import os
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from feedtool.parallel import Stage, Workers, fork_early, parallel_map, started


def _square(n: int) -> int:
    return n * n


def _threads(workers: int, initializer: Any, initargs: tuple[Any, ...]) -> Executor:
    return ThreadPoolExecutor(workers, initializer=initializer, initargs=initargs)


def test_any_executor_plugs_in_and_results_keep_their_order() -> None:
    """The seam a cluster's executor would use: here, threads that each ran the initializer."""
    ready: list[str] = []
    found = parallel_map(
        _square, iter(range(500)), initializer=ready.append, initargs=("ready",), count=500, workers=2,
        chunksize=7, executor=_threads,
    )  # fmt: skip
    assert list(found) == [n * n for n in range(500)]
    assert ready and set(ready) == {"ready"}


def _note_pid(folder: Path) -> None:
    (folder / str(os.getpid())).touch()


def _initialised(folder: Path, workers: int) -> set[int]:
    """The workers that ran their initializer, once there are as many as forked (each starts on its own)."""
    deadline = time.monotonic() + 60  # for a busy machine: it returns as soon as they are all there
    while len(pids := {int(p.name) for p in folder.iterdir()}) < workers and time.monotonic() < deadline:
        time.sleep(0.01)
    return pids


def _pid(_: int) -> int:
    return os.getpid()


def test_a_pool_started_early_serves_several_maps_with_the_workers_it_started(tmp_path: Path) -> None:
    """Publishing forks its workers before its plan and lends them to both of its maps."""
    with started(_note_pid, (tmp_path,), workers=2) as pool:
        assert pool is not None
        forked = _initialised(tmp_path, 2)  # running before any map is asked for
        assert len(forked) == 2 and os.getpid() not in forked
        for _ in range(2):
            found = parallel_map(_pid, list(range(300)), initializer=_note_pid, initargs=(tmp_path,), executor=pool)
            assert set(found) <= forked
    assert {int(p.name) for p in tmp_path.iterdir()} == forked


def test_one_worker_starts_no_pool() -> None:
    ready: list[str] = []
    with started(ready.append, ("early",), workers=1, executor=_threads) as pool:
        assert pool is None
    assert ready == []


def test_a_small_job_runs_here_and_builds_its_state_only_when_there_is_work() -> None:
    ready: list[str] = []
    assert list(parallel_map(_square, [], initializer=ready.append, initargs=("ready",))) == []
    assert ready == []
    assert list(parallel_map(_square, [3, 4], initializer=ready.append, initargs=("ready",))) == [9, 16]
    assert ready == ["ready"]


def test_a_builds_workers_lend_a_stages_early_pool_to_its_maps_and_to_no_other_stage(tmp_path: Path) -> None:
    pools = Workers(2)
    with pools.early("publish", _note_pid, (tmp_path,), when=True):
        forked = _initialised(tmp_path, 2)
        found = pools.map("publish", _pid, list(range(300)), initializer=_note_pid, initargs=(tmp_path,))
        assert set(found) <= forked
        assert set(pools.map("ingest", _pid, list(range(3)), initializer=_note_pid, initargs=(tmp_path,))) == {
            os.getpid()
        }  # too little work for a pool of its own: run here
    assert pools.lent == {}
    with Workers(1).early("ingest", _note_pid, (tmp_path / "none",), when=True):
        assert not (tmp_path / "none").exists()  # one worker: nothing forked


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
