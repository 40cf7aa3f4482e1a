"""The archive asked over HTTP: query feeds (a feed's address with a query string) and the search page.

The published files are handed out as they are (files.py); a feed address with RSSHub's parameters
or `q` (search/rsshub.py), and `/search`, are answered here from the store, read-only, while builds
go on beside: SQLite's write-ahead log gives each request the store as the last build committed
it, never half a batch. Each answer is made in one of a few threads (`Workers`), each with its own
store connection, within the answer's budget (budget.py).

An answer is the bytes and their validators. The ETag is a digest of the bytes, so it changes
exactly when the answer does; Last-Modified is the newest entry's update time.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlencode

from feedtool.config import Config
from feedtool.errors import StoreError
from feedtool.models import Format, StoredEntry
from feedtool.publish.feeds import MEDIA_TYPES, FeedSpec, Page, Renderer
from feedtool.publish.pages import Pages
from feedtool.publish.run import outlet_infos
from feedtool.search.cursor import Cursor, place
from feedtool.search.hits import Paged, Search, found_among, page, search
from feedtool.search.language import QueryError
from feedtool.search.rsshub import MAX_ITEMS, MAX_SCANNED, FeedQuery, compiled, keeps, shown_as_asked, since
from feedtool.store import Store, from_iso
from feedtool.web.budget import SLOTS, Budget

PAGE_SIZE = 20  # hits on one search page
SQLITE_STEPS = 20_000  # SQLite's virtual machine steps between two looks at the budget
T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str
    etag: str
    modified: datetime


def _answer(body: bytes, media_type: str, modified: datetime) -> Answer:
    return Answer(body, f"{media_type}; charset=utf-8", '"q' + hashlib.sha1(body).hexdigest()[:20] + '"', modified)


class Workers:
    """The threads that make answers, SLOTS of them for the server's life: each opens its store
    connection (with its zstd objects, and through perthread.py its OpenCC) once, on its first answer,
    and every connection is closed when the server shuts down."""

    def __init__(self, path: Path, slots: int = SLOTS) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(slots, thread_name_prefix="feedtool-answer")
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    def submit(self, work: Callable[[Store], T], budget: Budget) -> Future[T]:
        return self._pool.submit(self._run, work, budget)

    def _run(self, work: Callable[[Store], T], budget: Budget) -> T:
        budget.start()
        store: Store | None = getattr(self._local, "store", None)
        try:
            if store is None:
                store = self._local.store = Store.reader(self.path)
                with self._lock:
                    self._opened.append(store)
            store.watch(budget.interrupts, SQLITE_STEPS)
            try:
                with store.snapshot():
                    return work(store)
            finally:
                store.watch(None)
                budget.finish()
        except StoreError:
            budget.check()  # a statement the budget interrupted: say that, not that the store failed
            raise

    def close(self) -> None:
        """After the last answer: the threads end, then their connections close."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()


