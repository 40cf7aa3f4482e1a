"""Derivations: which rules and code the stored entries were made with, and which rows are stale.

A derivation is a key (the rules and the normaliser's code) with a number. When the key changes
the number grows, and every entry and file row of an older number is stale until its dump is read
again. The current number and identity are read from the store itself, never kept from an earlier
call, so what a method answers does not depend on which was called first.
"""

from __future__ import annotations

import json
from typing import Any

from feedtool.store.connection import Connection


class Derivations(Connection):
    def _derivation_meta(self) -> dict[str, Any]:
        stored: dict[str, Any] = json.loads(self.get_meta("derivation") or '{"key": null, "number": 0}')
        return stored

    @property
    def derivation(self) -> int:
        """The current derivation's number: every entry and file row written now carries it."""
        return int(self._derivation_meta()["number"])

    def begin_derivation(self, key: str, identity: str, *, force: bool = False) -> bool:
        """Make `key` (what entries are derived with: rules and normaliser) the current derivation.

        When it differs from the stored one (or `force`), the derivation gets a new number, and every
        entry and file row of an older one is stale until its dump is read again. Returns whether
        that made anything stale. The number is never reused, so a config put back midway through a
        re-derivation does not pass off half-derived rows as current.

        `identity` is the key of what decides entry ids (the URL rules): rows made under the same one
        hand their ids on (see stale_ids). Not when `force`d: that is for a library upgrade, w3lib's
        canonical form included, and the derivation is recorded with no identity to hand on.
        """
        stored = self._derivation_meta()
        changed = force or stored["key"] != key
        if changed:
            number = stored["number"] + 1
            identities = {**stored.get("identities", {}), str(number): None if force else identity}
            with self.transaction():
                self.set_meta("derivation", json.dumps({"key": key, "number": number, "identities": identities}))
        return changed and self.db.execute("SELECT 1 FROM sources LIMIT 1").fetchone() is not None

    def _same_identity(self) -> list[int]:
        """The older derivations whose rows got their ids under the identity rules of the current one."""
        stored = self._derivation_meta()
        identities: dict[str, str | None] = stored.get("identities", {})
        current = stored["number"]
        now = identities.get(str(current))
        return [int(n) for n, old in identities.items() if now is not None and old == now and int(n) < current]

    def stale_ids(self) -> dict[tuple[str, int, int], str]:
        """(path, size, mtime_ns) -> entry id of every file read under an older derivation with today's identity rules.

        With the size and mtime, so that a file changed since is not taken for the one read then;
        only from derivations under the same identity rules, so that a run stopped midway through a
        change of URL rules does not hand on ids decided under the rules before.
        """
        same = self._same_identity()
        if not same:
            return {}
        marks = ",".join("?" * len(same))
        query = (
            f"SELECT path, size, mtime_ns, entry_id FROM sources WHERE derivation IN ({marks}) AND entry_id IS NOT NULL"
        )
        return {(self.real_path(p), s, m): i for p, s, m, i in self.db.execute(query, same)}

    def finish_derivation(self) -> int:
        """After every dump on disk was read: drop stale entries no file claims any more; count the rest.

        An entry derived under older rules whose files were all read again under other ids (a new
        tracking parameter merged it into another) is gone. One whose dumps are no longer on disk
        is kept as stored: the returned count.
        """
        if not self.stale_entries():
            return 0
        orphaned = "derivation < ? AND NOT EXISTS (SELECT 1 FROM sources WHERE sources.entry_id = entries.id)"
        with self.transaction():
            self._index.remove_where(orphaned, (self.derivation,))
            cursor = self.db.execute(f"DELETE FROM entries WHERE {orphaned}", (self.derivation,))
            if cursor.rowcount:
                self.bump_generation()
                self.publish_whole()
        return self.stale_entries()

    def stale_entries(self) -> int:
        """How many entries were derived under an older derivation than the current one.

        Numbers only grow, so "older" is a range of the index: this costs a no-op build nothing.
        """
        query = "SELECT count(*) FROM entries WHERE derivation < ?"
        return int(self.db.execute(query, (self.derivation,)).fetchone()[0])
