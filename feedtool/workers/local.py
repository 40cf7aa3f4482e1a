"""Worker processes on this machine: the default pool.

Forked where the platform allows, so they start in milliseconds with the modules already
imported; each makes its stage's state from the `Setup` once (never a shared SQLite connection,
which no task needs). A watch thread in each worker ends it when the build that started it is
gone (a build killed with SIGKILL cannot stop its pool) or when a job overruns its deadline in C
code, where no Python exception reaches.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from feedtool.workers.tasks import Outcome, Setup

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
R = TypeVar("R")

EXIT_OVERTIME = 86  # a worker's exit status when its watch ended a job that overran its time


@dataclass
class _Processes:
    executor: ProcessPoolExecutor
    broken: tuple[type[BaseException], ...]
    broken_for_good = True

    def submit(self, fn: Callable[[Any, T], R], chunk: list[T], seconds: float | None) -> Outcome[list[R]]:
        return self.executor.submit(_run_chunk, fn, chunk, seconds)


@contextmanager
def processes(workers: int, setup: Setup[Any]) -> Iterator[_Processes]:
    """`workers` processes here, each having made setup's state, ending with the block."""
    # Imported here: a build with nothing to do never starts a pool, and these take 30 ms to load.
    import multiprocessing
    from concurrent.futures import BrokenExecutor, ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    executor = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(os.getpid(), setup)
    )
    with executor:
        # A forking pool forks its workers with its first job: now, before the build holds what
        # they need not map. Not waited for: they make their state while the build goes on.
        executor.submit(int)
        yield _Processes(executor, (BrokenExecutor,))


# In a worker process: the state its setup made, and when the job it is running must be done.
_state: Any = None
_deadline: float | None = None


def _run_chunk(fn: Callable[[Any, T], R], chunk: list[T], seconds: float | None = None) -> list[R]:
    global _deadline
    results = []
    for job in chunk:
        _deadline = time.monotonic() + seconds if seconds else None
        results.append(fn(_state, job))
    _deadline = None
    return results


def _start_worker(parent: int, setup: Setup[Any]) -> None:
    """Make the stage's state, and end this worker when the build that started it is gone.

    The watch also ends a worker whose job runs past its deadline (`job_seconds`), which no
    exception raised in Python can interrupt.
    """
    global _state

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
            if _deadline is not None and time.monotonic() > _deadline:
                os._exit(EXIT_OVERTIME)  # stuck where no signal reaches (C code): the job is told by on_crash
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    _state = setup()


def alone(
    fn: Callable[[Any, T], R],
    job: T,
    setup: Setup[Any],
    seconds: float | None,
    on_crash: Callable[[T, str], R],
) -> R:
    """One job in a process of its own: its result, or on_crash's when the process dies or overruns."""
    import multiprocessing
    import signal

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_run_alone, args=(send, fn, job, setup), daemon=True)
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


def _run_alone(send: Any, fn: Callable[[Any, T], R], job: T, setup: Setup[Any]) -> None:
    send.send(fn(setup(), job))
    send.close()
