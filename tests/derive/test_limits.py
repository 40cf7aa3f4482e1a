"""A dump's time bound (derive/limits.py, `deadline`) in threads other than a process's main one,
where no SIGALRM arrives: a Dask worker's tasks, a program that builds from a thread of its own."""

from __future__ import annotations

import random
import sys
import threading
import time

from feedtool.derive.limits import Overtime, deadline

SECONDS = 0.3
RUN = 30  # seconds a block spins unbounded: far past its deadline, and still an end to a test that fails


def _spin(seconds: float) -> None:
    """Python code, busy: what a pathological dump keeps feedtool's own rules at."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def _run(*work: object) -> list[threading.Thread]:
    """The threads still running once they should all have ended (a busy machine's minute after)."""
    threads = [threading.Thread(target=w, daemon=True) for w in work]  # type: ignore[arg-type]
    for thread in threads:
        thread.start()
    end = time.monotonic() + RUN + 30
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    return [t for t in threads if t.is_alive()]


def test_a_deadline_in_a_thread_raises_in_that_thread_once_its_time_is_up_and_never_after_its_block() -> None:
    outcomes: list[str] = []

    def slow() -> None:
        try:
            with deadline(SECONDS):
                _spin(RUN)
            outcomes.append("slow ran to its end")
        except Overtime:
            outcomes.append("slow overtime")

    def quick() -> None:
        try:
            with deadline(SECONDS):
                pass
        except Overtime:
            outcomes.append("quick overtime in its block")
            return
        try:
            _spin(3 * SECONDS)  # past the deadline of the block it left
            outcomes.append("quick done")
        except Overtime:
            outcomes.append("quick overtime after its block")

    started = time.monotonic()
    assert _run(slow, quick, quick, slow) == []
    assert sorted(outcomes) == ["quick done", "quick done", "slow overtime", "slow overtime"]
    assert time.monotonic() - started < RUN  # the slow blocks ended at their deadline, not at their end


def test_deadlines_that_expire_as_their_blocks_end_leave_every_thread_free_and_nothing_raised_after() -> None:
    """Many threads, each block ending about when its deadline passes, threads switched as often as
    Python can: an Overtime raised while a block is leaving must go off in the block or not at all,
    and never with the watch's lock taken (which would stop every deadline of the process)."""
    strays: list[str] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            limit = 0.003 * rng.uniform(0.5, 1.5)
            try:
                with deadline(limit):
                    _spin(limit * rng.uniform(0.9, 1.1))
            except Overtime:
                pass
            try:
                _spin(0.006)
            except Overtime:
                strays.append(f"thread {seed}")

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        stuck = _run(*(lambda seed=seed: work(seed) for seed in range(6)))
    finally:
        sys.setswitchinterval(interval)
    assert stuck == [] and strays == []
