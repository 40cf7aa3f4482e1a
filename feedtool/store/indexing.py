"""The full-text index's rows, written: functions of a SQLite connection alone.

Apart from the room that keeps the index in step (fulltext.py) because a migration writes them
too (schema.py), before the store's connection object exists, and the one must not import the
other's module through the connection.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from feedtool.derive import indexed
from feedtool.store.packing import Codec

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
    into it (id -> published, values): the row map first, then FTS5's writes in two runs."""
    if removed:
        db.executemany("DELETE FROM search_rows WHERE rowid = ?", [(row[0],) for row in removed])
    taken: set[int] = set()
    rows = []
    for entry_id, (published, values) in added.items():
        number = row_number(db, entry_id, published, taken)
        taken.add(number)
        rows.append((number, entry_id, values))
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
