"""A busy month's archive -> parts whose edges and addresses the entries themselves decide.

A month of more than `archive_items` entries is cut into parts, so that an archive document stays
a size a feed reader fetches. Where it is cut decides what a late article costs. Cut by count
from the month's oldest entry, an article dated before others already archived (a scraper
catching up, a backfill, a re-scrape under an older date) moved every later entry of the month on
by one, and so rewrote every part after its own: in the all-outlets feed of a busy month,
hundreds of documents of a few hundred kilobytes each, for one article.

So the cuts are content-defined, as rsync and backup tools cut files into chunks: a part ends
before an entry whose id hashes to a cut (one in `archive_items // 8`, or two), once the part
holds three quarters of `archive_items`, and in any case when it holds `archive_items`. Parts of
at most 100 hold 85 on average (a month has about a sixth more documents than cut by count), and
one in ten ends at the limit. An entry that comes or goes moves no cut but those near it, and a
part is named by when its oldest entry was published ("2024-05/13-081502"), not by how many
parts come before it: a late article rewrites the part it falls in, and now and then the one
beside it.

What a part holds is still a function of the month's entries alone, whatever order they came in.
Written by hand: the chunking libraries on PyPI cut byte streams, not lists of records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, TypeVar

from feedtool.store import Key


class Listed(Protocol):
    """What pagination needs of an entry (the store's index rows have it): no content, no markup."""

    @property
    def id(self) -> str: ...

    @property
    def published(self) -> str: ...  # ISO 8601, UTC: 2024-05-13T08:15:02.000000Z


L = TypeVar("L", bound=Listed)

# How months are cut, in every published document's fingerprint (publish/run.py): changed, every
# document is planned again, and the parts' old addresses are removed.
RULE = "content-defined, named by their oldest entry"


def bound(oldest: Listed) -> Key:
    """What a part is known by in the store and its address: its oldest entry's date and id."""
    return oldest.published, oldest.id


def cut(oldest_first: Sequence[L], most: int) -> list[list[L]]:
    """A month's archived entries, oldest first, in parts of at most `most`, oldest part first.

    Read from the start of any part, the same entries give the same parts from there on (a part's
    end depends only on the entries since its start): planning by change cuts a month again from
    the part before its oldest change (publish/plan.py).
    """
    least, every = max(1, most * 3 // 4), max(2, most // 8)  # every: tiny parts (tests) are cut by ids too
    parts: list[list[L]] = []
    part: list[L] = []
    for entry in oldest_first:
        if part and (len(part) >= most or (len(part) >= least and _cuts_before(entry.id, every))):
            parts.append(part)
            part = []
        part.append(entry)
    if part:
        parts.append(part)
    return parts


def _cuts_before(entry_id: str, every: int) -> bool:
    """Whether a part may end before this entry: one id in `every`, the same on every machine.

    A cryptographic hash, not crc32: the ids of one outlet differ in a counter at their end, and
    crc32's low bits follow it (runs of four alike), which cut those outlets' months by count.
    """
    return int.from_bytes(hashlib.blake2b(entry_id.encode(), digest_size=8).digest()) % every == 0


def keys(month: str, firsts: Sequence[Key]) -> list[str]:
    """Each part's archive key, given its oldest entry, oldest part first.

    The oldest part has the month's own ("2024-05"); a later one adds the day and time its oldest
    entry was published ("2024-05/13-081502"), and that entry's hash when the part before it
    began in the same second.
    """
    found: list[str] = []
    before = None
    for index, (published, entry_id) in enumerate(firsts):
        stamp = f"{published[8:10]}-{published[11:13]}{published[14:16]}{published[17:19]}"
        if index == 0:
            found.append(month)
        elif stamp != before:
            found.append(f"{month}/{stamp}")
        else:
            found.append(f"{month}/{stamp}-{hashlib.sha1(entry_id.encode()).hexdigest()[:8]}")
        before = stamp
    return found


def start(key: str) -> str | None:
    """When a later part begins, for people: "2024-05-13 08:15:02 UTC"; None for a month's first."""
    month, _, part = key.partition("/")
    if not part:
        return None
    return f"{month}-{part[:2]} {part[3:5]}:{part[5:7]}:{part[7:9]} UTC"
