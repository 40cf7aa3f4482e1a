"""The full-text index: every entry's words, kept in step with the entries, and the searches over it.

An FTS5 table without content of its own (`content=''`): the entries' text is already in the
store, compressed, and a second copy would double the store. Two consequences shape this room:

- An entry leaves the index only by giving FTS5 its indexed values again (SQLite before 3.43
  has no other way for such a table), so every path that changes or deletes an entry comes
  through `_unindex` first, which makes the values again from the stored row
  (indexed.index_values, the one definition of them).
- Snippets are not FTS5's: they are cut from the entry's text by search/hits.py.

Writes to the index are kept until the transaction commits, and then made together: the rows'
numbers first, then FTS5's deletions and insertions in two runs (`_before_commit`). FTS5 writes
the terms it holds in memory to disk whenever another statement writes between two of its own,
so entry by entry, between the store's other writes, it paid that cost every row.

A row's number in the index is not the entry's rowid but a number that grows with its published
time (`indexing.row_number`): FTS5 walks its matches in that order, so "newest first, 20 of them" stops
after 20 instead of sorting every match, which for a common word is most of a million entries.
`search_rows` maps the number to the entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from feedtool.derive import indexed
from feedtool.derive.indexed import outlet_token
from feedtool.store.connection import Connection, in_chunks
from feedtool.store.indexing import INDEXED, SLOTS, index_all, second, values_of, write


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


class FullText(Connection):
    _pending: _Pending | None = None

    def _index_writes(self) -> _Pending:
        if self._pending is None:
            self._pending = _Pending()
        return self._pending

    def index_entry(self, entry_id: str, published: str, values: indexed.IndexValues) -> None:
        """Index an entry just written (taken out of the index first if it was in it: `_unindex`),
        when the transaction commits.

        `values` are those of the row written, made by the writer that has them at hand rather
        than read back and decompressed; `indexing.values_of` makes the same from the row."""
        self._index_writes().added[entry_id] = (published, values.columns())

    def unindex_where(self, where: str, args: dict[str, str | None] | Sequence[object]) -> None:
        """Take out of the index the entries a DELETE with this condition is about to remove."""
        ids = [i for (i,) in self.db.execute(f"SELECT id FROM entries WHERE {where}", args)]
        self._unindex(ids)

    def _unindex(self, ids: Sequence[str]) -> None:
        """Out of the index, with the values they were indexed with, read now, before they change."""
        pending = self._index_writes()
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

    def _before_commit(self) -> None:
        super()._before_commit()
        pending, self._pending = self._pending, None
        if pending is not None and (pending.removed or pending.added):
            write(self.db, pending.removed, pending.added)

    def _after_rollback(self) -> None:
        super()._after_rollback()
        self._pending = None

    def index_current(self) -> bool:
        """Whether the index was made by this feedtool's fulltext code (else `reindex`)."""
        return self.get_meta("fulltext") == indexed.VERSION

    def reindex(self) -> int:
        """Index every entry anew: after an upgrade changed what the index holds. Returns the count."""
        with self.transaction():
            self.db.execute("INSERT INTO search (search) VALUES ('delete-all')")
            self.db.execute("DELETE FROM search_rows")
            index_all(self.db, self.codec)
            self.set_meta("fulltext", indexed.VERSION)
        return int(self.db.execute("SELECT count(*) FROM search_rows").fetchone()[0])

    def indexed(self) -> int:
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
