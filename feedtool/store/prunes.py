"""Prunes: what an operator removed, remembered, so that no later build publishes it again.

A prune names entries by any of a day (published before it), an outlet and an article's address;
an entry matches when it matches every condition the prune gives. Pruning deletes the entries it
matches and marks their files with the entry they gave (`sources.pruned`); a dump read again
later (a re-scrape, a re-derivation, a new feedtool) whose entry a prune in force matches is
recorded the same way and never written. Lifting a prune lets go of every marked file, whose
folders are listed again, so the next build reads them and brings back what no prune still holds.
A retention policy (`[store] keep_days`) is a prune by day that moves with the clock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from feedtool.clock import now
from feedtool.derive.merge import iso
from feedtool.store.connection import Connection
from feedtool.store.records import FileStat


@dataclass(frozen=True)
class Prune:
    id: int
    before: str | None  # ISO: entries published before it
    outlet: str | None
    url: str | None  # an entry's id: its canonical address
    made: str

    def describe(self) -> str:
        said = [
            f"published before {self.before[:10]}" if self.before else "",
            f"from {self.outlet}" if self.outlet else "",
        ]
        said.append(self.url or "")
        return ", ".join(part for part in said if part)


_MATCH = (
    "(before IS NULL OR :published < before) AND (outlet IS NULL OR outlet = :outlet) AND (url IS NULL OR url = :id)"
)


class Prunes(Connection):
    def add_prune(self, *, before: datetime | None, outlet: str | None, url: str | None) -> tuple[Prune, int]:
        """Record a prune and apply it: (the prune, how many entries it removed)."""
        made = iso(now())
        cursor = self.db.execute(
            "INSERT INTO prunes (before, outlet, url, made) VALUES (?, ?, ?, ?)",
            (iso(before) if before else None, outlet, url, made),
        )
        prune = Prune(int(cursor.lastrowid or 0), iso(before) if before else None, outlet, url, made)
        where = (
            "(:before IS NULL OR published < :before) AND (:outlet IS NULL OR outlet = :outlet)"
            " AND (:url IS NULL OR id = :url)"
        )
        return prune, self._remove(where, {"before": prune.before, "outlet": outlet, "url": url})

    def prunes(self) -> list[Prune]:
        return [Prune(*row) for row in self.db.execute("SELECT id, before, outlet, url, made FROM prunes ORDER BY id")]

    def lift_prune(self, prune_id: int) -> Prune | None:
        """Remove a prune; every file a prune kept out is read again by the next build."""
        found = [p for p in self.prunes() if p.id == prune_id]
        if not found:
            return None
        self.db.execute("DELETE FROM prunes WHERE id = ?", (prune_id,))
        self.release_pruned()
        return found[0]

    def release_pruned(self) -> None:
        """Let go of every file a prune kept out: its row goes, and its folder is listed again, each
        of its files stat-ed (its listing forgotten as well as its mark)."""
        paths = [path for (path,) in self.db.execute("SELECT path FROM sources WHERE pruned IS NOT NULL")]
        self.db.execute("DELETE FROM sources WHERE pruned IS NOT NULL")
        folders = {(os.path.dirname(path),) for path in paths}
        self.db.executemany("DELETE FROM folders WHERE path = ?", folders)
        self.db.executemany("DELETE FROM listings WHERE folder = ?", folders)

    def is_pruned(self, entry_id: str, outlet: str, published: str, cutoff: str | None) -> bool:
        """Whether a prune in force (or the retention cutoff) keeps this entry out."""
        if cutoff is not None and published < cutoff:
            return True
        query = f"SELECT 1 FROM prunes WHERE {_MATCH} LIMIT 1"
        return self.db.execute(query, {"published": published, "outlet": outlet, "id": entry_id}).fetchone() is not None

    def add_pruned_source(self, stat: FileStat, sha256: str, entry_id: str, outlet: str, derivation: int) -> None:
        """A file read whose entry a prune keeps out: read (the file index knows it), never published."""
        self.db.execute(
            "INSERT OR REPLACE INTO sources (path, size, mtime_ns, sha256, derivation, pruned, outlet)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.stored_path(stat.path), stat.size, stat.mtime_ns, sha256, derivation, entry_id, outlet),
        )

    def keep_since(self, cutoff: str | None) -> int:
        """The retention policy: remove entries published before `cutoff` (None: keep all).

        A cutoff earlier than the one applied before (the policy loosened or removed) lets go of
        the files pruned, so the next build brings back what no prune still holds.
        """
        applied = self.get_meta("keep_cutoff") or None
        if applied == cutoff:
            return 0
        self.set_meta("keep_cutoff", cutoff or "")
        if applied is not None and (cutoff is None or cutoff < applied):
            self.release_pruned()
        return self._remove("published < :before", {"before": cutoff}) if cutoff else 0

    def pruned_count(self) -> int:
        """How many entries prunes keep out (counted by the files that would give them)."""
        return int(self.db.execute("SELECT count(DISTINCT pruned) FROM sources WHERE pruned IS NOT NULL").fetchone()[0])

    def _remove(self, where: str, args: dict[str, str | None]) -> int:
        self.db.execute(
            f"UPDATE sources SET pruned = entry_id WHERE entry_id IN (SELECT id FROM entries WHERE {where})", args
        )
        self._index.remove_where(where, args)
        removed = self.db.execute(f"DELETE FROM entries WHERE {where}", args).rowcount
        if removed:
            self.bump_generation()
            self.publish_whole()
        return removed
