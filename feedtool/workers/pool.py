"""parallel_map: one way to spread a stage's jobs over workers, whatever the workers are.

Processes, not threads, on one machine: the work is mostly Python (cleaning rules, feedgen),
which the GIL would serialise. Results come back in input order, so what the build process does
with them is deterministic, and only a few chunks are in flight at once, so memory stays bounded
however many jobs there are.

A pool is anything that runs a chunk of jobs on a worker holding the stage's state (`Pool`):
`local.processes` here, `cluster.connected` on a Dask cluster. Each is made by a `PoolFactory` from a
worker count and the stage's `Setup` (workers/tasks.py).
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from feedtool.errors import WorkerLost
from feedtool.workers.local import alone, processes
from feedtool.workers.tasks import Outcome, PoolFactory, Setup, Stage

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")

# Below this much work (in jobs of the size of one dump's parse) a pool costs more to start than it saves.
POOL_THRESHOLD = 64
AHEAD = 4  # chunks submitted per worker before the first of them is waited for


def parallel_map(
    fn: Callable[[S, T], R],
    jobs: Iterable[T],
    *,
    setup: Setup[S],
    count: int | None = None,
    workers: int | None = None,
    chunksize: int = 16,
    weight: int = 1,
    pool: PoolFactory | None = None,
    on_crash: Callable[[T, str], R] | None = None,
    job_seconds: float | None = None,
    threshold: int | None = None,
    ahead: int = AHEAD,
) -> Iterator[R]:
    """fn(state, job) over jobs, in order, each worker's state made once by `setup`.

    `jobs` is read lazily, a few chunks ahead of the results: the caller may produce them as it
    goes, and memory stays bounded. `count` is how many jobs there will be (len(jobs) for a
    list), and `weight` how many dump parses one job is worth; together they decide whether a
    pool is worth starting: work of `threshold` parses or more (POOL_THRESHOLD unless given).
    `ahead`: the chunks submitted per worker before the oldest is waited for (fewer for jobs that
    each carry a large part of the archive).

    `on_crash`: the result of a job whose worker died on it (killed for its memory, a crash in a
    library, or ended by its watch after `job_seconds`), given the job and what happened. The
    chunks in flight when a worker dies are run again one job a process, so the job that killed
    it is told from those that were only beside it; the rest go to a new local pool (or, on a
    cluster, to the same one: its scheduler has moved on to the other workers). Without it (for
    publishing and stories, whose jobs come from the store and have no one dump to blame), a
    dead worker is a WorkerLost naming the stage.
    """
    workers = workers or os.cpu_count() or 1
    if count is None:
        count = len(jobs) if isinstance(jobs, Sized) else 0
    # Few jobs (a cron run's hundred dumps) are cut finer, into AHEAD chunks a worker: in chunks of
    # the full size, 100 dumps in 32s on two workers gave one 64 and the other 36, and the map
    # waited on the first.
    if count:
        chunksize = max(1, min(chunksize, -(-count // (workers * ahead))))
    if count * weight < (POOL_THRESHOLD if threshold is None else threshold) or (workers == 1 and pool is None):
        # The state is made only once there is a job: with none (a build with nothing to do)
        # it, and whatever it imports, is never built.
        pending = iter(jobs)
        for job in pending:
            state = setup()
            yield fn(state, job)
            yield from (fn(state, job) for job in pending)
        return
    # Forked workers share the build's memory until they write to it, and a garbage collection in a
    # worker writes to every object it visits: frozen, the build's objects (at a million dumps, its
    # list of files and its publish plan) are left out of the workers' collections.
    gc.freeze()
    pending, pooled = iter(jobs), pool or processes
    window: deque[tuple[list[T], Outcome[list[R]]]] = deque()  # chunks submitted, oldest first
    broken: tuple[type[BaseException], ...] = ()
    for_good = True
    unsent: list[T] = []
    try:
        while True:
            try:
                with pooled(workers, setup) as running:
                    broken, for_good = running.broken, running.broken_for_good
                    for chunk in batched(pending, chunksize):
                        unsent = chunk  # taken from the jobs: a pool broken meanwhile refuses it
                        # A chunk is kept only to run again after a crash: publishing's, kept, held
                        # its pages' state in memory (+20 MiB at 5,000 articles).
                        kept = chunk if on_crash is not None else []
                        window.append((kept, running.submit(fn, chunk, job_seconds)))
                        unsent = []
                        if len(window) > ahead * workers:
                            yield from _oldest(window)
                    while window:
                        yield from _oldest(window)
                return
            except Exception as exc:
                if not isinstance(exc, broken):
                    raise
                if on_crash is None:
                    raise WorkerLost(setup.stage) from None
                for chunk, outcome in [*window, (unsent, None)]:
                    if outcome is None:  # the chunk the broken pool refused
                        yield from (alone(fn, job, setup, job_seconds, on_crash) for job in chunk)
                        continue
                    if outcome.done() and outcome.exception() is None:
                        yield from outcome.result()
                    else:
                        yield from (alone(fn, job, setup, job_seconds, on_crash) for job in chunk)
                window.clear()
                unsent = []
                if for_good:
                    pooled = processes  # a pool lent by the caller is broken for good
    finally:
        gc.unfreeze()


def _oldest(window: deque[tuple[list[T], Outcome[list[R]]]]) -> list[R]:
    """The results of the oldest chunk in flight, which leaves the window only once they are in."""
    results = window[0][1].result()
    window.popleft()
    return results


@contextmanager
def started(
    setup: Setup[Any], *, workers: int | None = None, pool: PoolFactory | None = None
) -> Iterator[PoolFactory | None]:
    """A pool started now and lent to every `parallel_map` given the factory this yields (None: one
    local worker, so the maps run here).

    For a stage about to build a large state its workers do not need: forked after it, each worker
    would map it too (at a million dumps, the list of files and the publish plan, hundreds of
    megabytes each, counted again in every worker's resident memory).
    """
    workers = workers or os.cpu_count() or 1
    if workers == 1 and pool is None:
        yield None
        return
    with (pool or processes)(workers, setup) as running:
        yield lambda *_: nullcontext(running)


def fork_early(stage: Stage, *, lists_every_folder: bool, plans_whole: bool = False) -> bool:
    """Whether a stage's workers start before the build holds a large state they need not map.

    Forked after it, each worker would map that state too. Ingest's workers start before a listing
    of every folder (a first build, a rescan: hundreds of megabytes at a million dumps).
    Publishing's start before that listing as well, when the build will publish after it, and
    before a whole publish plan (a fragment key per entry); otherwise a map starts its own pool
    when its work is worth one.
    """
    return lists_every_folder or (stage == "publish" and plans_whole)


@dataclass
class Workers:
    """A build's workers: how many, how a pool is made, and the pools started early.

    One object, made by the build and passed to each stage, so that every map of a build works to
    the same count and a pool started early for a stage (see fork_early) is lent to all its maps.
    """

    count: int | None = None  # None: a process a core; 1: everything runs in the build process
    pool: PoolFactory | None = None  # how a pool is made: local processes by default
    lent: dict[Stage, PoolFactory] = field(default_factory=dict)

    @contextmanager
    def early(self, setup: Setup[Any], *, when: bool) -> Iterator[None]:
        """The stage's pool started now, when `when`, and lent to its maps until the block ends."""
        stage = setup.stage
        if not when or (self.count == 1 and self.pool is None) or stage in self.lent:
            yield
            return
        with started(setup, workers=self.count, pool=self.pool) as running:
            assert running is not None
            self.lent[stage] = running
            try:
                yield
            finally:
                del self.lent[stage]

    def map(self, fn: Callable[[S, T], R], jobs: Iterable[T], *, setup: Setup[S], **options: Any) -> Iterator[R]:
        """parallel_map with this build's count, on the stage's lent pool when it has one: running
        already, it costs nothing to start, and any work at all goes to it."""
        lent = self.lent.get(setup.stage)
        if lent is not None:
            options.setdefault("threshold", 1)
        return parallel_map(fn, jobs, setup=setup, workers=self.count, pool=lent or self.pool, **options)

    @staticmethod
    def worth_a_pool(work: int) -> bool:
        """Whether `work` (in dump parses) is enough to start a pool for: more than it costs to start."""
        return work >= POOL_THRESHOLD


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
