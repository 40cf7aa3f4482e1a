"""The store -> which documents to publish, each with a fingerprint of all it is made from.

A document's fingerprint is its own settings and links plus its entries' fragment keys, in
order (publish/run.py compares it with the one the document was written under). Two ways to plan:

- whole: every feed, read from the store newest first and paginated as it is read
  (`feeds.paginate`). It reads every entry once per feed it is in (2 s at 100,000 entries) and
  keeps a fragment key and a place in pages for each (0.3 KB), and is what a first build, a
  config change, a prune or a change of too many entries needs.
- by change: the store logs each entry changed since the last complete publish with where it
  was listed before (store.changes), and keeps each feed's newest entries and size and each
  archive part's oldest entry. Only the subscription documents and the archive parts the
  changes can have reached are planned: a part is found from the parts' oldest entries, and a
  month is read again only from the part before its oldest change on (a part's end depends only
  on the entries since its start, so the parts before are as they were). The parts read again
  are all planned, and only those whose entries or links changed are written: a late article
  rewrites the part it falls in, not every later one (publish/parts.py). A cron run that brings
  a hundred dumps costs a few queries per change, whatever the size of the archive.

Planning by change cuts the months it reads again as `paginate` does (`parts.cut`); a property
test holds the two to the same output, byte for byte, over random series of changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import chain, islice, takewhile
from typing import Protocol

from feedtool.config import Config
from feedtool.models import Format
from feedtool.publish import parts
from feedtool.publish.feeds import ALL_FOLDER, STORIES_FOLDER, FeedSpec, OutletInfo, Page, document_path, paginate
from feedtool.publish.messages import Messages
from feedtool.publish.pages import Pages
from feedtool.publish.site import NEWEST_SHOWN
from feedtool.store import FeedKey, Head, IndexRow, Key, Placed
from feedtool.version import __version__


class Listing(Protocol):
    """What planning reads of the store, and nothing else: the feeds' listings, the entries'
    revisions, who reported each one's story, and the log of changes. A `Store` is one; a test may give another."""

    def changes(self) -> dict[str, Placed | None] | None: ...
    def created(self) -> str: ...
    def feed_from(self, feed: FeedKey, month: str, start: Key | None, limit: int = -1) -> list[IndexRow]: ...
    def feed_index(self, feed: FeedKey) -> Iterator[IndexRow]: ...
    def feed_newest(self, feed: FeedKey, limit: int) -> list[IndexRow]: ...
    def newest_updated(self) -> str | None: ...
    def parts(self, folder: str) -> dict[str, list[Key]]: ...
    def published_newest(self) -> str | None: ...
    def reporters_of(self, ids: Sequence[str]) -> dict[str, str]: ...
    def revisions(self) -> Iterator[tuple[str, str, list[str], str]]: ...
    def rows(self, ids: Sequence[str]) -> dict[str, IndexRow]: ...
    def topics_of(self, ids: Sequence[str]) -> dict[str, list[str]]: ...


@dataclass(frozen=True, kw_only=True)  # fourteen parts: built by name, never by position
class Plan:
    """What publication is made of: the feeds, the pages to check, and a fingerprint for each page."""

    feeds: list[FeedSpec]
    pages: list[tuple[Page, str]]
    tops: dict[str, list[IndexRow]]  # feed folder -> its newest entries (NEWEST_SHOWN), for the index page
    sizes: dict[str, int]  # feed folder -> how many entries it has
    heads: dict[str, Head]  # feed folder -> its newest entries and size, for the feeds planned
    base: str
    dates: dict[tuple[str, str | None], str]  # (feed folder, month) of a planned page -> its newest `updated`
    fragment_keys: dict[str, str]  # entry id -> the key its feed fragments must have been rendered under
    newest: str  # the newest entry's `updated` in the store (else its creation): an empty document's date
    looks: str  # what the HTML pages are made with besides their entries: templates, formats linked
    whole: bool  # every feed planned: documents not planned are no longer wanted
    # Feed folder -> month -> the oldest entry of each archive part: of every month when whole, else
    # of the months the changes reached (an empty list for a month whose archive is gone).
    layouts: dict[str, dict[str, list[Key]]]
    removed: list[str] = field(default_factory=list)  # by change: documents of archive parts gone

    def key(self, entry_id: str, fmt: Format) -> str:
        """The key an entry's fragment in this format must have been rendered under."""
        key = self.fragment_keys[entry_id]
        return hashlib.sha1(f"{key}{self.looks}".encode()).hexdigest() if fmt == "html" else key

    def fingerprint(self, fingerprint: str, fmt: Format) -> str:
        """A page's fingerprint for one format: its HTML page depends on the templates too."""
        return hashlib.sha1(f"{fingerprint}{self.looks}".encode()).hexdigest() if fmt == "html" else fingerprint


