"""parallel_map: results in input order, whatever executor runs the work."""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from feedtool.parallel import parallel_map


def _square(n: int) -> int:
    return n * n


def test_any_executor_plugs_in_and_results_keep_their_order() -> None:
    """The seam a cluster's executor would use: here, threads that each ran the initializer."""
    started: list[str] = []

    def threads(workers: int, initializer: Any, initargs: tuple[Any, ...]) -> Executor:
        return ThreadPoolExecutor(workers, initializer=initializer, initargs=initargs)

    found = parallel_map(
        _square, iter(range(500)), initializer=started.append, initargs=("ready",), count=500, workers=2,
        chunksize=7, executor=threads,
    )  # fmt: skip
    assert list(found) == [n * n for n in range(500)]
    assert started and set(started) == {"ready"}


def test_a_small_job_runs_here_and_builds_its_state_only_when_there_is_work() -> None:
    started: list[str] = []
    assert list(parallel_map(_square, [], initializer=started.append, initargs=("ready",))) == []
    assert started == []
    assert list(parallel_map(_square, [3, 4], initializer=started.append, initargs=("ready",))) == [9, 16]
    assert started == ["ready"]
