"""The store's versions: a new store made at the current schema (schema.py), and the migrations that
bring a store written by an earlier feedtool to it.

A new store is made from the current schema in one step. A store of an earlier version is brought
up by the migrations from its version on, each in a transaction: never edit one that has shipped.
Both must give the same tables, indexes and triggers; a test migrates a real store of every
earlier version (tests/stores/) and compares it with a new one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from feedtool.store.packing import Codec, join_keys, lead_digest, pack_text
from feedtool.store.schema import (
    DICTIONARIES,
    FEED_INDEXES,
    FULLTEXT,
    LEADS,
    LISTINGS,
    NEWEST,
    REVISED,
    SCHEMA,
    STORIES,
    statements,
)

MIGRATION_BATCH = 1000  # rows read at a time by a migration: a large archive's text would not fit in memory at once


def _compress_entries(db: sqlite3.Connection) -> None:
    db.execute("DROP TABLE fragments")
    db.execute(
        "CREATE TABLE fragments (entry_id TEXT PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,"
        " keys TEXT NOT NULL, markup BLOB NOT NULL)"
    )
    db.execute("ALTER TABLE entries ADD COLUMN text BLOB NOT NULL DEFAULT x''")
    last = 0
    query = "SELECT rowid, summary, content, search_text FROM entries WHERE rowid > ? ORDER BY rowid LIMIT ?"
    while rows := db.execute(query, (last, MIGRATION_BATCH)).fetchall():
        db.executemany(
            "UPDATE entries SET text = ? WHERE rowid = ?",
            [(pack_text(summary, content, search_text), rowid) for rowid, summary, content, search_text in rows],
        )
        last = rows[-1][0]
    for column in ("summary", "content", "search_text"):
        db.execute(f"ALTER TABLE entries DROP COLUMN {column}")


def _add_fulltext(db: sqlite3.Connection) -> None:
    from feedtool.store.indexing import index_all

    for statement in statements(FULLTEXT):
        db.execute(statement)
    index_all(db)
    _fulltext_made(db)


def _fulltext_made(db: sqlite3.Connection) -> None:
    from feedtool.derive import indexed

    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('fulltext', ?)", (indexed.VERSION,))


def _add_leads(db: sqlite3.Connection) -> None:
    """Each entry's lead digested, before the triggers read it: filled after them, every entry
    would be a change, and every day's links would be made again."""
    db.execute("ALTER TABLE entries ADD COLUMN lead BLOB NOT NULL DEFAULT x''")
    codec, last = Codec(db), 0
    query = "SELECT rowid, text FROM entries WHERE rowid > ? ORDER BY rowid LIMIT ?"
    while rows := db.execute(query, (last, MIGRATION_BATCH)).fetchall():
        leads = [(lead_digest(codec.unpack_text(text)[2]), rowid) for rowid, text in rows]
        db.executemany("UPDATE entries SET lead = ? WHERE rowid = ?", leads)
        last = rows[-1][0]
    for statement in statements(LEADS):
        db.execute(statement)


def _compact_fragment_keys(db: sqlite3.Connection) -> None:
    """Each fragment row's keys from JSON with whole keys to packing.join_keys's form: the same
    formats, lengths and (shortened) keys, so that no fragment is rendered again."""
    last = 0
    query = "SELECT rowid, keys FROM fragments WHERE rowid > ? ORDER BY rowid LIMIT ?"
    while rows := db.execute(query, (last, MIGRATION_BATCH)).fetchall():
        db.executemany(
            "UPDATE fragments SET keys = ? WHERE rowid = ?",
            [(join_keys(map(tuple, json.loads(keys))), rowid) for rowid, keys in rows],
        )
        last = rows[-1][0]


