"""The records passed between stages. All frozen: a stage never edits what an earlier one produced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Literal

FeedKind = Literal["all", "outlet", "topic", "stories"]
FeedFormat = Literal["atom", "rss", "json"]  # the formats a feed can be published in
Format = Literal["atom", "rss", "json", "html"]  # and the page for people beside them

# How a long stage reports how far it got: (done, in all). The CLI draws a bar with it.
Progress = Callable[[int, int], None]


class DateSource(IntEnum):
    """Where a published date came from, best first once sorted in reverse.

    The store keeps the earliest date among those of the best rank, so a precise timestamp
    from one scrape is never displaced by a day-only date guessed from another scrape's URL.
    """

    FIRST_SEEN = 0
    URL = 1
    DATELINE = 2
    TIMESTAMP = 3
    FRONT_MATTER = 4


@dataclass(frozen=True)
class Dump:
    """One dump file, split into its parts but not yet cleaned or trusted."""

    path: str
    sha256: str
    url: str
    title: str
    html: str
    front_matter_date: datetime | None = None
    timestamp: datetime | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Article:
    """What derive/clean.py extracts from a dump's HTML."""

    content: str
    text: str
    summary: str
    author: str | None = None
    image: str | None = None
    dateline: datetime | None = None


@dataclass(frozen=True)
class Entry:
    """One clean article from one dump, ready to be merged into the store."""

    id: str
    url: str
    title: str
    outlet: str
    outlet_name: str
    outlet_homepage: str
    outlet_domain: str | None  # set for an outlet no rules list: the store remembers the domain found
    language: str
    content: str
    summary: str
    search_text: str
    published: datetime | None
    published_source: DateSource | None
    author: str | None = None
    image: str | None = None
    tags: tuple[str, ...] = ()
    source_path: str = ""
    source_sha256: str = ""
    warnings: tuple[str, ...] = ()
    indexed: tuple[str, ...] = ()  # title, summary and search_text as the index holds them (merge.Shown.indexed)


@dataclass(frozen=True)
class Rejection:
    """A dump that could not become an entry, with the reason a person reads."""

    path: str
    sha256: str
    reason: str
    outlet: str | None = None  # when the dump's address says whose it is (feedtool health counts them)


# The reason of a dump whose reading failed in a way no rule foresaw (derive/normalise.py): no Python in
# it, the traceback is for -v. Such a dump, unlike other rejections, is read again when it changes,
# copies included, so that what the reason says to do shows the failure again.
UNFORESEEN = (
    "feedtool failed on it unexpectedly, a fault of feedtool's own; to see it, touch the file"
    " and run 'feedtool build -v'"
)


@dataclass(frozen=True)
class Version:
    """One outlet's report of a story: what a story's entry lists, and what an article's "also
    reported by" links to."""

    id: str  # the article's entry id, its address
    outlet: str
    title: str
    published: datetime
    summary: str = ""  # its lead: in a story's entry only


@dataclass(frozen=True)
class StoredEntry:
    """An entry as the store merged it from every dump of the same article; or a story (`story`),
    with its own id and the title, summary, image and language of its first report."""

    id: str
    url: str
    title: str
    outlet: str
    language: str
    content: str
    summary: str
    published: datetime
    updated: datetime
    author: str | None
    image: str | None
    tags: tuple[str, ...]
    topics: tuple[str, ...] = field(default=())
    # An article's: the other outlets' reports of its story. A story's: every report, the first first.
    versions: tuple[Version, ...] = ()
    story: bool = False

    @property
    def link(self) -> str:
        """Where the entry is read: an article's address (its id), a story's first report's."""
        return self.versions[0].id if self.story and self.versions else self.id


@dataclass(frozen=True)
class FolderMark:
    """What a folder held when it was last listed, valid while its mtime is `mtime_ns`."""

    mtime_ns: int
    files: int  # dump files directly in it
    subfolders: tuple[str, ...]  # names, not hidden
