"""Stories: which articles of several outlets report one event, kept for the feed of stories and the pages.

The grouping is feedtool.stories', kept in step by it (stories/kept.py); this room holds what it
made, and what it needs to make again only what a change reaches:

- `story_links`: the links between articles, both ends entries (a link goes with either);
- `stories` and `story_members`: each story's row (its first member's date, its newest member's
  `updated`, digests of what its members show) and members, each member with its date;
- `story_days`: the days whose articles changed since the stories were last made, marked by
  SQLite's triggers on the entries (schema.py), whichever statement adds, changes or deletes one;
- `story_revised`: the entries changed since then in what they publish but not in what the
  grouping reads of them (another author, say, or their text past its lead, `entries.lead`):
  their stories' rows alone are made again;
- `story_changes`: each story changed since the last publish with its date before (NULL for a
  new one), for publishing the feed of stories by change, as `changes` is for entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from feedtool.store.connection import Connection
from feedtool.store.published import CHANGES_KEPT
from feedtool.store.sql import in_chunks


@dataclass(frozen=True)
class StoryRow:
    """A story as stored: its id, its first member's `published`, its newest member's `updated`,
    digests of its members' revisions and of who reported what (`reporters`), its members in order."""

    id: str
    published: str
    updated: str
    revision: str
    reporters: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Member:
    """What a story needs of one of its articles."""

    outlet: str
    published: str
    updated: str
    revision: str
    title: str
    lead: str  # the text's first characters, as many as the grouping reads: what its figures are read from


