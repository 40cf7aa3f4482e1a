"""Searching the archive: a search asked (by `feedtool search`, the search page or a query feed) ->
the entries found, newest first, each with a snippet of its text around what was looked for.

The store finds the entries (store/fulltext.py); this module says what was asked, in one frozen
record whichever door it came in by, and cuts the snippets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from feedtool.derive.merge import iso
from feedtool.derive.topics import fold
from feedtool.models import StoredEntry
from feedtool.search.language import Parsed, Term, parse
from feedtool.store import Store

MAX_LIMIT = 200  # entries a search answers at once, however many are asked for
SNIPPET = 160  # characters of text shown around the first match
_BEFORE = 50  # of them, before it
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Search:
    """What was asked: words (None: everything), where, when, how many."""

    text: str | None = None
    outlets: tuple[str, ...] = ()
    topic: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    offset: int = 0

    def parsed(self) -> Parsed | None:
        return parse(self.text) if self.text is not None else None


@dataclass(frozen=True)
class Hit:
    entry: StoredEntry
    snippet: tuple[tuple[str, bool], ...]  # the text in pieces; True for a piece that matched


@dataclass(frozen=True)
class Results:
    hits: tuple[Hit, ...]
    more: bool  # whether a next page has entries


def search(store: Store, asked: Search) -> Results:
    """The entries found, newest first (ties by id), the page `asked.offset` / `asked.limit` of them."""
    parsed = asked.parsed()
    limit = max(1, min(asked.limit, MAX_LIMIT))
    found = store.search(
        parsed.match if parsed else None, outlets=asked.outlets, topic=asked.topic,
        since=iso(asked.since) if asked.since else None, until=iso(asked.until) if asked.until else None,
        limit=limit + 1, offset=max(0, asked.offset),
    )  # fmt: skip
    entries = store.entries([f.entry_id for f in found[:limit]])
    ordered = sorted(entries.values(), key=lambda e: e.id)
    ordered.sort(key=lambda e: e.published, reverse=True)
    terms = parsed.terms if parsed else ()
    return Results(tuple(Hit(e, snippet(e, terms)) for e in ordered), more=len(found) > limit)


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
