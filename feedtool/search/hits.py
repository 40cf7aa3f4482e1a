"""Searching the archive: a search asked (by `feedtool search`, the search page, a query feed or
`Archive.search`) -> the entries found, a page at a time, each with a snippet of its text around
what was looked for.

The hits have one order, newest first (search/cursor.py: entries of the same microsecond by
their id), and a page is the hits past a cursor, so following page after page reaches
every match once, however many there are. The store finds the entries (store/fulltext.py); this
module walks its index in that order (`walk`), cuts the pages (`page`) and the snippets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Protocol
from zoneinfo import ZoneInfo

from feedtool.derive.merge import iso
from feedtool.derive.topics import fold
from feedtool.models import StoredEntry
from feedtool.search import cursor as cursors
from feedtool.search.cursor import Cursor, Place, place
from feedtool.search.language import Parsed, Term, parse
from feedtool.store import Found, first_row, from_iso

MAX_LIMIT = 200  # entries one page holds, however many are asked for
SNIPPET = 160  # characters of text shown around the first match


class Searchable(Protocol):
    """What a search reads of the store, and nothing else: the index's hits and the entries. A
    `Store` is one."""

    def entries(self, ids: Sequence[str]) -> dict[str, StoredEntry]: ...
    def search(
        self, match: str | None, *, outlets: Sequence[str] = (), topic: str | None = None, since: str | None = None,
        until: str | None = None, limit: int = 20, offset: int = 0, below: int | None = None,
        above: int | None = None, oldest_first: bool = False,
    ) -> list[Found]: ...  # fmt: skip


_BEFORE = 50  # of them, before it
_TAGS = re.compile(r"<[^>]*>")
_MICROSECOND = timedelta(microseconds=1)  # an entry's own instant: [published, published + 1 µs)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Search:
    """What was asked: words (None: everything), where, when, how many, and from where in the hits
    (`cursor`, a token a page gave, else the newest)."""

    text: str | None = None
    outlets: tuple[str, ...] = ()
    topic: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    offset: int = 0
    cursor: str | None = None

    def parsed(self) -> Parsed | None:
        return parse(self.text) if self.text is not None else None

    def position(self) -> Cursor | None:
        """The cursor asked from; QueryError for a token no page gave."""
        return cursors.read(self.cursor) if self.cursor is not None else None


@dataclass(frozen=True)
class Hit:
    entry: StoredEntry
    snippet: tuple[tuple[str, bool], ...]  # the text in pieces; True for a piece that matched
    zone: str = "UTC"  # the outlet's time zone, where its pages show its entries' times

    @property
    def published_local(self) -> datetime:
        """The entry's publication time as its outlet's pages show it."""
        return self.entry.published.astimezone(ZoneInfo(self.zone))


@dataclass(frozen=True)
class Results:
    hits: tuple[Hit, ...]
    more: bool  # whether a next page has entries
    next: str | None = None  # the cursor of the next page (older hits), when there is one
    previous: str | None = None  # the cursor of the page before (newer hits), when this is not the first


@dataclass(frozen=True)
class Paged:
    """A page of entries, newest first, and where its neighbours start."""

    entries: tuple[StoredEntry, ...]
    next: Cursor | None  # older hits remain past this page
    previous: Cursor | None  # newer hits come before it


def search(store: Searchable, asked: Search, zones: Mapping[str, str] | None = None) -> Results:
    """The page of hits `asked` names, with snippets and each outlet's time zone (`zones`: slug ->
    zone name; UTC for an outlet not in it)."""
    parsed = asked.parsed()
    found = page(store, asked)
    terms = parsed.terms if parsed else ()
    zones = zones or {}
    hits = tuple(Hit(e, snippet(e, terms), zones.get(e.outlet, "UTC")) for e in found.entries)
    return Results(
        hits, more=found.next is not None, next=found.next.token() if found.next else None,
        previous=found.previous.token() if found.previous else None,
    )  # fmt: skip


def page(
    store: Searchable, asked: Search, *, keep: Callable[[StoredEntry], bool] | None = None,
    check: Callable[[], None] | None = None, scanned: int | None = None, batch: int | None = None,
) -> Paged:  # fmt: skip
    """The page `asked` names: up to `limit` (at most MAX_LIMIT) of the hits past its cursor, less
    the first `offset` of them. `keep`: only entries it keeps are shown (a query feed's filters),
    `scanned` entries tried at most, after which the page ends early and its `next` goes on from
    the last tried; `check` is called for each entry tried (an answer's budget); `batch`: entries
    read at a time when `keep` is given (else those of the page, and one more row to know whether
    more follow)."""
    limit = max(1, min(asked.limit, MAX_LIMIT))
    parsed, at = asked.parsed(), asked.position()
    newer = at is not None and at.direction == "before"
    read = batch or limit + 1
    walked = walk(
        store, parsed.match if parsed else None, outlets=asked.outlets, topic=asked.topic, since=asked.since,
        until=asked.until, cursor=at, batch=read if keep is not None else limit + 2,
    )  # fmt: skip  # the page, one row to know whether more follow, one to know that one's second is whole
    rows = islice(walked, max(0, asked.offset), None)
    picked: list[StoredEntry] = []
    tried: list[Found] = []
    more = False
    while not more and (chunk := list(islice(rows, read if keep is not None else limit + 1 - len(picked)))):
        # Only the entries that may be shown are read whole: the row past the page only says more follow.
        entries = store.entries([f.entry_id for f in chunk[: len(chunk) if keep is not None else limit - len(picked)]])
        for found in chunk:
            if check is not None:
                check()
            if len(picked) == limit or (scanned is not None and len(tried) == scanned):
                more = True
                break
            tried.append(found)
            entry = entries.get(found.entry_id)
            if entry is not None and (keep is None or keep(entry)):
                picked.append(entry)
    walked.close()
    last = _place(tried[-1]) if tried else None
    if newer:  # walked oldest first, from the cursor towards the newest
        shown = picked[::-1]
        return Paged(
            tuple(shown), Cursor(place(shown[-1].id, shown[-1].published)) if shown else None,
            Cursor(last, "before") if more and last is not None else None,
        )  # fmt: skip
    first = Cursor(place(picked[0].id, picked[0].published), "before") if at is not None and picked else None
    return Paged(tuple(picked), Cursor(last) if more and last is not None else None, first)


def found_among(
    store: Searchable, asked: Search, entries: Iterable[StoredEntry], *,
    keep: Callable[[StoredEntry], bool] | None = None, check: Callable[[], None] | None = None,
) -> set[str]:  # fmt: skip
    """The ids of those of `entries` that `asked` finds (its cursor and limit aside) and `keep`
    keeps: each looked for in the index at its own microsecond, so a few cost a few small reads.
    `check` is called before each (an answer's budget)."""
    parsed = asked.parsed()
    found: set[str] = set()
    for entry in entries:
        if check is not None:
            check()
        since = max(entry.published, asked.since) if asked.since else entry.published
        until = min(entry.published + _MICROSECOND, asked.until) if asked.until else entry.published + _MICROSECOND
        rows = walk(
            store, parsed.match if parsed else None, outlets=asked.outlets, topic=asked.topic, since=since, until=until,
        )  # fmt: skip
        if any(row.entry_id == entry.id for row in rows) and (keep is None or keep(entry)):
            found.add(entry.id)
    return found


def walk(
    store: Searchable, match: str | None, *, outlets: tuple[str, ...] = (), topic: str | None = None,
    since: datetime | None = None, until: datetime | None = None, cursor: Cursor | None = None, batch: int = 200,
) -> Generator[Found, None, None]:  # fmt: skip
    """The index's rows of the entries matching, in the hits' order from the cursor on: newest first
    (no cursor, or one going "after"), or oldest first from a cursor going "before". Reads the
    index `batch` rows at a time, and no further ahead than its reader reads.

    The index orders its rows by the published second (store/fulltext.py), not by the microsecond
    and the tie: the rows of one second are gathered whole, sorted, and those on the cursor's side
    of it given. The walk starts at the cursor's second, so a deep page costs what the first does.
    (A second with more than a million entries spills its rows into the next second's; walking
    towards the newer hits, the walk would then give those rows late.)"""
    newer = cursor is not None and cursor.direction == "before"
    bound = None if cursor is None else first_row(cursor.place.second + (0 if newer else 1)) - (1 if newer else 0)
    gathered: list[tuple[Place, Found]] = []
    second = None  # of the last row read
    # The index bounds by whole seconds, and `_in_order` to the microsecond: an `until` within a
    # second asks the index for that second too.
    ceiling = until if until is None or until.microsecond == 0 else until.replace(microsecond=0) + _SECOND
    while True:
        rows = store.search(
            match, outlets=outlets, topic=topic, since=iso(since) if since else None,
            until=iso(ceiling) if ceiling else None, limit=batch, below=None if newer else bound,
            above=bound if newer else None, oldest_first=newer,
        )  # fmt: skip
        for row in rows:
            if row.second != second and gathered:  # the seconds the walk has left are all in hand
                left: list[tuple[Place, Found]] = []
                kept: list[tuple[Place, Found]] = []
                for g in gathered:
                    (left if (g[0].second < row.second if newer else g[0].second > row.second) else kept).append(g)
                gathered = kept
                yield from _in_order(left, cursor, newer, since, until)
            second = row.second
            gathered.append((_place(row), row))
        if len(rows) < batch:
            break
        bound = rows[-1].row
    yield from _in_order(gathered, cursor, newer, since, until)


def _place(row: Found) -> Place:
    return place(row.entry_id, from_iso(row.published))


def _in_order(
    gathered: list[tuple[Place, Found]], cursor: Cursor | None, newer: bool, since: datetime | None,
    until: datetime | None,
) -> Generator[Found, None, None]:  # fmt: skip
    """Rows the index gave for the same seconds, in the walk's order: those past the cursor and
    within the time bounds (which the index keeps only to the second)."""
    low, high = (iso(since) if since else None), (iso(until) if until else None)
    for at, row in sorted(gathered, key=lambda g: g[0].order, reverse=newer):
        if cursor is not None and not cursor.passes(at):
            continue
        if (low is not None and row.published < low) or (high is not None and row.published >= high):
            continue  # the store's fixed-width UTC text: its order is time's
        yield row


def plain_text(html: str) -> str:
    """An entry's content as text. The content is nh3's output, so a tag is always a tag: cutting
    them out is enough, and costs nothing next to parsing it again."""
    from html import unescape

    return " ".join(unescape(_TAGS.sub(" ", html)).split())


def snippet(entry: StoredEntry, terms: tuple[Term, ...]) -> tuple[tuple[str, bool], ...]:
    """Some of the entry's text around the first term found, the terms in it marked.

    Terms are folded, so they are looked for in the folded text; where folding kept every
    character in place (it nearly always does: OpenCC converts a character for a character) the
    pieces are cut from the text as written, so a traditional article shows its own characters.
    """
    text = plain_text(entry.content) or entry.summary
    folded = fold(text)
    shown = text if len(folded) == len(text) else folded
    spans = sorted(span for term in terms for span in _spans(folded, term))
    start = max(0, spans[0][0] - _BEFORE) if spans else 0
    end = min(len(shown), start + SNIPPET)
    pieces: list[tuple[str, bool]] = [("…", False)] if start else []
    at = start
    for s, e in spans:
        if s < at or e > end:
            continue
        pieces += [(shown[at:s], False), (shown[s:e], True)]
        at = e
    pieces.append((shown[at:end], False))
    if end < len(shown):
        pieces.append(("…", False))
    return tuple(p for p in pieces if p[0])


def _spans(folded: str, term: Term) -> list[tuple[int, int]]:
    if term.text.isascii():  # a Latin word: whole, or as a prefix
        tail = r"[0-9a-z]*" if term.prefix else ""
        pattern = rf"(?<![0-9a-z]){re.escape(term.text)}{tail}(?![0-9a-z])"
        return [m.span() for m in re.finditer(pattern, folded)]
    return [m.span() for m in re.finditer(re.escape(term.text), folded)]
