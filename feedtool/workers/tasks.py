"""What the workers' pools share: how a worker is set up for a stage, and what a pool is.

Its own module so that the pools (`local`, `cluster`) and the map over them (`pool`) depend on it
and not on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeAlias, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

Stage = Literal["ingest", "stories", "publish"]


@dataclass(frozen=True)
class Setup(Generic[S]):
    """How a worker makes its state for a stage, once: `make(*args)`.

    `make` is a module-level function and `args` plain values, so that a forked, spawned or
    remote worker can make the same state; the stage's functions receive it as their first
    argument instead of reading module globals.
    """

    stage: Stage
    make: Callable[..., S]
    args: tuple[Any, ...] = ()

    def __call__(self) -> S:
        return self.make(*self.args)


class Outcome(Protocol[R_co]):
    """A chunk's results to come: a `concurrent.futures.Future`, or a Dask one."""

    def result(self) -> R_co: ...
    def done(self) -> bool: ...
    def exception(self) -> BaseException | None: ...


class Pool(Protocol):
    """Workers that have each made a stage's state (the `Setup` the pool was made with)."""

    # What a chunk's outcome raises when a worker died under it (killed for its memory, a crash in
    # a library): the chunk's jobs are then run again one at a time, to tell which one killed it.
    broken: tuple[type[BaseException], ...]
    # Whether such a death leaves the pool unusable (a local process pool), so that the rest of
    # the jobs go to a new one; a cluster's scheduler moves on to its other workers.
    broken_for_good: bool

    def submit(self, fn: Callable[[Any, T], R], chunk: list[T], seconds: float | None) -> Outcome[list[R]]:
        """Run fn(state, job) for each job of the chunk on one worker; `seconds`, when the pool can
        enforce it, is how long one job may take before its worker is ended."""
        ...


# (workers, setup) -> a pool of that many workers that each made setup's state, to be used in a
# `with` block (and shut down at its end).
PoolFactory: TypeAlias = Callable[[int, Setup[Any]], AbstractContextManager[Pool]]
