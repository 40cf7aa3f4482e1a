"""Entries and their topics: what is published, one row per article, and the files' claims on it.

This room reads and writes; what an entry becomes when one more scrape of it arrives is decided
by derive/merge.py, and the reading, deciding and writing are put together by ingest/apply.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from feedtool.derive.indexed import index_values
from feedtool.derive.merge import Claim, Merged, Shown
from feedtool.store.connection import Connection
from feedtool.store.packing import Codec, lead_digest
from feedtool.store.records import FileStat, filled_from, kept_from
from feedtool.store.sql import in_chunks

# The entries columns the full-text index is made from (indexed.index_values), and its order.
_INDEXED = ("title", "text", "author", "tags", "outlet", "published")
# The entries columns a merge reads and writes, by name.
_MERGED = (
    "url", "title", "text", "outlet", "language", "author", "image", "tags",
    "published", "updated", "shown", "author_from", "image_from", "tags_from", "revision",
)  # fmt: skip


# A file's row as a merge writes it: (stat, sha256, entry id, outlet, the date it claims, warnings).
SourceRow: TypeAlias = tuple[FileStat, str, str, str, Claim, Sequence[str]]


@dataclass(frozen=True)
class New:
    """An entry seen for the first time, with the one file it was read from (see `add_new`)."""

    entry_id: str
    merged: Merged
    stat: FileStat
    sha256: str
    claim: Claim
    warnings: tuple[str, ...]
    topics: tuple[str, ...]
    outlet: tuple[str, str, str, str]  # (slug, name, homepage, language), as the dump names its outlet


@dataclass(frozen=True)
class Stored:
    """An entry as stored, before a scrape is merged into it."""

    merged: Merged | None  # None when derived under an older derivation: it is rebuilt as if new
    outlet: str
    published: str
    revision: str


class Entries(Connection):
    def add_outlet(self, slug: str, name: str, homepage: str, language: str) -> None:
        """An outlet as first seen in a dump; the config's registry may rename it when published."""
        self.db.execute(
            "INSERT INTO outlets (slug, name, homepage, language) VALUES (?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING",
            (slug, name, homepage, language),
        )

    def remove_entry(self, entry_id: str) -> None:
        """An entry a prune now keeps out (the retention cutoff moved past it): its files remember it."""
        self.db.execute("UPDATE sources SET pruned = entry_id WHERE entry_id = ?", (entry_id,))
        self._index.remove([entry_id])
        self.db.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
        self.bump_generation()
        self.publish_whole()

    def stored(self, entry_id: str, derivation: int) -> Stored | None:
        return self.stored_many([entry_id], derivation).get(entry_id)

    def write_entry(self, entry_id: str, merged: Merged, derivation: int, *, new: bool) -> None:
        values = {**_merged_row(self.codec, merged), "derivation": derivation, "id": entry_id}
        if new:
            columns = ", ".join(values)
            self.db.execute(f"INSERT INTO entries ({columns}) VALUES ({', '.join(':' + c for c in values)})", values)
        else:
            indexed = [values[column] for column in _INDEXED]
            old = self.db.execute(f"SELECT {', '.join(_INDEXED)} FROM entries WHERE id = ?", (entry_id,)).fetchone()
            assignments = ", ".join(f"{column} = :{column}" for column in values if column != "id")
            if old is not None and list(old) == indexed:  # what the index holds of it is unchanged
                self.db.execute(f"UPDATE entries SET {assignments} WHERE id = :id", values)
                return
            self._index.remove([entry_id])  # with the values it was indexed with, before they change
            self.db.execute(f"UPDATE entries SET {assignments} WHERE id = :id", values)
        shown = merged.shown
        self._index.add(
            entry_id, merged.published,
            index_values(
                shown.title, shown.summary, shown.search_text, merged.author, merged.tags, shown.outlet,
                made=shown.indexed,
            ),
        )  # fmt: skip

    def add_source(
        self, stat: FileStat, sha256: str, entry_id: str, outlet: str, claim: Claim, warnings: Sequence[str],
        derivation: int,
    ) -> None:  # fmt: skip
        """The file's row, replacing whatever its path held before: another article, or a rejection."""
        self.add_sources([(stat, sha256, entry_id, outlet, claim, warnings)], derivation)

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Which of these entries are stored, under any derivation."""
        found: set[str] = set()
        for chunk, marks in in_chunks(ids):
            found.update(i for (i,) in self.db.execute(f"SELECT id FROM entries WHERE id IN ({marks})", chunk))
        return found

    def add_new(self, new: Sequence[New], derivation: int) -> None:
        """Entries stored for the first time, each from its one file, in one statement a table.

        What `write_entry`, `add_source` and `set_topics` write for a new entry, for many at once:
        a cold build's writer is mostly this, and a statement a row was most of its time."""
        self.db.executemany(
            "INSERT INTO outlets (slug, name, homepage, language) VALUES (?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING",
            list(dict.fromkeys(n.outlet for n in new)),  # in the order first seen, as one at a time
        )
        rows = [{**_merged_row(self.codec, n.merged), "derivation": derivation, "id": n.entry_id} for n in new]
        columns = list(rows[0])
        self.db.executemany(
            f"INSERT INTO entries ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})", rows
        )
        for n in new:
            merged, shown = n.merged, n.merged.shown
            self._index.add(
                n.entry_id, merged.published,
                index_values(
                    shown.title, shown.summary, shown.search_text, merged.author, merged.tags, shown.outlet,
                    made=shown.indexed,
                ),
            )  # fmt: skip
        self.add_sources(
            [(n.stat, n.sha256, n.entry_id, n.merged.shown.outlet, n.claim, n.warnings) for n in new], derivation
        )
        self.db.executemany(
            "INSERT INTO entry_topics (entry_id, topic) VALUES (?, ?)", [(n.entry_id, t) for n in new for t in n.topics]
        )

    def stored_many(self, ids: Sequence[str], derivation: int) -> dict[str, Stored]:
        """`stored` for many entries at once: those the store holds, by id."""
        found: dict[str, Stored] = {}
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        for chunk, marks in in_chunks(ids):
            query = f"SELECT id, {', '.join(_MERGED)}, derivation FROM entries WHERE id IN ({marks})"
            for row in cursor.execute(query, chunk):
                merged = _merged(self.codec, row) if row["derivation"] == derivation else None
                found[row["id"]] = Stored(merged, row["outlet"], row["published"], row["revision"])
        return found

    def claims_by_path(self, ids: Sequence[str], derivation: int) -> dict[str, dict[str, Claim]]:
        """`claims` for many entries at once, each file's by its stored path: entry id -> path -> claim."""
        found: dict[str, dict[str, Claim]] = {}
        for chunk, marks in in_chunks(ids):
            query = (
                "SELECT entry_id, path, published, published_rank, text_hash FROM sources"
                f" WHERE entry_id IN ({marks}) AND derivation = ?"
            )
            for entry_id, path, *claim in self.db.execute(query, (*chunk, derivation)):
                found.setdefault(entry_id, {})[path] = Claim(*claim)
        return found

    def topics_many(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """`topics` for many entries at once: those with any, by id."""
        found: dict[str, list[str]] = {}
        for chunk, marks in in_chunks(ids):
            query = f"SELECT entry_id, topic FROM entry_topics WHERE entry_id IN ({marks}) ORDER BY entry_id, topic"
            for entry_id, topic in self.db.execute(query, chunk):
                found.setdefault(entry_id, []).append(topic)
        return found

    def owners(self, paths: Sequence[str]) -> dict[str, str | None]:
        """The entry each of these files is recorded against now (None: a rejection or a prune), by
        stored path; a path the store has no row for is left out."""
        found: dict[str, str | None] = {}
        stored = [self.stored_path(path) for path in paths]
        for chunk, marks in in_chunks(stored):
            query = f"SELECT path, entry_id FROM sources WHERE path IN ({marks})"
            found.update(self.db.execute(query, chunk).fetchall())
        return found

    def add_sources(self, rows: Sequence[SourceRow], derivation: int) -> None:
        """`add_source` for many files at once: (stat, sha256, entry id, outlet, claim, warnings) each."""
        self.db.executemany(
            "INSERT OR REPLACE INTO sources (path, size, mtime_ns, sha256, entry_id, text_hash, published,"
            " published_rank, rejected, warnings, derivation, outlet)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
            [
                (self.stored_path(stat.path), stat.size, stat.mtime_ns, sha256, entry_id, claim.text_hash,
                 claim.published, claim.rank, json.dumps(list(warnings), ensure_ascii=False), derivation, outlet)
                for stat, sha256, entry_id, outlet, claim, warnings in rows
            ],
        )  # fmt: skip

    def claims(self, entry_id: str, derivation: int) -> list[Claim]:
        """The date claims of every file of the entry read under this derivation."""
        return list(self.claims_by_path([entry_id], derivation).get(entry_id, {}).values())

    def topics(self, entry_id: str) -> list[str]:
        return self.topics_many([entry_id]).get(entry_id, [])

    def set_topics(self, entry_id: str, topics: Sequence[str], old: Sequence[str]) -> bool:
        """Set an entry's topics (`old` are those it has); True when they changed."""
        if set(old) == set(topics):
            return False
        self.db.execute("DELETE FROM entry_topics WHERE entry_id = ?", (entry_id,))
        self.db.executemany("INSERT INTO entry_topics (entry_id, topic) VALUES (?, ?)", [(entry_id, t) for t in topics])
        return True

    def search_texts(self) -> Iterator[tuple[str, str, str]]:
        """(id, outlet, folded text) of every entry, for matching topics again after they changed."""
        for entry_id, outlet, text in self.db.execute("SELECT id, outlet, text FROM entries"):
            yield entry_id, outlet, self.codec.unpack_text(text)[2]

    def topics_matched(self) -> str | None:
        """The topic rules the stored topic membership was matched with (ingest's JSON of them)."""
        return self.get_meta("topics")

    def replace_topics(self, rules: str, assignments: Iterable[tuple[str, Sequence[str]]]) -> None:
        """Every entry's topics, matched anew under `rules` (see topics_matched)."""
        self.bump_generation()
        self.publish_whole()
        self.set_meta("topics", rules)
        self.db.execute("DELETE FROM entry_topics")
        self.db.executemany(
            "INSERT INTO entry_topics (entry_id, topic) VALUES (?, ?)",
            ((eid, t) for eid, ts in assignments for t in ts),
        )


def _merged_row(codec: Codec, merged: Merged) -> dict[str, object]:
    # Field by field, not dataclasses.asdict: asdict deep-copies every text, a tenth of the
    # build process's time in a cold build.
    shown = merged.shown
    return {
        "url": shown.url, "title": shown.title, "outlet": shown.outlet, "language": shown.language,
        "text": codec.pack_text(shown.summary, shown.content, shown.search_text),
        "lead": lead_digest(shown.search_text),
        "author": merged.author, "image": merged.image,
        "tags": json.dumps(list(merged.tags), ensure_ascii=False), "published": merged.published,
        "updated": merged.updated, "shown": merged.key, "author_from": kept_from(merged.filled[0], merged.key),
        "image_from": kept_from(merged.filled[1], merged.key), "tags_from": kept_from(merged.filled[2], merged.key),
        "revision": merged.revision,
    }  # fmt: skip


def _merged(codec: Codec, row: sqlite3.Row) -> Merged:
    shown = {name: row[name] for name in ("url", "title", "outlet", "language")}
    shown["summary"], shown["content"], shown["search_text"] = codec.unpack_text(row["text"])
    return Merged(
        shown=Shown(**shown), key=row["shown"],
        author=row["author"], image=row["image"], tags=tuple(json.loads(row["tags"])),
        filled=(
            filled_from(row["author_from"], row["shown"]), filled_from(row["image_from"], row["shown"]),
            filled_from(row["tags_from"], row["shown"]),
        ),
        published=row["published"],
        updated=row["updated"], revision=row["revision"],
    )  # fmt: skip
