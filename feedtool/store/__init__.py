"""The store: one SQLite file that remembers every article, every dump file, every published document.

A package of rooms, one per domain, composed into the one `Store` the stages call:

- connection.py: opening (a new store from the current schema, an older one migrated),
  transactions, and what the store says of itself (meta);
- schema.py: the current schema; migrations.py: a new store made at it, and the migrations from every earlier one;
- derivations.py: which rules the stored rows were made with, and which are stale;
- sources.py: the dump files read, the file index, rejections, the folders listed and their names;
- entries.py: entries and their topics (what merging reads and writes);
- fulltext.py: the full-text index as callers see it: its searches, its count, its version;
- indexing.py: the index's upkeep, `SearchIndex`, a collaborator each room that writes entries
  calls (`self._index`), not a base class; its rows written, for it and for the migration that
  made the index;
- prunes.py: what an operator removed, kept out of every later build;
- listings.py: each feed's entries in order, for planning a publish;
- published.py: documents written, rendered fragments, and the log of changes since;
- reports.py: counts for `stats`, and each outlet's recent history for `health`;
- stories.py: the stories of several outlets' articles, their links, and what changed since;
- boundary.py: the edge, where the database's errors become feedtool's StoreError, once;
- packing.py: the compression of long text and markup, with dictionaries trained on the store's rows.

Each room is a mixin over the shared connection (`self.db`); none holds state of its own between
calls, so what a method answers depends on the store alone, not on what was called before.
"""

from __future__ import annotations

from feedtool.store.boundary import translating
from feedtool.store.entries import Entries, New, SourceRow, Stored
from feedtool.store.fulltext import FullText
from feedtool.store.indexing import Found, first_row
from feedtool.store.listings import Listings
from feedtool.store.migrations import SCHEMA_VERSION
from feedtool.store.packing import Unpacker, split_markup, stored_key, texts_of
from feedtool.store.prunes import Prune, Prunes
from feedtool.store.published import CHANGES_KEPT, Published
from feedtool.store.records import FeedKey, FileStat, Head, IndexRow, Key, Known, Placed, from_iso
from feedtool.store.reports import History, Reports
from feedtool.store.stories import Member, Stories, StoryRow

__all__ = [
    "CHANGES_KEPT", "SCHEMA_VERSION", "FeedKey", "FileStat", "Found", "Head", "History", "IndexRow",
    "Key", "Known", "Member", "New", "Placed", "Prune", "SourceRow", "Store", "Stored", "StoryRow", "Unpacker",
    "first_row", "from_iso", "split_markup", "stored_key", "texts_of",
]  # fmt: skip


@translating
class Store(Reports, Entries, Prunes, Listings, Published, FullText, Stories):
    """The store's one interface: every room's methods over one connection."""

    def __enter__(self) -> Store:
        return self
