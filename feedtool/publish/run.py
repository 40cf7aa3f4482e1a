"""The store -> files under out/, writing only what changed, each file whole or not at all.

Every entry is rendered once per format into a fragment kept in the store (publish/feeds.py explains
why that gives the same bytes), and re-rendered only when it, its topics or the config change;
a document is assembled from its entries' fragments. So feedgen's work follows the entries that
changed; a document holding a changed entry costs a header and a join of stored bytes.

Every document has a fingerprint of all it is made from (its entries' fragment keys, its archive
links, the site config). A document whose fingerprint is unchanged, and whose file still has
the size and mtime recorded when it was written, is not assembled at all; an assembled document
whose bytes equal the file on disk is not written. So a build over unchanged input writes
nothing, not even an mtime, and web servers keep their ETag and Last-Modified.

Files are written to a temporary name in the same folder and moved into place with os.replace:
a reader never fetches a torn document. Temporary files a killed run left behind are removed by
the next one, and never listed anywhere.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from itertools import chain
from pathlib import Path

from feedtool.config import Config
from feedtool.errors import PublishError
from feedtool.models import Format, Progress, StoredEntry
from feedtool.publish.decision import PublishState, decide, facts_of
from feedtool.publish.feeds import FILENAMES, OutletInfo, Page, Renderer
from feedtool.publish.pages import Pages
from feedtool.publish.plan import Plan, by_change, config_digest, digest, feed_folders, whole
from feedtool.publish.site import FeedSummary, opml, static_files
from feedtool.store import Store, Unpacker, from_iso, split_markup, stored_key
from feedtool.workers import Setup, Workers, batched, fork_early

log = logging.getLogger("feedtool")

TEMP_SUFFIX = ".feedtool-tmp"
OPML_NAME = "feeds.opml"
PAGES_PER_TRANSACTION = 100
FRAGMENTS_PER_JOB = 50  # entries a worker renders in one feedgen document
FRAGMENT_KEYS_READ = 5_000  # entries whose stored fragment keys are read at once
DOCUMENT_WEIGHT = 3  # a document's assembly (a page of fragments, in every format) costs about three dump parses
INDEX_NAME = FILENAMES["html"]


_Job = tuple[Page, str, tuple[Format, ...]]  # a page to write, its fingerprint, and in which formats
_NO_OUTLET = OutletInfo("", "", "", "")  # a story's: it is of several


@dataclass(frozen=True)
class PublishReport:
    """What a publish did: the documents written (paths under the output), those left as they
    were, those removed."""

    written: tuple[str, ...] = ()
    unchanged: int = 0
    removed: tuple[str, ...] = ()
    moved_from: str | None = None  # the base URL the output was published under before, when this run changed it


@dataclass
class _Tally:
    """What a publish has done so far, as it goes: made into the frozen report when it is done."""

    written: list[str] = field(default_factory=list)
    unchanged: int = 0


def outlet_infos(config: Config, stored: Mapping[str, tuple[str, str, str]]) -> dict[str, OutletInfo]:
    """Outlets as stored (names seen in dumps), with the config's registry taking precedence.

    One no rule lists speaks the site's language now, as its entries do (derive/outlets.py), not
    the one stored when its first entry came: the site's may have changed since.
    """
    infos = {}
    for slug, (name, homepage, _) in stored.items():
        known = config.outlet(slug)
        if known is None:
            infos[slug] = OutletInfo(slug, name, homepage, config.site.language)
        else:
            homepage = known.homepage or homepage
            infos[slug] = OutletInfo(slug, known.name, homepage, known.language, known.icon, known.timezone)
    return infos


def read_state(store: Store) -> PublishState:
    """What the store says of the output, in one snapshot: each a small read (the log of changes
    is empty after a publish)."""
    with store.snapshot():
        changes, stories = store.changes(), store.story_changes()
        return PublishState(
            documents=store.documents(), generation=store.generation(), marker=store.published_marker(),
            config=store.published_config(), newest=store.published_newest(), changes=changes,
            placed=store.placed(list(changes)) if changes is not None else {}, heads=store.heads(),
            outlets=store.outlets(), stories=stories, dated=store.story_dates(list(stories or ())),
        )  # fmt: skip


def publish(
    store: Store, config: Config, *, progress: Progress | None = None, workers: Workers | None = None
) -> PublishReport:
    """Publish what changed, on the build's workers (a pool it started early is lent to every map)."""
    pools = workers or Workers()
    out = config.output
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"cannot create the output folder {out}: {exc.strerror}") from None
    read = read_state(store)
    state = dict(read.documents)
    html = Pages(config.site, config.formats, config.templates)
    shaped_by = config_digest(config, html)
    published_as = digest([read.generation, shaped_by])
    infos = outlet_infos(config, read.outlets)
    facts = facts_of(
        read, published_as=published_as, shaped_by=shaped_by, intact=_all_intact(out, state),
        feeds=feed_folders(config, infos),
    )  # fmt: skip
    mode = decide(facts)
    if mode == "nothing":
        return PublishReport(unchanged=len(state))
    # The marker goes until this run finishes. Stopped midway, it leaves documents made from this
    # config; were the config then put back, the old marker would match again and keep them.
    # So too its temporary files, which only a run that got this far can have left: the next run
    # finds no marker, and removes them here. After a run that finished there are none, and the
    # output, a hundred thousand files at a million entries, is not walked.
    with store.transaction():
        store.set_published_marker("")
    if not read.marker:
        _remove_temporaries(out)

    html.check()  # a broken template is one line now, not an error in a worker later
    if mode == "by_change":
        assert read.changes is not None and read.stories is not None
        stories = (dict(read.stories), dict(read.dated))
        plan = by_change(config, store, infos, html, dict(read.changes), dict(read.heads), dict(read.placed), stories)
        return _publish(store, config, plan, state, html, (pools, infos), (shaped_by, published_as), progress)
    # Likewise the config a whole publish stopped midway leaves documents of: no longer the one
    # of the last complete publish, and the next one plans whole too.
    with store.transaction():
        store.forget_published_config()
    # The workers start before the whole plan, which holds a key per entry: forked after it, each
    # would map it too.
    with pools.early(rendering(config), when=fork_early("publish", lists_every_folder=False, plans_whole=True)):
        plan = whole(config, store, infos, html)
        return _publish(store, config, plan, state, html, (pools, infos), (shaped_by, published_as), progress)