def feed_specs(config: Config, infos: dict[str, OutletInfo], messages: Messages | None = None) -> list[FeedSpec]:
    """The all-outlets feed, the feed of stories (unless turned off), one per outlet with entries, one
    per configured topic; in that order. The titles and descriptions feedtool writes are in the
    site's language (`messages`: its catalogue)."""
    words = messages or Messages.of(config.site.language, config.templates)
    site = words.site(config.site)
    feeds = [_own_page(site.base_url, FeedSpec("all", "all", site.title, site.description, "", site.language))]
    if config.stories.enabled:
        about = words.gettext(
            "Articles of several outlets about one event: one entry a story, with every outlet's report"
        )
        titled = words.gettext("%(site)s: stories") % {"site": site.title}
        feeds.append(_own_page(site.base_url, FeedSpec("stories", "stories", titled, about, "", site.language)))
    for slug, info in sorted(infos.items()):
        described = words.gettext("%(outlet)s: articles rebuilt from scraped pages") % {"outlet": info.name}
        feeds.append(FeedSpec("outlet", slug, info.name, described, info.homepage, info.language, info.icon))
    for topic in config.topics:
        description = topic.description or words.gettext("Articles about %(topic)s, from every outlet") % {
            "topic": topic.title
        }
        feeds.append(
            _own_page(site.base_url, FeedSpec("topic", topic.slug, topic.title, description, "", site.language))
        )
    return feeds


def feed_folders(config: Config, infos: dict[str, OutletInfo]) -> list[str]:
    """The folders of `feed_specs`, found without the catalogue: what a build with nothing to publish asks."""
    stories = [STORIES_FOLDER] if config.stories.enabled else []
    outlets = [f"outlets/{slug}" for slug in sorted(infos)]
    return [ALL_FOLDER, *stories, *outlets, *(f"topics/{t.slug}" for t in config.topics)]


def _own_page(base_url: str, feed: FeedSpec) -> FeedSpec:
    """A feed of feedtool's own making has its HTML page as home (an outlet's is the outlet's site)."""
    return replace(feed, home=base_url + document_path(feed, None, "html"))


def entry_settings(config: Config) -> list[object]:
    """What in the config every rendered entry depends on (with its outlet's details, from the store):
    the catalogue among it, whose words and dates the pages and the feeds' descriptions show."""
    messages = Messages.of(config.site.language, config.templates)
    return [__version__, asdict(config.site), [asdict(t) for t in config.topics], messages.fingerprint]


def config_digest(config: Config, html: Pages) -> str:
    """Everything in the config that shapes the output (not the inputs, which reach it via the store).

    The entries' settings, and what only documents depend on: where and how they are laid out.
    """
    return digest(
        [*entry_settings(config), _output_folder(config), [asdict(o) for o in config.rules.outlets],
         config.formats, config.opml_format, config.max_items, config.archive_items,
         html.fingerprint, asdict(config.stories), parts.RULE],
    )  # fmt: skip


