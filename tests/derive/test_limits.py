"""A dump's time bound (derive/limits.py, `deadline`) in threads other than a process's main one,
where no SIGALRM arrives: a Dask worker's tasks, a program that builds from a thread of its own."""

from __future__ import annotations

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


def test_a_deadline_in_a_thread_raises_in_that_thread_once_its_time_is_up_and_never_after_its_block() -> None:
    outcomes: dict[str, str] = {}

    def slow() -> None:
        try:
            with deadline(SECONDS):
                _spin(RUN)
            outcomes["slow"] = "ran to its end"
        except Overtime:
            outcomes["slow"] = "overtime"

    def quick() -> None:
        with deadline(SECONDS):
            pass
        try:
            _spin(3 * SECONDS)  # past the deadline of the block it left
            outcomes["quick"] = "done"
        except Overtime:
            outcomes["quick"] = "overtime after its block"

    threads = [threading.Thread(target=work) for work in (slow, quick, quick, slow)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RUN + 30)
    assert outcomes == {"slow": "overtime", "quick": "done"}
    assert time.monotonic() - started < RUN  # the slow blocks ended at their deadline, not at their end
