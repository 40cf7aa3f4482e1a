"""The merge rule: one more scrape of an article, and what the stored entry becomes.

A pure function over typed records, apart from the SQL that stores them (as the `reader` library
keeps its decider apart from its storage), so that the rule can be read in one place and held by
a property test to what matters most: the same scrapes give the same entry in whatever order
they are read. The store reads the entry and its files' date claims, calls `merge`, and writes
what comes back.

The rule:
- the scrape shown is the most recent one, by the dump file's mtime (then its hash); a file whose
  bytes equal another's is a scrape of its own, with its own mtime (`copy_is_inert` says when
  it can be recorded without being parsed);
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from feedtool.models import DateSource, Entry

T = TypeVar("T")
Filled = tuple[str, str, str]  # the keys of the scrapes the author, image and tags came from ("" for none)


@dataclass(frozen=True)
class Shown:
    """An article as one scrape shows it. An entry shows its most recent scrape's, whole."""

    url: str
    title: str
    summary: str
    content: str
    search_text: str
    outlet: str
    language: str
    # The title, summary and search_text as the full-text index holds them (indexed.index_values),
    # made in the worker that read the dump so that the build process need not; () when read back
    # from the store, made when needed.
    indexed: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Claim:
    """A file's claim on the entry's dates: when it says the article was published, how it knows, what text it saw."""

    published: str  # ISO 8601 UTC, fixed width (see iso), so that string order is time order
    rank: int  # a DateSource: the kind of evidence, better kinds outrank earlier dates
    text_hash: str


@dataclass(frozen=True)
class Scrape:
    """What one dump file says about its article, ready to be weighed against the others."""

    key: str  # the order in which scrapes are shown: mtime, then the file's hash (see scrape_key)
    mtime_ns: int
    shown: Shown
    author: str | None
    image: str | None
    tags: tuple[str, ...]
    claim: Claim


@dataclass(frozen=True)
class Merged:
    """An entry as stored: the shown scrape's text, the fields filled from others, the dates of all."""

    shown: Shown
    key: str  # the key of the scrape shown
    author: str | None
    image: str | None
    tags: tuple[str, ...]
    filled: Filled
    published: str
    updated: str
    revision: str  # a hash of everything published about the entry: equal revisions, equal documents


def iso(value: datetime) -> str:
    """Fixed-width UTC text, so that string order is time order (in SQLite too)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def scrape_key(mtime_ns: int, sha256: str) -> str:
    """Scrapes are shown newest first by mtime; a tie is broken by the file's bytes, not its path, so
    that copies of one file (same bytes, same mtime: `cp -p`, a moved folder) are the same scrape
    wherever they lie and whichever of them is read first."""
    return f"{mtime_ns:020d} {sha256}"


def scrape_of(mtime_ns: int, entry: Entry) -> Scrape:
    """One dump as the rule weighs it. Undated, it claims when it was scraped, as the weakest evidence."""
    if entry.published is not None and entry.published_source is not None:
        claim, rank = iso(entry.published), int(entry.published_source)
    else:
        claim, rank = first_seen(mtime_ns), int(DateSource.FIRST_SEEN)
    text_hash = hashlib.sha1(f"{entry.title}\0{entry.summary}\0{entry.content}".encode()).hexdigest()
    shown = Shown(
        entry.url,
        entry.title,
        entry.summary,
        entry.content,
        entry.search_text,
        entry.outlet,
        entry.language,
        entry.indexed,
    )
    key = scrape_key(mtime_ns, entry.source_sha256)
    return Scrape(key, mtime_ns, shown, entry.author, entry.image, entry.tags, Claim(claim, rank, text_hash))


def first_seen(mtime_ns: int) -> str:
    """When an undated dump claims its article was published: when it was written."""
    return iso(datetime.fromtimestamp(mtime_ns / 1e9, UTC))


def shows(merged: Merged, scrape: Scrape) -> bool:
    """Whether the entry now shows this scrape's text: its topics are matched again only then."""
    return merged.key == scrape.key


def merge(current: Merged | None, scrape: Scrape, claims: Sequence[Claim]) -> Merged:
    """The entry after one more scrape; `claims` are those of all the entry's files, this one's included."""
    if current is None or scrape.key >= current.key:
        shown, key, shown_mtime = scrape.shown, scrape.key, scrape.mtime_ns
    else:
        shown, key, shown_mtime = current.shown, current.key, int(current.key.split(" ", 1)[0])
    author, image, tags, filled = (
        (None, None, (), ("", "", ""))
        if current is None
        else (current.author, current.image, current.tags, current.filled)
    )
    author, author_from = _newest(author, filled[0], scrape.author, scrape.key)
    image, image_from = _newest(image, filled[1], scrape.image, scrape.key)
    tags, tags_from = _newest(tags, filled[2], scrape.tags, scrape.key)
    published, updated = _dates(claims, shown_mtime)
    revision = _revision(shown, author, image, tags, published, updated)
    return Merged(shown, key, author, image, tags, (author_from, image_from, tags_from), published, updated, revision)


def copy_is_inert(key: str, claimed: str | None, keys: Sequence[str]) -> bool:
    """Whether a file whose bytes equal those of a scrape already merged into an entry leaves the
    entry as it is, so that it can be recorded without being parsed.

    Its text, author, image, tags and any dated claim are those of the scrape it copies: it can
    change the entry only through its mtime, by being newer than the scrape shown or than a scrape
    a field was filled from (`keys`), or, where the dump carries no date (`claimed` is the first
    sighting the copied scrape claims), by being seen earlier. `key` is the copy's scrape key.
    """
    mtime_ns = int(key.split(" ", 1)[0])
    if claimed is not None and iso(datetime.fromtimestamp(mtime_ns / 1e9, UTC)) < claimed:
        return False
    return all(not other or key <= other for other in keys)


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


def _revision(
    shown: Shown, author: str | None, image: str | None, tags: tuple[str, ...], published: str, updated: str
) -> str:
    fields = [
        shown.url, shown.title, author, shown.summary, shown.content, image, list(tags), published, updated,
        shown.outlet, shown.language,
    ]  # fmt: skip  # every field a document or a template shows: the link and the language too
    return hashlib.sha1(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()