class Stories(Connection):
    def stories_made_with(self) -> str | None:
        """The key of the rules and code the stored stories were made with ("" : none are made)."""
        return self.get_meta("stories")

    def forget_stories(self, made_with: str) -> bool:
        """Every story and link dropped, and every day marked, to be made again under the rules of
        `made_with`; whether there were any. The next publish plans every document."""
        had = self.db.execute("SELECT 1 FROM stories LIMIT 1").fetchone() is not None
        for table in ("stories", "story_members", "story_links", "story_changes", "story_revised"):
            self.db.execute(f"DELETE FROM {table}")
        self.db.execute("INSERT OR IGNORE INTO story_days (day) SELECT DISTINCT substr(published, 1, 10) FROM entries")
        self.set_meta("stories", made_with)
        if had:
            self.bump_generation()
        self.publish_whole()
        return had

    def changed_days(self) -> list[str]:
        """The days ("2024-05-01", UTC) whose articles changed since the stories were last made."""
        return [day for (day,) in self.db.execute("SELECT day FROM story_days ORDER BY day")]

    def days_done(self, days: Sequence[str]) -> None:
        for chunk, marks in in_chunks(days):
            self.db.execute(f"DELETE FROM story_days WHERE day IN ({marks})", chunk)

    def revised(self) -> list[str]:
        """The entries changed since the stories were last made in what they publish alone."""
        return [i for (i,) in self.db.execute("SELECT entry_id FROM story_revised ORDER BY entry_id")]

    def revised_done(self, ids: Sequence[str]) -> None:
        for chunk, marks in in_chunks(ids):
            self.db.execute(f"DELETE FROM story_revised WHERE entry_id IN ({marks})", chunk)

    def packed_reports(
        self, since: str, before: str, known: dict[int, bytes]
    ) -> tuple[list[tuple[str, str, str, str, bytes]], dict[int, bytes]]:
        """(id, outlet, published, title, text frame as stored) of the entries published in
        [since, before), what the grouping reads of an article, and the dictionaries the frames
        name: for a worker to unpack (packing.Unpacker, packing.texts_of), not the one writer.
        `known`: the dictionaries read so far (Codec.dictionaries_of)."""
        query = "SELECT id, outlet, published, title, text FROM entries WHERE published >= ? AND published < ?"
        rows = self.db.execute(query, (since, before)).fetchall()
        return rows, self.codec.dictionaries_of((text for *_, text in rows), known)

    def day_counts(self, first: str, last: str) -> list[tuple[str, int]]:
        """How many entries each day in [first, last] has: how the grouping cuts its work."""
        query = "SELECT substr(published, 1, 10), count(*) FROM entries WHERE published BETWEEN ? AND ? GROUP BY 1"
        return list(self.db.execute(query, (first, last)))

    def within(self, first: str, last: str) -> list[str]:
        """The entries published in [first, last]."""
        query = "SELECT id FROM entries WHERE published BETWEEN ? AND ? ORDER BY id"
        return [i for (i,) in self.db.execute(query, (first, last))]

    def members_within(self, first: str, last: str) -> list[str]:
        """The story members that were published in [first, last] when their stories were made:
        pruned since, or moved, they are still found where they were."""
        query = "SELECT entry_id FROM story_members WHERE published BETWEEN ? AND ? ORDER BY entry_id"
        return [i for (i,) in self.db.execute(query, (first, last))]

    def replace_links(self, ends: Sequence[str], links: Iterable[tuple[float, str, str]]) -> None:
        """Every link with an end among `ends` replaced by `links` (score, id, id; ids in order)."""
        for chunk, marks in in_chunks(ends):
            self.db.execute(f"DELETE FROM story_links WHERE a IN ({marks})", chunk)
            self.db.execute(f"DELETE FROM story_links WHERE b IN ({marks})", chunk)
        self.db.executemany(
            "INSERT OR REPLACE INTO story_links (a, b, score) VALUES (?, ?, ?)", ((a, b, s) for s, a, b in links)
        )

    def links_of(self, ids: Sequence[str]) -> list[tuple[float, str, str]]:
        """The links with an end among these articles (score, id, id; ids in order)."""
        found: set[tuple[float, str, str]] = set()
        for chunk, marks in in_chunks(ids):
            for column in ("a", "b"):
                query = f"SELECT score, a, b FROM story_links WHERE {column} IN ({marks})"
                found.update(self.db.execute(query, chunk))
        return sorted(found)

    def stories_of(self, ids: Sequence[str]) -> dict[str, str]:
        """Entry id -> the story it is in, for those of these entries in one."""
        found: dict[str, str] = {}
        for chunk, marks in in_chunks(ids):
            query = f"SELECT entry_id, story FROM story_members WHERE entry_id IN ({marks})"
            found.update(self.db.execute(query, chunk))
        return found

    def story_rows(self, ids: Sequence[str]) -> dict[str, StoryRow]:
        found: dict[str, StoryRow] = {}
        for chunk, marks in in_chunks(ids):
            query = f"SELECT id, published, updated, revision, reporters, members FROM stories WHERE id IN ({marks})"
            for story_id, published, updated, revision, reporters, members in self.db.execute(query, chunk):
                row = StoryRow(story_id, published, updated, revision, reporters, tuple(json.loads(members)))
                found[story_id] = row
        return found

    def members(self, ids: Sequence[str], lead: int) -> dict[str, Member]:
        """What a story needs of each of these entries (those stored), its text's first `lead` characters too."""
        found: dict[str, Member] = {}
        for chunk, marks in in_chunks(ids):
            query = f"SELECT id, outlet, published, updated, revision, title, text FROM entries WHERE id IN ({marks})"
            for entry_id, outlet, published, updated, revision, title, text in self.db.execute(query, chunk):
                text = self.codec.unpack_text(text)[2][:lead]
                found[entry_id] = Member(outlet, published, updated, revision, title, text)
        return found

    def write_stories(self, made: Sequence[StoryRow], gone: Sequence[str], before: dict[str, StoryRow]) -> None:
        """Stories made or changed (`made`) and gone, each logged with its date `before`, for publishing."""
        for story_id in gone:
            self.db.execute("DELETE FROM stories WHERE id = ?", (story_id,))
            self.db.execute("DELETE FROM story_members WHERE story = ?", (story_id,))
        for row in made:
            if row.id in before:
                self.db.execute("DELETE FROM story_members WHERE story = ?", (row.id,))
        self.db.executemany(
            "INSERT INTO stories (id, published, updated, revision, reporters, members) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET published = excluded.published, updated = excluded.updated,"
            " revision = excluded.revision, reporters = excluded.reporters, members = excluded.members",
            [(r.id, r.published, r.updated, r.revision, r.reporters, json.dumps(r.members)) for r in made],
        )

    def set_members(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """(entry id, story, published) of the members of the stories just written."""
        self.db.executemany("INSERT OR REPLACE INTO story_members (entry_id, story, published) VALUES (?, ?, ?)", rows)

    def note_story_changes(self, before: dict[str, str | None]) -> None:
        """Stories changed (made, grown, parted, gone), each with its date before its first change since
        the last publish (None: it is new); past CHANGES_KEPT the next publish plans everything."""
        if self.get_meta("publish_whole") == "1" or not before:
            return
        self.db.executemany(
            "INSERT OR IGNORE INTO story_changes (story, published) VALUES (?, ?)", list(before.items())
        )
        if (self.db.execute("SELECT max(rowid) FROM story_changes").fetchone()[0] or 0) > CHANGES_KEPT:
            self.publish_whole()

    def story_changes(self) -> dict[str, str | None] | None:
        """Story -> its date before the publish (None: it is new), or None when the log cannot say."""
        if self.get_meta("publish_whole") == "1":
            return None
        return dict(self.db.execute("SELECT story, published FROM story_changes"))

    def story_dates(self, ids: Sequence[str]) -> dict[str, str]:
        """Story -> its date now, for those of these stories that stand."""
        found: dict[str, str] = {}
        for chunk, marks in in_chunks(ids):
            found.update(self.db.execute(f"SELECT id, published FROM stories WHERE id IN ({marks})", chunk))
        return found

    def story_sizes(self) -> dict[int, int]:
        """How many stories span each number of outlets (a story holds one article of an outlet)."""
        query = "SELECT n, count(*) FROM (SELECT count(*) AS n FROM story_members GROUP BY story) GROUP BY n"
        return dict(self.db.execute(query))
