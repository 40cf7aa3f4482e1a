"""Bounds on reading one dump, so that no single file, and no rule from a config, stops a build.

A build runs unattended over files nobody has looked at. Whatever one of them does (a front
matter alias bomb, HTML nested a hundred thousand deep, a cleaning rule that backtracks forever
on its text, a library bug it alone meets) ends with that dump rejected, with a reason, and the
build going on. The bounds, each where the work is:

- size: a dump over `[build] max_dump_bytes` is rejected before it is read (ingest/run.py);
- time: reading one dump stops after `[build] dump_seconds` (`deadline`, below); a worker
  process that overruns it in C code, where no Python signal handler runs, is ended by its
  watch (workers/local.py) and the dump rejected;
- regular expressions from a config run on the `regex` module with a timeout (`TimedPattern`):
  the standard `re` cannot be interrupted mid-match (the built-in rules, feedtool's own and
  tested, stay on `re`, which is twice as fast);
- YAML aliases (derive/dump.py) and nesting depth (derive/clean.py) are bounded where they are parsed.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from feedtool.errors import Rejected

if TYPE_CHECKING:  # loaded with the first rule compiled: a no-op build compiles none
    import regex

RULE_SECONDS = 1.0  # one regular expression from a config, over one text


def too_large(size: int, limit: int) -> str:
    """The reason a dump over the size bound is rejected."""
    return f"it is {size:,} bytes, over the limit of {limit:,} ([build] max_dump_bytes)"


class Overtime(Exception):
    """Reading one dump took longer than its bound."""


_running: list[bool] = []  # whether a deadline is set now (the handler is installed once a process)
_installed = [0]  # the process that installed the handler


def _expire(signum: int, frame: Any) -> None:
    if _running:
        raise Overtime


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise Overtime in the block once `seconds` have passed.

    In a process's main thread, a SIGALRM timer: it interrupts Python code, which is where a
    pathological dump spends its time in feedtool's own rules; C code that never returns is the
    worker watch's to end. The handler is installed on first use, and only the timer is set for
    each dump: a dump is read in about a millisecond, and installing a handler costs tens of
    microseconds. In any other thread (a Dask worker runs its tasks in one; a program may build
    from one of its own), where no signal arrives, the process's `_Watch` raises it instead.
    """
    if seconds <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        with _watch().over(seconds):
            yield
        return
    if _installed[0] != os.getpid():  # once a process (a forked worker inherits the flag, not the need)
        signal.signal(signal.SIGALRM, _expire)
        _installed[0] = os.getpid()
    _running.append(True)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _running.pop()


class _Watch:
    """One thread a process that raises Overtime in each thread whose deadline has passed, at its
    next Python instruction, as a signal handler would in the main thread (C code it is in
    finishes first, as it does for a signal).

    CPython raises an exception in another thread only through PyThreadState_SetAsyncExc, by
    ctypes; the libraries that wrap it are timeout decorators that start a thread a call (one a
    dump) and are no longer kept up, so it is done here, in one thread for every deadline.
    """

    def __init__(self) -> None:
        # The blocks take the lock itself, not the condition: a Condition's __enter__ is Python code,
        # where an Overtime already raised at this thread would go off with the lock taken and
        # never released, and every deadline of the process would wait on it for good. A lock's
        # is C, as is the `with` that holds it.
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.due: dict[int, float] = {}  # thread -> when its block is over time (time.monotonic)
        threading.Thread(target=self._run, name="feedtool-deadlines", daemon=True).start()

    @contextmanager
    def over(self, seconds: float) -> Iterator[None]:
        thread = threading.get_ident()
        with self.lock:
            self.due[thread] = time.monotonic() + seconds
            self.changed.notify()
        try:
            yield
        finally:
            with self.lock:
                # Gone from `due` means raised: raised in the block already, or still pending, to be
                # taken back so that it cannot go off after it. Raised here, it is this block's.
                if self.due.pop(thread, None) is None:
                    _raise_in(thread, None)

    def _run(self) -> None:
        with self.changed:
            while True:
                now = time.monotonic()
                for thread, when in list(self.due.items()):
                    if when <= now:
                        del self.due[thread]
                        _raise_in(thread, Overtime)
                self.changed.wait(min(self.due.values()) - now if self.due else None)


_current: list[_Watch] = []  # this process's watch, made when a thread first needs one
_making = [threading.Lock()]


def _watch() -> _Watch:
    if not _current:
        with _making[0]:
            if not _current:  # two threads may have asked at once: one watch all the same
                _current.append(_Watch())
    return _current[0]


def _forget() -> None:
    """In a forked child: its parent's watch thread is not in it, and a lock some other thread held
    at the fork would be held in it for good."""
    _current.clear()
    _making[0] = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)


def _raise_in(thread: int, exc: type[BaseException] | None) -> None:
    """`exc` raised in the thread at its next Python instruction; None takes back one not raised yet."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread), ctypes.py_object(exc) if exc else None)


@dataclass(frozen=True)
class TimedPattern:
    """A regular expression from outside (a config's rule), whose every match is bounded in time.

    A match that runs past RULE_SECONDS rejects the dump it was run on, naming the rule, so that
    the operator can fix the rule while every other dump is published.
    """

    source: str
    compiled: regex.Pattern[str]

    @classmethod
    def compile(cls, pattern: str) -> TimedPattern:
        import regex

        return cls(pattern, regex.compile(pattern))

    def search(self, text: str) -> regex.Match[str] | None:
        try:
            return self.compiled.search(text, timeout=RULE_SECONDS)
        except TimeoutError:
            raise self._slow() from None

    def finditer(self, text: str) -> list[regex.Match[str]]:
        try:
            return list(self.compiled.finditer(text, timeout=RULE_SECONDS))
        except TimeoutError:
            raise self._slow() from None

    def _slow(self) -> Rejected:
        shown = self.source if len(self.source) <= 80 else self.source[:77] + "..."
        return Rejected(f"the rule {shown!r} took over {RULE_SECONDS:g} s on this dump; simplify it in the config")


@dataclass(frozen=True)
class Rules:
    """Patterns matched as one: the built-in ones on `re` (feedtool's own, tested, and twice as fast),
    a config's on `regex`, each match bounded in time (`TimedPattern`)."""

    trusted: re.Pattern[str] | None
    timed: TimedPattern | None

    def search(self, text: str) -> bool:
        return bool(
            (self.trusted is not None and self.trusted.search(text))
            or (self.timed is not None and self.timed.search(text))
        )


def any_of(patterns: Sequence[str], bounded: Collection[str]) -> Rules | None:
    """One matcher where any of the patterns matches; those in `bounded` came from a config."""
    trusted = [p for p in patterns if p not in bounded]
    timed = [p for p in patterns if p in bounded]
    if not patterns:
        return None
    return Rules(
        re.compile("|".join(f"(?:{p})" for p in trusted)) if trusted else None,
        TimedPattern.compile("|".join(f"(?:{p})" for p in timed)) if timed else None,
    )


def compiled(pattern: str, bounded: Collection[str]) -> re.Pattern[str] | TimedPattern:
    """One pattern, time-bounded when it came from a config."""
    return TimedPattern.compile(pattern) if pattern in bounded else re.compile(pattern)
