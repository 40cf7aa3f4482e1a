"""What one answer from the store may cost, and who gets to make one next.

A query feed or a search is work a stranger asks for: a filter tried on thousands of entries, an
FTS5 walk, a feed rendered. Each answer gets a `Budget` (CPU seconds of its thread, wall seconds,
and a flag the server sets when the client hangs up), checked between entries by the filters'
loop and every few thousand SQLite steps by the store's progress handler; past it, the answer
stops where it is. A slot to make answers in is granted by `FairSlots`: one client address makes
one answer at a time, however many it asks for at once, and among those waiting the address
whose answers have cost least lately goes first, a request with regular expressions counted as
though it had spent its allowance already, and every address as though it had asked some tens
of questions before its first: a crowd of requests from one place, or of costly ones from many,
new or not, waits behind the readers who asked a little lately.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from feedtool.errors import Busy, OverBudget

# An answer's own CPU (its thread's, so the load of others does not count against it): a search
# or a filtered feed takes milliseconds to tens of them; half a second is a pattern that should not run.
CPU_SECONDS = 0.5
COST_HALF_LIFE = 60.0  # seconds for what an address's answers cost to count half as much
MAX_WAITING = 64  # requests waiting for a slot, all addresses together; past them a 503 (FairSlots says whose)
TRACKED = 10_000  # addresses whose recent cost is remembered
UNSEEN_SECONDS = 0.1  # what an address counts as having spent before its first answer (FairSlots says why)
# Wall time, waiting on Python's one lock behind other answers included: past it the server is too
# busy to answer this well (a 503), whatever the query.
WALL_SECONDS = 10.0
# Answers made at once, and so threads with a store connection: making one is CPU work under
# Python's one lock, so more at once are no faster, and each delays the files served beside them.
SLOTS = 2
TURN_SECONDS = 15.0  # how long a request waits for a slot before a 503
WAITING_PER_CLIENT = 8  # requests of one address waiting at once; more are a 429


class Gone(Exception):
    """The client hung up: the answer is no use to anyone, so its work stops."""


@dataclass(eq=False)  # each is its own: the application keeps those in the making in a set
class Budget:
    """One answer's allowance, spent in its worker thread, cancelled from the event loop."""

    cpu: float = CPU_SECONDS
    wall: float = WALL_SECONDS
    gone: threading.Event = field(default_factory=threading.Event)  # the client hung up
    stop: threading.Event = field(default_factory=threading.Event)  # the server is stopping
    spent: float = 0.0  # CPU seconds the answer took, once made
    _cpu_start: float = 0.0
    _wall_start: float = 0.0

    def start(self) -> None:
        """Called in the thread that does the work (thread CPU time is per thread)."""
        self._cpu_start, self._wall_start = time.thread_time(), time.monotonic()

    def finish(self) -> None:
        self.spent = time.thread_time() - self._cpu_start

    def check(self) -> None:
        """Raise Gone or OverBudget when the answer should stop; cheap enough to call per entry."""
        if self.gone.is_set():
            raise Gone
        if self.stop.is_set():
            raise OverBudget("the server is stopping; try again soon", busy=True)
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


