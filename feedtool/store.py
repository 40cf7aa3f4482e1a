"""The store: one SQLite file that remembers every article, every dump file, every published document.

Why SQLite: embedded, transactional (a `kill -9` leaves the last committed batch, never half of
one), and fast enough to answer "which of these 100,000 files changed?" from an index.

Merge rules when an article (a canonical URL) is seen again, so that the result does not depend
on the order dumps are read in:
- the scrape shown is the most recent one, by the dump file's mtime (then its bytes' hash), a
  copy of another file's bytes included;
  fields it lacks (author, image, tags) are filled from what was stored, never blanked;
- `published` is the earliest date among the best kind any scrape offers (front matter, then the
  millisecond comment, then the date line, then the URL); with none, the earliest dump's mtime;
- `updated` is `published` until scrapes disagree about the text, then the mtime of the scrape shown;
- every source file is recorded against its entry, rejected files with their reason.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args

from feedtool.errors import StoreError
from feedtool.merge import Claim, Merged, Scrape, Shown, copy_is_inert, iso, merge, scrape_key
from feedtool.models import DateSource, Entry, Format, Rejection, StoredEntry
from feedtool.scan import FolderMark

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
            [(_pack_text(summary, content, search_text), rowid) for rowid, summary, content, search_text in rows],
        )
        last = rows[-1][0]
    for column in ("summary", "content", "search_text"):
        db.execute(f"ALTER TABLE entries DROP COLUMN {column}")


@cache
def _codec() -> tuple[Any, Any]:
    """zstd, loaded on first use: a no-op build reads no compressed column."""
    import zstandard

    return zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()


def pack(text: str | bytes) -> bytes:
    """Text as the store keeps it: zstd, which takes an article's HTML to about a third.

    At a million articles the store's text is most of its size; zstd rather than zlib as it
    decompresses several times faster, and every published document decompresses its entries.
    """
    return _codec()[0].compress(text.encode() if isinstance(text, str) else text)  # type: ignore[no-any-return]


def unpack(blob: bytes) -> bytes:
    return _codec()[1].decompress(blob)  # type: ignore[no-any-return]


def _pack_text(summary: str, content: str, search_text: str) -> bytes:
    """An entry's three long texts in one frame: the summary and the folded text repeat the content,
    which zstd only sees when they are compressed together (half the size of three frames)."""
    return pack(json.dumps([summary, content, search_text], ensure_ascii=False))


def _unpack_text(blob: bytes) -> tuple[str, str, str]:
    summary, content, search_text = json.loads(unpack(blob))
    return summary, content, search_text


# The errors of the database under the store (a full disk, a damaged file): the one name a caller
# catches them by, so that a store on another database changes this line, not its callers.
BackendError = sqlite3.Error


def store_failure(path: Path, exc: BaseException) -> StoreError:
    """What went wrong with the store, said truthfully, with the remedy that works.

    A damaged file fails every build the same way: the remedy is to make the store anew from the
    dumps, which are the source of truth. A full disk or a passing I/O error is not damage: what
    was committed is kept, and the next build carries on.
    """
    text = str(exc)
    if type(exc) is sqlite3.DatabaseError or any(words in text for words in ("malformed", "not a database")):
        return StoreError(
            f"{path}: the store is damaged ({text}). The dumps are the source of truth: move it aside"
            f" (mv {path} {path}.damaged) and run 'feedtool build' to make it anew from them"
        )
    return StoreError(f"{path}: {text}; what was committed before is kept, and the next build carries on from it")


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
    # Each entry's markup per feed format, reused by every document it is in (see feeds.py).
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
    # Which scrape each filled-in field came from (merge.py), so that the newest one with a value wins
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
    # What each folder of dumps held when last listed (scan.py), so that an unchanged one is not listed.
    """
    CREATE TABLE folders (
        path TEXT PRIMARY KEY,
        mtime_ns INTEGER NOT NULL,
        files INTEGER NOT NULL,
        subfolders TEXT NOT NULL,
        derivation INTEGER NOT NULL
    );
    """,
    # What a publish needs to redo only the documents that changed (plan.py): each changed entry's
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
    # rejected dumps (stat-ed by every build, scan.py) from an index of those alone, and which
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
)


SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)  # slots: a cold build holds one per dump of the archive
class FileStat:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Known:
    """What the store remembers of a file's content, so a copy under a new path is not re-parsed."""

    entry_id: str | None
    rejected: str | None
    text_hash: str | None
    published: str | None
    published_rank: int | None
    warnings: str
    keys: tuple[str, ...] = ()  # the entry's scrape keys: the one shown, those its fields were filled from

    def inert(self, stat: FileStat, sha256: str) -> bool:
        """Whether a copy of these bytes at `stat` leaves the stored entry as it is (merge.copy_is_inert)."""
        undated = self.published_rank == DateSource.FIRST_SEEN
        key = scrape_key(stat.mtime_ns, sha256)
        return self.rejected is not None or copy_is_inert(key, self.published if undated else None, self.keys)