def _output_folder(config: Config) -> str:
    """The output folder as the digest names it: relative to the project folder when it is inside it,
    as the store keeps dump paths, so that a project moved whole (config, store, dumps and output)
    publishes nothing new; elsewhere, where it is."""
    out, root = config.output.resolve(), config.root.resolve()
    return f"./{out.relative_to(root)}" if out.is_relative_to(root) else str(out)


def digest(value: object) -> str:
    return hashlib.sha1(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


class _Fingerprints:
    """Fragment keys and page fingerprints, computed the same way by both plans."""

    def __init__(self, config: Config, infos: dict[str, OutletInfo], html: Pages) -> None:
        self.base = digest([*entry_settings(config), [asdict(i) for i in infos.values()]])
        self.looks = digest([self.base, html.fingerprint, config.formats])
        self.keys: dict[str, str] = {}
        self._specs: dict[str, dict[str, object]] = {}

    def add(self, entries: Iterable[tuple[str, str, Sequence[str], str]]) -> None:
        """An entry's fragment key names all it is rendered from: (id, revision, topics in name order,
        and who reported its story, `Listings.reporters_of`); a story's, its id and revision.

        The id too, though the revision covers everything else: a page's fingerprint is its
        entries' keys, and two articles with the same text and date (a syndicated story under two
        URLs) must not leave a page that lists one looking like a page that lists the other.
        """
        base = self.base
        for entry_id, revision, topics, reporters in entries:
            named = f"{base}\0{entry_id}\0{revision}\0{','.join(topics)}" + (f"\0{reporters}" if reporters else "")
            self.keys[entry_id] = hashlib.sha1(named.encode()).hexdigest()

    def page(self, page: Page, newest: str) -> str:
        """Hashed without building a JSON copy of the keys: a month's archive of the all feed has thousands."""
        dated = [] if page.ids else [newest]
        spec = self._specs.setdefault(page.feed.folder, asdict(page.feed))
        settings = digest([self.base, spec, page.month, page.prev_archive, page.next_archive, *dated])
        keys = "".join(self.keys[i] for i in page.ids)
        return hashlib.sha1(f"{settings}{keys}".encode()).hexdigest()


def whole(config: Config, store: Listing, infos: dict[str, OutletInfo], html: Pages) -> Plan:
    """Every feed's pages, each feed read from the store newest first and paginated as it is read.

    What is kept is an entry's fragment key and its place in its feeds' pages; its index row is
    dropped once its page is planned, so a million entries take a few hundred megabytes, not a
    gigabyte (the README's Performance section has the figures).
    """
    feeds = feed_specs(config, infos)
    prints = _Fingerprints(config, infos, html)
    prints.add(store.revisions())
    # A document with no entries is dated by the newest entry anywhere: a date a reader believes,
    # and still a function of the store.
    newest = store.newest_updated() or store.created()
    pages: list[tuple[Page, str]] = []
    dates: dict[tuple[str, str | None], str] = {}
    tops: dict[str, list[IndexRow]] = {}
    heads: dict[str, Head] = {}
    layouts: dict[str, dict[str, list[Key]]] = {}
    for feed in feeds:
        counted = _Counted(store.feed_index((feed.kind, feed.slug)))
        first = list(islice(counted, _kept(config)))
        tops[feed.folder] = first[:NEWEST_SHOWN]
        months = layouts[feed.folder] = {}
        for page, rows in paginate(feed, chain(first, counted), config.max_items, config.archive_items):
            pages.append((page, prints.page(page, newest)))
            if rows:
                dates[(feed.folder, page.month)] = max(r.updated for r in rows)
            if page.month is not None:  # an archive part, newest part first; its oldest entry last
                months.setdefault(page.month[:7], []).insert(0, parts.bound(rows[-1]))
        heads[feed.folder] = Head([r.id for r in first], counted.count)
    sizes = {folder: head.entries for folder, head in heads.items()}
    return Plan(
        feeds=feeds, pages=pages, tops=tops, sizes=sizes, heads=heads, base=prints.base, dates=dates,
        fragment_keys=prints.keys, newest=newest, looks=prints.looks, whole=True, layouts=layouts,
    )  # fmt: skip


class _Counted(Iterator[IndexRow]):
    """The rows of an iterator, counted as they are read."""

    def __init__(self, rows: Iterator[IndexRow]) -> None:
        self.rows = rows
        self.count = 0

    def __next__(self) -> IndexRow:
        row = next(self.rows)
        self.count += 1
        return row


def _kept(config: Config) -> int:
    """How many of a feed's newest entries a plan keeps: its subscription document's, or the index page's."""
    return max(config.max_items, NEWEST_SHOWN)


# -- planning by change ------------------------------------------------------------------------


@dataclass
class _Moves:
    """What changed in one month's archive of one feed: entries that came or left, or changed in place."""

    came: list[Key] = field(default_factory=list)
    left: list[Key] = field(default_factory=list)
    stayed: list[Key] = field(default_factory=list)


def by_change(
    config: Config,
    store: Listing,
    infos: dict[str, OutletInfo],
    html: Pages,
    changes: dict[str, Placed | None],
    before: dict[str, Head],
    now: dict[str, Placed],
    stories: tuple[dict[str, str | None], dict[str, str]] = ({}, {}),
) -> Plan:
    """The pages the logged changes can have changed.

    `before`: each feed's head as last published; `now`: where each changed entry is listed now;
    `stories`: each story changed with its date before (None: new) and its date now (none: gone).
    Only when publish/decision.py says a plan by change can be made: every feed was published before and
    every changed entry is still in the store (the log records changes, not removals; a story
    that is gone leaves the feed of stories, and only it).
    """
    feeds = feed_specs(config, infos)
    newest_before = store.published_newest()
    assert newest_before and all(feed.folder in before for feed in feeds) and len(now) == len(changes)
    # Empty documents are dated as a whole publish dates them, by the store's newest update: not the
    # newest of the last published and the changed entries', as a changed entry may have held it and
    # moved back (a later scrape of it deleted). One step down its index of `updated` (schema.NEWEST).
    newest = store.newest_updated() or newest_before
    prints = _Fingerprints(config, infos, html)
    planner = _FeedPlanner(config, store, prints)
    heads: dict[str, Head] = {}
    stories_before, stories_now = stories
    for feed in feeds:
        key = (feed.kind, feed.slug)
        touched = {
            entry_id: (_in(key, changes[entry_id]), _in(key, placed))
            for entry_id, placed in now.items()
            if _in(key, changes[entry_id]) or _in(key, placed)
        }
        if feed.kind == "stories":
            touched = {
                story: (_dated(stories_before[story]), _dated(stories_now.get(story))) for story in stories_before
            }
        if touched:
            heads[feed.folder] = planner.plan(feed, before[feed.folder], touched)
        elif not before[feed.folder].entries and newest != newest_before:
            planner.pages.append(Page(feed, None, ()))  # an empty feed is dated by the newest entry anywhere
    current = {feed.folder: heads.get(feed.folder) or before[feed.folder] for feed in feeds}
    rows = {**store.rows([i for head in current.values() for i in head.ids[:NEWEST_SHOWN]]), **planner.rows}
    tops = {folder: [rows[i] for i in head.ids[:NEWEST_SHOWN]] for folder, head in current.items()}
    sizes = {folder: head.entries for folder, head in current.items()}
    pages = [(page, prints.page(page, newest)) for page in planner.pages]
    dates = {(p.feed.folder, p.month): max(planner.rows[i].updated for i in p.ids) for p in planner.pages if p.ids}
    return Plan(
        feeds=feeds, pages=pages, tops=tops, sizes=sizes, heads=heads, base=prints.base, dates=dates,
        fragment_keys=prints.keys, newest=newest, looks=prints.looks, whole=False, layouts=planner.layouts,
        removed=planner.removed,
    )  # fmt: skip


def _dated(published: str | None) -> Placed | None:
    """A story's place in the feed of stories, by its date (None: not in it)."""
    return None if published is None else Placed("", published, ())


def _in(feed: FeedKey, placed: Placed | None) -> Placed | None:
    """The place, if it is in this feed."""
    if placed is None:
        return None
    kind, slug = feed
    member = (
        kind == "all" or (kind == "outlet" and placed.outlet == slug) or (kind == "topic" and slug in placed.topics)
    )
    return placed if member else None


class _FeedPlanner:
    """The pages of one feed after some of its entries changed, asked of the store month by month."""

    def __init__(self, config: Config, store: Listing, prints: _Fingerprints) -> None:
        self.config = config
        self.store = store
        self.prints = prints
        self.pages: list[Page] = []
        self.rows: dict[str, IndexRow] = {}
        self.removed: list[str] = []
        self.layouts: dict[str, dict[str, list[Key]]] = {}
        self.formats: tuple[Format, ...] = (*config.formats, "html")

    def plan(self, feed: FeedSpec, before: Head, touched: dict[str, tuple[Placed | None, Placed | None]]) -> Head:
        config, store = self.config, self.store
        key = (feed.kind, feed.slug)
        per_part = config.archive_items
        newest = store.feed_newest(key, _kept(config) + 1)
        head_rows = newest[: config.max_items]
        head = {r.id for r in head_rows}
        head_before = set(before.ids[: config.max_items])
        entries = before.entries + sum(new is not None for old, new in touched.values())
        entries -= sum(old is not None for old, new in touched.values())
        self._keep(newest)

        # Which archive months each change reached, and how.
        moves: dict[str, _Moves] = {}
        for entry_id, (old, new) in touched.items():
            was = old if old is not None and entry_id not in head_before else None
            now = new if new is not None and entry_id not in head else None
            if was is not None and now is not None and was.published == now.published:
                moves.setdefault(now.published[:7], _Moves()).stayed.append((now.published, entry_id))
                continue
            if was is not None:
                moves.setdefault(was.published[:7], _Moves()).left.append((was.published, entry_id))
            if now is not None:
                moves.setdefault(now.published[:7], _Moves()).came.append((now.published, entry_id))
        # Entries that crossed the edge of the subscription document without changing themselves.
        crossed = [i for i in head ^ head_before if i not in touched]
        for entry_id, row in store.rows(crossed).items():
            move = moves.setdefault(row.published[:7], _Moves())
            (move.came if entry_id in head_before else move.left).append((row.published, entry_id))

        # Each month's parts as last published (the oldest entry of each), then as they are now:
        # parts before the oldest change's are as they were; from the part before it on (whose end
        # may have been the changed entry's own cut), cut again (publish/parts.py).
        before_parts = store.parts(feed.folder)
        layouts = dict(before_parts)
        rows_of: dict[tuple[str, int], list[IndexRow]] = {}  # (month, part) -> its rows, oldest first
        wanted: dict[str, set[int]] = {}  # month -> indexes (0 = oldest) of the parts to plan
        for month, move in moves.items():
            bounds = before_parts.get(month, [])
            changed = move.came + move.left
            if changed:
                first = max(0, _part_of(bounds, min(changed, key=_oldest_first)) - 1)
                rest = [r for r in store.feed_from(key, month, bounds[first] if first else None) if r.id not in head]
                cut = parts.cut(rest, per_part)
                layouts[month] = bounds[:first] + [parts.bound(part[0]) for part in cut]
                rows_of.update(((month, first + n), part) for n, part in enumerate(cut))
                wanted.setdefault(month, set()).update(range(first, len(layouts[month])))
                if not layouts[month]:
                    del layouts[month]
            for stayed in move.stayed:
                wanted.setdefault(month, set()).add(_part_of(layouts.get(month, []), stayed))
        archived = sorted(layouts)
        named: dict[str, list[str]] = {}

        def keys(month: str) -> list[str]:
            if month not in named:
                named[month] = parts.keys(month, layouts.get(month, []))
            return named[month]

        for month in moves:
            keys_before, keys_now = parts.keys(month, before_parts.get(month, [])), keys(month)
            for gone in sorted(set(keys_before) - set(keys_now)):
                self.removed += [document_path(feed, gone, fmt) for fmt in self.formats]
            if keys_now[-1:] == keys_before[-1:]:
                continue
            # The month's newest part is another one now, or the month came or went: the newest
            # part's newer link moved, and so did the older link of the part after the month (or of
            # the subscription document), and, for a month that came or went, the newer link of
            # the part before it.
            if keys_now:
                wanted.setdefault(month, set()).add(len(keys_now) - 1)
            newer = _neighbour(archived, month, older=False)
            if newer is not None:
                wanted.setdefault(newer, set()).add(0)
            older = _neighbour(archived, month, older=True)
            if older is not None and not (keys_now and keys_before):
                wanted.setdefault(older, set()).add(len(layouts[older]) - 1)

        def newest_key(month: str) -> str:
            return keys(month)[-1]

        first_key = newest_key(archived[-1]) if archived else None
        self.pages.append(Page(feed, None, tuple(r.id for r in head_rows), prev_archive=first_key))
        for month in sorted(wanted):
            count = len(layouts.get(month, []))
            for index in sorted(i for i in wanted[month] if i < count):
                rows = rows_of.get((month, index))
                if rows is None:  # as many as a part can hold, up to the next part's oldest entry
                    rows = store.feed_from(key, month, layouts[month][index], per_part)
                    if index + 1 < count:
                        rows = _before(rows, layouts[month][index + 1])
                rows = [r for r in rows if r.id not in head][::-1]  # newest first, as documents list them
                self._keep(rows)
                older = _neighbour(archived, month, older=True)
                newer = _neighbour(archived, month, older=False)
                prev_archive = keys(month)[index - 1] if index else newest_key(older) if older else None
                next_archive = keys(month)[index + 1] if index + 1 < count else keys(newer)[0] if newer else None
                self.pages.append(Page(feed, keys(month)[index], tuple(r.id for r in rows), prev_archive, next_archive))
        # The layouts of the months the changes reached (an empty one: the month has no archive now).
        self.layouts[feed.folder] = {month: layouts.get(month, []) for month in moves}
        return Head([r.id for r in newest[: _kept(config)]], entries)

    def _keep(self, rows: list[IndexRow]) -> None:
        fresh = [r for r in rows if r.id not in self.rows]
        self.rows.update((r.id, r) for r in fresh)
        ids = [r.id for r in fresh]
        topics, reporters = self.store.topics_of(ids), self.store.reporters_of(ids)
        self.prints.add((r.id, r.revision, topics.get(r.id, []), reporters.get(r.id, "")) for r in fresh)


def _before(rows: list[IndexRow], end: Key) -> list[IndexRow]:
    """The rows, oldest first, up to the one at `end` (the next part's oldest entry)."""
    return list(takewhile(lambda r: parts.bound(r) != end, rows))


def _oldest_first(key: Key) -> tuple[str, tuple[int, ...]]:
    """Sorts keys oldest first: by date, then by id backwards, as SQLite orders `published, id DESC`
    (a longer id after its own prefix, hence the end mark above every negated character)."""
    return key[0], (*(-ord(c) for c in key[1]), 1)


def _part_of(bounds: list[Key], key: Key) -> int:
    """The index of the part a key falls in, given each part's oldest key: the last that is not newer."""
    found = 0
    target = _oldest_first(key)
    for index, bound in enumerate(bounds):
        if _oldest_first(bound) <= target:
            found = index
        else:
            break
    return found


def _neighbour(months: list[str], month: str, *, older: bool) -> str | None:
    """The nearest archived month before or after this one (`months` sorted)."""
    if older:
        return next((m for m in reversed(months) if m < month), None)
    return next((m for m in months if m > month), None)
