"""One more scrape of an article, into the store: derive/merge.py decides what the entry becomes, the store keeps it.

The orchestration between the two: read the stored entry and its files' date claims, weigh the
new scrape against them with `merge`, write the result and the file's row, re-match the topics
when the text shown changed, and log the change for publishing by change. `merge_scrape` does it
for one scrape, as the rule is written; `apply_batch` does it for a batch, each table read and
written once for all its scrapes, and gives the store `merge_scrape` would (tests/ingest/test_apply.py).
No rule lives here: every decision is derive/merge.py's, so that the derivation key
(derive/keys.py), a hash of the derive package, covers all that shapes an entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from feedtool.derive.merge import Claim, Merged, merge, scrape_of, shows
from feedtool.models import Entry
from feedtool.store import FileStat, New, Placed, SourceRow, Stored

Outcome = Literal["new", "updated", "unchanged", "pruned"]  # what merging one scrape did to its entry


class Merging(Protocol):
    """What applying a scrape reads and writes of the store, and nothing else. A `Store` is one."""

    @property
    def derivation(self) -> int: ...
    def add_new(self, new: Sequence[New], derivation: int) -> None: ...
    def add_outlet(self, slug: str, name: str, homepage: str, language: str) -> None: ...
    def add_pruned_source(self, stat: FileStat, sha256: str, entry_id: str, outlet: str, derivation: int) -> None: ...
    def add_source(
        self, stat: FileStat, sha256: str, entry_id: str, outlet: str, claim: Claim, warnings: Sequence[str],
        derivation: int,
    ) -> None: ...  # fmt: skip
    def add_sources(self, rows: Sequence[SourceRow], derivation: int) -> None: ...
    def bump_generation(self, changes: int = 1) -> None: ...
    def claims(self, entry_id: str, derivation: int) -> list[Claim]: ...
    def claims_by_path(self, ids: Sequence[str], derivation: int) -> dict[str, dict[str, Claim]]: ...
    def existing(self, ids: Sequence[str]) -> set[str]: ...
    def is_pruned(self, entry_id: str, outlet: str, published: str, cutoff: str | None) -> bool: ...
    def note_change(self, entry_id: str, before: Placed | None) -> None: ...
    def note_changes(self, changed: Sequence[tuple[str, Placed | None]]) -> None: ...
    def owners(self, paths: Sequence[str]) -> dict[str, str | None]: ...
    def remove_entry(self, entry_id: str) -> None: ...
    def set_topics(self, entry_id: str, topics: Sequence[str], old: Sequence[str]) -> bool: ...
    def stored(self, entry_id: str, derivation: int) -> Stored | None: ...
    def stored_many(self, ids: Sequence[str], derivation: int) -> dict[str, Stored]: ...
    def stored_path(self, path: str) -> str: ...
    def topics(self, entry_id: str) -> list[str]: ...
    def topics_many(self, ids: Sequence[str]) -> dict[str, list[str]]: ...
    def write_entry(self, entry_id: str, merged: Merged, derivation: int, *, new: bool) -> None: ...


def merge_scrape(store: Merging, stat: FileStat, entry: Entry, topics: Sequence[str], cutoff: str | None) -> Outcome:
    """Merge one scrape into the store: read the entry and its files' claims, let merge() decide, write.

    An entry derived under other rules (see store/derivations.py) is rebuilt from its scrapes as
    they are read again, this one first, as if new; it keeps its row, and so its rendered fragments
    if it comes out the same. An entry a prune keeps out (store/prunes.py; `cutoff` is the
    retention policy's) is never written: its file is recorded as pruned.
    """
    scrape = scrape_of(stat.mtime_ns, entry)
    derivation = store.derivation
    store.add_outlet(entry.outlet, entry.outlet_name, entry.outlet_homepage, entry.language)
    stored = store.stored(entry.id, derivation)
    current = stored.merged if stored is not None else None
    before_topics = store.topics(entry.id) if stored is not None else []
    if current is None:
        claims = [scrape.claim]  # this scrape is the entry's only one yet
    else:
        store.add_source(stat, entry.source_sha256, entry.id, entry.outlet, scrape.claim, entry.warnings, derivation)
        claims = store.claims(entry.id, derivation)
    merged = merge(current, scrape, claims)
    if store.is_pruned(entry.id, merged.shown.outlet, merged.published, cutoff):
        # Read, so the file index knows the file, but never published while a prune stands.
        if stored is not None:
            store.remove_entry(entry.id)
        store.add_pruned_source(stat, entry.source_sha256, entry.id, entry.outlet, derivation)
        return "pruned"
    store.write_entry(entry.id, merged, derivation, new=stored is None)
    if current is None:  # now that the entry it refers to exists
        store.add_source(stat, entry.source_sha256, entry.id, entry.outlet, scrape.claim, entry.warnings, derivation)
    # Topics follow the text shown: matched again only when this scrape is the one shown.
    topics_changed = shows(merged, scrape) and store.set_topics(entry.id, topics, before_topics)
    before = stored.revision if stored is not None else None
    outcome: Outcome = "new" if before is None else "unchanged" if merged.revision == before else "updated"
    if outcome != "unchanged" or topics_changed:
        store.bump_generation()
        placed = None if stored is None else Placed(stored.outlet, stored.published, tuple(before_topics))
        store.note_change(entry.id, placed)
    return outcome


def apply_batch(
    store: Merging, batch: Sequence[tuple[FileStat, Entry, Sequence[str]]], cutoff: str | None
) -> list[Outcome]:
    """`merge_scrape` for each scrape of a batch, in order; the outcomes in the same order.

    An entry the store does not hold yet, scraped once in the batch (most of a cold build, and of
    any build that brings new articles), has nothing to merge with: `merge` of it alone is its
    entry. Those are written together, one statement a table (`Store.add_new`), which gives the
    store what a scrape at a time would. The other scrapes are merged by `_merge_together`, which
    reads and writes each table once for all of them, or one at a time where it cannot. Entries
    are independent of one another, so either is what a scrape at a time in batch order gives.
    """
    scrapes = Counter(entry.id for _, entry, _ in batch)
    stored = store.existing([entry_id for entry_id, count in scrapes.items() if count == 1])
    derivation = store.derivation
    outcomes: list[Outcome | None] = []
    new: list[New] = []
    merging: list[tuple[int, FileStat, Entry, Sequence[str]]] = []
    outlets: list[tuple[str, str, str, str]] = []  # as merge_scrape names them, in batch order: the first one wins
    for stat, entry, topics in batch:
        outlet = (entry.outlet, entry.outlet_name, entry.outlet_homepage, entry.language)
        if scrapes[entry.id] > 1 or entry.id in stored:
            merging.append((len(outcomes), stat, entry, topics))
            outlets.append(outlet)
            outcomes.append(None)
            continue
        scrape = scrape_of(stat.mtime_ns, entry)
        merged = merge(None, scrape, [scrape.claim])
        if store.is_pruned(entry.id, merged.shown.outlet, merged.published, cutoff):
            outlets.append(outlet)  # as merge_scrape does: the outlet is known, its entry kept out
            store.add_pruned_source(stat, entry.source_sha256, entry.id, entry.outlet, derivation)
            outcomes.append("pruned")
            continue
        new.append(
            New(entry.id, merged, stat, entry.source_sha256, scrape.claim, entry.warnings, tuple(topics), outlet)
        )
        outcomes.append("new")
    for outlet in dict.fromkeys(outlets):
        store.add_outlet(*outlet)
    if merging:
        together = _merge_together(store, [(stat, entry, topics) for _, stat, entry, topics in merging], cutoff)
        if together is None:  # one at a time, as the rule is written
            together = [merge_scrape(store, stat, entry, topics, cutoff) for _, stat, entry, topics in merging]
        for (index, *_), outcome in zip(merging, together, strict=True):
            outcomes[index] = outcome
    if new:
        store.add_new(new, derivation)
        store.bump_generation(len(new))
        store.note_changes([(n.entry_id, None) for n in new])
    return [outcome for outcome in outcomes if outcome is not None]


@dataclass
class _Merging:
    """One entry as the batch's scrapes of it are merged in memory: what `merge_scrape` would read
    back from the store before each of them, starting from what the store holds before the batch."""

    held: bool  # the store holds it: its row is updated, not inserted
    topics_before: list[str]  # as the store lists them (sorted) before the batch
    claims: dict[str, Claim]  # its files' claims under this derivation, by stored path
    topics: list[str]
    current: Merged | None
    revision: str | None
    placed: Placed | None  # where it is listed now, as a change notes it

    @classmethod
    def of(cls, held: Stored | None, claims: dict[str, Claim], topics: list[str]) -> _Merging:
        if held is None:
            return cls(False, topics, claims, list(topics), None, None, None)
        placed = Placed(held.outlet, held.published, tuple(topics))
        return cls(True, topics, claims, list(topics), held.merged, held.revision, placed)


def _merge_together(
    store: Merging, scrapes: Sequence[tuple[FileStat, Entry, Sequence[str]]], cutoff: str | None
) -> list[Outcome] | None:
    """The scrapes of stored entries (or of entries scraped more than once in the batch), merged as
    `merge_scrape` merges them one at a time in this order, with each table read and written once
    for all: a statement a scrape was most of the writer's time in a build of re-scrapes.

    None, having written nothing, where a scrape needs what this does not follow: a file that now
    holds another entry than the one recorded for its path (which changes that entry's claims), an
    entry derived under other rules (rebuilt from its scrapes), or one a prune keeps out.
    """
    derivation = store.derivation
    owners = store.owners([stat.path for stat, _, _ in scrapes])
    if any(owners.get(store.stored_path(stat.path), entry.id) not in (entry.id, None) for stat, entry, _ in scrapes):
        return None
    ids = list(dict.fromkeys(entry.id for _, entry, _ in scrapes))
    stored = store.stored_many(ids, derivation)
    if any(s.merged is None for s in stored.values()):
        return None
    claims = store.claims_by_path(ids, derivation)
    listed = store.topics_many(ids)
    states = {i: _Merging.of(stored.get(i), claims.get(i, {}), listed.get(i, [])) for i in ids}
    outcomes: list[Outcome] = []
    sources: list[SourceRow] = []
    changes: list[tuple[str, Placed | None]] = []
    bumps = 0
    for stat, entry, topics in scrapes:
        state = states[entry.id]
        scrape = scrape_of(stat.mtime_ns, entry)
        path = store.stored_path(stat.path)
        if state.current is None:
            state.claims = {path: scrape.claim}  # this scrape is the entry's only one yet
        else:
            state.claims[path] = scrape.claim
        merged = merge(state.current, scrape, list(state.claims.values()))
        if store.is_pruned(entry.id, merged.shown.outlet, merged.published, cutoff):
            return None
        sources.append((stat, entry.source_sha256, entry.id, entry.outlet, scrape.claim, entry.warnings))
        topics_changed = shows(merged, scrape) and set(state.topics) != set(topics)
        if topics_changed:
            state.topics = sorted(topics)
        before = state.revision
        outcome: Outcome = "new" if before is None else "unchanged" if merged.revision == before else "updated"
        if outcome != "unchanged" or topics_changed:
            bumps += 1
            changes.append((entry.id, state.placed))
        state.current, state.revision = merged, merged.revision
        state.placed = Placed(merged.shown.outlet, merged.published, tuple(state.topics))
        outcomes.append(outcome)
    for entry_id, state in states.items():
        assert state.current is not None
        store.write_entry(entry_id, state.current, derivation, new=not state.held)
        store.set_topics(entry_id, state.topics, state.topics_before)
    store.add_sources(sources, derivation)
    if bumps:
        store.bump_generation(bumps)
        store.note_changes(changes)
    return outcomes