def _publish(
    store: Store, config: Config, plan: Plan, state: dict[str, tuple[str, int, int]], html: Pages,
    pooled: tuple[Workers, dict[str, OutletInfo]], markers: tuple[str, str], progress: Progress | None,
) -> PublishReport:  # fmt: skip
    """The documents of a plan written where they changed, and those no longer wanted removed.

    `pooled`: the build's workers, and the outlets as the documents show them, which every
    rendering job carries (a worker started before ingest could not have known them).
    """
    out = config.output
    pool, infos = pooled
    setup = rendering(config)
    kinds: tuple[Format, ...] = (*config.formats, "html")
    tally = _Tally()
    wanted: set[str] = set()

    def needs(path: str, fingerprint: str) -> bool:
        wanted.add(path)
        known = state.get(path)
        return known is None or known[0] != fingerprint or not _intact(out, path, known)

    jobs: list[_Job] = []
    for page, fingerprint in plan.pages:
        stale = tuple(fmt for fmt in kinds if needs(page.path(fmt), plan.fingerprint(fingerprint, fmt)))
        tally.unchanged += len(kinds) - len(stale)
        if stale:
            jobs.append((page, fingerprint, stale))
    rerender, formats = _stale_fragments(store, plan, jobs)
    site = list(_site_documents(config, store, plan, html, infos))
    # Every file this run may write for the first time is recorded before it is written. Killed
    # after writing it and before recording what it wrote, the run leaves a record that matches no
    # file, so the next run plans whole (publish/decision.py) and removes the file if unwanted.
    with store.transaction():
        new = [page.path(fmt) for page, _, formats in jobs for fmt in formats]
        store.expect_documents(path for path in chain(new, (path for path, _, _ in site)) if path not in state)
    # One pool for both maps, when their work together is worth starting one: apart, each might be
    # too little (a cron run's hundred fragments, then its fifty documents), and each would start its own.
    with pool.early(setup, when=pool.worth_a_pool(len(rerender) + DOCUMENT_WEIGHT * len(jobs))):
        _refresh_fragments(store, plan, pool, (setup, infos), sorted(rerender), formats)
        _write_documents(store, plan, pool, (setup, infos), jobs, tally, progress)
    shaped_by, published_as = markers
    with store.transaction():
        for path, fingerprint, render in site:
            if needs(path, fingerprint):
                _record(store, tally, path, fingerprint, _put(out, path, render()))
            else:
                tally.unchanged += 1
        gone = set(state) - wanted if plan.whole else {p for p in plan.removed if p in state and p not in wanted}
        removed = tuple(sorted(gone))
        for path in removed:
            _remove(out, out / path)
        store.forget_documents(removed)
        store.published_all(plan.heads, plan.layouts, whole=plan.whole, config=shaped_by, newest=plan.newest)
        before = store.published_base_url()
        moved = before != config.site.base_url
        if moved:
            store.set_published_base_url(config.site.base_url)
        store.set_published_marker(published_as)
    return PublishReport(tuple(tally.written), tally.unchanged, removed, before if moved else None)


