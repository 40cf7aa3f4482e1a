"""Reports: what `feedtool stats` counts, and each outlet's recent history for `feedtool health`."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from feedtool.store.prunes import Prunes
from feedtool.store.sources import Sources
from feedtool.store.stories import Stories


@dataclass(frozen=True)
class History:
    """An outlet's recent past, newest first: what health/verdicts.py judges it by."""

    outlet: str
    name: str
    entries: int
    published: list[str]  # its newest articles' dates (ISO)
    lengths: list[int]  # the same articles' text, in characters
    arrivals: list[int]  # its newest dumps' mtimes (ns), rejected ones included
    rejected: list[bool]  # whether each of those dumps was rejected
    arrived: list[int]  # the mtimes (ns) of all its dumps since the time asked, oldest first, and of its newest


class Reports(Sources, Prunes, Stories):
    def stats(self) -> dict[str, object]:
        """Counts across the rooms, for `feedtool stats`: the dump files as of the last build."""
        per_outlet = {
            slug: {"name": name, "entries": n, "newest": newest}
            for slug, name, n, newest in self.db.execute(
                "SELECT o.slug, o.name, count(e.id), max(e.published) FROM outlets o"
                " JOIN entries e ON e.outlet = o.slug GROUP BY o.slug ORDER BY o.slug"
            )
        }
        per_topic = dict(self.db.execute("SELECT topic, count(*) FROM entry_topics GROUP BY topic ORDER BY topic"))
        (entries,) = self.db.execute("SELECT count(*) FROM entries").fetchone()
        (files,) = self.db.execute("SELECT count(*) FROM sources WHERE derivation = ?", (self.derivation,)).fetchone()
        rejected = self.rejected_count()
        path = self.path
        return {
            "entries": entries,
            "indexed": self._index.count(),  # in the full-text index: equal to entries, or a build is due
            "pruned": self.pruned_count(),
            "files": files,
            "rejected": rejected,
            "outlets": per_outlet,
            "topics": per_topic,
            "stories": self.story_sizes(),  # outlets a story spans -> how many stories span that many
            "store_bytes": sum(p.stat().st_size for p in path.parent.glob(path.name + "*")),
        }

    def histories(self, recent: int, since_ns: int) -> list[History]:
        """Each outlet's last `recent` articles and dumps, and when each of its dumps since `since_ns` arrived.

        With no index of their own, which every build would pay to keep: the articles come from
        the listing index (newest first, stopping at the outlet's `recent`th), the dumps from one
        pass over the file index, keeping each outlet's newest in a heap. `feedtool health` runs
        hourly, not with every build.
        """
        derivation = self.derivation
        newest: dict[str, list[tuple[int, bool]]] = {}
        arrived: dict[str, list[int]] = {}
        for outlet, mtime_ns, rejected in self.db.execute(
            "SELECT outlet, mtime_ns, rejected IS NOT NULL FROM sources WHERE outlet IS NOT NULL AND derivation = ?",
            (derivation,),
        ):
            if mtime_ns >= since_ns:
                arrived.setdefault(outlet, []).append(mtime_ns)
            kept = newest.setdefault(outlet, [])
            if len(kept) < recent:
                heapq.heappush(kept, (mtime_ns, bool(rejected)))
            elif mtime_ns > kept[0][0]:
                heapq.heapreplace(kept, (mtime_ns, bool(rejected)))
        named = {
            slug: (name, count) for slug, name, count in self.db.execute("SELECT slug, name, entry_count FROM outlets")
        }
        found = []
        for slug in sorted(set(named) | set(newest)):
            name, count = named.get(slug, (slug, 0))
            if not count and slug not in newest:
                continue
            articles = self.db.execute(
                "SELECT published, text FROM entries WHERE outlet = ? ORDER BY published DESC LIMIT ?", (slug, recent)
            ).fetchall()
            dumps = sorted(newest.get(slug, []), reverse=True)
            times = sorted(arrived.get(slug, [])) or [m for m, _ in dumps[:1]]
            found.append(
                History(
                    slug, name, count, [p for p, _ in articles],
                    [len(self.codec.unpack_text(t)[2]) for _, t in articles],
                    [m for m, _ in dumps], [r for _, r in dumps], times,
                )
            )  # fmt: skip
        return found
