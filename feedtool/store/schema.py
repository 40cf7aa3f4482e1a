"""The store's schema: the current one for a new store, and the migrations that bring an older one to it.

A new store is made from SCHEMA in one step. A store written by an earlier feedtool is brought up
by the migrations from its version on, each in a transaction: never edit one that has shipped.
Both must give the same tables, indexes and triggers; a test migrates a real store of every
earlier version (tests/stores/) and compares it with a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from feedtool.store.packing import pack_text

MIGRATION_BATCH = 1000  # rows read at a time by a migration: a large archive's text would not fit in memory at once

# The current schema, as the migrations below leave it (columns in the order they add them).
SCHEMA = """
CREATE TABLE outlets (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    homepage TEXT NOT NULL,
    language TEXT NOT NULL,
    entry_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE entries (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    outlet TEXT NOT NULL REFERENCES outlets(slug),
    title TEXT NOT NULL,
    author TEXT,
    image TEXT,
    tags TEXT NOT NULL,
    language TEXT NOT NULL,
    published TEXT NOT NULL,
    updated TEXT NOT NULL,
    shown TEXT NOT NULL,
    revision TEXT NOT NULL,
    derivation INTEGER NOT NULL DEFAULT 0,
    author_from TEXT NOT NULL DEFAULT '',
    image_from TEXT NOT NULL DEFAULT '',
    tags_from TEXT NOT NULL DEFAULT '',
    text BLOB NOT NULL DEFAULT x''
);
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
    warnings TEXT NOT NULL DEFAULT '[]',
    derivation INTEGER NOT NULL DEFAULT 0,
    pruned TEXT,
    outlet TEXT
);
CREATE INDEX sources_sha256 ON sources(sha256);
CREATE INDEX sources_entry ON sources(entry_id);
CREATE INDEX sources_rejected ON sources(derivation, path) WHERE rejected IS NOT NULL;
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
CREATE INDEX entries_listing ON entries(published DESC, id, outlet, revision, updated);
CREATE INDEX entries_derivation ON entries(derivation);
CREATE TABLE fragments (
    entry_id TEXT PRIMARY KEY,
    keys TEXT NOT NULL,
    markup BLOB NOT NULL
);
CREATE TABLE folders (
    path TEXT PRIMARY KEY,
    mtime_ns INTEGER NOT NULL,
    files INTEGER NOT NULL,
    subfolders TEXT NOT NULL,
    derivation INTEGER NOT NULL
);
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
CREATE TABLE prunes (
    id INTEGER PRIMARY KEY,
    before TEXT,
    outlet TEXT,
    url TEXT,
    made TEXT NOT NULL
);
CREATE INDEX sources_pruned ON sources(pruned) WHERE pruned IS NOT NULL;
CREATE VIRTUAL TABLE search USING fts5(
    title, summary, body, byline, outlet, tags,
    content='', columnsize=0, tokenize='unicode61 remove_diacritics 2'
);
CREATE TABLE search_rows (
    rowid INTEGER PRIMARY KEY,
    entry_id TEXT NOT NULL UNIQUE REFERENCES entries(id) ON DELETE CASCADE
);
INSERT INTO meta (key, value) VALUES ('publish_whole', '1');
"""
# zstd dictionaries the store's compressed rows name (store/packing.py), the newest of a kind in use.
_DICTIONARIES = """
CREATE TABLE dictionaries (
    made INTEGER PRIMARY KEY,
    id INTEGER NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    data BLOB NOT NULL
);
"""

# Stories (store/stories.py, feedtool/stories/): each story's row and members, the links between
# articles they are made of, the days whose articles changed since the stories were last made
# (marked by SQLite itself, whichever statement adds, changes or deletes an entry), and the log of
# stories changed since the last publish. Fragments are rendered for stories too, so their rows
# name an entry or a story, and go with either.
_STORIES = """
CREATE TABLE stories (
    id TEXT PRIMARY KEY,
    published TEXT NOT NULL,
    updated TEXT NOT NULL,
    revision TEXT NOT NULL,
    reporters TEXT NOT NULL,
    members TEXT NOT NULL
);
CREATE INDEX stories_listing ON stories(published DESC, id, revision, updated);
CREATE TABLE story_members (
    entry_id TEXT PRIMARY KEY,
    story TEXT NOT NULL,
    published TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX story_members_story ON story_members(story);
CREATE INDEX story_members_published ON story_members(published);
CREATE TABLE story_links (
    a TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    b TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    score REAL NOT NULL,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX story_links_b ON story_links(b);
CREATE TABLE story_days (day TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE story_changes (story TEXT PRIMARY KEY, published TEXT);
CREATE TRIGGER entries_fragments_gone AFTER DELETE ON entries BEGIN
    DELETE FROM fragments WHERE entry_id = OLD.id;
END;
CREATE TRIGGER stories_fragments_gone AFTER DELETE ON stories BEGIN
    DELETE FROM fragments WHERE entry_id = OLD.id;
END;
CREATE TRIGGER entries_story_added AFTER INSERT ON entries BEGIN
    INSERT OR IGNORE INTO story_days (day) VALUES (substr(NEW.published, 1, 10));
END;
CREATE TRIGGER entries_story_removed AFTER DELETE ON entries BEGIN
    INSERT OR IGNORE INTO story_days (day) VALUES (substr(OLD.published, 1, 10));
END;
CREATE TRIGGER entries_story_changed AFTER UPDATE OF published, title, text, outlet, revision ON entries
WHEN OLD.published IS NOT NEW.published OR OLD.title IS NOT NEW.title OR OLD.text IS NOT NEW.text
    OR OLD.outlet IS NOT NEW.outlet OR OLD.revision IS NOT NEW.revision BEGIN
    INSERT OR IGNORE INTO story_days (day) VALUES (substr(OLD.published, 1, 10)), (substr(NEW.published, 1, 10));
END;
"""

# An entry changed in what it publishes but not in what the grouping reads of it (its dates, title,
# text and outlet): another author, image or tags, a re-scrape's front matter. Its links stand, so
# its day is not marked (that makes again every link within a week of it); only the row of its
# story, which digests its members' revisions, is made again (stories/kept.py).
_REVISED = """
CREATE TABLE story_revised (entry_id TEXT PRIMARY KEY) WITHOUT ROWID;
DROP TRIGGER entries_story_changed;
CREATE TRIGGER entries_story_changed AFTER UPDATE OF published, title, text, outlet ON entries
WHEN OLD.published IS NOT NEW.published OR OLD.title IS NOT NEW.title OR OLD.text IS NOT NEW.text
    OR OLD.outlet IS NOT NEW.outlet BEGIN
    INSERT OR IGNORE INTO story_days (day) VALUES (substr(OLD.published, 1, 10)), (substr(NEW.published, 1, 10));
END;
CREATE TRIGGER entries_story_revised AFTER UPDATE OF revision ON entries
WHEN OLD.revision IS NOT NEW.revision AND OLD.published IS NEW.published AND OLD.title IS NEW.title
    AND OLD.text IS NEW.text AND OLD.outlet IS NEW.outlet BEGIN
    INSERT OR IGNORE INTO story_revised (entry_id) VALUES (NEW.id);
END;
"""

# Each folder's names as the last build that listed it found them (ingest/scan.py, store/sources.py), so
# that a folder listed again is compared with them and only its new names are stat-ed.
_LISTINGS = """
CREATE TABLE listings (
    folder TEXT PRIMARY KEY,
    names BLOB NOT NULL,
    derivation INTEGER NOT NULL
);
"""

# The full-text index (store/fulltext.py): its DDL, which the migration that adds it shares.
_FULLTEXT = SCHEMA[SCHEMA.index("CREATE VIRTUAL TABLE search") : SCHEMA.index("INSERT INTO meta")]


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

    for statement in _statements(_FULLTEXT):
        db.execute(statement)
    index_all(db)
    _fulltext_made(db)


def _fulltext_made(db: sqlite3.Connection) -> None:
    from feedtool.derive import indexed

    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('fulltext', ?)", (indexed.VERSION,))


# Each migration takes the store from version i to i + 1; never edit one that has shipped. Most are
# SQL; one that must rewrite values (compress them) is a function of the connection, run in the
# same transaction.
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
    _DICTIONARIES,
    # Stories (feedtool/stories/), and fragments for them: the fragments' rows, which named
    # entries alone, are kept under a table that names either (its foreign key made a trigger).
    """
    CREATE TABLE fragments_kept (entry_id TEXT PRIMARY KEY, keys TEXT NOT NULL, markup BLOB NOT NULL);
    INSERT INTO fragments_kept (entry_id, keys, markup) SELECT entry_id, keys, markup FROM fragments;
    DROP TABLE fragments;
    ALTER TABLE fragments_kept RENAME TO fragments;
    """
    + _STORIES,
    _LISTINGS,
    _REVISED,
)


SCHEMA_VERSION = len(MIGRATIONS)


def create(db: sqlite3.Connection) -> None:
    """A new store's schema, in the caller's transaction."""
    for statement in _statements(SCHEMA + _DICTIONARIES + _STORIES + _LISTINGS + _REVISED):
        db.execute(statement)
    _fulltext_made(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def migrate(db: sqlite3.Connection, version: int) -> None:
    """Migration `version`, from it to version + 1, in the caller's transaction."""
    migration = MIGRATIONS[version]
    if isinstance(migration, str):
        for statement in _statements(migration):
            db.execute(statement)
    else:
        migration(db)
    db.execute(f"PRAGMA user_version = {version + 1}")


def _statements(script: str) -> list[str]:
    """A migration's SQL, one statement at a time, so that it runs inside the caller's transaction.

    Split where SQLite says a statement is complete: a trigger's body holds semicolons of its own.
    """
    statements, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.rstrip(";").strip():
                statements.append(pending)
            pending = ""
    return statements