def _write_documents(
    store: Store, plan: Plan, pool: Workers, shown: tuple[Setup[Rendering], dict[str, OutletInfo]], jobs: list[_Job],
    tally: _Tally, progress: Progress | None,
) -> None:  # fmt: skip
    """Each document of the jobs assembled from its entries' fragments and written, in the pool."""
    setup, infos = shown
    # Workers write the documents themselves: megabytes of feed need not travel back through a pipe.
    # Each job carries its entries' fragments, read here as the workers take the jobs.
    dictionaries: dict[int, bytes] = {}  # read once for the publish, sent by reference
    work = (
        _Assembly(infos, page, formats, _newest(plan, page), *store.packed_fragments(page.ids, dictionaries))
        for page, _, formats in jobs
    )
    files = pool.map(_assemble, work, setup=setup, count=len(jobs), chunksize=4, weight=DOCUMENT_WEIGHT)
    # Documents are recorded in batches: a killed run re-checks at most one batch, by its bytes.
    done = 0
    for batch in batched(zip(jobs, files, strict=True), PAGES_PER_TRANSACTION):
        with store.transaction():
            for (page, fingerprint, formats), puts in batch:
                for fmt, put in zip(formats, puts, strict=True):
                    _record(store, tally, page.path(fmt), plan.fingerprint(fingerprint, fmt), put)
        done += len(batch)
        if progress:
            progress(done, len(jobs))


def _all_intact(out: Path, documents: Mapping[str, tuple[str, int, int]]) -> bool:
    """`_intact` of every document, in one loop: every build stats them all (150,000 at a million
    articles), and a call and a generator's step for each were 70 ms of a build with nothing to do."""
    folder, stat = f"{out}/", os.stat
    for path, (_, size, mtime_ns) in documents.items():
        try:
            st = stat(folder + path)
        except OSError:
            return False
        if st.st_size != size or st.st_mtime_ns != mtime_ns:
            return False
    return True


def _intact(out: Path, path: str, known: tuple[str, int, int]) -> bool:
    """The file is still the one feedtool wrote (same size and mtime), so its bytes need no check."""
    try:
        st = os.stat(f"{out}/{path}")  # not Path: this runs for every document on every build
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == known[1:]


# -- rendering, in workers when there is enough of it: tasks carry their data, none opens the store --


@dataclass(frozen=True)
class Renderers:
    """Both renderers of a publish: the feeds' (feedgen, JSON) and the pages' (Jinja2), by format."""

    feeds: Renderer
    pages: Pages

    def fragments(self, entries: list[StoredEntry], formats: Sequence[Format]) -> dict[Format, list[bytes]]:
        found = self.feeds.fragments(entries, [fmt for fmt in formats if fmt != "html"])
        if "html" in formats:
            outlets = self.feeds.outlets
            found["html"] = [self.pages.entry(e, outlets.get(e.outlet, _NO_OUTLET), outlets) for e in entries]
        return found

    def assemble(self, page: Page, fragments: list[bytes], updated: datetime, fmt: Format) -> bytes:
        if fmt == "html":
            return self.pages.feed_page(page, fragments)
        return self.feeds.assemble(page, fragments, updated, fmt)