# Each migration takes the store from version i to i + 1; never edit one that has shipped. Most are
# SQL; one that must rewrite values (compress them, index them, digest their leads) is a function of
# the connection, run in the same transaction.
MIGRATIONS: tuple[str | Callable[[sqlite3.Connection], None], ...] = (
    """
    CREATE TABLE outlets (
        slug TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        homepage TEXT NOT NULL,
        language TEXT NOT NULL
    );
    CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        outlet TEXT NOT NULL REFERENCES outlets(slug),
        title TEXT NOT NULL,
        author TEXT,
        summary TEXT NOT NULL,
        content TEXT NOT NULL,
        image TEXT,
        tags TEXT NOT NULL,
        language TEXT NOT NULL,
        search_text TEXT NOT NULL,
        published TEXT NOT NULL,
        updated TEXT NOT NULL,
        shown TEXT NOT NULL,
        revision TEXT NOT NULL
    );
    CREATE INDEX entries_published ON entries(published);
    CREATE TABLE sources (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        entry_id TEXT REFERENCES entries(id) ON DELETE SET NULL,
        text_hash TEXT,
        published TEXT,
        published_rank INTEGER,
        rejected TEXT,
        warnings TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX sources_sha256 ON sources(sha256);
    CREATE INDEX sources_entry ON sources(entry_id);
    CREATE TABLE entry_topics (
        entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        PRIMARY KEY (entry_id, topic)
    ) WITHOUT ROWID;
    CREATE TABLE documents (
        path TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # Each entry's markup per feed format, reused by every document it is in (see publish/feeds.py).
    # `key` names what the markup was rendered from; a fragment whose key is not the wanted one is stale.
    """
    CREATE TABLE fragments (
        entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
        format TEXT NOT NULL,
        key TEXT NOT NULL,
        markup BLOB NOT NULL,
        PRIMARY KEY (entry_id, format)
    );
    """,
    # What every publish reads, answered from indexes alone: an entry's content sits in front of
    # the columns the listing wants (reading past it cost four times the index scan), and a
    # fragment's key sits beside its markup.
    """
    DROP INDEX entries_published;
    CREATE INDEX entries_listing ON entries(published DESC, id, outlet, revision, updated);
    CREATE INDEX fragments_keys ON fragments(entry_id, format, key);
    """,
    # Which derivation (see `begin_derivation`) each entry and file row was made under. Rows of an
    # older one are stale: their dumps are read again, and until then they are not trusted.
    """
    ALTER TABLE entries ADD COLUMN derivation INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sources ADD COLUMN derivation INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX entries_derivation ON entries(derivation);
    """,
    # Which scrape each filled-in field came from (derive/merge.py), so that the newest one with a value wins
    # whatever order the scrapes are read in.
    """
    ALTER TABLE entries ADD COLUMN author_from TEXT NOT NULL DEFAULT '';
    ALTER TABLE entries ADD COLUMN image_from TEXT NOT NULL DEFAULT '';
    ALTER TABLE entries ADD COLUMN tags_from TEXT NOT NULL DEFAULT '';
    """,
    # Text kept compressed (see `pack`): an entry's summary, content and folded text in one column,
    # and its rendered markup, all formats in one row, as the same article's text in four markups
    # compresses as one.
    # Fragments are dropped rather than converted: the next publish renders them again.
    _compress_entries,
    # What each folder of dumps held when last listed (ingest/scan.py), so that an unchanged one is not listed.
    """
    CREATE TABLE folders (
        path TEXT PRIMARY KEY,
        mtime_ns INTEGER NOT NULL,
        files INTEGER NOT NULL,
        subfolders TEXT NOT NULL,
        derivation INTEGER NOT NULL
    );
    """,
    # What a publish needs to redo only the documents that changed (publish/plan.py): each changed entry's
    # place before its first change since the last publish (NULLs for a new one), the entries each
    # feed's subscription document held, and the oldest entry of each archive part.
    """
    CREATE TABLE changes (
        entry_id TEXT PRIMARY KEY,
        outlet TEXT,
        published TEXT,
        topics TEXT
    );
    CREATE TABLE heads (
        folder TEXT PRIMARY KEY,
        ids TEXT NOT NULL,
        entries INTEGER NOT NULL
    );
    CREATE TABLE parts (
        folder TEXT NOT NULL,
        month TEXT NOT NULL,
        part INTEGER NOT NULL,
        published TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        PRIMARY KEY (folder, month, part)
    ) WITHOUT ROWID;
    INSERT OR REPLACE INTO meta (key, value) VALUES ('publish_whole', '1');
    """,
    # Two questions every build asks, answered without reading a row per entry or per file: the
    # rejected dumps (stat-ed by every build, ingest/scan.py) from an index of those alone, and which
    # outlets have entries from a count SQLite keeps itself, whichever statement adds, moves or
    # deletes an entry. At a million entries each was a scan of a third of a second.
    """
    CREATE INDEX sources_rejected ON sources(derivation, path) WHERE rejected IS NOT NULL;
    ALTER TABLE outlets ADD COLUMN entry_count INTEGER NOT NULL DEFAULT 0;
    UPDATE outlets SET entry_count = counted.n
        FROM (SELECT outlet, count(*) AS n FROM entries GROUP BY outlet) AS counted
        WHERE counted.outlet = outlets.slug;
    CREATE TRIGGER entries_counted AFTER INSERT ON entries BEGIN
        UPDATE outlets SET entry_count = entry_count + 1 WHERE slug = NEW.outlet;
    END;
    CREATE TRIGGER entries_uncounted AFTER DELETE ON entries BEGIN
        UPDATE outlets SET entry_count = entry_count - 1 WHERE slug = OLD.outlet;
    END;
    CREATE TRIGGER entries_moved AFTER UPDATE OF outlet ON entries WHEN NEW.outlet <> OLD.outlet BEGIN
        UPDATE outlets SET entry_count = entry_count - 1 WHERE slug = OLD.outlet;
        UPDATE outlets SET entry_count = entry_count + 1 WHERE slug = NEW.outlet;
    END;
    """,
    # Prunes an operator made, remembered so that no later build publishes what they removed, and
    # which entry each file would give while a prune keeps it out (see prunes.py); which outlet
    # each file is of, rejected ones included where their address tells, for `feedtool health`.
    """
    CREATE TABLE prunes (
        id INTEGER PRIMARY KEY,
        before TEXT,
        outlet TEXT,
        url TEXT,
        made TEXT NOT NULL
    );
    ALTER TABLE sources ADD COLUMN pruned TEXT;
    CREATE INDEX sources_pruned ON sources(pruned) WHERE pruned IS NOT NULL;
    ALTER TABLE sources ADD COLUMN outlet TEXT;
    UPDATE sources SET outlet = (SELECT outlet FROM entries WHERE entries.id = sources.entry_id);
    """,
    # The full-text index of every entry (store/fulltext.py), made from the entries stored.
    _add_fulltext,
    # Compression dictionaries trained on the store's own rows (store/packing.py).
    DICTIONARIES,
    # Stories (feedtool/stories/), and fragments for them: the fragments' rows, which named
    # entries alone, are kept under a table that names either (its foreign key made a trigger).
    """
    CREATE TABLE fragments_kept (entry_id TEXT PRIMARY KEY, keys TEXT NOT NULL, markup BLOB NOT NULL);
    INSERT INTO fragments_kept (entry_id, keys, markup) SELECT entry_id, keys, markup FROM fragments;
    DROP TABLE fragments;
    ALTER TABLE fragments_kept RENAME TO fragments;
    """
    + STORIES,
    LISTINGS,
    REVISED,
    _add_leads,
    # The feeds' indexes made again in ascending time (schema.FEED_INDEXES says why).
    FEED_INDEXES,
    # Fragment rows' keys shortened (packing.KEY_CHARS says why).
    _compact_fragment_keys,
    # A field filled from the scrape shown kept as a mark, not its key again (records.SAME_AS_SHOWN).
    """
    UPDATE entries SET
        author_from = CASE WHEN author_from = shown THEN '=' ELSE author_from END,
        image_from = CASE WHEN image_from = shown THEN '=' ELSE image_from END,
        tags_from = CASE WHEN tags_from = shown THEN '=' ELSE tags_from END
    WHERE shown <> '' AND shown IN (author_from, image_from, tags_from);
    """,
    # The newest `updated` from an index of its own (schema.NEWEST says why).
    NEWEST,
)


SCHEMA_VERSION = len(MIGRATIONS)


def create(db: sqlite3.Connection) -> None:
    """A new store's schema, in the caller's transaction."""
    for statement in statements(SCHEMA + DICTIONARIES + STORIES + LISTINGS + REVISED + LEADS + FEED_INDEXES + NEWEST):
        db.execute(statement)
    _fulltext_made(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Migration `version`, from it to version + 1, in the caller's transaction."""
    migration = MIGRATIONS[version]
    if isinstance(migration, str):
        for statement in statements(migration):
            db.execute(statement)
    else:
        migration(db)
    db.execute(f"PRAGMA user_version = {version + 1}")
