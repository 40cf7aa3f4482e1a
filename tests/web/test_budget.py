"""Who gets the next slot to make an answer in (`FairSlots`), decided in an event loop with no
server: the order is the whole of what it decides, so it is tested as it is, one grant at a time."""

from __future__ import annotations

import asyncio

from feedtool.web.budget import CPU_SECONDS, FairSlots


async def _granted_order(slots: FairSlots, waiting: list[tuple[str, bool]]) -> list[str]:
    """The order in which `waiting` (address, with regular expressions) are granted the one slot,
    held by another address while they all queue up, each released as soon as it is granted."""
    order: list[str] = []
    holder_done = asyncio.Event()

    async def holder() -> None:
        async with slots.slot("192.0.2.1", asyncio.Event()):
            await holder_done.wait()

    async def ask(client: str, costly: bool) -> None:
        async with slots.slot(client, asyncio.Event(), costly=costly):
            order.append(client)

    held = asyncio.ensure_future(holder())
    await asyncio.sleep(0)
    asks = [asyncio.ensure_future(ask(client, costly)) for client, costly in waiting]
    await asyncio.sleep(0)
    holder_done.set()
    await asyncio.gather(held, *asks)
    return order


def test_a_reader_who_asked_before_goes_before_new_addresses_with_expressions() -> None:
    """Thirty addresses the server has not seen, each with a regular expression, and a reader
    whose earlier searches cost a little: the reader is answered first, not after thirty."""
    slots = FairSlots(slots=1)
    slots.charge("198.51.100.7", 0.05)
    crowd = [(f"203.0.113.{n}", True) for n in range(30)]
    order = asyncio.run(_granted_order(slots, [*crowd, ("198.51.100.7", False)]))
    assert order[0] == "198.51.100.7", order[:3]


def test_among_requests_alike_the_address_that_spent_least_goes_first() -> None:
    slots = FairSlots(slots=1)
    slots.charge("203.0.113.1", 2.0)
    slots.charge("203.0.113.2", 0.2)
    waiting = [("203.0.113.1", True), ("203.0.113.2", True), ("203.0.113.3", True)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["203.0.113.3", "203.0.113.2", "203.0.113.1"]


def test_an_address_that_spent_more_than_an_allowance_waits_behind_a_new_expression() -> None:
    """A reader's cost counts too: one who has spent more than an expression's whole allowance
    lately goes after a new address's expression, and before a second request of that address."""
    slots = FairSlots(slots=1)
    slots.charge("198.51.100.7", CPU_SECONDS + 0.3)
    waiting = [("198.51.100.7", False), ("203.0.113.9", True)]
    assert asyncio.run(_granted_order(slots, waiting)) == ["203.0.113.9", "198.51.100.7"]
