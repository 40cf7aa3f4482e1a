"""Who gets the next slot to make an answer in (`FairSlots`), decided in an event loop with no
server: the order is the whole of what it decides, so it is tested as it is, one grant at a time."""

from __future__ import annotations

import asyncio
import time

import pytest

from feedtool.errors import Busy
from feedtool.web.budget import COST_HALF_LIFE, CPU_SECONDS, MAX_WAITING, TRACKED, UNSEEN_SECONDS, FairSlots

HOLDER = "192.0.2.1"  # holds the slots while the others queue up
READER = "198.51.100.7"


async def _granted_order(slots: FairSlots, waiting: list[tuple[str, bool]]) -> list[str]:
    """The order in which `waiting` (address, with regular expressions) are granted a slot, all
    queued while HOLDER holds every slot; each answer is over at its next turn of the loop."""
    order: list[str] = []
    release = asyncio.Event()

    async def hold() -> None:
        async with slots.slot(HOLDER, asyncio.Event()):
            await release.wait()

    async def ask(client: str, costly: bool) -> None:
        async with slots.slot(client, asyncio.Event(), costly=costly):
            order.append(client)
            await asyncio.sleep(0)

    holders = [asyncio.ensure_future(hold())]
    holders += [asyncio.ensure_future(hold_other(slots, f"192.0.2.{n}", release)) for n in range(2, slots.slots + 1)]
    await asyncio.sleep(0)
    asks = []
    for client, costly in waiting:  # queued in this order: ties go to the first
        asks.append(asyncio.ensure_future(ask(client, costly)))
        await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*holders, *asks)
    return order


def _counting(slots: FairSlots, costs: dict[str, float]) -> None:
    """Each address as though its answers had cost this much in all, as of now."""
    now = time.monotonic()
    slots.costs.update((address, (seconds, now)) for address, seconds in costs.items())


async def hold_other(slots: FairSlots, client: str, release: asyncio.Event) -> None:
    async with slots.slot(client, asyncio.Event()):
        await release.wait()


@pytest.mark.parametrize("costly", [True, False], ids=["expressions", "plain questions"])
def test_a_reader_who_asked_before_goes_before_a_crowd_of_new_addresses(costly: bool) -> None:
    """Thirty addresses the server has not seen, with regular expressions or with plain
    questions (which may cost as much), and a reader whose earlier searches cost a little: the
    reader is answered first, not after thirty."""
    slots = FairSlots(slots=1)
    _counting(slots, {READER: 0.05})
    crowd = [(f"203.0.113.{n}", costly) for n in range(30)]
    order = asyncio.run(_granted_order(slots, [*crowd, (READER, False)]))
    assert order[0] == READER, order[:3]


