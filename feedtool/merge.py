"""The merge rule: one more scrape of an article, and what the stored entry becomes.

A pure function over typed records, apart from the SQL that stores them (as the `reader` library
keeps its decider apart from its storage), so that the rule can be read in one place and held by
a property test to what matters most: the same scrapes give the same entry in whatever order
they are read. The store reads the entry and its files' date claims, calls `merge`, and writes
what comes back.

The rule:
- the scrape shown is the most recent one, by the dump file's mtime (then path);
- a field it lacks (author, image, tags) comes from the most recent scrape that has one, never
  blanked;
- `published` is the earliest date among the best kind any scrape offers (front matter, then the
  millisecond comment, then the date line, then the URL); with none, the earliest dump's mtime;
- `updated` is `published` until two scrapes disagree about the text, then the shown scrape's
  mtime (never before `published`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

T = TypeVar("T")
Filled = tuple[str, str, str]  # the keys of the scrapes the author, image and tags came from ("" for none)


@dataclass(frozen=True)
class Scrape:
    """What one dump file says about its article, ready to be weighed against the others."""

    key: str  # the order in which scrapes are shown: mtime, then path (see scrape_key)
    mtime_ns: int
    url: str
    title: str
    summary: str
    content: str
    search_text: str
    outlet: str
    language: str
    author: str | None
    image: str | None
    tags: tuple[str, ...]
    claim: Claim


@dataclass(frozen=True)
class Claim:
    """A file's claim on the entry's dates: when it says the article was published, how it knows, what text it saw."""

    published: str  # ISO 8601 UTC, fixed width (see iso), so that string order is time order
    rank: int  # a DateSource: the kind of evidence, better kinds outrank earlier dates
    text_hash: str


@dataclass(frozen=True)
class Merged:
    """An entry as stored: the shown scrape's text, the fields filled from others, the dates of all."""

    url: str
    title: str
    summary: str
    content: str
    search_text: str
    outlet: str
    language: str
    author: str | None
    image: str | None
    tags: tuple[str, ...]
    published: str
    updated: str
    shown: str  # the key of the scrape shown
    filled: Filled
    revision: str  # a hash of everything published about the entry: equal revisions, equal documents


# An entry before its first scrape: every field empty, so that the first one fills what it has.
_NOTHING = Merged(
    url="",
    title="",
    summary="",
    content="",
    search_text="",
    outlet="",
    language="",
    author=None,
    image=None,
    tags=(),
    published="",
    updated="",
    shown="",
    filled=("", "", ""),
    revision="",
)


def iso(value: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order (in SQLite too)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def scrape_key(mtime_ns: int, path: str) -> str:
    return f"{mtime_ns:020d} {path}"


def merge(current: Merged | None, scrape: Scrape, claims: Sequence[Claim]) -> Merged:
    """The entry after one more scrape; `claims` are those of all the entry's files, this one's included."""
    if current is None or scrape.key >= current.shown:
        shown = Merged(
            url=scrape.url, title=scrape.title, summary=scrape.summary, content=scrape.content,
            search_text=scrape.search_text, outlet=scrape.outlet, language=scrape.language,
            author=None, image=None, tags=(), published="", updated="", shown=scrape.key, filled=("", "", ""),
            revision="",
        )  # fmt: skip
        shown_mtime = scrape.mtime_ns
    else:
        shown = current
        shown_mtime = int(current.shown.split(" ", 1)[0])
    author, image, tags, filled = _fill(current, scrape)
    published, updated = _dates(claims, shown_mtime)
    merged = replace(shown, author=author, image=image, tags=tags, filled=filled, published=published, updated=updated)
    return replace(merged, revision=_revision(merged))


def _fill(
    current: Merged | None, scrape: Scrape
) -> tuple[str | None, str | None, tuple[str, ...], tuple[str, str, str]]:
    """Each of author, image and tags from the most recent scrape that has one."""
    if current is None:
        current = replace(_NOTHING, shown=scrape.key)
    author, author_from = _newest(current.author, current.filled[0], scrape.author, scrape.key)
    image, image_from = _newest(current.image, current.filled[1], scrape.image, scrape.key)
    tags, tags_from = _newest(current.tags, current.filled[2], scrape.tags, scrape.key)
    return author, image, tags, (author_from, image_from, tags_from)


def _newest(had: T, had_from: str, offered: T, key: str) -> tuple[T, str]:
    """A value and the key of its scrape: the offered one if it is there and as recent, else the one had."""
    if offered and (not had or key >= had_from):
        return offered, key
    return had, had_from


def _dates(claims: Sequence[Claim], shown_mtime_ns: int) -> tuple[str, str]:
    best = max(claim.rank for claim in claims)
    published = min(claim.published for claim in claims if claim.rank == best)
    if len({claim.text_hash for claim in claims}) > 1:
        shown = iso(datetime.fromtimestamp(shown_mtime_ns / 1e9, UTC))
        return published, max(published, shown)
    return published, published


def _revision(entry: Merged) -> str:
    return hashlib.sha1(
        json.dumps(
            [entry.title, entry.author, entry.summary, entry.content, entry.image, list(entry.tags), entry.published,
             entry.updated, entry.outlet],
            ensure_ascii=False,
        ).encode()
    ).hexdigest()  # fmt: skip
