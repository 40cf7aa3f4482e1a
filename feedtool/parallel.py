"""One way to spread CPU-bound work over the cores, shared by ingest (parsing) and publish (rendering).

Processes, not threads: the work is mostly Python (cleaning rules, feedgen), which the GIL would
serialise. Workers are forked where the platform allows, so they start in milliseconds with the
modules already imported; each gets its own state from `initializer` (never a shared SQLite
connection). Results come back in input order, so what is done with them is deterministic.

The pool is a seam: `parallel_map` takes any `Executor` factory, the local process pool by
default. Every stage that runs here is a pure map over its jobs (a dump in, an entry out; an
entry in, its markup out; a page in, its file written), so an executor of a cluster (Dask's
`Client.get_executor()`, say) plugs in without a change to the stages; the README's "Past one
machine" says what else would.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

if TYPE_CHECKING:  # concurrent.futures loads only for a pool: a no-op build starts none
    from concurrent.futures import Executor, Future

T = TypeVar("T")
R = TypeVar("R")
# (workers, initializer, initargs) -> an executor whose workers each ran initializer(*initargs), to be
# used in a `with` block (an executor is its own context manager, and is shut down at its end).
ExecutorFactory: TypeAlias = "Callable[[int, Callable[..., None], tuple[Any, ...]], AbstractContextManager[Executor]]"

# Below this much work (in jobs of the size of one dump's parse) a pool costs more to start than it saves.
POOL_THRESHOLD = 64
AHEAD = 4  # chunks submitted per worker before the first of them is waited for


def parallel_map(
    fn: Callable[[T], R],
    jobs: Iterable[T],
    *,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    count: int | None = None,
    workers: int | None = None,
    chunksize: int = 16,
    weight: int = 1,
    executor: ExecutorFactory | None = None,
    on_crash: Callable[[T, str], R] | None = None,
    job_seconds: float | None = None,
) -> Iterator[R]:
    """fn over jobs, in order.

    `jobs` is read lazily, a few chunks ahead of the results: the caller may produce them as it
    goes (ingest reads dump files this way, so reading overlaps parsing and memory stays bounded).
    `count` is how many jobs there will be (len(jobs) for a list), and `weight` how many dump
    parses one job is worth; together they decide whether a pool is worth starting.

    `on_crash`: the result of a job whose worker process died on it (killed for its memory, a
    crash in a library, or ended by its watch after `job_seconds`), given the job and what
    happened. The chunks in flight when a worker dies are run again one job a process, so the
    job that killed it is told from those that were only beside it; the rest go to a new pool.
    Without it, a dead worker is an error, as for publishing, whose jobs come from the store.
    """
    workers = workers or os.cpu_count() or 1
    if count is None:
        count = len(jobs) if isinstance(jobs, Sized) else 0
    if count * weight < POOL_THRESHOLD or workers == 1:
        # The initializer runs only once there is a job: with none (a build with nothing to do)
        # the worker state, and whatever it imports, is never built.
        pending = iter(jobs)
        for job in pending:
            initializer(*initargs)
            yield fn(job)
            yield from map(fn, pending)
        return
    # Forked workers share the build's memory until they write to it, and a garbage collection in a
    # worker writes to every object it visits: frozen, the build's objects (at a million dumps, its
    # list of files and its publish plan) are left out of the workers' collections.
    from concurrent.futures import BrokenExecutor

    gc.freeze()
    pending, pooled = iter(jobs), executor or local_processes
    window: deque[tuple[list[T], Future[list[R]]]] = deque()  # chunks submitted, oldest first
    try:
        while True:
            try:
                with pooled(workers, initializer, initargs) as pool:
                    for chunk in batched(pending, chunksize):
                        # A chunk is kept only to run again after a crash: publishing's, kept, held
                        # its pages' state in memory (+20 MiB at 5,000 articles).
                        kept = chunk if on_crash is not None else []
                        window.append((kept, pool.submit(_run_chunk, fn, chunk, job_seconds)))
                        if len(window) > AHEAD * workers:
                            yield from _oldest(window)
                    while window:
                        yield from _oldest(window)
                return
            except BrokenExecutor:
                if on_crash is None:
                    raise
                for chunk, future in window:
                    if future.done() and future.exception() is None:
                        yield from future.result()
                    else:
                        yield from (_alone(fn, job, initializer, initargs, job_seconds, on_crash) for job in chunk)
                window.clear()
                pooled = local_processes  # a pool lent by the caller is broken for good
    finally:
        gc.unfreeze()


def _oldest(window: deque[tuple[list[T], Future[list[R]]]]) -> list[R]:
    """The results of the oldest chunk in flight, which leaves the window only once they are in."""
    results = window[0][1].result()
    window.popleft()
    return results


EXIT_OVERTIME = 86  # a worker's exit status when its watch ended a job that overran its time


def _alone(
    fn: Callable[[T], R],
    job: T,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    seconds: float | None,
    on_crash: Callable[[T, str], R],
) -> R:
    """One job in a process of its own: its result, or on_crash's when the process dies or overruns."""
    import multiprocessing
    import signal

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_run_alone, args=(send, fn, job, initializer, initargs), daemon=True)
    process.start()
    send.close()
    overran = False
    try:
        if receive.poll(seconds):
            return receive.recv()  # type: ignore[no-any-return]
        overran = True
    except EOFError:
        pass  # it died before it answered
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receive.close()
    code = process.exitcode or 0
    if overran or code == EXIT_OVERTIME:
        return on_crash(job, f"took over {seconds:g} s")
    if code < 0:
        return on_crash(job, f"ended its worker process ({signal.Signals(-code).name}: out of memory, or a crash)")
    return on_crash(job, f"ended its worker process (exit status {code})")


