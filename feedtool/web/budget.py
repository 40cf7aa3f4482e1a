"""What one answer from the store may cost, and who gets to make one next.

A query feed or a search is work a stranger asks for: a filter tried on thousands of entries, an
FTS5 walk, a feed rendered. Each answer gets a `Budget` (CPU seconds of its thread, wall seconds,
and a flag the server sets when the client hangs up), checked between entries by the filters'
loop and every few thousand SQLite steps by the store's progress handler; past it, the answer
stops where it is. A slot to make answers in is granted by `FairSlots`: one client address makes
one answer at a time, however many it asks for at once, so a crowd of requests from one place
waits behind each other, not in front of everyone else.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from feedtool.errors import Busy, OverBudget

# An answer's own CPU (its thread's, so the load of others does not count against it): a search
# or a filtered feed takes milliseconds to tens of them; a second is a pattern that should not run.
CPU_SECONDS = 1.0
# Wall time, waiting on Python's one lock behind other answers included: past it the server is too
# busy to answer this well (a 503), whatever the query.
WALL_SECONDS = 10.0
# Answers made at once, and so threads with a store connection: making one is CPU work under
# Python's one lock, so more at once are no faster, and each delays the files served beside them.
SLOTS = 2
TURN_SECONDS = 10.0  # how long a request waits for a slot before a 503
WAITING_PER_CLIENT = 8  # requests of one address waiting at once; more are a 429


class Gone(Exception):
    """The client hung up: the answer is no use to anyone, so its work stops."""


@dataclass
class Budget:
    """One answer's allowance, spent in its worker thread, cancelled from the event loop."""

    cpu: float = CPU_SECONDS
    wall: float = WALL_SECONDS
    gone: threading.Event = field(default_factory=threading.Event)
    _cpu_start: float = 0.0
    _wall_start: float = 0.0

    def start(self) -> None:
        """Called in the thread that does the work (thread CPU time is per thread)."""
        self._cpu_start, self._wall_start = time.thread_time(), time.monotonic()

    def check(self) -> None:
        """Raise Gone or OverBudget when the answer should stop; cheap enough to call per entry."""
        if self.gone.is_set():
            raise Gone
        if time.thread_time() - self._cpu_start > self.cpu:
            raise OverBudget(f"the query took over {self.cpu:g} s of work, its bound; narrow it", busy=False)
        if time.monotonic() - self._wall_start > self.wall:
            raise OverBudget(f"the server could not answer within {self.wall:g} s; try again later", busy=True)

    def interrupts(self) -> bool:
        """For sqlite3's progress handler: True (stop the statement) once the budget is spent."""
        try:
            self.check()
        except (Gone, OverBudget):
            return True
        return False


class TooMany(Exception):
    """One client address has WAITING_PER_CLIENT requests waiting already (HTTP 429)."""


class FairSlots:
    """SLOTS answers at a time, granted first come first served, except that an address already
    making one waits until it is done: no client holds every slot. Lives in the event loop."""

    def __init__(self, slots: int = SLOTS, *, turn: float = TURN_SECONDS, waiting: int = WAITING_PER_CLIENT) -> None:
        self.free, self.turn, self.most_waiting = slots, turn, waiting
        self.running: dict[str, int] = {}
        self.waiters: list[tuple[str, asyncio.Future[None]]] = []

    @asynccontextmanager
    async def slot(self, client: str, gone: asyncio.Event) -> AsyncIterator[None]:
        """A slot for `client`'s answer; Gone when `gone` is set (the client hung up) while it waits."""
        await self._acquire(client, gone)
        try:
            yield
        finally:
            self._release(client)

    async def _acquire(self, client: str, gone: asyncio.Event) -> None:
        if sum(1 for who, _ in self.waiters if who == client) >= self.most_waiting:
            raise TooMany(f"{self.most_waiting} requests from this address are waiting already")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append((client, waiter))
        self._dispatch()
        if waiter.done():
            return
        hangup = asyncio.ensure_future(gone.wait())
        try:
            await asyncio.wait((waiter, hangup), timeout=self.turn, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # the request's task cancelled (the server shutting down)
            if waiter.done() and not waiter.cancelled():
                self._release(client)
            raise
        finally:
            hangup.cancel()
            if not waiter.done():
                self.waiters.remove((client, waiter))
                waiter.cancel()
        if waiter.cancelled():
            if gone.is_set():
                raise Gone
            raise Busy(f"every one of the {SLOTS} answers at a time was busy for {self.turn:g} s")

    def _dispatch(self) -> None:
        """Free slots to the longest-waiting addresses that are not making an answer already."""
        for who, waiter in list(self.waiters):
            if not self.free:
                return
            if not self.running.get(who):
                self.waiters.remove((who, waiter))
                self.free -= 1
                self.running[who] = 1
                waiter.set_result(None)

    def _release(self, client: str) -> None:
        self.free += 1
        del self.running[client]
        self._dispatch()
