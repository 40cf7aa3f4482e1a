"""The full-text index's upkeep: its rows written, and `SearchIndex`, the collaborator the store's
rooms call to keep it in step with the entries and to search it.

Over a SQLite connection alone, not the store's connection object: a migration writes the index
too (schema.py), before that object exists, and the connection makes its `SearchIndex` from here.
fulltext.py is the index's face to the store's callers.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feedtool.derive import indexed
from feedtool.derive.indexed import outlet_token
from feedtool.store.packing import Codec
from feedtool.store.sql import in_chunks

# Row numbers: the published second, times this, plus a slot for entries of the same second.
SLOTS = 1 << 20
# The entries columns an entry's indexed values are made from (values_of), in its order.
INDEXED = "id, title, text, author, tags, outlet, published"
_COLUMNS = "title, summary, body, byline, outlet, tags"
INDEX_BATCH = 1000  # entries indexed per transaction when a whole store is indexed


def values_of(codec: Codec, row: Sequence[Any]) -> tuple[str, ...]:
    """The indexed values of an entry row (columns as INDEXED)."""
    _, title, text, author, tags, outlet, _ = row
    summary, _, search_text = codec.unpack_text(text)
    return indexed.index_values(title, summary, search_text, author, json.loads(tags), outlet).columns()


def second(published: str) -> int:
    return int(datetime.fromisoformat(published).timestamp())


def index_all(db: sqlite3.Connection, codec: Codec | None = None) -> None:
    """Index every entry (an empty index, in the caller's transaction): a migration's or a rebuild's
    work (a migration's, before the store had compression dictionaries, with none)."""
    codec = codec or Codec(db)
    last = ""
    query = f"SELECT {INDEXED} FROM entries WHERE id > ? ORDER BY id LIMIT ?"
    while rows := db.execute(query, (last, INDEX_BATCH)).fetchall():
        write(db, [], {str(row[0]): (str(row[6]), values_of(codec, row)) for row in rows})
        last = rows[-1][0]


def write(
    db: sqlite3.Connection, removed: list[tuple[Any, ...]], added: dict[str, tuple[str, tuple[str, ...]]]
) -> None:
    """Entries out of the index (their row numbers and the values they were indexed with) and
    into it (id -> published, values): the row map first, then FTS5's writes in two runs, each in
    the order of the row numbers.

    The order is what keeps the writes at the price of a bulk load. FTS5 gathers a transaction's
    terms in memory only while the row numbers it is given ascend, and writes what it gathered
    as a segment of its own at every step back: a batch in the order its dumps were read (by
    path, not by publication) made a segment for about every other entry, which FTS5 then spent
    its time merging (the 20,000-article benchmark's rows took 2.7 s of CPU that way, 1.4 s in
    order)."""
    if removed:
        removed = sorted(removed, key=lambda row: int(row[0]))
        db.executemany("DELETE FROM search_rows WHERE rowid = ?", [(row[0],) for row in removed])
    taken: set[int] = set()
    rows = []
    for entry_id, (published, values) in added.items():
        number = row_number(db, entry_id, published, taken)
        taken.add(number)
        rows.append((number, entry_id, values))
    rows.sort(key=lambda row: row[0])
    db.executemany("INSERT INTO search_rows (rowid, entry_id) VALUES (?, ?)", [(n, i) for n, i, _ in rows])
    if removed:
        db.executemany(
            f"INSERT INTO search (search, rowid, {_COLUMNS}) VALUES ('delete', ?, ?, ?, ?, ?, ?, ?)", removed
        )
    db.executemany(
        f"INSERT INTO search (rowid, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", [(n, *v) for n, _, v in rows]
    )


def row_number(db: sqlite3.Connection, entry_id: str, published: str, taken: set[int]) -> int:
    """A free row number for an entry published in this second: its slot by a hash of its id, or
    the next free one after it (free in the index, and among the `taken` ones being written with
    it). Never a loop: past the second's last slot (a million entries of one second) the next
    numbers are the next second's, which puts such an entry a second late."""
    number = second(published) * SLOTS + zlib.crc32(entry_id.encode()) % SLOTS
    while number in taken or db.execute("SELECT 1 FROM search_rows WHERE rowid = ?", (number,)).fetchone():
        number += 1
    return number


@dataclass(frozen=True)
class Found:
    """One entry a search found: its id, its place in the index's order (newest first, by the
    second), and its publication time (ISO 8601, UTC), to order it within its second."""

    entry_id: str
    row: int
    published: str

    @property
    def second(self) -> int:
        """The published second its row number stands for (never before the entry's own: see
        indexing.row_number)."""
        return self.row // SLOTS


@dataclass
class _Pending:
    """The index's writes of the transaction under way, made when it commits."""

    removed: list[tuple[Any, ...]] = field(default_factory=list)  # (row number, *values indexed)
    removed_ids: set[str] = field(default_factory=set)
    added: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)  # id -> (published, values)


class SearchIndex:
    """The index's upkeep and its searches, over the store's connection: a collaborator each room
    that writes entries calls (`Connection._index`), not a base class of theirs.

    Writes are kept until the transaction commits (`flush`, from the transaction's commit) or
    forgotten with it (`forget`)."""

    def __init__(self, db: sqlite3.Connection, codec: Codec) -> None:
        self.db, self.codec = db, codec
        self._pending: _Pending | None = None

    def _writes(self) -> _Pending:
        if self._pending is None:
            self._pending = _Pending()
        return self._pending

    def add(self, entry_id: str, published: str, values: indexed.IndexValues) -> None:
        """Index an entry just written (taken out of the index first if it was in it: `remove`),
        when the transaction commits.

        `values` are those of the row written, made by the writer that has them at hand rather
        than read back and decompressed; `indexing.values_of` makes the same from the row."""
        self._writes().added[entry_id] = (published, values.columns())

    def remove_where(self, where: str, args: dict[str, str | None] | Sequence[object]) -> None:
        """Take out of the index the entries a DELETE with this condition is about to remove."""
        ids = [i for (i,) in self.db.execute(f"SELECT id FROM entries WHERE {where}", args)]
        self.remove(ids)

    def remove(self, ids: Sequence[str]) -> None:
        """Out of the index, with the values they were indexed with, read now, before they change."""
        pending = self._writes()
        for entry_id in ids:
            pending.added.pop(entry_id, None)  # indexed earlier in this transaction: not yet written
        for chunk, marks in in_chunks([i for i in ids if i not in pending.removed_ids]):
            query = (
                f"SELECT r.rowid, {', '.join('e.' + c for c in INDEXED.split(', '))}"
                f" FROM search_rows r JOIN entries e ON e.id = r.entry_id WHERE r.entry_id IN ({marks})"
            )
            for number, *row in self.db.execute(query, chunk).fetchall():
                pending.removed.append((number, *values_of(self.codec, row)))
                pending.removed_ids.add(row[0])

    def flush(self) -> None:
        """The transaction's writes, made together just before it commits."""
        pending, self._pending = self._pending, None
        if pending is not None and (pending.removed or pending.added):
            write(self.db, pending.removed, pending.added)

    def forget(self) -> None:
        """The transaction was rolled back: its writes with it."""
        self._pending = None

    def rebuild(self) -> int:
        """Every entry indexed anew (inside the caller's transaction). Returns the count."""
        self.db.execute("INSERT INTO search (search) VALUES ('delete-all')")
        self.db.execute("DELETE FROM search_rows")
        index_all(self.db, self.codec)
        return self.count()

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM search_rows").fetchone()[0])

    def search(
        self, match: str | None, *, outlets: Sequence[str] = (), topic: str | None = None, since: str | None = None,
        until: str | None = None, limit: int = 20, offset: int = 0, below: int | None = None,
        above: int | None = None, oldest_first: bool = False,
    ) -> list[Found]:  # fmt: skip
        """Entries matching `match` (a query.to_match expression; None: every entry) of these outlets
        (none: all) and topic, published in [since, until), newest first (or `oldest_first`);
        `below` and `above` row numbers (Found.row, `first_row`) to go on from, exclusive, for a
        caller reading page after page."""
        if outlets:
            of_outlets = " OR ".join(f"{{outlet}} : {outlet_token(slug)}" for slug in outlets)
            match = f"({of_outlets})" if match is None else f"({match}) AND ({of_outlets})"
        # The row number to order and bound by: the FTS table's when there is a match, so that FTS5
        # walks its matches newest first and the bounds narrow its walk.
        number = "r.rowid" if match is None else "s.rowid"
        where: list[str] = [] if match is None else ["search MATCH ?"]
        args: list[object] = [] if match is None else [match]
        bounds = (
            (">=", second(since) * SLOTS if since else None), ("<", second(until) * SLOTS if until else None),
            ("<", below), (">", above),
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
            f"SELECT r.entry_id, {number}, e.published FROM {joined} JOIN entries e ON e.id = r.entry_id"
            f" WHERE {' AND '.join(where) or '1'}"
            f" ORDER BY {number} {'ASC' if oldest_first else 'DESC'} LIMIT ? OFFSET ?"
        )
        return [Found(i, n, p) for i, n, p in self.db.execute(query, (*args, limit, offset))]


def first_row(second: int) -> int:
    """The lowest row number of entries published in this second: where a walk of the index by
    published time starts or stops."""
    return second * SLOTS