def _run_alone(
    send: Any, fn: Callable[[T], R], job: T, initializer: Callable[..., None], initargs: tuple[Any, ...]
) -> None:
    initializer(*initargs)
    send.send(fn(job))
    send.close()


@contextmanager
def started(
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    *,
    workers: int | None = None,
    executor: ExecutorFactory | None = None,
) -> Iterator[ExecutorFactory | None]:
    """A pool started now and lent to every `parallel_map` given the factory this yields (None: one
    worker, so the maps run here).

    For a stage about to build a large state its workers do not need: forked after it, each worker
    would map it too (at a million dumps, the list of files and the publish plan, hundreds of
    megabytes each, counted again in every worker's resident memory).
    """
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        yield None
        return
    with (executor or local_processes)(workers, initializer, initargs) as pool:
        pool.submit(int).result()  # a forking process pool starts its workers with its first job
        yield lambda *_: nullcontext(pool)


Stage = Literal["ingest", "publish"]


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
    """A build's worker processes: how many, how a pool is made, and the pools started early.

    One object, made by the build and passed to each stage, so that every map of a build works to
    the same count and a pool started early for a stage (see fork_early) is lent to all its maps.
    """

    count: int | None = None  # None: a process a core; 1: everything runs in the build process
    executor: ExecutorFactory | None = None  # how a pool is made: local processes by default
    lent: dict[Stage, ExecutorFactory] = field(default_factory=dict)

    @contextmanager
    def early(
        self, stage: Stage, initializer: Callable[..., None], initargs: tuple[Any, ...], *, when: bool
    ) -> Iterator[None]:
        """The stage's pool started now, when `when`, and lent to its maps until the block ends."""
        if not when or self.count == 1 or stage in self.lent:
            yield
            return
        with started(initializer, initargs, workers=self.count, executor=self.executor) as pool:
            assert pool is not None
            self.lent[stage] = pool
            try:
                yield
            finally:
                del self.lent[stage]

    def map(self, stage: Stage, fn: Callable[[T], R], jobs: Iterable[T], **options: Any) -> Iterator[R]:
        """parallel_map with this build's count, on the stage's lent pool when it has one."""
        executor = self.lent.get(stage) or self.executor
        return parallel_map(fn, jobs, workers=self.count, executor=executor, **options)


def local_processes(workers: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> Executor:
    """Worker processes on this machine, forked where the platform allows, ending with their build."""
    # Imported here: a build with nothing to do never starts a pool, and these take 30 ms to load.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(), initializer, initargs)
    )


_deadline: float | None = None  # in a worker: when the job it is running must be done (see _start_worker)


def _run_chunk(fn: Callable[[T], R], chunk: list[T], seconds: float | None = None) -> list[R]:
    global _deadline
    results = []
    for job in chunk:
        _deadline = time.monotonic() + seconds if seconds else None
        results.append(fn(job))
    _deadline = None
    return results


def _start_worker(parent: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    """Run the initializer, and end this worker when the build that started it is gone.

    A build killed with SIGKILL cannot stop its pool; without this watch its workers would wait
    for work forever, one set per killed cron run. The watch also ends a worker whose job runs
    past its deadline (`job_seconds`), which no exception raised in Python can interrupt.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
            if _deadline is not None and time.monotonic() > _deadline:
                os._exit(EXIT_OVERTIME)  # stuck where no signal reaches (C code): the job is told by on_crash
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    initializer(*initargs)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
