"""What was published: the documents written, each entry's rendered markup, and the log of changes.

A publish by change (publish/plan.py) needs to know where each entry that changed since the last complete
publish was listed before, each feed's newest entries and size, and each archive part's oldest
entry; a publish reads its entries' markup from fragments rendered once, and skips a document
whose fingerprint and file are as recorded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import get_args

from feedtool.models import Format
from feedtool.store.connection import Connection
from feedtool.store.packing import join_keys, read_keys, split_markup
from feedtool.store.records import Head, Key, Placed
from feedtool.store.sql import in_chunks

CHANGES_KEPT = 10_000


class Published(Connection):
    def published_marker(self) -> str | None:
        """What the output was last published from, whole: the no-op build's fast path (publish/run.py)."""
        return self.get_meta("published")

    def set_published_marker(self, marker: str) -> None:
        self.set_meta("published", marker)

    def note_change(self, entry_id: str, before: Placed | None) -> None:
        """Remember where a changed entry was before its first change since the last publish."""
        self.note_changes([(entry_id, before)])

    def note_changes(self, changed: Sequence[tuple[str, Placed | None]]) -> None:
        """Remember where each changed entry was (None: it is new) before its first change since
        the last publish.

        Only up to CHANGES_KEPT entries: past that (a cold build, a re-derivation) the next publish
        plans every document anyway, which costs less than asking where each change lands. The
        log's rows are numbered from 1 after every publish (SQLite's rowid after the table was
        emptied), so the number of the last one is how many it holds.
        """
        if self.get_meta("publish_whole") == "1" or not changed:
            return
        rows = [
            (entry_id, *((b.outlet, b.published, json.dumps(list(b.topics))) if b else (None, None, None)))
            for entry_id, b in changed
        ]
        cursor = self.db.executemany(
            "INSERT OR IGNORE INTO changes (entry_id, outlet, published, topics) VALUES (?, ?, ?, ?)", rows
        )
        if cursor.rowcount and (self.db.execute("SELECT max(rowid) FROM changes").fetchone()[0] or 0) > CHANGES_KEPT:
            self.publish_whole()

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
        self.db.execute("DELETE FROM story_changes")
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

    def published_base_url(self) -> str | None:
        """The base URL every published link is under, as the last complete publish wrote them."""
        return self.get_meta("base_url")

    def set_published_base_url(self, base_url: str) -> None:
        self.set_meta("base_url", base_url)

    def published_config(self) -> str | None:
        """The digest of the config the output was last published with, whole (publish/run.py)."""
        return self.get_meta("published_config")

    def published_newest(self) -> str | None:
        """The date empty documents had in the last complete publish (publish/plan.py)."""
        return self.get_meta("published_newest")

    def forget_published_config(self) -> None:
        self.set_meta("published_config", "")

    def heads(self) -> dict[str, Head]:
        """Each feed's newest entries and its number of entries, as the last complete publish left them."""
        query = "SELECT folder, ids, entries FROM heads"
        return {folder: Head(json.loads(ids), entries) for folder, ids, entries in self.db.execute(query)}

    # -- rendered entries ---------------------------------------------------------------------

    def fragment_keys(self, ids: Sequence[str]) -> dict[tuple[str, str], str]:
        """(entry id, format) -> the key its stored fragment was rendered under, for these entries, as
        the row keeps it (packing.stored_key).

        Asked only for the entries of documents about to be written, so a small build reads a
        small part of the table however large the archive is.
        """
        found: dict[tuple[str, str], str] = {}
        for chunk, marks in in_chunks(ids):
            query = f"SELECT entry_id, keys FROM fragments WHERE entry_id IN ({marks})"
            for entry_id, keys in self.db.execute(query, chunk):
                found.update(((entry_id, fmt), key) for fmt, key, _ in read_keys(keys))
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
            (self._fragment_row(entry_id, formats) for entry_id, formats in wanted.items()),
        )

    def packed_fragments(
        self, ids: Sequence[str], known: dict[int, bytes]
    ) -> tuple[dict[str, tuple[str, bytes]], dict[int, bytes]]:
        """Entry id -> (keys, markup row) as stored, compressed, and the dictionaries they name: for a
        worker to unpack (packing.Unpacker, packing.split_markup), not the one writer. `known`:
        the publish's dictionaries read so far (Codec.dictionaries_of)."""
        rows: dict[str, tuple[str, bytes]] = {}
        for chunk, marks in in_chunks(ids):
            query = f"SELECT entry_id, keys, markup FROM fragments WHERE entry_id IN ({marks})"
            rows.update((entry_id, (keys, markup)) for entry_id, keys, markup in self.db.execute(query, chunk))
        return rows, self.codec.dictionaries_of((markup for _, markup in rows.values()), known)

    def _fragment_rows(self, ids: Sequence[str]) -> dict[str, dict[str, tuple[str, bytes]]]:
        """entry id -> format -> (key, markup), unpacked."""
        found: dict[str, dict[str, tuple[str, bytes]]] = {}
        for chunk, marks in in_chunks(ids):
            query = f"SELECT entry_id, keys, markup FROM fragments WHERE entry_id IN ({marks})"
            for entry_id, keys, markup in self.db.execute(query, chunk):
                found[entry_id] = split_markup(keys, self.codec.unpack(markup))
        return found

    def _fragment_row(self, entry_id: str, formats: dict[str, tuple[str, bytes]]) -> tuple[str, str, bytes]:
        """One entry's markup in every format, end to end in one zstd frame; `keys` says where each is."""
        order = sorted(formats)
        keys = join_keys((fmt, formats[fmt][0], len(formats[fmt][1])) for fmt in order)
        return entry_id, keys, self.codec.pack("markup", b"".join(formats[fmt][1] for fmt in order))

    # -- published documents ------------------------------------------------------------------

    def documents(self) -> dict[str, tuple[str, int, int]]:
        query = "SELECT path, fingerprint, size, mtime_ns FROM documents"
        return {p: (f, s, m) for p, f, s, m in self.db.execute(query)}

    def set_document(self, path: str, fingerprint: str, size: int, mtime_ns: int) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO documents (path, fingerprint, size, mtime_ns) VALUES (?, ?, ?, ?)",
            (path, fingerprint, size, mtime_ns),
        )

    def expect_documents(self, paths: Iterable[str]) -> None:
        """Paths about to be written for the first time, recorded as written by no one yet (no
        fingerprint, no size): a run killed after writing one and before recording it leaves no
        file the store does not know of."""
        self.db.executemany(
            "INSERT OR IGNORE INTO documents (path, fingerprint, size, mtime_ns) VALUES (?, '', -1, -1)",
            ((p,) for p in paths),
        )

    def forget_documents(self, paths: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM documents WHERE path = ?", ((p,) for p in paths))


_FORMATS = get_args(Format)  # every format a fragment is rendered in
