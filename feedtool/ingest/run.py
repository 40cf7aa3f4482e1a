"""Folders of dumps -> the store, touching only what changed since the last run.

Folders unchanged since the last run are not listed (ingest/scan.py); those that are, are compared
with their listing kept from the last run, so that only new names are stat-ed; the file index
answers "unchanged?" from a stat alone, so an unchanged dump is never opened. A changed or new
file is read and hashed by a worker; bytes the store has seen under another path are recorded
against the same entry without parsing, unless their newer mtime makes them the scrape shown
(merge.copy_is_inert). Only really new content is parsed and cleaned, by the workers (processes
here, or a Dask cluster's: workers/; the work is CPU-bound Python, which threads would not
speed), and merged by this process, the one writer, in path order in batches, each one
transaction: a killed run loses at most the batch in flight, and the next run redoes exactly that.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from feedtool.clock import now
from feedtool.config import Config
from feedtool.derive.keys import derivation_key, identity_key
from feedtool.derive.limits import too_large
from feedtool.derive.merge import first_seen, iso
from feedtool.derive.topics import Matcher, matchers, topics_of
from feedtool.errors import Rejected
from feedtool.ingest.apply import Outcome, apply_batch
from feedtool.ingest.scan import MTIME_MAX, scan
from feedtool.models import DateSource, Entry, Progress, Rejection
from feedtool.rules import Rules, Topic
from feedtool.store import FileStat, Known, Store
from feedtool.workers import Setup, Workers, batched, fork_early

if TYPE_CHECKING:  # the normaliser imports lxml and nh3: loaded in workers, never for a no-op build
    from feedtool.derive.normalise import Normaliser

log = logging.getLogger("feedtool")

BATCH = 500  # results merged, or copies recorded, per transaction


@dataclass(frozen=True)
class Counts:
    """What a build found: merge outcomes (new, updated); unchanged and rejected, of the dumps on disk."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: its counts by outcome, the dumps it rejected and why, the files it read."""

    counts: Counts = Counts()
    rejections: tuple[Rejection, ...] = ()
    files: int = 0
    rederived: bool = False  # the rules or the normaliser changed: every dump on disk was read again
    kept: int = 0  # entries derived under earlier rules, kept as stored: their dumps are gone
    empty_inputs: tuple[Path, ...] = ()  # input folders that hold no dump at all: a scraper writing elsewhere?


@dataclass
class _Tally:
    """What an ingest has done so far, as it goes: made into the frozen report when it is done."""

    new: int = 0
    updated: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        if outcome == "new":
            self.new += 1
        elif outcome == "updated":
            self.updated += 1


# -- the worker side: a task carries its data, paths in, entries out ------------------------------


@dataclass(frozen=True)
class Deriving:
    """What a worker needs to turn a dump into an entry: made once a worker (a `Setup`)."""

    normaliser: Normaliser
    topics: tuple[Matcher, ...]
    folder: str  # the build's working folder, against which relative dump paths are opened


def _deriving(rules: Rules, topics: tuple[Topic, ...], known_domains: frozenset[str], folder: str) -> Deriving:
    from feedtool.derive.normalise import Normaliser

    return Deriving(Normaliser(rules, known_domains), matchers(topics), folder)


# What a worker makes of a file's bytes before they are parsed: their hash, or why there is none
# (a Rejection told from its size or mtime, or what the system said when it could not be read).
Hashed: TypeAlias = "tuple[FileStat, str | Rejection]"
# A dump to parse: its path and stat as listed, and the entry it belongs to when that is known
# already (the same bytes seen before, or only the cleaning rules changed).
Job: TypeAlias = "tuple[FileStat, str | None]"
# What a worker made of it: the entry or the rejection, and its topics; or, for a file that
# could no longer be read, what the system said.
Derived: TypeAlias = "tuple[FileStat, Entry | Rejection | str, tuple[str, ...]]"


