"""The store's connection: opening it (made new or migrated), transactions, and what it says of itself.

Why SQLite: embedded, transactional (a `kill -9` leaves the last committed batch, never half of
one), and fast enough to answer "which of these 100,000 files changed?" from an index.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import feedtool.store.migrations as migrations
from feedtool.derive.merge import iso
from feedtool.errors import StoreError
from feedtool.store.boundary import store_failure
from feedtool.store.indexing import SearchIndex
from feedtool.store.packing import Codec


class Connection:
    """The SQLite connection the store's rooms share, and the facts the store keeps about itself (meta)."""

    def __init__(self, path: Path, *, root: Path | None = None) -> None:
        self.path = path
        # The project folder: the dump paths under it are kept relative to it (see `stored_path`).
        self.root = os.path.abspath(root) if root is not None else None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self.codec = Codec(self.db)
            self._index = SearchIndex(self.db, self.codec)
            self._migrate()
            self._relative_paths()
        except sqlite3.DatabaseError as exc:
            raise store_failure(path, exc) from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the store: {exc.strerror}") from None

    @classmethod
    def reader(cls, path: Path) -> Self:
        """The store opened read-only, as `feedtool serve` reads it while builds write: never made,
        never migrated (a store of another schema is the next build's to migrate)."""
        store = cls.__new__(cls)
        store.path, store.root = path, None
        try:
            store.db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, check_same_thread=False
            )
            version = store.db.execute("PRAGMA user_version").fetchone()[0]
            store.codec = Codec(store.db)
            store._index = SearchIndex(store.db, store.codec)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot read the store ({exc}); run 'feedtool build' first") from None
        if version != migrations.SCHEMA_VERSION:
            store.db.close()
            raise StoreError(
                f"{path}: the store has schema {version}, not {migrations.SCHEMA_VERSION}; run 'feedtool build'"
            )
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the database file and empty it.

        After a cold build the log can be as large as the database: SQLite only truncates it when
        asked, and a store twice its size is what an operator's disk would otherwise carry.
        """
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > migrations.SCHEMA_VERSION:
            raise StoreError(f"{self.path}: the store is from a newer feedtool (schema {version}); upgrade feedtool")
        if version == 0 and self.db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None:
            with self.transaction():
                migrations.create(self.db)
                self.set_meta("created", iso(datetime.now(UTC)))
            return
        for step in range(version, migrations.SCHEMA_VERSION):
            with self.transaction():
                migrations.migrate(self.db, step)

    # -- paths: a dump's path as stored is relative to the project folder, so that the folder can move --

    def stored_path(self, path: str) -> str:
        """The form a path is stored in: "./a/b.txt" under the project folder ("." for the folder
        itself), absolute elsewhere. A project folder moved or copied whole builds as a no-op."""
        root = self.root
        if root is None:
            return path
        if path == root:
            return "."
        return "./" + path[len(root) + 1 :] if path.startswith(root + "/") else path

    def real_path(self, stored: str) -> str:
        """A stored path as the file system knows it now."""
        root = self.root
        if root is None or not (stored == "." or stored.startswith("./")):
            return stored
        return root if stored == "." else root + stored[1:]

    def _relative_paths(self) -> None:
        """A store that kept absolute paths (before schema 10, or opened without a project folder)
        has those under the project folder made relative, once."""
        if self.root is None or self.get_meta("paths") == "relative":
            return
        prefix = self.root + "/"
        with self.transaction():
            for table, path in (("sources", "path"), ("folders", "path"), ("listings", "folder")):
                self.db.execute(
                    f"UPDATE OR REPLACE {table} SET {path} = './' || substr({path}, ?) WHERE substr({path}, 1, ?) = ?",
                    (len(prefix) + 1, len(prefix), prefix),
                )
            for table, path in (("folders", "path"), ("listings", "folder")):
                self.db.execute(f"UPDATE OR REPLACE {table} SET {path} = '.' WHERE {path} = ?", (self.root,))
            self.set_meta("paths", "relative")

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    def _before_commit(self) -> None:
        """What is written once a transaction, just before it commits: the full-text index's writes."""
        self._index.flush()

    def _after_commit(self) -> None:
        self.codec.committed()

    def _after_rollback(self) -> None:
        """What is forgotten when a transaction is rolled back."""
        self._index.forget()
        self.codec.rolled_back()

    def watch(self, handler: Callable[[], int] | None, steps: int = 0) -> None:
        """Have `handler` called every `steps` virtual-machine steps of a statement; a true answer
        interrupts it (as a StoreError). None stops watching. How a server bounds each answer."""
        self.db.set_progress_handler(handler, steps)

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that see the store as one commit left it, whatever a build commits meanwhile
        (a read transaction: in WAL mode it holds its snapshot until it ends)."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    # -- meta: what the store remembers about itself, each fact behind its own pair of methods --------

    # Within a write transaction no other connection can change the store, so a fact read once is
    # read from here until the transaction ends: the merge of a batch asks some for every dump.
    _meta_read: dict[str, str | None] | None = None

    def get_meta(self, key: str) -> str | None:
        known = self._meta_read
        if known is not None and key in known:
            return known[key]
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        value = row[0] if row else None
        if known is not None:
            known[key] = value
        return value

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        if self._meta_read is not None:
            self._meta_read[key] = value

    def created(self) -> str:
        """When this store was made (ISO, UTC): the date of a feed that has never had an entry.

        Pinned once, so that date too is a function of the store, never of the clock at publish.
        Stores made before it was recorded answer the epoch.
        """
        return self.get_meta("created") or iso(datetime(1970, 1, 1, tzinfo=UTC))

    def known_domains(self) -> frozenset[str]:
        """Registrable domains of outlets no rules list, found by earlier builds (see derive/outlets.py)."""
        import json

        return frozenset(json.loads(self.get_meta("domains") or "[]"))

    def remember_domains(self, domains: Iterable[str]) -> None:
        import json

        self.set_meta("domains", json.dumps(sorted(domains)))

    def generation(self) -> str:
        """A counter bumped by every change that can alter published output."""
        return self.get_meta("generation") or "0"

    def publish_whole(self) -> None:
        """The next publish plans every document: entries left, or too much changed, for the log to say where."""
        self.set_meta("publish_whole", "1")

    def bump_generation(self, changes: int = 1) -> None:
        """Something that can alter the published output changed (`changes` things)."""
        if self._meta_read is not None:
            self._meta_read.pop("generation", None)
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
            (str(changes),),
        )


def in_chunks(ids: Sequence[str], size: int = 500) -> Iterator[tuple[Sequence[str], str]]:
    """Slices of ids with their "?,?,..." placeholders: SQLite caps the parameters of one statement."""
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        yield chunk, ",".join("?" * len(chunk))


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception: a batch lands whole or not at all."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.db.execute("BEGIN IMMEDIATE")
        self.connection._meta_read = {}

    def __exit__(self, exc_type: object, *rest: object) -> None:
        connection, db = self.connection, self.connection.db
        connection._meta_read = None
        try:
            if exc_type is None:
                connection._before_commit()
                db.execute("COMMIT")
                connection._after_commit()
                return
        except BaseException:
            if db.in_transaction:  # a COMMIT that failed may have ended it already
                db.execute("ROLLBACK")
            connection._after_rollback()
            raise
        db.execute("ROLLBACK")
        connection._after_rollback()