Outcome = Literal["new", "updated", "unchanged"]  # what merging one scrape did to its entry


@dataclass
class Counts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def count(self, outcome: Outcome) -> None:
        if outcome == "new":
            self.new += 1
        elif outcome == "updated":
            self.updated += 1
        else:
            self.unchanged += 1


CHANGES_KEPT = 10_000
FeedKey = tuple[str, str]  # (kind, slug) of a feed: ("all", "all"), ("outlet", "rfi"), ("topic", "taiwan")
Key = tuple[str, str]  # (published, id) of an entry: where it sorts in a feed
_ROW = "id, outlet, published, revision, updated"


class Head(NamedTuple):
    """A feed's newest entries (ids, newest first) and how many entries it has."""

    ids: list[str]
    entries: int


class Placed(NamedTuple):
    """Where an entry is listed: which outlet's and topics' feeds, and in which month's archive."""

    outlet: str
    published: str
    topics: tuple[str, ...]


class IndexRow(NamedTuple):
    """The small part of an entry that decides which documents it belongs in, and whether they changed.

    A named tuple rather than a frozen dataclass: a whole publish reads one per entry and feed of
    the archive, and a tuple costs a third as much to make.
    """

    id: str
    outlet: str
    published: str
    revision: str
    updated: str


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)  # reads the trailing Z as UTC


def _scrape(stat: FileStat, entry: Entry) -> Scrape:
    """One merged file as merge.py weighs it. Undated, it claims when it was scraped, as the weakest evidence."""
    if entry.published is not None and entry.published_source is not None:
        claim, rank = iso(entry.published), int(entry.published_source)
    else:
        claim, rank = iso(datetime.fromtimestamp(stat.mtime_ns / 1e9, UTC)), int(DateSource.FIRST_SEEN)
    text_hash = hashlib.sha1(f"{entry.title}\0{entry.summary}\0{entry.content}".encode()).hexdigest()
    shown = Shown(entry.url, entry.title, entry.summary, entry.content, entry.search_text, entry.outlet, entry.language)
    return Scrape(
        scrape_key(stat.mtime_ns, entry.source_sha256),
        stat.mtime_ns,
        shown,
        entry.author,
        entry.image,
        entry.tags,
        Claim(claim, rank, text_hash),
    )


# The entries columns a merge reads and writes, by name.
_MERGED = (
    "url", "title", "text", "outlet", "language", "author", "image", "tags",
    "published", "updated", "shown", "author_from", "image_from", "tags_from", "revision",
)  # fmt: skip


def _merged_row(merged: Merged) -> dict[str, object]:
    shown = asdict(merged.shown)
    shown["text"] = _pack_text(shown.pop("summary"), shown.pop("content"), shown.pop("search_text"))
    return {
        **shown, "author": merged.author, "image": merged.image,
        "tags": json.dumps(list(merged.tags), ensure_ascii=False), "published": merged.published,
        "updated": merged.updated, "shown": merged.key, "author_from": merged.filled[0],
        "image_from": merged.filled[1], "tags_from": merged.filled[2], "revision": merged.revision,
    }  # fmt: skip