@dataclass
class Rendering:
    """A publishing worker's state: the config, its pages' renderer (Jinja2's templates, compiled
    once), where the documents go, and the feeds' renderer for the outlets the last job named."""

    config: Config
    pages: Pages
    out: Path
    made: Renderers | None = None
    unpacker: Unpacker = field(default_factory=Unpacker)  # with the dictionaries the jobs so far carried

    def renderers(self, infos: dict[str, OutletInfo]) -> Renderers:
        if self.made is None or self.made.feeds.outlets != infos:
            topics = {t.slug: t.title for t in self.config.topics}
            self.made = Renderers(Renderer(self.config.site, infos, topics, self.pages.messages), self.pages)
        return self.made


def _rendering(config: Config, folder: str) -> Rendering:
    return Rendering(config, Pages(config.site, config.formats, config.templates), Path(folder, config.output))


def rendering(config: Config) -> Setup[Rendering]:
    """How a publishing worker is set up: from the config alone, so that one started before the
    build ingests (see Workers.early), or on another machine, is set up the same."""
    return Setup("publish", _rendering, (config, os.getcwd()))


# What a worker renders: the outlets shown, the formats, and each entry with its fragment keys.
_Fragments = tuple[dict[str, OutletInfo], tuple[Format, ...], list[tuple[StoredEntry, list[str]]]]


@dataclass(frozen=True)
class _Assembly:
    """A document to write: its page, formats and newest time, with its entries' fragments."""

    infos: dict[str, OutletInfo]
    page: Page
    formats: tuple[Format, ...]
    updated: datetime
    # Each entry's markup row as the store keeps it, compressed (a fifth of the bytes to send), and
    # the dictionaries they name: the worker unpacks them, not the build process.
    rows: dict[str, tuple[str, bytes]]
    dictionaries: dict[int, bytes]


def _stale_fragments(store: Store, plan: Plan, jobs: list[_Job]) -> tuple[set[str], tuple[Format, ...]]:
    """The entries whose fragments the pages to write need and the store lacks or has stale, and
    in which formats to render them.

    An entry stale in one format is rendered in all the formats wanted: rendering Atom and RSS
    together costs little more than one of them.
    """
    # Each entry once, with every format a page of it wants: an entry is on a page of each of its
    # feeds (all, its outlet's, its topics'), and its HTML key is a hash to make.
    wanted: dict[tuple[Format, ...], set[str]] = {}
    for page, _, page_formats in jobs:
        wanted.setdefault(page_formats, set()).update(page.ids)
    formats: set[Format] = set()
    stale: set[str] = set()
    for page_formats, ids in wanted.items():
        # The stored keys a batch at a time: a run that re-scrapes old articles all over the archive
        # reaches pages of most entries, and their keys at once were 700 MB at a million entries.
        for batch in batched(ids, FRAGMENT_KEYS_READ):
            stored = store.fragment_keys(batch)
            for fmt in page_formats:
                missing = {i for i in batch if stored.get((i, fmt)) != stored_key(plan.key(i, fmt))}
                if missing:
                    stale |= missing
                    formats.add(fmt)
    return stale, tuple(sorted(formats))