class Archive:
    """The store and config behind a served site: what each answer is made from. Its methods run
    in a `Workers` thread, given that thread's store in one snapshot and the answer's budget."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.pages = Pages(config.site, config.formats, config.templates)
        self.topics = frozenset(t.slug for t in config.topics)

    def _feeds(self, store: Store) -> tuple[Renderer, dict[str, FeedSpec]]:
        from feedtool.publish.plan import feed_specs

        infos = outlet_infos(self.config, store.outlets())
        words = self.pages.messages
        renderer = Renderer(self.config.site, infos, {t.slug: t.title for t in self.config.topics}, words)
        return renderer, {spec.folder: spec for spec in feed_specs(self.config, infos, words)}

    def feed(
        self, store: Store, budget: Budget, folder: str, fmt: Format, asked: FeedQuery, now: datetime
    ) -> Answer | None:
        """A page of the query feed at `folder` ("all", "outlets/rfi") in a format; None when no such feed."""
        renderer, specs = self._feeds(store)
        spec = specs.get(folder)
        if spec is None or (fmt != "html" and fmt not in self.config.formats):
            return None
        wanted, keep = _wanted(spec, asked, now, renderer, self.config.max_items)
        budget.check()
        found = _select(store, budget, wanted, keep)
        shown = list(found.entries)
        if asked.group or spec.kind == "stories":  # a page of articles found, given as their stories

            def earlier(members: list[StoredEntry]) -> set[str]:
                return found_among(store, wanted, members, keep=keep, check=budget.check)

            shown = _as_stories(store, shown, lone=spec.kind != "stories", earlier=earlier if asked.cursor else None)
        budget.check()
        entries = [shown_as_asked(asked, e) for e in shown]
        return self._render(spec, renderer, entries, _page(spec, asked, found, entries), asked, fmt, store.created())

    def _render(
        self, spec: FeedSpec, renderer: Renderer, entries: list[StoredEntry], page: Page, asked: FeedQuery,
        fmt: Format, created: str,
    ) -> Answer:  # fmt: skip
        modified = max((e.updated for e in entries), default=from_iso(created))
        if fmt == "html":
            fragments = [
                self.pages.entry(e, renderer.outlets[e.outlet], renderer.outlets)
                for e in entries
                if e.outlet in renderer.outlets
            ]
            return _answer(self.pages.feed_page(page, fragments, asked=asked), MEDIA_TYPES["html"], modified)
        fragments = renderer.fragments(entries, [fmt])[fmt] if entries else []
        return _answer(renderer.assemble(page, fragments, modified, fmt), MEDIA_TYPES[fmt], modified)

    def search_page(self, store: Store, budget: Budget, params: Mapping[str, Sequence[str]]) -> tuple[int, Answer]:
        """The search page: the form, and a page of the hits of the search it holds (400 and the
        reason for a bad one)."""
        one = {name: values[-1] for name, values in params.items() if values}
        renderer, specs = self._feeds(store)
        outlets = {spec.slug: spec.title for spec in specs.values() if spec.kind == "outlet"}
        topics = {spec.slug: spec.title for spec in specs.values() if spec.kind == "topic"}
        q = one.get("q", "").strip()[:1000]
        outlet = one.get("outlet") if one.get("outlet") in outlets else None
        topic = one.get("topic") if one.get("topic") in topics else None
        cursor = one.get("cursor") or None
        since, until = _day(one.get("since")), _day(one.get("until"))
        status, error, results = 200, None, None
        if q:
            asked = Search(
                q, outlets=(outlet,) if outlet else (), topic=topic, since=since, until=until, limit=PAGE_SIZE,
                cursor=cursor,
            )  # fmt: skip
            try:
                results = search(store, asked, {slug: info.timezone for slug, info in renderer.outlets.items()})
            except QueryError as exc:
                status, error = 400, exc.said_in(self.pages.messages.gettext)
        feed = "all" if not (outlet or topic) else f"outlets/{outlet}" if outlet else f"topics/{topic}"
        subscribe = self.pages.links(specs[feed], "search", FeedQuery(q=q).canonical()) if q and not error else []

        def at(token: str | None) -> str:
            pairs = [("q", q), ("outlet", outlet or ""), ("topic", topic or "")]
            pairs += [("since", f"{since:%Y-%m-%d}" if since else ""), ("until", f"{until:%Y-%m-%d}" if until else "")]
            pairs.append(("cursor", token or ""))
            return "search?" + urlencode([(k, v) for k, v in pairs if v])

        body = self.pages.search(
            q=q, error=error, results=results, outlets=outlets, topics=topics, outlet=outlet, topic=topic,
            since=f"{since:%Y-%m-%d}" if since else "", until=f"{until:%Y-%m-%d}" if until else "",
            paged=cursor is not None, newer=at(results.previous) if results and results.previous else None,
            older=at(results.next) if results and results.next else None, links=subscribe,
            feed_title=specs[feed].title, zones={slug: info.timezone for slug, info in renderer.outlets.items()},
        )  # fmt: skip
        return status, _answer(body, MEDIA_TYPES["html"], datetime.now(UTC))


def _page(spec: FeedSpec, asked: FeedQuery, found: Paged, shown: Sequence[StoredEntry]) -> Page:
    """The document of a page of a query feed's answer (`shown`: the entries it gives, the stories
    of those `found` when grouped), linked to the pages beside it."""

    def at(cursor: Cursor | None) -> str:
        return replace(asked, cursor=cursor.token() if cursor else None).canonical()

    return Page(
        spec, None, tuple(e.id for e in shown), query=asked.canonical(),
        first=at(None) if asked.cursor is not None else None,
        previous=at(found.previous) if found.previous is not None else None,
        next=at(found.next) if found.next is not None else None,
    )  # fmt: skip


def _day(text: str | None) -> datetime | None:
    """A day from the form ("2024-05-01", UTC); anything else is no bound."""
    try:
        return datetime.strptime(text or "", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def _as_stories(
    store: Store, found: list[StoredEntry], *, lone: bool,
    earlier: Callable[[list[StoredEntry]], set[str]] | None = None,
) -> list[StoredEntry]:  # fmt: skip
    """The articles found, each of a story given as its story (once), newest first as the feed of
    stories orders them; the articles of no story as themselves when `lone`, else left out.

    A story is on the page of its newest article found, so that a reader paging through the
    answer meets it once: `earlier`, on a page after the first, says which of the given articles
    (those newer than this page's newest) the query finds, and a story with one of them is left
    to the page that has it."""
    story_of = store.stories_of([e.id for e in found])
    stories = store.entries(sorted(set(story_of.values())))
    if earlier is not None and found and stories:
        newest = place(found[0].id, found[0].published).order
        rows = store.story_rows(list(stories))
        members = store.entries(sorted({m for row in rows.values() for m in row.members} - set(story_of)))
        newer = [m for m in members.values() if place(m.id, m.published).order < newest]
        matched = earlier(newer) if newer else set()
        stories = {s: e for s, e in stories.items() if not matched.intersection(rows[s].members)}
    given: list[StoredEntry] = []
    seen: set[str] = set()
    for entry in found:
        story = story_of.get(entry.id)
        if story is None:
            if lone:
                given.append(entry)
        elif story not in seen and story in stories:
            seen.add(story)
            given.append(stories[story])
    given.sort(key=lambda e: e.id)
    given.sort(key=lambda e: e.published, reverse=True)
    return given


def _wanted(
    spec: FeedSpec, asked: FeedQuery, now: datetime, renderer: Renderer, default: int
) -> tuple[Search, Callable[[StoredEntry], bool] | None]:
    """What the feed's query asks of the index (narrowed by the feed, `q` and `filter_time`), and
    what its filters keep of what the index finds (None: no filter)."""
    filters = compiled(asked) if asked.filters else None
    limit = min(asked.limit if asked.limit is not None else default, MAX_ITEMS)
    outlets, topic = ((spec.slug,) if spec.kind == "outlet" else ()), (spec.slug if spec.kind == "topic" else None)
    wanted = Search(asked.q, outlets=outlets, topic=topic, since=since(asked, now), limit=limit, cursor=asked.cursor)
    if filters is None:
        return wanted, None
    return wanted, lambda entry: keeps(filters, entry, renderer.categories(entry), renderer.author(entry))


def _select(store: Store, budget: Budget, wanted: Search, keep: Callable[[StoredEntry], bool] | None) -> Paged:
    """The page of the feed's entries the query asks for, newest first: found by the index from the
    query's cursor on, then through the filters, at most MAX_SCANNED of them tried; the page ends
    there, and its next page goes on from there."""
    if wanted.limit == 0:  # `limit=0`: no entry, and no page after it
        return Paged((), None, None)
    if keep is None:
        return page(store, wanted, check=budget.check)
    return page(store, wanted, keep=keep, check=budget.check, scanned=MAX_SCANNED, batch=MAX_ITEMS)
