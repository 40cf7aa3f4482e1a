"""feedtool from Python: an archive (its dumps, its store, its published feeds) as one object.

    import feedtool

    archive = feedtool.open_archive("feedtool.toml")
    report = archive.build()
    for hit in archive.search("台湾 选举").hits:
        print(hit.entry.published, hit.entry.title)
    archive.prune(url="https://www.rfi.fr/cn/…")
    print(archive.stats().entries)

As `reader.make_reader()` or `sqlite_utils.Database` are: every method opens the store for its own
work and closes it, so an `Archive` may be kept for a program's life; a build takes the store's
lock, so a method that writes waits for a cron run in progress (up to `[store] lock_timeout`) and
then raises `LockHeld`. Failures are feedtool's typed errors (`FeedtoolError` and its kinds), the
store's own translated at its edge; the `feedtool` command is a client of these methods.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from feedtool.config import Config, load_config
from feedtool.errors import ConfigError, FeedtoolError, InputError

if TYPE_CHECKING:  # the store and the build load with their first use: `import feedtool` stays light
    from feedtool.build import BuildReport
    from feedtool.health.verdicts import InputHealth, OutletHealth
    from feedtool.ingest.run import IngestReport
    from feedtool.publish.run import PublishReport
    from feedtool.search.hits import Hit, Results, Search
    from feedtool.store import Prune, Store
    from feedtool.web.server import Server

Progress = Callable[[int, int], None]  # (done, total), called as a stage goes


@dataclass(frozen=True)
class OutletCount:
    slug: str
    name: str
    entries: int
    newest: str  # the newest entry's publication time (ISO 8601, UTC)


@dataclass(frozen=True)
class Stats:
    """What the store holds: counts as of the last build."""

    entries: int
    indexed: int  # entries in the full-text index: equal to entries, or a build is due
    pruned: int  # entries prunes keep out
    files: int  # dump files read
    rejected: int  # of them, rejected
    store_bytes: int
    outlets: tuple[OutletCount, ...]
    topics: tuple[tuple[str, int], ...]  # (topic slug, entries)
    stories: int = 0  # stories of several outlets' reports of one event
    story_outlets: tuple[tuple[int, int], ...] = ()  # (outlets a story spans, how many stories span that many)

    def as_json(self) -> dict[str, object]:
        """The shape `feedtool stats --json` prints."""
        return {
            "entries": self.entries, "indexed": self.indexed, "pruned": self.pruned, "files": self.files,
            "rejected": self.rejected,
            "outlets": {o.slug: {"name": o.name, "entries": o.entries, "newest": o.newest} for o in self.outlets},
            "topics": dict(self.topics), "store_bytes": self.store_bytes,
            "stories": {"stories": self.stories, "outlets": {str(n): count for n, count in self.story_outlets}},
        }  # fmt: skip


@dataclass(frozen=True)
class Reject:
    """A dump on disk that cannot become an entry, with the reason a person reads."""

    path: str
    reason: str


@dataclass(frozen=True)
class PruneReport:
    prune: Prune  # as recorded: `Prune.id` is what `lift_prune` takes
    removed: int  # entries it took out of the store now
    address_known: bool  # for a prune by URL: whether an entry had that address (else it waits for one)


@dataclass(frozen=True)
class Health:
    """Whether each outlet's scraper still works, judged at `at` against the outlet's own history,
    and whether each input folder holds dumps (`feedtool health`)."""

    at: datetime
    outlets: tuple[OutletHealth, ...]
    inputs: tuple[InputHealth, ...]
    rejected: int  # rejected dumps on disk, as of the last build

    @property
    def trouble(self) -> str | None:
        """One line naming what is flagged, or None when all is well."""
        from feedtool.health import verdicts as health

        return health.trouble(list(self.outlets), list(self.inputs))

    def as_json(self) -> dict[str, object]:
        """The shape `feedtool health --json` prints."""
        from feedtool.health import verdicts as health

        return {"now": self.at.isoformat(), **health.as_json(list(self.outlets), list(self.inputs))}

    def lines(self, *, quiet: bool = False) -> list[str]:
        """The report as `feedtool health` prints it; `quiet`: only what is flagged."""
        from feedtool.health import verdicts as health

        return health.as_lines(list(self.outlets), list(self.inputs), quiet)

    def write_metrics(self, path: Path) -> None:
        """The report as Prometheus metrics, in node_exporter's textfile format, written whole."""
        from feedtool.health import verdicts as health

        try:
            health.write_metrics(list(self.outlets), list(self.inputs), self.rejected, path)
        except OSError as exc:
            raise FeedtoolError(f"cannot write {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class CheckReport:
    """Every published document read back as a reader would (`feedtool check`)."""

    folder: Path
    problems: tuple[str, ...]  # one line each, naming the document
    checked: int  # documents read
    base_url: str | None  # the address the output's links are under, as its all-outlets feed says

    @property
    def local_only(self) -> bool:
        """Whether the output's links reach only this machine (published for `feedtool serve` here)."""
        from feedtool.publish.check import local_only

        return self.base_url is not None and local_only(self.base_url)


def open_archive(
    config: str | os.PathLike[str] | Config | None = None,
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    output: str | os.PathLike[str] | None = None,
    store: str | os.PathLike[str] | None = None,
    base_url: str | None = None,
    executor: str | None = None,
) -> Archive:
    """The archive a config file describes (None: the built-in defaults: dumps in `seeds/`, output
    in `out/`), with these settings overriding the file's, as the command line's options do."""
    if isinstance(config, Config):
        loaded = config
    else:
        loaded = load_config(
            Path(config) if config is not None else None, inputs=tuple(Path(p) for p in inputs),
            output=Path(output) if output is not None else None, store=Path(store) if store is not None else None,
            base_url=base_url, executor=executor,
        )  # fmt: skip
    return Archive(loaded)


class Archive:
    """An archive of dumps, its store and its published feeds; see the module's docstring."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def build(
        self,
        *,
        ingest: bool = True,
        publish: bool = True,
        rederive: bool = False,
        rescan: bool = False,
        workers: int | None = None,
        ingest_progress: Progress | None = None,
        publish_progress: Progress | None = None,
    ) -> BuildReport:
        """Read new and changed dumps into the store, then publish what changed (`ingest`, `publish`:
        either stage alone). `rederive`: every entry derived again from its dumps; `rescan`: every
        folder listed, also those unchanged since the last build; `workers`: processes (1: none)."""
        from feedtool.build import build

        return build(
            self.config, do_ingest=ingest, do_publish=publish, ingest_progress=ingest_progress,
            publish_progress=publish_progress, workers=workers, rederive=rederive, rescan=rescan,
        )  # fmt: skip

    def ingest(
        self, *, rederive: bool = False, rescan: bool = False, workers: int | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:  # fmt: skip
        """Read new and changed dumps into the store; publish nothing (`feedtool ingest`)."""
        report = self.build(publish=False, rederive=rederive, rescan=rescan, workers=workers, ingest_progress=progress)
        assert report.ingest is not None
        return report.ingest

    def publish(self, *, workers: int | None = None, progress: Progress | None = None) -> PublishReport:
        """Write what changed in the store to the output; read no dumps (`feedtool publish`)."""
        report = self.build(ingest=False, workers=workers, publish_progress=progress)
        assert report.publish is not None
        return report.publish

    def search(
        self,
        query: str | None = None,
        *,
        outlets: tuple[str, ...] = (),
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Results:
        """Stored entries matching `query` (words, "a phrase", OR, NOT or -word, brackets, word*; None:
        every entry), newest first: a page of `limit` of them (200 at most), from the newest or
        from `cursor` (a page's `Results.next` or `.previous`), less the first `offset`.
        Raises ConfigError for a query or cursor that cannot be used, saying why."""
        from feedtool.search.hits import MAX_LIMIT, search

        if not 1 <= limit <= MAX_LIMIT:
            raise ConfigError(f"a search shows 1 to {MAX_LIMIT} entries at once, not {limit}")
        asked = self._asked(query, outlets, topic, since, until, limit, offset, cursor)
        with self._store() as store:
            return search(store, asked, self._zones())

    def hits(
        self,
        query: str | None = None,
        *,
        outlets: tuple[str, ...] = (),
        topic: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> Iterator[Hit]:
        """Every stored entry matching `query` (or the first `limit`), newest first, as `search`
        finds them: read a page (200) at a time, each page as the store stood when it was read, so
        a build may commit between two. Each match is given once: one that a build adds newer than
        the last page read is not, one older is when its turn comes (an entry whose publication
        time a build changes may move past the place reached, or back before it). Raises
        ConfigError as `search` does, when called."""
        from feedtool.search.hits import MAX_LIMIT

        if limit is not None and limit < 1:
            raise ConfigError(f"a search shows at least one entry, not {limit}")
        first = min(limit, MAX_LIMIT) if limit is not None else MAX_LIMIT
        return self._every_page(self._asked(query, outlets, topic, since, until, first, 0, None), limit)

    def _every_page(self, asked: Search, limit: int | None) -> Iterator[Hit]:
        from feedtool.search.hits import MAX_LIMIT, search

        zones, left = self._zones(), limit
        with self._store() as store:
            while True:
                with store.snapshot():
                    found = search(store, asked, zones)
                yield from found.hits
                left = None if left is None else left - len(found.hits)
                if found.next is None or left == 0:
                    return
                asked = replace(asked, cursor=found.next, limit=min(left, MAX_LIMIT) if left is not None else MAX_LIMIT)

    def _asked(
        self, query: str | None, outlets: tuple[str, ...], topic: str | None, since: datetime | None,
        until: datetime | None, limit: int, offset: int, cursor: str | None,
    ) -> Search:  # fmt: skip
        """The search asked, checked: ConfigError, saying why, for a query or cursor that cannot be used."""
        from feedtool.search.hits import Search
        from feedtool.search.language import QueryError

        asked = Search(
            query, outlets=outlets, topic=topic, since=_utc(since), until=_utc(until), limit=limit, offset=offset,
            cursor=cursor,
        )  # fmt: skip
        try:
            asked.parsed()
            asked.position()
        except QueryError as exc:
            raise ConfigError(f"cannot search for {query!r}: {exc}") from None
        return asked

    def _zones(self) -> dict[str, str]:
        """Each configured outlet's time zone, where its pages show its entries' times."""
        return {outlet.slug: outlet.timezone for outlet in self.config.rules.outlets}

    def stats(self) -> Stats:
        """What the store holds: entries, files read and rejected, the index, outlets and topics."""
        with self._store() as store:
            counted = store.stats()
        number = {key: value for key, value in counted.items() if isinstance(value, int)}
        outlets = cast(dict[str, dict[str, Any]], counted["outlets"])
        sizes = cast(dict[int, int], counted["stories"])
        return Stats(
            entries=number["entries"], indexed=number["indexed"], pruned=number["pruned"], files=number["files"],
            rejected=number["rejected"], store_bytes=number["store_bytes"],
            outlets=tuple(OutletCount(slug, o["name"], o["entries"], o["newest"]) for slug, o in outlets.items()),
            topics=tuple(cast(dict[str, int], counted["topics"]).items()),
            stories=sum(sizes.values()), story_outlets=tuple(sorted(sizes.items())),
        )  # fmt: skip

    def rejects(self) -> list[Reject]:
        """Every rejected dump on disk (as of the last build), by path."""
        with self._store() as store:
            return [Reject(path, reason) for path, reason in store.rejects()]

    def prune(
        self, *, before: datetime | None = None, outlet: str | None = None, url: str | None = None
    ) -> PruneReport:
        """Remove entries for good: no later build publishes them while the prune stands. The
        conditions given must all hold (before a day, of an outlet, or one article by any of its
        addresses). The feeds change at the next publish; dump files are not touched."""
        if before is None and outlet is None and url is None:
            raise ConfigError("say what to prune: entries published before a day, of an outlet, or one URL")
        entry_id = _canonical(self.config, url) if url is not None else None
        with self._store(writing=True) as store:
            if outlet is not None and outlet not in (known := _outlets(self.config, store)):
                raise ConfigError(f"no outlet {outlet!r}; known outlets: {', '.join(sorted(known))}")
            with store.transaction():
                known_address = entry_id is None or bool(store.entries([entry_id]))
                made, removed = store.add_prune(before=_utc(before), outlet=outlet, url=entry_id)
        return PruneReport(made, removed, known_address)

    def health(self) -> Health:
        """Each outlet judged against its own history, now (FEEDTOOL_NOW, else the clock)."""
        from feedtool.clock import now
        from feedtool.health import verdicts as judge

        at = now()
        with self._store() as store:
            histories, rejected = store.histories(judge.RECENT, judge.since_ns(at)), store.rejected_count()
        config = self.config
        outlets = tuple(
            judge.assess(h, at, outlet.expect_every if (outlet := config.outlet(h.outlet)) else None) for h in histories
        )
        return Health(at, outlets, tuple(judge.look_into(self.config.inputs)), rejected)

    def prunes(self) -> list[Prune]:
        """The prunes in force, oldest first."""
        with self._store() as store:
            return store.prunes()

    def lift_prune(self, number: int) -> Prune:
        """Lift a prune (`Prune.id`); the next build brings its entries back."""
        with self._store(writing=True) as store, store.transaction():
            lifted = store.lift_prune(number)
            if lifted is None:
                known = ", ".join(str(p.id) for p in store.prunes()) or "none"
                raise ConfigError(f"no prune {number} (in force: {known})")
            return lifted

    def check(self, output: str | os.PathLike[str] | None = None) -> CheckReport:
        """Read every document under the output folder (or `output`) back and list problems. With
        `[site] base_url` configured, a document published for another address is one."""
        from feedtool.publish.check import check_output, output_base_url

        config = self.config
        folder = Path(output) if output is not None else config.output
        problems, checked = check_output(folder, config.site.base_url if config.base_url_set else None)
        return CheckReport(folder, tuple(problems), checked, output_base_url(folder) if folder.is_dir() else None)

    def server(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        output: str | os.PathLike[str] | None = None,
        access_log: bool = False,
    ) -> Server:
        """`feedtool serve`: the output folder over HTTP, and query feeds and search from the store
        when there is one; bound to host:port now, served by `run()`. Logs a warning (logger
        "feedtool") when there is no store, or the output was published for another address."""
        import logging

        from feedtool.web.answers import Archive as Answers
        from feedtool.web.app import App
        from feedtool.web.server import make_server

        log, config = logging.getLogger("feedtool"), self.config
        folder = Path(output) if output is not None else config.output
        if not folder.is_dir():
            raise InputError(f"output folder {folder} does not exist; run 'feedtool build' first")
        answers = Answers(config) if config.store.is_file() else None
        if answers is None:
            log.warning("no store at %s: the feeds are served, but not search or query feeds", config.store)
        server = make_server(App(folder, answers), host, port, access_log=access_log)
        published = self._published_base_url()
        if published is not None and published != server.base_url:
            # Every link in the feeds is absolute: a reader subscribed here would be sent there.
            log.warning(
                "the output was published for %s, not %s; to serve it here, run 'feedtool build --base-url %s'",
                published, server.base_url, server.base_url,
            )  # fmt: skip
        return server

    def _published_base_url(self) -> str | None:
        """The base URL the store says the output was last published under (None: no store, or unreadable)."""
        try:
            with self._store() as store:
                return store.published_base_url()
        except FeedtoolError:
            return None  # serving does not need the store: `feedtool stats` says what is wrong with it

    @contextmanager
    def _store(self, *, writing: bool = False) -> Iterator[Store]:
        """The store, open for one method's work; a missing one is an error, not a new empty store.
        Writing, under the build's lock. (The store raises only StoreError: store/boundary.py.)"""
        from feedtool.build import locked
        from feedtool.store import Store

        config = self.config
        if not config.store.is_file():
            raise FeedtoolError(f"no store at {config.store}; run 'feedtool build' first")
        if writing:
            with locked(config), Store(config.store, root=config.root) as store:
                yield store
        else:
            with Store(config.store, root=config.root) as store:
                yield store


def _utc(day: datetime | None) -> datetime | None:
    """A time without a zone is UTC, as the command line's days are."""
    return day.replace(tzinfo=UTC) if day is not None and day.tzinfo is None else day


def _outlets(config: Config, store: Store) -> set[str]:
    return {o.slug for o in config.rules.outlets} | set(store.outlets())


def _canonical(config: Config, url: str) -> str:
    """An article's id from any of its addresses, as a build would make it."""
    from feedtool.derive.urls import Canonicaliser, check_http_url
    from feedtool.errors import Rejected

    try:
        check_http_url(url)
        return Canonicaliser(config.rules).canonicalise(url)
    except Rejected as exc:
        raise ConfigError(f"--url: {exc.reason}") from None