def _merged(row: sqlite3.Row) -> Merged:
    shown = {name: row[name] for name in ("url", "title", "outlet", "language")}
    shown["summary"], shown["content"], shown["search_text"] = _unpack_text(row["text"])
    return Merged(
        shown=Shown(**shown), key=row["shown"],
        author=row["author"], image=row["image"], tags=tuple(json.loads(row["tags"])),
        filled=(row["author_from"], row["image_from"], row["tags_from"]), published=row["published"],
        updated=row["updated"], revision=row["revision"],
    )  # fmt: skip


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.derivation = 0  # set by begin_derivation before any entry or file row is written
        self._same_identity: list[int] = []  # older derivations made under the identity rules in force now
        self._changes_left: int | None = None  # how many more changes the log takes (see _note_change)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise store_failure(path, exc) from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the store: {exc.strerror}") from None

    def close(self) -> None:
        self.db.close()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file and empty it.

        After a cold build the log can be as large as the database: SQLite only truncates it when
        asked, and a store twice its size is what an operator's disk would otherwise carry.
        """
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- derivations ----------------------------------------------------------------------------

    def begin_derivation(self, key: str, identity: str, *, force: bool = False) -> bool:
        """Make `key` (what entries are derived with: rules and normaliser) the current derivation.

        When it differs from the stored one (or `force`), the derivation gets a new number, and every
        entry and file row of an older one is stale until its dump is read again. Returns whether
        that made anything stale. The number is never reused, so a config put back midway through a
        re-derivation does not pass off half-derived rows as current.

        `identity` is the key of what decides entry ids (the URL rules): rows made under the same one
        hand their ids on (see stale_ids). Not when `force`d: that is for a library upgrade, w3lib's
        canonical form included.
        """
        stored = json.loads(self.get_meta("derivation") or '{"key": null, "number": 0}')
        identities: dict[str, str] = stored.get("identities", {})  # derivation number -> its identity key
        changed = force or stored["key"] != key
        if changed:
            number = stored["number"] + 1
            identities[str(number)] = identity
            stored = {"key": key, "number": number, "identities": identities}
            with self.transaction():
                self.set_meta("derivation", json.dumps(stored))
        self.derivation = stored["number"]
        # The older derivations whose rows got their ids under the identity rules in force now.
        self._same_identity = [
            int(n) for n, old in identities.items() if old == identity and int(n) < self.derivation and not force
        ]
        return changed and self.db.execute("SELECT 1 FROM sources LIMIT 1").fetchone() is not None

    def stale_ids(self) -> dict[tuple[str, int, int], str]:
        """(path, size, mtime_ns) -> entry id of every file read under an older derivation with today's identity rules.

        With the size and mtime, so that a file changed since is not taken for the one read then;
        only from derivations under the same identity rules, so that a run stopped midway through a
        change of URL rules does not hand on ids decided under the rules before.
        """
        if not self._same_identity:
            return {}
        marks = ",".join("?" * len(self._same_identity))
        query = (
            f"SELECT path, size, mtime_ns, entry_id FROM sources WHERE derivation IN ({marks}) AND entry_id IS NOT NULL"
        )
        return {(p, s, m): i for p, s, m, i in self.db.execute(query, self._same_identity)}

    def finish_derivation(self) -> int:
        """After every dump on disk was read: drop stale entries no file claims any more; count the rest.

        An entry derived under older rules whose files were all read again under other ids (a new
        tracking parameter merged it into another) is gone. One whose dumps are no longer on disk
        is kept as stored: the returned count.
        """
        if not self.stale_entries():
            return 0
        with self.transaction():
            cursor = self.db.execute(
                "DELETE FROM entries WHERE derivation < ?"
                " AND NOT EXISTS (SELECT 1 FROM sources WHERE sources.entry_id = entries.id)",
                (self.derivation,),
            )
            if cursor.rowcount:
                self._bump()
                self.publish_whole()
        return self.stale_entries()

    def stale_entries(self) -> int:
        """How many entries were derived under an older derivation than the current one.

        Numbers only grow, so "older" is a range of the index: this costs a no-op build nothing.
        """
        query = "SELECT count(*) FROM entries WHERE derivation < ?"
        return int(self.db.execute(query, (self.derivation,)).fetchone()[0])

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: the store is from a newer feedtool (schema {version}); upgrade feedtool")
        for i in range(version, SCHEMA_VERSION):
            step = MIGRATIONS[i]
            with self.transaction():
                if isinstance(step, str):
                    for statement in _statements(step):
                        self.db.execute(statement)
                else:
                    step(self.db)
                self.db.execute(f"PRAGMA user_version = {i + 1}")
        if version == 0:
            self.set_meta("created", iso(datetime.now(UTC)))

    def created(self) -> str:
        """When this store was made (ISO, UTC): the date of a feed that has never had an entry.

        Pinned once, so that date too is a function of the store, never of the clock at publish.
        Stores made before it was recorded answer the epoch.
        """
        return self.get_meta("created") or iso(datetime(1970, 1, 1, tzinfo=UTC))

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # -- meta: what the store remembers about itself, each fact behind its own pair of methods --------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def known_domains(self) -> frozenset[str]:
        """Registrable domains of outlets no rules list, found by earlier builds (see outlets.py)."""
        return frozenset(json.loads(self.get_meta("domains") or "[]"))

    def remember_domains(self, domains: Iterable[str]) -> None:
        self.set_meta("domains", json.dumps(sorted(domains)))

    def topics_matched(self) -> str | None:
        """The topic rules the stored topic membership was matched with (ingest's JSON of them)."""
        return self.get_meta("topics")

    def published_marker(self) -> str | None:
        """What the output was last published from, whole: the no-op build's fast path (publish.py)."""
        return self.get_meta("published")

    def set_published_marker(self, marker: str) -> None:
        self.set_meta("published", marker)

    def generation(self) -> str:
        """A counter bumped by every change that can alter published output."""
        return self.get_meta("generation") or "0"

    def _bump(self) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1')"
            " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # -- the file index -----------------------------------------------------------------------

    def file_index(self, folders: Iterable[str], paths: Sequence[str] = ()) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) of the files under these folders, and of these files, read under
        the current derivation.

        Stale ones are left out. By folder, as a build lists only the folders that changed: read
        whole, this index was a quarter of a no-op build at a million dumps.
        """
        query = "SELECT path, size, mtime_ns FROM sources WHERE path >= ? AND path < ? AND derivation = ?"
        found: dict[str, tuple[int, int]] = {}
        for folder in folders:
            rows = self.db.execute(query, (folder + "/", folder + chr(ord("/") + 1), self.derivation))
            found.update((p, (s, m)) for p, s, m in rows)
        for chunk, marks in _in_chunks(paths):
            query = f"SELECT path, size, mtime_ns FROM sources WHERE path IN ({marks}) AND derivation = ?"
            found.update((p, (s, m)) for p, s, m in self.db.execute(query, (*chunk, self.derivation)))
        return found

    def rejected_paths(self) -> set[str]:
        """The files read under the current derivation that were rejected."""
        query = "SELECT path FROM sources WHERE rejected IS NOT NULL AND derivation = ?"
        return {path for (path,) in self.db.execute(query, (self.derivation,))}

    def folder_marks(self) -> dict[str, FolderMark]:
        """What each folder held when listed under the current derivation (see scan.py)."""
        query = "SELECT path, mtime_ns, files, subfolders FROM folders WHERE derivation = ?"
        return {
            path: FolderMark(mtime_ns, files, tuple(json.loads(subfolders)))
            for path, mtime_ns, files, subfolders in self.db.execute(query, (self.derivation,))
        }

    def listed_before(self) -> bool:
        """Whether a build has marked any folder, under any derivation: a store with none lists them all."""
        return self.db.execute("SELECT 1 FROM folders LIMIT 1").fetchone() is not None

    def set_folder_marks(self, marks: dict[str, FolderMark]) -> None:
        self.db.execute("DELETE FROM folders")
        self.db.executemany(
            "INSERT INTO folders (path, mtime_ns, files, subfolders, derivation) VALUES (?, ?, ?, ?, ?)",
            (
                (path, mark.mtime_ns, mark.files, json.dumps(mark.subfolders, ensure_ascii=False), self.derivation)
                for path, mark in marks.items()
            ),
        )

    def known(self, sha256: str) -> Known | None:
        """What these bytes gave under the current derivation, if they gave an entry or a rejection."""
        row = self.db.execute(
            "SELECT s.entry_id, s.rejected, s.text_hash, s.published, s.published_rank, s.warnings,"
            " e.shown, e.author_from, e.image_from, e.tags_from FROM sources s LEFT JOIN entries e ON e.id = s.entry_id"
            " WHERE s.sha256 = ? AND s.derivation = ? AND (s.entry_id IS NOT NULL OR s.rejected IS NOT NULL) LIMIT 1",
            (sha256, self.derivation),
        ).fetchone()
        if row is None:
            return None
        entry_id, rejected, text_hash, published, rank, warnings, *keys = row
        return Known(entry_id, rejected, text_hash, published, rank, warnings, tuple(k for k in keys if k is not None))

    def add_copy(self, stat: FileStat, sha256: str, known: Known) -> None:
        """The same bytes under another path, inert (Known.inert): recorded against the same entry,
        not parsed again. Undated, its claim is its own first sighting."""
        published = known.published
        if known.published_rank == DateSource.FIRST_SEEN:
            published = iso(datetime.fromtimestamp(stat.mtime_ns / 1e9, UTC))
        self.db.execute(
            "INSERT OR REPLACE INTO sources (path, size, mtime_ns, sha256, entry_id, text_hash, published,"
            " published_rank, rejected, warnings, derivation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (stat.path, stat.size, stat.mtime_ns, sha256, known.entry_id, known.text_hash,
             published, known.published_rank, known.rejected, known.warnings, self.derivation),
        )  # fmt: skip

    def add_rejection(self, stat: FileStat, rejection: Rejection) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO sources (path, size, mtime_ns, sha256, rejected, derivation)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (stat.path, stat.size, stat.mtime_ns, rejection.sha256, rejection.reason, self.derivation),
        )

    # -- merging entries ----------------------------------------------------------------------

    def add_entry(self, stat: FileStat, entry: Entry, topics: Sequence[str]) -> Outcome:
        """Merge one scrape into the store: read the entry and its files' claims, let merge() decide, write.

        An entry derived under other rules (see begin_derivation) is rebuilt from its scrapes as they
        are read again, this one first, as if new; it keeps its row, and so its rendered fragments if
        it comes out the same.
        """
        scrape = _scrape(stat, entry)
        self.db.execute(
            "INSERT INTO outlets (slug, name, homepage, language) VALUES (?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING",
            (entry.outlet, entry.outlet_name, entry.outlet_homepage, entry.language),
        )
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        row = cursor.execute(
            f"SELECT {', '.join(_MERGED)}, derivation FROM entries WHERE id = ?", (entry.id,)
        ).fetchone()
        current = _merged(row) if row is not None and row["derivation"] == self.derivation else None
        before_topics = self._topics(entry.id) if row is not None else []
        if current is None:
            claims = [scrape.claim]  # this scrape is the entry's only one yet
        else:
            self._add_source(stat, entry, scrape.claim)
            claims = self._claims(entry.id)
        merged = merge(current, scrape, claims)
        values = {**_merged_row(merged), "derivation": self.derivation, "id": entry.id}
        if row is None:
            columns = ", ".join(values)
            self.db.execute(f"INSERT INTO entries ({columns}) VALUES ({', '.join(':' + c for c in values)})", values)
        else:
            assignments = ", ".join(f"{column} = :{column}" for column in values if column != "id")
            self.db.execute(f"UPDATE entries SET {assignments} WHERE id = :id", values)
        if current is None:
            self._add_source(stat, entry, scrape.claim)  # now that the entry it refers to exists
        # Topics follow the text shown: matched again only when this scrape is the one shown.
        topics_changed = merged.key == scrape.key and self._set_topics(entry.id, topics, before_topics)
        before = row["revision"] if row is not None else None
        outcome: Outcome = "new" if before is None else "unchanged" if merged.revision == before else "updated"
        if outcome != "unchanged" or topics_changed:
            self._bump()
            if row is None:
                self._note_change(entry.id, None)
            else:
                self._note_change(entry.id, Placed(row["outlet"], row["published"], tuple(before_topics)))
        return outcome

    def _add_source(self, stat: FileStat, entry: Entry, claim: Claim) -> None:
        """The file's row, replacing whatever its path held before: another article, or a rejection."""
        self.db.execute(
            "INSERT OR REPLACE INTO sources (path, size, mtime_ns, sha256, entry_id, text_hash, published,"
            " published_rank, rejected, warnings, derivation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (stat.path, stat.size, stat.mtime_ns, entry.source_sha256, entry.id, claim.text_hash,
             claim.published, claim.rank, json.dumps(list(entry.warnings), ensure_ascii=False), self.derivation),
        )  # fmt: skip

    def _claims(self, entry_id: str) -> list[Claim]:
        """The date claims of every file of the entry read under the current derivation."""
        query = "SELECT published, published_rank, text_hash FROM sources WHERE entry_id = ? AND derivation = ?"
        return [Claim(*row) for row in self.db.execute(query, (entry_id, self.derivation))]

    def _topics(self, entry_id: str) -> list[str]:
        return [
            t
            for (t,) in self.db.execute("SELECT topic FROM entry_topics WHERE entry_id = ? ORDER BY topic", (entry_id,))
        ]

    def _set_topics(self, entry_id: str, topics: Sequence[str], old: Sequence[str]) -> bool:
        """Set an entry's topics (`old` are those it has); True when they changed."""
        if set(old) == set(topics):
            return False
        self.db.execute("DELETE FROM entry_topics WHERE entry_id = ?", (entry_id,))
        self.db.executemany("INSERT INTO entry_topics (entry_id, topic) VALUES (?, ?)", [(entry_id, t) for t in topics])
        return True

    def search_texts(self) -> Iterator[tuple[str, str, str]]:
        """(id, outlet, folded text) of every entry, for matching topics again after they changed."""
        for entry_id, outlet, text in self.db.execute("SELECT id, outlet, text FROM entries"):
            yield entry_id, outlet, _unpack_text(text)[2]

    def replace_topics(self, rules: str, assignments: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Every entry's topics, matched anew under `rules` (see topics_matched)."""
        self._bump()
        self.publish_whole()
        self.set_meta("topics", rules)
        self.db.execute("DELETE FROM entry_topics")
        self.db.executemany(
            "INSERT INTO entry_topics (entry_id, topic) VALUES (?, ?)",
            ((eid, t) for eid, ts in assignments for t in ts),
        )

    # -- what changed since the last publish ---------------------------------------------------

    def _note_change(self, entry_id: str, before: Placed | None) -> None:
        """Remember where a changed entry was before its first change since the last publish.

        Only up to CHANGES_KEPT entries: past that (a cold build, a re-derivation) the next publish
        plans every document anyway, which costs less than asking where each change lands.
        """
        if self._changes_left is None:
            whole = self.get_meta("publish_whole") == "1"
            self._changes_left = (
                0 if whole else CHANGES_KEPT - self.db.execute("SELECT count(*) FROM changes").fetchone()[0]
            )
        if self._changes_left <= 0:
            if self._changes_left == 0:
                self.publish_whole()
                self._changes_left = -1
            return
        old = (before.outlet, before.published, json.dumps(list(before.topics))) if before else (None, None, None)
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO changes (entry_id, outlet, published, topics) VALUES (?, ?, ?, ?)", (entry_id, *old)
        )
        self._changes_left -= cursor.rowcount

    def publish_whole(self) -> None:
        """The next publish plans every document: entries left, or too much changed, for the log to say where."""
        self.set_meta("publish_whole", "1")
        self._changes_left = -1

    def changes(self) -> dict[str, Placed | None] | None:
        """Entry id -> where it was before the publish (None: it is new), or None when the log cannot say."""
        if self.get_meta("publish_whole") == "1":
            return None
        return {
            entry_id: None if published is None else Placed(outlet, published, tuple(json.loads(topics)))
            for entry_id, outlet, published, topics in self.db.execute(
                "SELECT entry_id, outlet, published, topics FROM changes"
            )
        }

    def published_all(
        self, heads: dict[str, Head], layouts: dict[str, dict[str, list[Key]]], *, whole: bool, config: str, newest: str
    ) -> None:
        """A publish is complete, with the config of this digest: the log starts again; these feeds'
        newest entries, and these months' archive parts, are as given; `newest` dates an empty document."""
        self.db.execute("DELETE FROM changes")
        self.set_meta("publish_whole", "0")
        self.set_meta("published_config", config)
        self.set_meta("published_newest", newest)
        if whole:
            self.db.execute("DELETE FROM heads")
            self.db.execute("DELETE FROM parts")
        self.db.executemany(
            "INSERT OR REPLACE INTO heads (folder, ids, entries) VALUES (?, ?, ?)",
            ((folder, json.dumps(head.ids), head.entries) for folder, head in heads.items()),
        )
        for folder, months in layouts.items():
            for month, bounds in months.items():
                if not whole:
                    self.db.execute("DELETE FROM parts WHERE folder = ? AND month = ?", (folder, month))
                self.db.executemany(
                    "INSERT INTO parts (folder, month, part, published, entry_id) VALUES (?, ?, ?, ?, ?)",
                    ((folder, month, part, published, entry_id) for part, (published, entry_id) in enumerate(bounds)),
                )

    def parts(self, folder: str) -> dict[str, list[Key]]:
        """Month -> the oldest entry of each of the feed's archive parts, oldest part first, as last published."""
        found: dict[str, list[Key]] = {}
        query = "SELECT month, published, entry_id FROM parts WHERE folder = ? ORDER BY month, part"
        for month, published, entry_id in self.db.execute(query, (folder,)):
            found.setdefault(month, []).append((published, entry_id))
        return found

    def published_config(self) -> str | None:
        """The digest of the config the output was last published with, whole (publish.py)."""
        return self.get_meta("published_config")

    def published_newest(self) -> str | None:
        """The date empty documents had in the last complete publish (plan.py)."""
        return self.get_meta("published_newest")

    def forget_published_config(self) -> None:
        self.set_meta("published_config", "")

    def heads(self) -> dict[str, Head]:
        """Each feed's newest entries and its number of entries, as the last complete publish left them."""
        query = "SELECT folder, ids, entries FROM heads"
        return {folder: Head(json.loads(ids), entries) for folder, ids, entries in self.db.execute(query)}

    def placed(self, ids: Sequence[str]) -> dict[str, Placed]:
        """Where these entries are listed now; an id not in the store is left out."""
        found: dict[str, Placed] = {}
        for chunk, marks in _in_chunks(ids):
            topics = self._topics_of(chunk, marks)
            query = f"SELECT id, outlet, published FROM entries WHERE id IN ({marks})"
            for entry_id, outlet, published in self.db.execute(query, chunk):
                found[entry_id] = Placed(outlet, published, tuple(topics.get(entry_id, ())))
        return found

    def rows(self, ids: Sequence[str]) -> dict[str, IndexRow]:
        found: dict[str, IndexRow] = {}
        for chunk, marks in _in_chunks(ids):
            query = f"SELECT id, outlet, published, revision, updated FROM entries WHERE id IN ({marks})"
            found.update((row[0], IndexRow._make(row)) for row in self.db.execute(query, chunk))
        return found

    def topics_of(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """Entry id -> its topics in name order, for those of these entries in any."""
        found: dict[str, list[str]] = {}
        for chunk, marks in _in_chunks(ids):
            found.update(self._topics_of(chunk, marks))
        return found

    def _topics_of(self, chunk: Sequence[str], marks: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        query = f"SELECT entry_id, topic FROM entry_topics WHERE entry_id IN ({marks}) ORDER BY topic"
        for entry_id, topic in self.db.execute(query, chunk):
            found.setdefault(entry_id, []).append(topic)
        return found

    # -- one feed's entries, month by month (a feed is all entries, an outlet's, or a topic's) -------

    def feed_newest(self, feed: FeedKey, limit: int) -> list[IndexRow]:
        """The feed's newest entries, newest first (ties by id, as everywhere)."""
        where, args = _feed_where(feed)
        query = f"SELECT {_ROW} FROM entries WHERE {where} ORDER BY published DESC, id LIMIT ?"
        return list(map(IndexRow._make, self.db.execute(query, (*args, limit))))

    def feed_from(self, feed: FeedKey, month: str, start: Key | None, limit: int = -1) -> list[IndexRow]:
        """The feed's entries of a month, oldest first, from `start` (included) or the month's oldest."""
        where, args = _feed_where(feed)
        query = f"SELECT {_ROW} FROM entries WHERE {where} AND published >= ? AND published < ?"
        first, after = _month_range(month)
        bounds: tuple[str, ...] = (first, after)
        if start is not None:  # the index range begins at its date, not at the month's first entry
            query += " AND (published > ? OR (published = ? AND id <= ?))"
            bounds = (start[0], after, start[0], start[0], start[1])
        query += " ORDER BY published, id DESC LIMIT ?"
        return list(map(IndexRow._make, self.db.execute(query, (*args, *bounds, limit))))

    # -- reading for publication --------------------------------------------------------------

    def outlets(self) -> dict[str, tuple[str, str, str]]:
        """slug -> (name, homepage, language) of every outlet that has entries, by slug: their details
        are part of every fragment's key in this order (plan.py), the same in every store."""
        query = "SELECT slug, name, homepage, language FROM outlets WHERE entry_count > 0 ORDER BY slug"
        return {slug: (name, homepage, language) for slug, name, homepage, language in self.db.execute(query)}

    def feed_index(self, feed: FeedKey) -> Iterator[IndexRow]:
        """A feed's entries, newest first, ties broken by id so the order is total; read as they are used.

        A whole publish plan reads every feed this way: strings that repeat are shared, not read
        again for each entry (an outlet's slug; an entry's `updated` where it is its `published`,
        as for most), and ids are interned, one string for an entry in all its feeds' pages.
        """
        where, args = _feed_where(feed)
        query = f"SELECT {_ROW} FROM entries WHERE {where} ORDER BY published DESC, id"
        outlets: dict[str, str] = {}
        for entry_id, outlet, published, revision, updated in self.db.execute(query, args):
            yield IndexRow(
                sys.intern(entry_id), outlets.setdefault(outlet, outlet), published, revision,
                published if updated == published else updated,
            )  # fmt: skip

    def revisions(self) -> Iterator[tuple[str, str, list[str]]]:
        """Every entry's id (interned, as `feed_index`'s), revision and topics in name order, as they are used."""
        # Topic slugs hold no comma (config.SLUG_RE); group_concat's order is not defined, so sorted here.
        query = (
            "SELECT id, revision, (SELECT group_concat(topic, ',') FROM entry_topics WHERE entry_id = entries.id)"
            " FROM entries"
        )
        for entry_id, revision, topics in self.db.execute(query):
            yield sys.intern(entry_id), revision, sorted(topics.split(",")) if topics else []

    def newest_updated(self) -> str | None:
        newest: str | None = self.db.execute("SELECT max(updated) FROM entries").fetchone()[0]
        return newest

    def entries(self, ids: Sequence[str]) -> dict[str, StoredEntry]:
        found: dict[str, StoredEntry] = {}
        for chunk, marks in _in_chunks(ids):
            topics = self._topics_of(chunk, marks)
            cursor = self.db.cursor()
            cursor.row_factory = sqlite3.Row
            for row in cursor.execute(
                "SELECT id, url, title, outlet, language, text, published, updated, author,"
                f" image, tags FROM entries WHERE id IN ({marks})",
                chunk,
            ):
                summary, content, _ = _unpack_text(row["text"])
                found[row["id"]] = StoredEntry(
                    id=row["id"], url=row["url"], title=row["title"], outlet=row["outlet"], language=row["language"],
                    content=content, summary=summary,
                    published=from_iso(row["published"]), updated=from_iso(row["updated"]), author=row["author"],
                    image=row["image"],
                    tags=tuple(json.loads(row["tags"])), topics=tuple(topics.get(row["id"], ())),
                )  # fmt: skip
        return found

    # -- rendered entries ---------------------------------------------------------------------

    def fragment_keys(self, ids: Sequence[str]) -> dict[tuple[str, str], str]:
        """(entry id, format) -> the key its stored fragment was rendered under, for these entries.

        Asked only for the entries of documents about to be written, so a small build reads a
        small part of the table however large the archive is.
        """
        found: dict[tuple[str, str], str] = {}
        for chunk, marks in _in_chunks(ids):
            query = f"SELECT entry_id, keys FROM fragments WHERE entry_id IN ({marks})"
            for entry_id, keys in self.db.execute(query, chunk):
                found.update(((entry_id, fmt), key) for fmt, key, _ in json.loads(keys))
        return found

    def set_fragments(self, rows: Iterable[tuple[str, str, str, bytes]]) -> None:
        """(entry id, format, key, markup) rows, replacing what was stored for the same entry and format.

        An entry's formats share one compressed row, so one rendered again in some formats only
        (a template edit renders HTML alone) keeps the others from its stored row.
        """
        wanted: dict[str, dict[str, tuple[str, bytes]]] = {}
        for entry_id, fmt, key, markup in rows:
            wanted.setdefault(entry_id, {})[fmt] = (key, markup)
        partial = [entry_id for entry_id, formats in wanted.items() if len(formats) < len(_FORMATS)]
        for entry_id, stored in self._fragment_rows(partial).items():
            wanted[entry_id] = {**stored, **wanted[entry_id]}
        self.db.executemany(
            "INSERT OR REPLACE INTO fragments (entry_id, keys, markup) VALUES (?, ?, ?)",
            (_fragment_row(entry_id, formats) for entry_id, formats in wanted.items()),
        )

    def fragments(self, ids: Sequence[str]) -> dict[str, dict[str, bytes]]:
        """Entry id -> format -> markup."""
        return {
            entry_id: {fmt: markup for fmt, (_, markup) in formats.items()}
            for entry_id, formats in self._fragment_rows(ids).items()
        }

    def _fragment_rows(self, ids: Sequence[str]) -> dict[str, dict[str, tuple[str, bytes]]]:
        """entry id -> format -> (key, markup), unpacked."""
        found: dict[str, dict[str, tuple[str, bytes]]] = {}
        for chunk, marks in _in_chunks(ids):
            query = f"SELECT entry_id, keys, markup FROM fragments WHERE entry_id IN ({marks})"
            for entry_id, keys, markup in self.db.execute(query, chunk):
                data, start, formats = unpack(markup), 0, {}
                for fmt, key, length in json.loads(keys):
                    formats[fmt] = (key, data[start : start + length])
                    start += length
                found[entry_id] = formats
        return found

    # -- published documents ------------------------------------------------------------------

    def documents(self) -> dict[str, tuple[str, int, int]]:
        query = "SELECT path, fingerprint, size, mtime_ns FROM documents"
        return {p: (f, s, m) for p, f, s, m in self.db.execute(query)}

    def set_document(self, path: str, fingerprint: str, size: int, mtime_ns: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO documents (path, fingerprint, size, mtime_ns) VALUES (?, ?, ?, ?)",
            (path, fingerprint, size, mtime_ns),
        )

    def forget_documents(self, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM documents WHERE path = ?", ((p,) for p in paths))

    # -- reports and maintenance --------------------------------------------------------------

    def rejects(self) -> list[tuple[str, str]]:
        return list(self.db.execute("SELECT path, rejected FROM sources WHERE rejected IS NOT NULL ORDER BY path"))

    def stats(self) -> dict[str, object]:
        per_outlet = {
            slug: {"name": name, "entries": n, "newest": newest}
            for slug, name, n, newest in self.db.execute(
                "SELECT o.slug, o.name, count(e.id), max(e.published) FROM outlets o"
                " JOIN entries e ON e.outlet = o.slug GROUP BY o.slug ORDER BY o.slug"
            )
        }
        per_topic = dict(self.db.execute("SELECT topic, count(*) FROM entry_topics GROUP BY topic ORDER BY topic"))
        (entries,) = self.db.execute("SELECT count(*) FROM entries").fetchone()
        (files,) = self.db.execute("SELECT count(*) FROM sources").fetchone()
        (rejected,) = self.db.execute("SELECT count(*) FROM sources WHERE rejected IS NOT NULL").fetchone()
        return {
            "entries": entries,
            "files": files,
            "rejected": rejected,
            "outlets": per_outlet,
            "topics": per_topic,
            "store_bytes": sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*")),
        }

    def prune(self, *, before: datetime | None, outlet: str | None) -> int:
        """Delete entries (not their dump files) older than `before` and/or from one outlet."""
        where, args = [], []
        if before is not None:
            where.append("published < ?")
            args.append(iso(before))
        if outlet is not None:
            where.append("outlet = ?")
            args.append(outlet)
        if not where:
            return 0
        cursor = self.db.execute(f"DELETE FROM entries WHERE {' AND '.join(where)}", args)
        self._bump()
        self.publish_whole()
        return cursor.rowcount


_FORMATS = get_args(Format)  # every format a fragment is rendered in


def _fragment_row(entry_id: str, formats: dict[str, tuple[str, bytes]]) -> tuple[str, str, bytes]:
    """One entry's markup in every format, end to end in one zstd frame; `keys` says where each is."""
    order = sorted(formats)
    keys = json.dumps([[fmt, formats[fmt][0], len(formats[fmt][1])] for fmt in order])
    return entry_id, keys, pack(b"".join(formats[fmt][1] for fmt in order))


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


def _feed_where(feed: FeedKey) -> tuple[str, tuple[str, ...]]:
    """The condition on entries that makes one feed, with its parameters."""
    kind, slug = feed
    if kind == "all":
        return "1", ()
    if kind == "outlet":
        return "outlet = ?", (slug,)
    return "EXISTS (SELECT 1 FROM entry_topics t WHERE t.entry_id = entries.id AND t.topic = ?)", (slug,)


def _month_range(month: str) -> tuple[str, str]:
    """The ISO bounds of a month ("2024-05"): published >= start and < end (next month)."""
    year, number = int(month[:4]), int(month[5:7])
    after = f"{year + number // 12:04d}-{number % 12 + 1:02d}"
    return month, after


def _in_chunks(ids: Sequence[str], size: int = 500) -> Iterator[tuple[Sequence[str], str]]:
    """Slices of ids with their "?,?,..." placeholders: SQLite caps the parameters of one statement."""
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield chunk, ",".join("?" * len(chunk))


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception: a batch lands whole or not at all."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
