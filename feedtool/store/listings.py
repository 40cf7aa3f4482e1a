"""Listings: which entries each feed holds, in order, as a publish plans its documents (publish/plan.py).

A feed is every entry, an outlet's, or a topic's; all are read newest first with ties broken by
id, so the order is total, and answered from the `entries_listing` index. The feed of stories
lists the stories (store/stories.py) the same way, each dated by its first report, from the
`stories_listing` index; a story's row and entry are asked for by its id beside the articles'
(an article's id is its address, a story's never is one).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace

from feedtool.models import StoredEntry, Version
from feedtool.store.connection import Connection
from feedtool.store.records import FeedKey, IndexRow, Key, Placed, from_iso
from feedtool.store.sql import in_chunks

_ROW = "id, outlet, published, revision, updated"
_STORY_ROW = "id, '', published, revision, updated"  # a story is of no one outlet


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
        """The index rows of these entries, or stories."""
        found: dict[str, IndexRow] = {}
        for table, columns in (("entries", _ROW), ("stories", _STORY_ROW)):
            for chunk, marks in in_chunks([i for i in ids if i not in found]):
                query = f"SELECT {columns} FROM {table} WHERE id IN ({marks})"
                found.update((row[0], IndexRow._make(row)) for row in self.db.execute(query, chunk))
        return found

    def reporters_of(self, ids: Sequence[str]) -> dict[str, str]:
        """Entry id -> the digest of who reported its story, for those of these entries in one:
        part of what its pages are made from ("also reported by")."""
        found: dict[str, str] = {}
        for chunk, marks in in_chunks(ids):
            query = (
                "SELECT m.entry_id, s.reporters FROM story_members m JOIN stories s ON s.id = m.story"
                f" WHERE m.entry_id IN ({marks})"
            )
            found.update(self.db.execute(query, chunk))
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
        source, where, args = _feed_where(feed)
        query = f"SELECT {source} WHERE {where} ORDER BY published DESC, id LIMIT ?"
        return list(map(IndexRow._make, self.db.execute(query, (*args, limit))))

    def feed_from(self, feed: FeedKey, month: str, start: Key | None, limit: int = -1) -> list[IndexRow]:
        """The feed's entries of a month, oldest first, from `start` (included) or the month's oldest."""
        source, where, args = _feed_where(feed)
        query = f"SELECT {source} WHERE {where} AND published >= ? AND published < ?"
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
        source, where, args = _feed_where(feed)
        query = f"SELECT {source} WHERE {where} ORDER BY published DESC, id"
        outlets: dict[str, str] = {}
        for entry_id, outlet, published, revision, updated in self.db.execute(query, args):
            yield IndexRow(
                sys.intern(entry_id), outlets.setdefault(outlet, outlet), published, revision,
                published if updated == published else updated,
            )  # fmt: skip

    def revisions(self) -> Iterator[tuple[str, str, list[str], str]]:
        """Every entry's id (interned, as `feed_index`'s), revision, topics in name order and the
        digest of who reported its story (`reporters_of`; "" for none), then every story's id and
        revision, as they are used."""
        # Topic slugs hold no comma (config.SLUG_RE); group_concat's order is not defined, so sorted here.
        query = (
            "SELECT id, revision, (SELECT group_concat(topic, ',') FROM entry_topics WHERE entry_id = entries.id),"
            " (SELECT s.reporters FROM story_members m JOIN stories s ON s.id = m.story WHERE m.entry_id = entries.id)"
            " FROM entries"
        )
        for entry_id, revision, topics, reporters in self.db.execute(query):
            yield sys.intern(entry_id), revision, sorted(topics.split(",")) if topics else [], reporters or ""
        for story_id, revision in self.db.execute("SELECT id, revision FROM stories"):
            yield sys.intern(story_id), revision, [], ""

    def newest_updated(self) -> str | None:
        newest: str | None = self.db.execute("SELECT max(updated) FROM entries").fetchone()[0]
        return newest

    def entries(self, ids: Sequence[str]) -> dict[str, StoredEntry]:
        """These entries, each with the other outlets' reports of its story; and these stories, each
        as its first report with every report, their leads, and the story's `updated`."""
        found = self._articles(ids)
        stories = self._stories([i for i in ids if i not in found])
        story_of: dict[str, str] = {}
        for chunk, marks in in_chunks(list(found)):
            query = f"SELECT entry_id, story FROM story_members WHERE entry_id IN ({marks})"
            story_of.update(self.db.execute(query, chunk))
        reports = self._stories(sorted(set(story_of.values())))
        for entry_id, story_id in story_of.items():
            others = tuple(v for v in reports[story_id][0] if v.id != entry_id) if story_id in reports else ()
            found[entry_id] = replace(found[entry_id], versions=others)
        reported = self._articles([v.id for versions, _ in stories.values() for v in versions])
        for story_id, (versions, updated) in stories.items():
            if versions:
                found[story_id] = replace(
                    reported[versions[0].id], id=story_id, updated=from_iso(updated), author=None, tags=(), topics=(),
                    versions=tuple(replace(v, summary=reported[v.id].summary) for v in versions), story=True,
                )  # fmt: skip
        return found

    def _stories(self, stories: Sequence[str]) -> dict[str, tuple[tuple[Version, ...], str]]:
        """Story id -> its reports (the first first) and its `updated`, for those of these ids that are stories."""
        found: dict[str, tuple[list[str], str]] = {}
        for chunk, marks in in_chunks(stories):
            query = f"SELECT id, members, updated FROM stories WHERE id IN ({marks})"
            found.update((i, (json.loads(members), updated)) for i, members, updated in self.db.execute(query, chunk))
        versions: dict[str, Version] = {}
        for chunk, marks in in_chunks([m for members, _ in found.values() for m in members]):
            query = f"SELECT id, outlet, title, published FROM entries WHERE id IN ({marks})"
            for entry_id, outlet, title, published in self.db.execute(query, chunk):
                versions[entry_id] = Version(entry_id, outlet, title, from_iso(published))
        # A member pruned since the stories were last made is left out until the next build makes them again.
        return {
            i: (tuple(versions[m] for m in members if m in versions), updated)
            for i, (members, updated) in found.items()
        }

    def _articles(self, ids: Sequence[str]) -> dict[str, StoredEntry]:
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


def _feed_where(feed: FeedKey) -> tuple[str, str, tuple[str, ...]]:
    """What one feed's index rows are selected from (columns and table), and the condition, with its parameters."""
    kind, slug = feed
    articles = f"{_ROW} FROM entries"
    if kind == "all":
        return articles, "1", ()
    if kind == "stories":
        return f"{_STORY_ROW} FROM stories", "1", ()
    if kind == "outlet":
        return articles, "outlet = ?", (slug,)
    topic = "EXISTS (SELECT 1 FROM entry_topics t WHERE t.entry_id = entries.id AND t.topic = ?)"
    return articles, topic, (slug,)


def _month_range(month: str) -> tuple[str, str]:
    """The ISO bounds of a month ("2024-05"): published >= start and < end (next month)."""
    year, number = int(month[:4]), int(month[5:7])
    after = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    return month, after
