"""Who gets the next slot to make an answer in (`FairSlots`), decided in an event loop with no
server: the order is the whole of what it decides, so it is tested as it is, one grant at a time."""

from __future__ import annotations

import asyncio
import time

import pytest

from feedtool.web.budget import CPU_SECONDS, UNSEEN_SECONDS, FairSlots

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


async def hold_other(slots: FairSlots, client: str, release: asyncio.Event) -> None:
    async with slots.slot(client, asyncio.Event()):
        await release.wait()


@pytest.mark.parametrize("costly", [True, False], ids=["expressions", "plain questions"])
def test_a_reader_who_asked_before_goes_before_a_crowd_of_new_addresses(costly: bool) -> None:
    """Thirty addresses the server has not seen, with regular expressions or with plain
    questions (which may cost as much), and a reader whose earlier searches cost a little: the
    reader is answered first, not after thirty."""
    slots = FairSlots(slots=1)
    slots.charge(READER, 0.05)
    crowd = [(f"203.0.113.{n}", costly) for n in range(30)]
    order = asyncio.run(_granted_order(slots, [*crowd, (READER, False)]))
    assert order[0] == READER, order[:3]


def test_an_unseen_address_counts_as_having_spent_a_few_answers() -> None:
    """A reader who spent a little less than an unseen address counts as having spent goes
    before a new address; one who spent a little more, after: a new reader is not kept waiting
    until the busiest readers have spent a whole allowance each."""
    slots = FairSlots(slots=1)
    slots.charge("198.51.100.1", UNSEEN_SECONDS + 0.02)
    slots.charge("198.51.100.2", UNSEEN_SECONDS - 0.02)
    waiting = [("198.51.100.1", False), ("203.0.113.9", False), ("198.51.100.2", False)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["198.51.100.2", "203.0.113.9", "198.51.100.1"]


def test_an_expression_counts_as_having_spent_its_allowance_already() -> None:
    """A reader's expression goes behind the searches of addresses that spent less than it plus
    an allowance, and before those of addresses that spent more."""
    slots = FairSlots(slots=1)
    slots.charge(READER, 0.05)
    slots.charge("203.0.113.1", 0.05 + CPU_SECONDS - 0.05)
    slots.charge("203.0.113.2", 0.05 + CPU_SECONDS + 0.05)
    waiting = [("203.0.113.2", False), (READER, True), ("203.0.113.1", False)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["203.0.113.1", READER, "203.0.113.2"]


def test_a_new_address_is_charged_what_its_first_answer_cost_not_the_allowance_too() -> None:
    """Once answered cheaply, a new reader is cheap: it goes before one that has spent more."""
    slots = FairSlots(slots=1)
    slots.charge("203.0.113.5", 0.01)
    slots.charge(READER, 0.05)
    assert asyncio.run(_granted_order(slots, [(READER, False), ("203.0.113.5", False)])) == ["203.0.113.5", READER]


def test_among_requests_alike_the_address_that_spent_least_goes_first() -> None:
    slots = FairSlots(slots=1)
    slots.charge("203.0.113.1", 2.0)
    slots.charge("203.0.113.2", UNSEEN_SECONDS / 2)
    waiting = [("203.0.113.1", True), ("203.0.113.3", True), ("203.0.113.2", True)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["203.0.113.2", "203.0.113.3", "203.0.113.1"]


def test_at_equal_cost_plain_questions_go_first_then_arrival_order() -> None:
    slots = FairSlots(slots=1)
    now = time.monotonic()  # one moment for all: charged one after another, each would have decayed apart
    slots.costs.update((f"203.0.113.{n}", (0.2, now)) for n in range(1, 5))
    waiting = [("203.0.113.1", True), ("203.0.113.2", False), ("203.0.113.3", True), ("203.0.113.4", False)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["203.0.113.2", "203.0.113.4", "203.0.113.1", "203.0.113.3"]


def test_one_address_makes_one_answer_at_a_time_however_cheap() -> None:
    """Two slots free up at once: the cheapest address gets one, and the other goes to another
    address, not to the cheapest one's second request."""
    slots = FairSlots(slots=2)
    slots.charge(READER, 0.01)
    slots.charge("203.0.113.1", 0.3)
    waiting = [(READER, False), (READER, False), ("203.0.113.1", False)]
    assert asyncio.run(_granted_order(slots, waiting))[:2] == [READER, "203.0.113.1"]