def _hash(deriving: Deriving, stat: FileStat) -> Hashed:
    """A file's hash, in a worker: the build process asks the store whether it saw these bytes
    before (a copy, a moved dump) and sends on for parsing only what it did not."""
    try:
        data = _read(os.path.join(deriving.folder, stat.path), stat, deriving.normaliser.rules.limits.max_dump_bytes)
    except OSError as exc:
        return stat, exc.strerror or str(exc)
    except Rejected as exc:  # told from its size or mtime: not read, not hashed
        return stat, Rejection(stat.path, "", exc.reason)
    return stat, hashlib.sha256(data).hexdigest()


def _derive(deriving: Deriving, job: Job) -> Derived:
    """One dump read and made an entry, in a worker: no store, only the file and the rules."""
    stat, canonical = job
    normaliser = deriving.normaliser
    try:
        data = _read(os.path.join(deriving.folder, stat.path), stat, normaliser.rules.limits.max_dump_bytes)
    except OSError as exc:  # gone, or made unreadable, since it was hashed
        return stat, exc.strerror or str(exc), ()
    except Rejected as exc:  # it grew past the limit since it was hashed
        return stat, Rejection(stat.path, "", exc.reason), ()
    result = normaliser.file(data, stat.path, canonical)
    if isinstance(result, Rejection):
        return stat, result, ()
    return stat, result, topics_of(deriving.topics, result.outlet, result.search_text)


# -- the main side --------------------------------------------------------------------------------


def ingest(
    store: Store,
    config: Config,
    *,
    progress: Progress | None = None,
    workers: Workers | None = None,
    rederive: bool = False,
    rescan: bool = False,
) -> IngestReport:
    """Read new and changed dumps into the store.

    When what entries are derived with changed (cleaning, URL or outlet rules; the normaliser's
    code) or `rederive` is asked for, every dump still on disk counts as changed: the store drops
    the stale rows from its file index. A run stopped midway leaves the rest stale, so the next one
    carries on; the result is the store a build from nothing would make, plus the entries whose
    dumps are gone, kept as they were.

    Only folders changed since the last build are listed (ingest/scan.py); `rescan` lists them all.
    """
    tally = _Tally()
    rederived = store.begin_derivation(derivation_key(config.rules), identity_key(config.rules), force=rederive)
    cutoff = iso(now() - timedelta(days=config.keep_days)) if config.keep_days else None
    with store.transaction():
        store.keep_since(cutoff)
    _refresh_topics(store, config)
    marks = {} if rescan else store.folder_marks()
    known_domains = store.known_domains()
    # A build that lists every folder (the first, or a rescan) is likely a large one: its workers
    # start before the listing, which at a million dumps is hundreds of megabytes they need not map.
    setup = Setup("ingest", _deriving, (config.rules, config.topics, known_domains, os.getcwd()))
    pools = workers or Workers()
    with pools.early(setup, when=fork_early("ingest", lists_every_folder=not marks)):
        found = scan(
            config.inputs, marks, store.rejected_paths(), now_ns=time.time_ns(), follow_links=config.follow_links,
            listing=(lambda folder: None) if rescan else store.folder_listing,
        )  # fmt: skip
        files = found.files  # counted before the listing is let go, below
        for name in found.unnamed:
            _reject_unnamed(name, tally)
        stats, unlisted = store.unmatched(
            found.listed + found.rechecked, found.listed_in, [p for p, _, _ in found.rechecked] + found.named
        )
        changed = [FileStat(*stat) for stat in stats]
        _, under_gone = store.unmatched([], found.gone_folders) if found.gone_folders else ((), [])
        gone = [path for path in unlisted if found.listed_above(path)] + found.gone + under_gone
        del found.listed[:]  # before a pool forks: at a million dumps, hundreds of megabytes
        changed.sort(key=lambda stat: stat.path)
        done = files - len(changed)  # for the progress bar; the counts are made at the end

        def advance(read: int) -> None:
            nonlocal done
            done += read
            if progress:
                progress(done, files)

        # One pool for both of ingest's maps (hashing, parsing), started unless a pool is lent already
        # or the work is too little for one: two would cost two pools' start.
        with pools.early(setup, when=pools.worth_a_pool(len(changed))):
            unread = _ingest_changed(store, changed, tally, advance, setup=setup, workers=pools, cutoff=cutoff)
    for path in unread:
        found.unmark(path)
    if gone:  # after the new files, so that a moved dump is still known by its hash
        with store.transaction():
            store.forget_files(gone)
    kept = store.finish_derivation()
    if found.marks != marks or found.listings:  # a folder gone, or out of the inputs, changes the marks
        with store.transaction():
            store.set_folder_marks(found.marks)
            store.set_folder_listings(found.listings, found.reached)
    empty = [os.path.abspath(folder) for folder in found.empty_inputs]
    if store.empty_inputs() != empty:
        with store.transaction():
            store.set_empty_inputs(empty)
    # What is on disk now, not what this run happened to read: every rejected dump counts, on every
    # run, until it is fixed or deleted (so --strict keeps failing while one remains).
    rejected = store.rejected_count()
    unchanged = max(0, files - tally.new - tally.updated - rejected)
    return IngestReport(
        Counts(tally.new, tally.updated, unchanged, rejected + len(found.unnamed)), tuple(tally.rejections),
        files=files, rederived=rederived, kept=kept, empty_inputs=tuple(found.empty_inputs),
    )  # fmt: skip