def client_key(address: str) -> str:
    """Whose request or connection this is: the address, or for IPv6 its /64, which one host holds whole."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class TooMany(Exception):
    """One client address has WAITING_PER_CLIENT requests waiting already (HTTP 429)."""


class FairSlots:
    """SLOTS answers at a time. An address already making one waits until it is done, so no
    client holds every slot; of the others waiting, the request of least rank goes first, then
    the one that came first. A request's rank is what its address's answers cost in CPU lately
    (halving every COST_HALF_LIFE seconds), plus an answer's whole allowance for a request with
    regular expressions (`costly`: they are what take it). Lives in the event loop. `client` is
    client_key's: an address, or an IPv6 /64.

    An address starts as though it had spent `unseen`, what some tens of searches cost (a search
    takes a few milliseconds of CPU, a feed's page tens of them), and its answers are added to
    that, which fades as the rest does. Starting from nothing, a crowd of new addresses would go
    before every reader who has asked before: with questions as dear as an allowance, thirty
    of them would keep a reader's search waiting for fifteen of their answers (as thirty with
    slow expressions did before expressions counted their allowance), and one cheap request, a
    404, would buy any address that place. Starting from a whole allowance, a new reader would
    wait until the busiest readers had each spent that much: seconds, on a busy server.

    What the ranks do not give: a reader who counts more than `unseen` (one who spent more
    lately, or came within a minute or so) waits behind new addresses' first answers; an
    expression waits while requests of addresses that spent less than an allowance more keep
    every slot busy, and gets a 503 after TURN_SECONDS. Past MAX_WAITING requests waiting, a new
    one of lower rank than the dearest waiting takes its place, which gets a 503, and one of no
    lower rank gets the 503.
    """

    def __init__(
        self, slots: int = SLOTS, *, turn: float = TURN_SECONDS, waiting: int = WAITING_PER_CLIENT,
        unseen: float = UNSEEN_SECONDS, allowance: float = CPU_SECONDS,
    ) -> None:  # fmt: skip
        self.slots, self.free, self.turn, self.most_waiting = slots, slots, turn, waiting
        self.unseen, self.allowance = unseen, allowance
        self.running: dict[str, int] = {}
        self.waiters: list[tuple[str, bool, asyncio.Future[None]]] = []  # (client, costly, granted)
        self.costs: dict[str, tuple[float, float]] = {}  # address -> (CPU seconds, as of when)
        self.stopped = False

    @asynccontextmanager
    async def slot(self, client: str, gone: asyncio.Event, *, costly: bool = False) -> AsyncIterator[None]:
        """A slot for `client`'s answer; Gone when `gone` is set (the client hung up) while it waits."""
        await self._acquire(client, gone, costly)
        try:
            yield
        finally:
            self._release(client)

    def charge(self, client: str, seconds: float) -> None:
        """What an answer for `client` cost: its next requests wait behind cheaper addresses'."""
        now = time.monotonic()
        self.costs[client] = (self._cost(client, now) + seconds, now)
        if len(self.costs) > TRACKED:
            # Forget the addresses that cost least now, faded: an address forgotten counts as
            # `unseen` again, more than those cost, and less than the dearest, which are kept.
            for address in sorted(self.costs, key=lambda address: self._cost(address, now))[: TRACKED // 2]:
                del self.costs[address]

    def stop(self) -> None:
        """The server is stopping: every request waiting for a slot is answered at once."""
        self.stopped = True
        for _, _, waiter in self.waiters:
            waiter.cancel()
        self.waiters.clear()  # none of them is granted a slot an answer ending now frees

    def _cost(self, client: str, now: float) -> float:
        spent, when = self.costs.get(client, (self.unseen, now))
        return float(spent * 0.5 ** ((now - when) / COST_HALF_LIFE))

    def _rank(self, client: str, costly: bool, now: float) -> float:
        return self._cost(client, now) + (self.allowance if costly else 0.0)

    async def _acquire(self, client: str, gone: asyncio.Event, costly: bool) -> None:
        if self.stopped:
            raise Busy("the server is stopping; try again soon")
        if sum(1 for who, _, _ in self.waiters if who == client) >= self.most_waiting:
            raise TooMany(f"{self.most_waiting} requests from this address are waiting already")
        if len(self.waiters) >= MAX_WAITING:
            self._make_room(client, costly)
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append((client, costly, waiter))
        self._dispatch()
        if waiter.done():
            return
        hangup = asyncio.ensure_future(gone.wait())
        try:
            await asyncio.wait((waiter, hangup), timeout=self.turn, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # the request's task cancelled
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(client)
            raise
        finally:
            hangup.cancel()
            if not waiter.done():
                waiter.cancel()
            if (client, costly, waiter) in self.waiters:
                self.waiters.remove((client, costly, waiter))
        if waiter.cancelled():
            if gone.is_set():
                raise Gone
            if self.stopped:
                raise Busy("the server is stopping; try again soon")
            raise Busy(f"every one of the {self.slots} answers at a time was busy for {self.turn:g} s")
        if (pushed := waiter.exception()) is not None:
            raise pushed

    def _make_room(self, client: str, costly: bool) -> None:
        """MAX_WAITING requests wait: the dearest of them gets a 503, if this one ranks lower;
        else this one does. A full queue does not refuse a reader behind a crowd's requests."""
        now = time.monotonic()
        rank, n = max((self._rank(who, dear, now), n) for n, (who, dear, _) in enumerate(self.waiters))
        if self._rank(client, costly, now) >= rank:
            raise Busy(f"{MAX_WAITING} requests are waiting for an answer already")
        _, _, pushed = self.waiters.pop(n)
        pushed.set_exception(Busy(f"{MAX_WAITING} requests are waiting, and cheaper ones came; try again soon"))

    def _dispatch(self) -> None:
        """Free slots to the waiting addresses not making an answer already, cheapest first (see the class)."""
        now = time.monotonic()
        while self.free:
            ready = [
                (self._rank(who, costly, now), n)
                for n, (who, costly, _) in enumerate(self.waiters)
                if not self.running.get(who)
            ]
            if not ready:
                return
            who, _, waiter = self.waiters.pop(min(ready)[1])
            self.free -= 1
            self.running[who] = 1
            waiter.set_result(None)

    def _release(self, client: str) -> None:
        self.free += 1
        del self.running[client]
        self._dispatch()
