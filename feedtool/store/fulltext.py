"""The full-text index: every entry's words, kept in step with the entries, and the searches over it.

An FTS5 table without content of its own (`content=''`): the entries' text is already in the
store, compressed, and a second copy would double the store. Its upkeep is `SearchIndex`
(indexing.py), which the rooms that write entries call; this room is what the store's callers
see of it. Two consequences of the table shape that upkeep:

- An entry leaves the index only by giving FTS5 its indexed values again (SQLite before 3.43
  has no other way for such a table), so every path that changes or deletes an entry comes
  through `SearchIndex.remove` first, which makes the values again from the stored row
  (indexed.index_values, the one definition of them).
- Snippets are not FTS5's: they are cut from the entry's text by search/hits.py.

Writes to the index are kept until the transaction commits, and then made together: the rows'
numbers first, then FTS5's deletions and insertions in two runs (`SearchIndex.flush`). FTS5 writes
the terms it holds in memory to disk whenever another statement writes between two of its own,
so entry by entry, between the store's other writes, it paid that cost every row.

A row's number in the index is not the entry's rowid but a number that grows with its published
time (`indexing.row_number`): FTS5 walks its matches in that order, so "newest first, 20 of them" stops
after 20 instead of sorting every match, which for a common word is most of a million entries.
`search_rows` maps the number to the entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from feedtool.derive import indexed
from feedtool.store.connection import Connection
from feedtool.store.indexing import Found


class FullText(Connection):
    """The index as the store's callers see it: its searches, its count, its version."""

    def index_current(self) -> bool:
        """Whether the index was made by this feedtool's code (derive/indexed.py; else `reindex`)."""
        return self.get_meta("fulltext") == indexed.VERSION

    def reindex(self) -> int:
        """Index every entry anew: after an upgrade changed what the index holds. Returns the count."""
        with self.transaction():
            count = self._index.rebuild()
            self.set_meta("fulltext", indexed.VERSION)
        return count

    def indexed(self) -> int:
        return self._index.count()

    def search(
        self, match: str | None, *, outlets: Sequence[str] = (), topic: str | None = None, since: str | None = None,
        until: str | None = None, limit: int = 20, offset: int = 0, below: int | None = None,
        above: int | None = None, oldest_first: bool = False,
    ) -> list[Found]:  # fmt: skip
        """SearchIndex.search, for the store's callers."""
        return self._index.search(
            match, outlets=outlets, topic=topic, since=since, until=until, limit=limit, offset=offset, below=below,
            above=above, oldest_first=oldest_first,
        )  # fmt: skip
