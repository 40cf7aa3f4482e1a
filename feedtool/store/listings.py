"""Listings: which entries each feed holds, in order, as a publish plans its documents (publish/plan.py).

A feed is every entry, an outlet's, or a topic's; all are read newest first with ties broken by
id, so the order is total, and answered from the `entries_listing` index.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator, Sequence

from feedtool.models import StoredEntry
from feedtool.store.connection import Connection
from feedtool.store.records import FeedKey, IndexRow, Key, Placed, from_iso
from feedtool.store.sql import in_chunks

_ROW = "id, outlet, published, revision, updated"


class Listings(Connection):
    def placed(self, ids: Sequence[str]) -> dict[str, Placed]:
        """Where these entries are listed now; an id not in the store is left out."""
        found: dict[str, Placed] = {}
        for chunk, marks in in_chunks(ids):
            topics = self._topics_of(chunk, marks)
            query = f"SELECT id, outlet, published FROM entries WHERE id IN ({marks})"
            for entry_id, outlet, published in self.db.execute(query, chunk):
                found[entry_id] = Placed(outlet, published, tuple(topics.get(entry_id, ())))
        return found

    def rows(self, ids: Sequence[str]) -> dict[str, IndexRow]:
        found: dict[str, IndexRow] = {}
        for chunk, marks in in_chunks(ids):
            query = f"SELECT id, outlet, published, revision, updated FROM entries WHERE id IN ({marks})"
            found.update((row[0], IndexRow._make(row)) for row in self.db.execute(query, chunk))
        return found

    def topics_of(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """Entry id -> its topics in name order, for those of these entries in any."""
        found: dict[str, list[str]] = {}
        for chunk, marks in in_chunks(ids):
            found.update(self._topics_of(chunk, marks))
        return found

    def _topics_of(self, chunk: Sequence[str], marks: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        query = f"SELECT entry_id, topic FROM entry_topics WHERE entry_id IN ({marks}) ORDER BY topic"
        for entry_id, topic in self.db.execute(query, chunk):
            found.setdefault(entry_id, []).append(topic)
        return found

    # -- one feed's entries, month by month (a feed is all entries, an outlet's, or a topic's) -------

    def feed_newest(self, feed: FeedKey, limit: int) -> list[IndexRow]:
        """The feed's newest entries, newest first (ties by id, as everywhere)."""
        where, args = _feed_where(feed)
        query = f"SELECT {_ROW} FROM entries WHERE {where} ORDER BY published DESC, id LIMIT ?"
        return list(map(IndexRow._make, self.db.execute(query, (*args, limit))))

    def feed_from(self, feed: FeedKey, month: str, start: Key | None, limit: int = -1) -> list[IndexRow]:
        """The feed's entries of a month, oldest first, from `start` (included) or the month's oldest."""
        where, args = _feed_where(feed)
        query = f"SELECT {_ROW} FROM entries WHERE {where} AND published >= ? AND published < ?"
        first, after = _month_range(month)
        bounds: tuple[str, ...] = (first, after)
        if start is not None:  # the index range begins at its date, not at the month's first entry
            query += " AND (published > ? OR (published = ? AND id <= ?))"
            bounds = (start[0], after, start[0], start[0], start[1])
        query += " ORDER BY published, id DESC LIMIT ?"
        return list(map(IndexRow._make, self.db.execute(query, (*args, *bounds, limit))))

    # -- reading for publication --------------------------------------------------------------

    def outlets(self) -> dict[str, tuple[str, str, str]]:
        """slug -> (name, homepage, language) of every outlet that has entries, by slug: their details
        are part of every fragment's key in this order (publish/plan.py), the same in every store."""
        query = "SELECT slug, name, homepage, language FROM outlets WHERE entry_count > 0 ORDER BY slug"
        return {slug: (name, homepage, language) for slug, name, homepage, language in self.db.execute(query)}

    def feed_index(self, feed: FeedKey) -> Iterator[IndexRow]:
        """A feed's entries, newest first, ties broken by id so the order is total; read as they are used.

        A whole publish plan reads every feed this way: strings that repeat are shared, not read
        again for each entry (an outlet's slug; an entry's `updated` where it is its `published`,
        as for most), and ids are interned, one string for an entry in all its feeds' pages.
        """
        where, args = _feed_where(feed)
        query = f"SELECT {_ROW} FROM entries WHERE {where} ORDER BY published DESC, id"
        outlets: dict[str, str] = {}
        for entry_id, outlet, published, revision, updated in self.db.execute(query, args):
            yield IndexRow(
                sys.intern(entry_id), outlets.setdefault(outlet, outlet), published, revision,
                published if updated == published else updated,
            )  # fmt: skip

    def revisions(self) -> Iterator[tuple[str, str, list[str]]]:
        """Every entry's id (interned, as `feed_index`'s), revision and topics in name order, as they are used."""
        # Topic slugs hold no comma (config.SLUG_RE); group_concat's order is not defined, so sorted here.
        query = (
            "SELECT id, revision, (SELECT group_concat(topic, ',') FROM entry_topics WHERE entry_id = entries.id)"
            " FROM entries"
        )
        for entry_id, revision, topics in self.db.execute(query):
            yield sys.intern(entry_id), revision, sorted(topics.split(",")) if topics else []

    def newest_updated(self) -> str | None:
        newest: str | None = self.db.execute("SELECT max(updated) FROM entries").fetchone()[0]
        return newest

    def entries(self, ids: Sequence[str]) -> dict[str, StoredEntry]:
        found: dict[str, StoredEntry] = {}
        for chunk, marks in in_chunks(ids):
            topics = self._topics_of(chunk, marks)
            cursor = self.db.cursor()
            cursor.row_factory = sqlite3.Row
            for row in cursor.execute(
                "SELECT id, url, title, outlet, language, text, published, updated, author,"
                f" image, tags FROM entries WHERE id IN ({marks})",
                chunk,
            ):
                summary, content, _ = self.codec.unpack_text(row["text"])
                found[row["id"]] = StoredEntry(
                    id=row["id"], url=row["url"], title=row["title"], outlet=row["outlet"], language=row["language"],
                    content=content, summary=summary,
                    published=from_iso(row["published"]), updated=from_iso(row["updated"]), author=row["author"],
                    image=row["image"],
                    tags=tuple(json.loads(row["tags"])), topics=tuple(topics.get(row["id"], ())),
                )  # fmt: skip
        return found


def _feed_where(feed: FeedKey) -> tuple[str, tuple[str, ...]]:
    """The condition on entries that makes one feed, with its parameters."""
    kind, slug = feed
    if kind == "all":
        return "1", ()
    if kind == "outlet":
        return "outlet = ?", (slug,)
    return "EXISTS (SELECT 1 FROM entry_topics t WHERE t.entry_id = entries.id AND t.topic = ?)", (slug,)


def _month_range(month: str) -> tuple[str, str]:
    """The ISO bounds of a month ("2024-05"): published >= start and < end (next month)."""
    year, number = int(month[:4]), int(month[5:7])
    after = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    return month, after
