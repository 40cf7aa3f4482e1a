"""The full-text index: every entry's words, kept in step with the entries, and the searches over it.

An FTS5 table without content of its own (`content=''`): the entries' text is already in the
store, compressed, and a second copy would double the store. Two consequences shape this room:

- An entry leaves the index only by giving FTS5 its indexed values again (SQLite before 3.43
  has no other way for such a table), so every path that changes or deletes an entry comes
  through `_unindex` first, which makes the values again from the stored row
  (fulltext.index_values, the one definition of them).
- Snippets are not FTS5's: they are cut from the entry's text by search.py.

A row's number in the index is not the entry's rowid but a number that grows with its published
time (`_row_number`): FTS5 walks its matches in that order, so "newest first, 20 of them" stops
after 20 instead of sorting every match, which for a common word is most of a million entries.
`search_rows` maps the number to the entry.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedtool import fulltext
from feedtool.fulltext import outlet_token
from feedtool.store.connection import Connection, in_chunks
from feedtool.store.packing import unpack_text

# Row numbers: the published second, times this, plus a slot for entries of the same second.
SLOTS = 1 << 20
_INDEXED = "id, title, text, author, tags, outlet, published"
_COLUMNS = "title, summary, body, byline, outlet, tags"
INDEX_BATCH = 1000  # entries indexed per transaction when a whole store is indexed


def _values(row: Sequence[Any]) -> tuple[str, ...]:
    """The indexed values of an entry row (columns as _INDEXED)."""
    _, title, text, author, tags, outlet, _ = row
    summary, _, search_text = unpack_text(text)
    return fulltext.index_values(title, summary, search_text, author, json.loads(tags), outlet).columns()


def _second(published: str) -> int:
    return int(datetime.fromisoformat(published).timestamp())


@dataclass(frozen=True)
class Found:
    """One entry a search found: its id, and its place in the order (newest first)."""

    entry_id: str
    row: int


def index_all(db: sqlite3.Connection) -> None:
    """Index every entry (an empty index, in the caller's transaction): a migration's or a rebuild's work."""
    last = ""
    query = f"SELECT {_INDEXED} FROM entries WHERE id > ? ORDER BY id LIMIT ?"
    while rows := db.execute(query, (last, INDEX_BATCH)).fetchall():
        for row in rows:
            _insert(db, row)
        last = rows[-1][0]


def _insert(db: sqlite3.Connection, row: Sequence[Any]) -> None:
    _add(db, str(row[0]), str(row[6]), _values(row))


def _add(db: sqlite3.Connection, entry_id: str, published: str, values: Sequence[str]) -> None:
    number = _row_number(db, entry_id, published)
    db.execute("INSERT INTO search_rows (rowid, entry_id) VALUES (?, ?)", (number, entry_id))
    db.execute(f"INSERT INTO search (rowid, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", (number, *values))


def _row_number(db: sqlite3.Connection, entry_id: str, published: str) -> int:
    """A free row number for an entry published in this second: its slot by a hash of its id, or
    the next free one after it. Never a loop: past the second's last slot (a million entries of
    one second) the next numbers are the next second's, which puts such an entry a second late."""
    number = _second(published) * SLOTS + zlib.crc32(entry_id.encode()) % SLOTS
    while db.execute("SELECT 1 FROM search_rows WHERE rowid = ?", (number,)).fetchone():
        number += 1
    return number


class FullText(Connection):
    # While a first build writes the store, the index is left out of its writes and made whole
    # after them in one pass (`defer_index`, ingest.BULK_INDEX).
    index_deferred = False

    def defer_index(self) -> None:
        """Keep the (empty) index out of the writes that follow, until `reindex` makes it whole in
        one pass: for a first build, cheaper than keeping it in step entry by entry. A build stopped
        before `reindex` leaves the index marked as not current, and the next build makes it whole
        first (build.py)."""
        with self.transaction():
            self.db.execute("INSERT INTO search (search) VALUES ('delete-all')")
            self.db.execute("DELETE FROM search_rows")
            self.set_meta("fulltext", "deferred")
        self.index_deferred = True

    def index_entry(self, entry_id: str, published: str, values: fulltext.IndexValues) -> None:
        """Index an entry just written (taken out of the index first if it was in it: `_unindex`).

        `values` are those of the row written, made by the writer that has them at hand rather
        than read back and decompressed; `_values` makes the same from the row."""
        if not self.index_deferred:
            _add(self.db, entry_id, published, values.columns())

    def unindex_where(self, where: str, args: dict[str, str | None] | Sequence[object]) -> None:
        """Take out of the index the entries a DELETE with this condition is about to remove."""
        if self.index_deferred:
            return
        ids = [i for (i,) in self.db.execute(f"SELECT id FROM entries WHERE {where}", args)]
        self._unindex(ids)

    def _unindex(self, ids: Sequence[str]) -> None:
        if self.index_deferred:
            return
        for chunk, marks in in_chunks(ids):
            query = (
                f"SELECT r.rowid, {', '.join('e.' + c for c in _INDEXED.split(', '))}"
                f" FROM search_rows r JOIN entries e ON e.id = r.entry_id WHERE r.entry_id IN ({marks})"
            )
            for number, *row in self.db.execute(query, chunk).fetchall():
                self.db.execute(
                    f"INSERT INTO search (search, rowid, {_COLUMNS}) VALUES ('delete', ?, ?, ?, ?, ?, ?, ?)",
                    (number, *_values(row)),
                )
                self.db.execute("DELETE FROM search_rows WHERE rowid = ?", (number,))

    def index_current(self) -> bool:
        """Whether the index was made by this feedtool's fulltext code (else `reindex`)."""
        return self.get_meta("fulltext") == fulltext.VERSION

    def reindex(self) -> int:
        """Index every entry anew: after an upgrade changed what the index holds. Returns the count."""
        with self.transaction():
            self.db.execute("INSERT INTO search (search) VALUES ('delete-all')")
            self.db.execute("DELETE FROM search_rows")
            index_all(self.db)
            self.set_meta("fulltext", fulltext.VERSION)
        self.index_deferred = False
        return int(self.db.execute("SELECT count(*) FROM search_rows").fetchone()[0])

    def indexed(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM search_rows").fetchone()[0])

    def search(
        self, match: str | None, *, outlets: Sequence[str] = (), topic: str | None = None, since: str | None = None,
        until: str | None = None, limit: int = 20, offset: int = 0, below: int | None = None,
    ) -> list[Found]:  # fmt: skip
        """Entries matching `match` (a query.to_match expression; None: every entry) of these outlets
        (none: all) and topic, published in [since, until), newest first; `below` a row number
        (Found.row) to go on from, for a caller reading page after page."""
        if outlets:
            of_outlets = " OR ".join(f"{{outlet}} : {outlet_token(slug)}" for slug in outlets)
            match = f"({of_outlets})" if match is None else f"({match}) AND ({of_outlets})"
        # The row number to order and bound by: the FTS table's when there is a match, so that FTS5
        # walks its matches newest first and the bounds narrow its walk.
        number = "r.rowid" if match is None else "s.rowid"
        where: list[str] = [] if match is None else ["search MATCH ?"]
        args: list[object] = [] if match is None else [match]
        bounds = (
            (">=", _second(since) * SLOTS if since else None), ("<", _second(until) * SLOTS if until else None),
            ("<", below),
        )  # fmt: skip
        for operator, bound in bounds:
            if bound is not None:
                where.append(f"{number} {operator} ?")
                args.append(bound)
        if topic is not None:
            where.append("EXISTS (SELECT 1 FROM entry_topics t WHERE t.entry_id = r.entry_id AND t.topic = ?)")
            args.append(topic)
        joined = "search_rows r" if match is None else "search s JOIN search_rows r ON r.rowid = s.rowid"
        query = (
            f"SELECT r.entry_id, {number} FROM {joined} WHERE {' AND '.join(where) or '1'}"
            f" ORDER BY {number} DESC LIMIT ? OFFSET ?"
        )
        return [Found(i, n) for i, n in self.db.execute(query, (*args, limit, offset))]