def _ingest_changed(
    store: Store,
    stats: list[FileStat],
    tally: _Tally,
    advance: Callable[[int], None],
    *,
    setup: Setup[Deriving],
    workers: Workers,
    cutoff: str | None,
) -> list[str]:
    """Hash the changed files, then parse those with new content, in the workers; merge the
    results in batches, in path order.

    Tasks carry paths and stats, never bytes: the workers read the files (through the same
    paths, on a cluster's shared filesystem). Bytes the store has seen under another path (a
    copy, a moved dump) are recorded against the same entry instead of being parsed.
    Returns the files that could not be read.
    """
    unread: list[str] = []
    rules, _, known_domains, _ = setup.args  # the rules, topics, domains known so far, folder
    found_domains: set[str] = set()
    # Dumps read again under new cleaning rules with the identity rules unchanged keep their ids.
    ids = store.stale_ids() if store.stale_entries() else {}
    # Beside the parsing on the same workers: a dump that kills its worker breaks a local pool for
    # both maps, and the hashes in flight then are made again, one a process.
    hashed = workers.map(_hash, stats, setup=setup, chunksize=256, on_crash=_unhashed)

    def new_content() -> Iterator[Job]:
        """The files to parse, as their hashes come in; copies and unreadable files dealt with here."""
        for batch in batched(hashed, BATCH):
            copies: list[tuple[FileStat, str, Known]] = []
            rejected: list[tuple[FileStat, Entry | Rejection, tuple[str, ...]]] = []
            parse: list[Job] = []
            seen = store.known(sha256 for _, sha256 in batch if isinstance(sha256, str) and len(sha256) == 64)
            for stat, sha256 in batch:
                if isinstance(sha256, Rejection):
                    rejected.append((stat, sha256, ()))
                elif len(sha256) != 64:  # what the system said
                    log.warning("%s: cannot read: %s", stat.path, sha256)
                    unread.append(stat.path)
                elif (known := seen.get(sha256)) is not None and known.inert(stat, sha256):
                    copies.append((stat, sha256, known))
                else:
                    canonical = ids.get((stat.path, stat.size, stat.mtime_ns))
                    parse.append((stat, canonical or (known.entry_id if known is not None else None)))
            _merge(store, rejected, tally, None)
            _record_copies(store, copies, tally)
            advance(len(batch) - len(parse))
            yield from parse  # never from inside a transaction: the merges below open their own

    # A worker stuck past twice a dump's time (in C code, where its own deadline cannot reach) is
    # ended by its watch, and the dump rejected: see derive/limits.py.
    results = workers.map(
        _derive, new_content(), setup=setup, count=len(stats), chunksize=32, on_crash=_crashed,
        job_seconds=2 * rules.limits.dump_seconds + 1,
    )  # fmt: skip
    for batch in batched(results, BATCH):
        merged: list[tuple[FileStat, Entry | Rejection, tuple[str, ...]]] = []
        for stat, result, topics in batch:
            if isinstance(result, str):
                log.warning("%s: cannot read: %s", stat.path, result)
                unread.append(stat.path)
                continue
            if isinstance(result, Entry) and result.outlet_domain:
                found_domains.add(result.outlet_domain)
            merged.append((stat, result, topics))
        _merge(store, merged, tally, cutoff)
        advance(len(batch))
    if not found_domains <= known_domains:
        with store.transaction():
            store.remember_domains(known_domains | found_domains)
    return unread