def test_an_unseen_address_counts_as_having_spent_a_few_answers() -> None:
    """A reader who spent a little less than an unseen address counts as having spent goes
    before a new address; one who spent a little more, after: a new reader is not kept waiting
    until the busiest readers have spent a whole allowance each."""
    slots = FairSlots(slots=1)
    _counting(slots, {"198.51.100.1": UNSEEN_SECONDS + 0.02, "198.51.100.2": UNSEEN_SECONDS - 0.02})
    waiting = [("198.51.100.1", False), ("203.0.113.9", False), ("198.51.100.2", False)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["198.51.100.2", "203.0.113.9", "198.51.100.1"]


def test_an_expression_counts_as_having_spent_its_allowance_already() -> None:
    """A reader's expression goes behind the searches of addresses that spent less than it plus
    an allowance, and before those of addresses that spent more."""
    slots = FairSlots(slots=1)
    _counting(slots, {READER: 0.05, "203.0.113.1": CPU_SECONDS, "203.0.113.2": CPU_SECONDS + 0.1})
    waiting = [("203.0.113.2", False), (READER, True), ("203.0.113.1", False)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["203.0.113.1", READER, "203.0.113.2"]


def test_a_cheap_first_answer_does_not_buy_an_address_a_place_before_the_readers() -> None:
    """What an address's first answer cost is added to what it starts with: a 404 asked first
    does not put a new address before a reader who asked a little."""
    slots = FairSlots(slots=1)
    slots.charge("203.0.113.5", 0.005)
    _counting(slots, {READER: 0.05})
    assert asyncio.run(_granted_order(slots, [("203.0.113.5", False), (READER, False)])) == [READER, "203.0.113.5"]


def test_what_an_address_spends_adds_up_and_fades() -> None:
    """Two answers count both; an answer COST_HALF_LIFE ago counts half."""
    slots = FairSlots(slots=1)
    slots.charge("203.0.113.1", 0.1)
    slots.charge("203.0.113.1", 0.1)  # with what it starts with: 0.3
    slots.charge("203.0.113.2", 0.15)  # 0.25
    slots.costs["203.0.113.3"] = (0.4, time.monotonic() - COST_HALF_LIFE)  # 0.2
    waiting = [("203.0.113.1", False), ("203.0.113.2", False), ("203.0.113.3", False)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["203.0.113.3", "203.0.113.2", "203.0.113.1"]


def test_past_the_addresses_tracked_the_readers_of_now_are_kept_not_old_costs() -> None:
    """Forgetting half the addresses, those that cost least now go: an hour-old cost has faded
    to nothing, and a reader's searches of a moment ago are kept."""
    slots = FairSlots(slots=1)
    now = time.monotonic()
    slots.costs.update((f"10.0.{n // 256}.{n % 256}", (0.5, now - 3600)) for n in range(TRACKED - 4000))
    slots.costs.update((f"10.100.{n // 256}.{n % 256}", (0.03, now)) for n in range(4000))
    slots.charge(READER, 0.03)
    assert len(slots.costs) <= TRACKED // 2 + 1
    assert READER in slots.costs and all(f"10.100.0.{n}" in slots.costs for n in range(256))


def test_among_requests_alike_the_address_that_spent_least_goes_first() -> None:
    slots = FairSlots(slots=1)
    _counting(slots, {"203.0.113.1": 2.0, "203.0.113.2": UNSEEN_SECONDS / 2})
    waiting = [("203.0.113.1", True), ("203.0.113.3", True), ("203.0.113.2", True)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["203.0.113.2", "203.0.113.3", "203.0.113.1"]


def test_at_equal_cost_plain_questions_go_first_then_arrival_order() -> None:
    slots = FairSlots(slots=1)
    _counting(slots, {f"203.0.113.{n}": 0.2 for n in range(1, 5)})
    waiting = [("203.0.113.1", True), ("203.0.113.2", False), ("203.0.113.3", True), ("203.0.113.4", False)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["203.0.113.2", "203.0.113.4", "203.0.113.1", "203.0.113.3"]


def test_one_address_makes_one_answer_at_a_time_however_cheap() -> None:
    """Two slots free up at once: the cheapest address gets one, and the other goes to another
    address, not to the cheapest one's second request."""
    slots = FairSlots(slots=2)
    _counting(slots, {READER: 0.01, "203.0.113.1": 0.3})
    waiting = [(READER, False), (READER, False), ("203.0.113.1", False)]
    assert asyncio.run(_granted_order(slots, waiting))[:2] == [READER, "203.0.113.1"]


def test_past_the_requests_waiting_a_reader_takes_the_place_of_the_dearest() -> None:
    """MAX_WAITING requests with expressions wait: a reader's search takes the place of the last
    of them, which gets a 503, and is answered first; another expression gets a 503 at once."""

    async def run() -> tuple[list[str], list[str]]:
        slots, order, refused = FairSlots(slots=1), [], []
        release = asyncio.Event()

        async def ask(client: str, costly: bool) -> None:
            try:
                async with slots.slot(client, asyncio.Event(), costly=costly):
                    order.append(client)
                    if client == HOLDER:
                        await release.wait()
            except Busy:
                refused.append(client)

        tasks = [asyncio.ensure_future(ask(HOLDER, False))]
        await asyncio.sleep(0)
        crowd = [f"203.0.113.{n}" for n in range(MAX_WAITING)]
        for client in [*crowd, READER, "203.0.114.1"]:
            tasks.append(asyncio.ensure_future(ask(client, client != READER)))
            await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*tasks)
        return order, refused

    order, refused = asyncio.run(run())
    assert order[:2] == [HOLDER, READER]
    assert sorted(refused) == [f"203.0.113.{MAX_WAITING - 1}", "203.0.114.1"]
    assert len(order) == MAX_WAITING + 1


def test_a_stop_answers_the_waiting_and_an_answer_ending_then_frees_its_slot() -> None:
    """SIGTERM while a request waits: it gets a 503, and the answer that ends after the stop
    hands its slot to no one (the waiting request was answered already)."""

    async def run() -> tuple[list[object], FairSlots]:
        slots, release = FairSlots(slots=1), asyncio.Event()

        async def hold() -> None:
            async with slots.slot(HOLDER, asyncio.Event()):
                await release.wait()

        async def ask() -> None:
            async with slots.slot(READER, asyncio.Event()):
                pass

        held = asyncio.ensure_future(hold())
        await asyncio.sleep(0)
        asked = asyncio.ensure_future(ask())
        await asyncio.sleep(0)
        slots.stop()
        release.set()  # the holder's answer ends before the waiting request wakes to its 503
        return await asyncio.gather(held, asked, return_exceptions=True), slots

    (held, asked), slots = asyncio.run(run())
    assert held is None and isinstance(asked, Busy), (held, asked)
    assert slots.free == 1 and not slots.running
