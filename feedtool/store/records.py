"""The records the store hands out and takes in: small, typed, and free of SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from feedtool.derive.merge import copy_is_inert, scrape_key
from feedtool.models import UNFORESEEN, DateSource

FeedKey = tuple[str, str]  # (kind, slug) of a feed: ("all", "all"), ("outlet", "rfi"), ("topic", "taiwan")
Key = tuple[str, str]  # (published, id) of an entry: where it sorts in a feed


@dataclass(frozen=True, slots=True)  # slots: a cold build holds one per dump of the archive
class FileStat:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Known:
    """What the store remembers of a file's content, so a copy under a new path is not re-parsed."""

    entry_id: str | None
    rejected: str | None
    text_hash: str | None
    published: str | None
    published_rank: int | None
    warnings: str
    keys: tuple[str, ...] = ()  # the entry's scrape keys: the one shown, those its fields were filled from

    def inert(self, stat: FileStat, sha256: str) -> bool:
        """Whether a copy of these bytes at `stat` leaves the stored entry as it is (merge.copy_is_inert)."""
        if self.rejected is not None:
            return self.rejected != UNFORESEEN  # read again: a fault may show what it was with -v
        undated = self.published_rank == DateSource.FIRST_SEEN
        key = scrape_key(stat.mtime_ns, sha256)
        return copy_is_inert(key, self.published if undated else None, self.keys)


class Head(NamedTuple):
    """A feed's newest entries (ids, newest first) and how many entries it has."""

    ids: list[str]
    entries: int


class Placed(NamedTuple):
    """Where an entry is listed: which outlet's and topics' feeds, and in which month's archive."""

    outlet: str
    published: str
    topics: tuple[str, ...]


class IndexRow(NamedTuple):
    """The small part of an entry that decides which documents it belongs in, and whether they changed.

    A named tuple rather than a frozen dataclass: a whole publish reads one per entry and feed of
    the archive, and a tuple costs a third as much to make.
    """

    id: str
    outlet: str
    published: str
    revision: str
    updated: str


# An entry's field filled from the scrape it shows is kept as this mark, not that scrape's key (85
# characters) again: the image's nearly always is, and a third of the bylines and tags were on
# the 20,000-article benchmark's archive, where the three columns went from 3.1 to 0.1 MB.
SAME_AS_SHOWN = "="


def kept_from(key: str, shown: str) -> str:
    """The scrape key a field was filled from, as its row keeps it."""
    return SAME_AS_SHOWN if key and key == shown else key


def filled_from(kept: str, shown: str) -> str:
    """The scrape key a field was filled from, from its row ("" for none)."""
    return shown if kept == SAME_AS_SHOWN else kept


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)  # reads the trailing Z as UTC