def _unhashed(stat: FileStat, what: str) -> Hashed:
    """A file whose hashing ended its worker process: left unread, for the next build to try."""
    return stat, f"hashing it {what}"


def _crashed(job: Job, what: str) -> Derived:
    """The result of a dump whose worker process died on it, or was ended for overrunning."""
    stat, _ = job
    try:
        with open(stat.path, "rb") as fh:
            sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        sha256 = ""
    return stat, Rejection(stat.path, sha256, f"reading it {what}"), ()


def _read(path: str, stat: FileStat, limit: int) -> bytes:
    """A dump's bytes, never more than `limit` of them in memory (Rejected past it, or for an mtime
    the store cannot hold)."""
    if stat.mtime_ns >= MTIME_MAX:
        raise Rejected("its modification time is past the year 2262; set it right (touch the file) to publish it")
    if stat.size > limit:
        raise Rejected(too_large(stat.size, limit))
    with open(path, "rb") as fh:
        # Its listed size and a byte more, not the limit: a read of n bytes allocates n at first.
        data = fh.read(stat.size + 1)
        if len(data) > stat.size:  # it grew since it was listed
            data += fh.read(limit + 1 - len(data))
    if len(data) > limit:
        raise Rejected(too_large(len(data), limit))
    return data


def _reject_unnamed(name: str, tally: _Tally) -> None:
    reason = "its name is not UTF-8, which the store cannot keep; rename it to publish it"
    log.warning("%s: rejected: %s", name, reason)
    tally.rejections.append(Rejection(name, "", reason))


def _record_copies(store: Store, copies: list[tuple[FileStat, str, Known]], tally: _Tally) -> None:
    if not copies:
        return
    with store.transaction():
        for stat, sha256, known in copies:
            # Undated, a copy's claim on the date is its own first sighting, not its original's.
            undated = known.published_rank == DateSource.FIRST_SEEN
            store.add_copy(stat, sha256, known, first_seen(stat.mtime_ns) if undated else known.published)
            log.info("%s: same content as a file seen before", stat.path)
            if known.rejected:
                tally.rejections.append(Rejection(stat.path, sha256, known.rejected))
            for warning in json.loads(known.warnings):
                log.warning("%s: %s", stat.path, warning)


def _merge(
    store: Store,
    batch: list[tuple[FileStat, Entry | Rejection, tuple[str, ...]]],
    tally: _Tally,
    cutoff: str | None,
) -> None:
    if not batch:
        return
    with store.transaction():
        scrapes: list[tuple[FileStat, Entry, tuple[str, ...]]] = []
        for stat, result, topics in batch:
            if isinstance(result, Rejection):
                store.add_rejection(stat, result)
                tally.rejections.append(result)
                log.info("%s: rejected: %s", stat.path, result.reason)
            else:
                scrapes.append((stat, result, topics))
        for (stat, entry, _), outcome in zip(scrapes, apply_batch(store, scrapes, cutoff), strict=True):
            tally.count(outcome)
            for warning in entry.warnings:
                log.warning("%s: %s", stat.path, warning)
            log.info("%s: %s %s", stat.path, outcome, entry.id)


def _refresh_topics(store: Store, config: Config) -> None:
    """Topic membership is kept per entry; when the topic rules change, every entry is matched again."""
    wanted = json.dumps([asdict(t) for t in config.topics], ensure_ascii=False, sort_keys=True)
    if store.topics_matched() == wanted:
        return
    topic_matchers = matchers(config.topics)
    with store.transaction():
        assignments = [
            (entry_id, topics_of(topic_matchers, outlet, text)) for entry_id, outlet, text in store.search_texts()
        ]
        store.replace_topics(wanted, assignments)
