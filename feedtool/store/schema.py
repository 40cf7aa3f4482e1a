"""The store's schema as it is now: the tables, indexes and triggers a new store is made with
(migrations.py makes it, and brings a store of an earlier schema to it), in the blocks the
migrations that added them share."""

from __future__ import annotations

import sqlite3

# The current schema, as the migrations leave it (columns in the order they add them).
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
    text BLOB NOT NULL DEFAULT x'',
    lead BLOB NOT NULL DEFAULT x''
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
DICTIONARIES = """
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
STORIES = """
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
REVISED = """
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

# What the grouping reads of an entry's text is its lead (`lead`: a digest, store/packing.py): an
# edit past it (an update appended, a last paragraph corrected) changes what the entry publishes,
# not its links, and marks it revised like another author would, rather than its day.
LEADS = """
DROP TRIGGER entries_story_changed;
CREATE TRIGGER entries_story_changed AFTER UPDATE OF published, title, lead, outlet ON entries
WHEN OLD.published IS NOT NEW.published OR OLD.title IS NOT NEW.title OR OLD.lead IS NOT NEW.lead
    OR OLD.outlet IS NOT NEW.outlet BEGIN
    INSERT OR IGNORE INTO story_days (day) VALUES (substr(OLD.published, 1, 10)), (substr(NEW.published, 1, 10));
END;
DROP TRIGGER entries_story_revised;
CREATE TRIGGER entries_story_revised AFTER UPDATE OF revision ON entries
WHEN OLD.revision IS NOT NEW.revision AND OLD.published IS NEW.published AND OLD.title IS NEW.title
    AND OLD.lead IS NEW.lead AND OLD.outlet IS NEW.outlet BEGIN
    INSERT OR IGNORE INTO story_revised (entry_id) VALUES (NEW.id);
END;
"""


# The indexes every feed is listed from, newest first with ties by id (store/listings.py): kept in
# ascending time and walked backwards, which SQLite does at the same cost. Entries mostly arrive
# oldest first, a scraper's archive read folder by folder, and B-tree pages filled at their end are
# left full; a descending index, filled at its front, left them half empty (3 MB of the
# 20,000-article benchmark's 119 MB store). A delta, as the triggers' are: the blocks before it
# are the migrations' as they shipped.
FEED_INDEXES = """
DROP INDEX IF EXISTS entries_listing;
DROP INDEX IF EXISTS stories_listing;
CREATE INDEX entries_listing ON entries(published, id DESC, outlet, revision, updated);
CREATE INDEX stories_listing ON stories(published, id DESC, revision, updated);
"""


# Each folder's names as the last build that listed it found them (ingest/scan.py, store/sources.py), so
# that a folder listed again is compared with them and only its new names are stat-ed.
LISTINGS = """
CREATE TABLE listings (
    folder TEXT PRIMARY KEY,
    names BLOB NOT NULL,
    derivation INTEGER NOT NULL
);
"""

# The store's newest `updated`, read from the end of an index rather than from every entry's row:
# every publish dates its empty documents by it (publish/plan.py), a cron run's included. At a
# million articles a scan of the listing index took 0.15 s with the store in memory and 2.8 s from
# disk; the index's end, 1.4 ms from disk.
NEWEST = """
CREATE INDEX entries_updated ON entries(updated);
"""

# The full-text index (store/fulltext.py): its DDL, which the migration that adds it shares.
FULLTEXT = SCHEMA[SCHEMA.index("CREATE VIRTUAL TABLE search") : SCHEMA.index("INSERT INTO meta")]


def statements(script: str) -> list[str]:
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