def _refresh_fragments(
    store: Store, plan: Plan, pool: Workers, shown: tuple[Setup[Rendering], dict[str, OutletInfo]],
    stale: list[str], wanted: tuple[Format, ...],
) -> None:  # fmt: skip
    """Render the stale fragments in the pool, and keep them. The entries are read here, a job's
    worth at a time as the workers take them."""
    setup, infos = shown

    def work() -> Iterator[_Fragments]:  # at a cold build, the keys of every entry in every format
        for batch in batched(stale, FRAGMENTS_PER_JOB):
            found = store.entries(batch)
            yield infos, wanted, [(found[i], [plan.key(i, fmt) for fmt in wanted]) for i in batch]

    rendered = pool.map(
        _render_fragments, work(), setup=setup, chunksize=1,
        count=-(-len(stale) // FRAGMENTS_PER_JOB), weight=FRAGMENTS_PER_JOB,
    )  # fmt: skip
    for batch in batched(rendered, 10):
        with store.transaction():
            for rows in batch:
                store.set_fragments(rows)


def _render_fragments(state: Rendering, job: _Fragments) -> list[tuple[str, str, str, bytes]]:
    """(entry id, format, key, markup) for each entry of the job, in each format, with the keys given."""
    infos, formats, wanted = job
    markup = state.renderers(infos).fragments([entry for entry, _ in wanted], formats)
    return [
        (entry.id, fmt, keys[f], markup[fmt][i])
        for f, fmt in enumerate(formats)
        for i, (entry, keys) in enumerate(wanted)
    ]


def _newest(plan: Plan, page: Page) -> datetime:
    return from_iso(plan.dates.get((page.feed.folder, page.month), plan.newest))


def _assemble(state: Rendering, job: _Assembly) -> list[tuple[bool, int, int]]:
    state.unpacker.carry(job.dictionaries)
    renderers, page = state.renderers(job.infos), job.page
    fragments = {
        entry_id: {fmt: markup for fmt, (_, markup) in split_markup(keys, state.unpacker.unpack(row)).items()}
        for entry_id, (keys, row) in job.rows.items()
    }
    return [
        _put(
            state.out, page.path(fmt), renderers.assemble(page, [fragments[i][fmt] for i in page.ids], job.updated, fmt)
        )
        for fmt in job.formats
    ]


def _site_documents(
    config: Config, store: Store, plan: Plan, html: Pages, infos: dict[str, OutletInfo]
) -> Iterator[tuple[str, str, Callable[[], bytes]]]:
    tops = {folder: [r.id for r in rows] for folder, rows in plan.tops.items()}
    listing = digest([plan.base, [asdict(f) for f in plan.feeds], config.formats, config.opml_format])
    # The index page also shows counts and the newest entries; the OPML only lists the feeds.
    fingerprint = digest(
        [listing, plan.looks, {folder: [(r.id, r.revision) for r in rows] + [plan.sizes[folder]]
                               for folder, rows in plan.tops.items()}],
    )  # fmt: skip

    def summaries() -> list[FeedSummary]:
        found = store.entries(sorted({i for ids in tops.values() for i in ids}))
        return [FeedSummary(f, plan.sizes[f.folder], tuple(found[i] for i in tops[f.folder])) for f in plan.feeds]

    zones = {slug: info.timezone for slug, info in infos.items()}  # in plan.base, so in both fingerprints
    yield OPML_NAME, listing, lambda: opml(config.site, summaries(), config.opml_format, html.messages)
    yield INDEX_NAME, fingerprint, lambda: html.index(summaries(), OPML_NAME, zones)
    for name, data in static_files().items():
        # By content: a release that restyles the pages without a new version must still reach them.
        yield name, hashlib.sha1(data).hexdigest(), partial(bytes, data)


def _put(out: Path, path: str, data: bytes) -> tuple[bool, int, int]:
    """Write a document unless its file already holds these bytes: (written, size, mtime_ns)."""
    target = out / path
    try:
        # The size first: an archive month runs to megabytes, and a changed one rarely keeps its size.
        same = os.stat(target).st_size == len(data) and target.read_bytes() == data
    except OSError:
        same = False
    if not same:
        write_atomic(target, data)
    st = target.stat()
    return not same, st.st_size, st.st_mtime_ns


def _record(store: Store, tally: _Tally, path: str, fingerprint: str, put: tuple[bool, int, int]) -> None:
    written, size, mtime_ns = put
    if written:
        tally.written.append(path)
        log.info("wrote %s", path)
    store.set_document(path, fingerprint, size, mtime_ns)


def write_atomic(target: Path, data: bytes) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}{TEMP_SUFFIX}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as fh:
            fh.write(data)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise PublishError(
            f"cannot write {target}: {exc.strerror}; the files published before are left as they were"
        ) from None


def _remove(out: Path, target: Path) -> None:
    try:
        target.unlink(missing_ok=True)
    except OSError as exc:
        raise PublishError(f"cannot remove {target}: {exc.strerror}") from None
    for parent in target.relative_to(out).parents[:-1]:
        try:
            (out / parent).rmdir()  # only succeeds once a folder is empty
        except OSError:
            break


def _remove_temporaries(out: Path) -> None:
    for folder, _, files in os.walk(out):
        for name in files:
            if name.endswith(TEMP_SUFFIX):
                _remove(out, Path(folder, name))
