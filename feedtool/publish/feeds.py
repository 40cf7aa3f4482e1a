"""Stored entries -> feed documents: Atom 1.0 and RSS 2.0 through feedgen, JSON Feed 1.1 by hand.

Each feed (one per outlet, one per topic, one for all outlets) is a subscription document with
the newest `max_items` entries plus RFC 5005 archive documents holding the rest, by month; a
month of more than `archive_items` entries is cut into parts of at most that many, where its
entries decide (publish/parts.py). Following the archive links from any feed reaches each of its
entries exactly once. An archive document changes only when its entries (or its neighbours)
change, and it stays a size a feed reader will fetch: an edit to one old article, or an article
that comes late, rewrites the part it is in (now and then the one beside it too), however busy
the month was, and new articles add to a month's newest part. A query feed
(web/answers.py) is a page of a paged feed instead (RFC 5005 section 3): `first`, `previous` and
`next` links to the pages of its answer, in JSON Feed `next_url`.

Everything rendered is a function of the entries and the config only: dates come from the
entries (never the clock), order is newest first with ties broken by id, so the bytes are stable.
JSON Feed is written with json.dumps: no library is needed to write a JSON object, and the
ones on PyPI lag behind version 1.1.

An entry is rendered once per format, as a fragment: its markup exactly as feedgen (or
json.dumps) writes it inside a whole document. A document is then its header, rendered around a
placeholder entry, with the placeholder's span replaced by the fragments. Since pretty-printed
XML indents an element by its depth alone, the result is byte for byte the document feedgen would
write in one go (`Renderer.whole`, which the tests hold it to); but an entry in five feeds is
rendered once, not five times, and a month archive whose one entry changed is re-assembled from
stored fragments instead of re-rendered.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from html import escape
from itertools import chain, groupby, islice
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from feedtool.config import Site
from feedtool.models import FeedKind, Format, StoredEntry
from feedtool.publish import parts
from feedtool.publish.messages import Messages
from feedtool.publish.parts import L
from feedtool.version import __version__

if TYPE_CHECKING:  # feedgen loads only when a document is rendered, never for a no-op build
    from feedgen.feed import FeedGenerator
    from lxml.etree import _Element

ATOM_NS = "http://www.w3.org/2005/Atom"
HISTORY_NS = "http://purl.org/syndication/history/1.0"
# The documents each feed page is published as: three feed formats, and the HTML page for people
# (publish/pages.py renders that one). The one place their file names and media types are written down.
FILENAMES: dict[Format, str] = {"atom": "atom.xml", "rss": "rss.xml", "json": "feed.json", "html": "index.html"}
MEDIA_TYPES: dict[Format, str] = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
    "html": "text/html",
}
FORMAT_NAMES: dict[Format, str] = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
FEED_FILENAMES = frozenset(FILENAMES[fmt] for fmt in FORMAT_NAMES)
ALL_FOLDER = "all"  # the all-outlets feed's folder, under the output
STORIES_FOLDER = "stories"  # the feed of stories' folder
STORY_URN = (
    "urn:feedtool:story:"  # a story's entry id: no address is the story's own, and it outlives its first report's
)
# Image types by file extension. A fixed table, not `mimetypes`: that reads the machine's
# /etc/mime.types, and the same store must give the same bytes on every machine.
IMAGE_TYPES = {
    ".avif": "image/avif", ".bmp": "image/bmp", ".gif": "image/gif", ".ico": "image/vnd.microsoft.icon",
    ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".png": "image/png", ".svg": "image/svg+xml",
    ".webp": "image/webp",
}  # fmt: skip
RSS_IMAGE_TYPES = {"image/gif", "image/jpeg", "image/png"}
GENERATOR_URI = "https://pypi.org/project/feedtool/"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Where an entry starts and ends in feedgen's pretty-printed output: <entry> is a child of the
# root, <item> of <channel>. Inside an entry all text is escaped, so these bytes are only ever tags.
_ENTRY_BOUNDS = {"atom": (b"\n  <entry>", b"\n  </entry>"), "rss": (b"\n    <item>", b"\n    </item>")}
_PLACEHOLDER = StoredEntry(
    id="urn:feedtool:placeholder", url="urn:feedtool:placeholder", title="-", outlet="-", language="-",
    content="-", summary="-", published=EPOCH, updated=EPOCH, author=None, image=None, tags=(),
)  # fmt: skip


@dataclass(frozen=True)
class OutletInfo:
    slug: str
    name: str
    homepage: str
    language: str
    icon: str | None = None
    timezone: str = "UTC"  # where its pages show its entries' times


@dataclass(frozen=True)
class FeedSpec:
    kind: FeedKind
    slug: str
    title: str
    description: str
    home: str
    language: str
    icon: str | None = None

    @property
    def folder(self) -> str:
        if self.kind == "all":
            return ALL_FOLDER
        return STORIES_FOLDER if self.kind == "stories" else f"{self.kind}s/{self.slug}"


@dataclass(frozen=True)
class Page:
    """One document's worth of a feed: the subscription document (month None) or one month's archive."""

    feed: FeedSpec
    month: str | None
    ids: tuple[str, ...]
    prev_archive: str | None = None
    next_archive: str | None = None
    query: str = ""  # "?q=…" for a query feed (web/answers.py): its self link and id carry it
    # A query feed's answer is a paged feed (RFC 5005 section 3): the query strings of its first
    # page, and of the pages of newer and older entries, when there are such pages.
    first: str | None = None
    previous: str | None = None
    next: str | None = None

    def path(self, fmt: Format) -> str:
        return document_path(self.feed, self.month, fmt) + self.query


def page_title(page: Page, messages: Messages) -> str:
    """The feed's title, and for an archive document its month and where its part begins, in the site's language."""
    if page.month is None:
        return page.feed.title
    month, begins = page.month[:7], parts.start(page.month)
    if begins:
        return messages.gettext("%(title)s (%(month)s, from %(start)s)") % {
            "title": page.feed.title, "month": month, "start": begins,
        }  # fmt: skip
    return messages.gettext("%(title)s (%(month)s)") % {"title": page.feed.title, "month": month}


def document_path(feed: FeedSpec, month: str | None, fmt: Format) -> str:
    folder = feed.folder if month is None else f"{feed.folder}/archive/{month}"
    return f"{folder}/{FILENAMES[fmt]}"


def paginate(
    feed: FeedSpec, ordered: Iterable[L], max_items: int, archive_items: int
) -> Iterator[tuple[Page, list[L]]]:
    """Split entries, newest first, into the subscription page and the archives; each page with its entries.

    An archive's key is its month ("2024-05"), then "2024-05/13-081502" and so on for the later
    parts of a month too big for one document (publish/parts.py: where a month is cut, and why).
    Entries are read as the pages are asked for, a month at a time (a page links to the part
    after it, which may be the next month's): a feed of a million entries is never held whole.
    """
    entries = iter(ordered)
    head = list(islice(entries, max_items))
    months = groupby(entries, key=lambda r: r.published[:7])  # newest first, so each month comes once
    archives = chain.from_iterable(_parts(month, list(part), archive_items) for month, part in months)
    older = next(archives, None)
    yield Page(feed, None, tuple(r.id for r in head), prev_archive=older[0] if older else None), head
    newer = None
    while older is not None:
        (key, part), older = older, next(archives, None)
        yield Page(feed, key, tuple(r.id for r in part), older[0] if older else None, newer), part
        newer = key


def _parts(month: str, newest_first: list[L], archive_items: int) -> list[tuple[str, list[L]]]:
    """A month's archive parts with their keys, newest part first, each newest entry first."""
    oldest_first = parts.cut(newest_first[::-1], archive_items)
    named = parts.keys(month, [parts.bound(part[0]) for part in oldest_first])
    return [(key, part[::-1]) for key, part in zip(named, oldest_first, strict=True)][::-1]


# The document fragments are cut from: any page will do, as an entry's markup does not depend on it.
_FRAGMENT_PAGE = Page(FeedSpec("all", "all", "-", "-", "-", "-"), None, ())


@cache
def _history_extension() -> tuple[type, type]:
    """<fh:archive/> (RFC 5005) for both formats, and the archive links for RSS (feedgen's RSS writes only 'self').

    Built once, on first use: feedgen (and lxml under it) load only when a document is rendered,
    which keeps a build with nothing to render fast to start.
    """
    from feedgen.ext.base import BaseExtension
    from feedgen.util import xml_elem

    class HistoryExtension(BaseExtension):
        def __init__(self) -> None:
            self.archive = False
            self.links: list[tuple[str, str, str]] = []

        def extend_ns(self) -> dict[str, str]:
            return {"fh": HISTORY_NS} if self.archive else {}

        def _extend(self, parent: _Element) -> None:
            for rel, href, media_type in self.links:
                xml_elem(f"{{{ATOM_NS}}}link", parent, rel=rel, href=href, type=media_type)
            if self.archive:
                xml_elem(f"{{{HISTORY_NS}}}archive", parent)

        def extend_atom(self, feed):  # type: ignore[no-untyped-def]
            self._extend(feed)
            return feed

        def extend_rss(self, feed):  # type: ignore[no-untyped-def]
            self._extend(feed[0])
            return feed

    class NoEntryExtension(BaseExtension):
        pass

    return HistoryExtension, NoEntryExtension


@dataclass(frozen=True)
class Renderer:
    site: Site
    outlets: dict[str, OutletInfo]
    topic_titles: dict[str, str]
    messages: Messages | None = None  # the site's catalogue, the operator's with it; None: the one shipped

    @cached_property
    def words(self) -> Messages:
        return self.messages or Messages(self.site.language)

    def url(self, path: str) -> str:
        return self.site.base_url + path

    def fragments(self, entries: Sequence[StoredEntry], formats: Sequence[Format]) -> dict[Format, list[bytes]]:
        """Each entry's markup per format, exactly as it appears in any document of that format.

        Atom and RSS are cut from one FeedGenerator: filling in its entries is half of feedgen's
        time, and the entries' markup does not depend on which format the feed was set up for.
        """
        found: dict[Format, list[bytes]] = {}
        xml = [fmt for fmt in formats if fmt != "json"]
        generator = self._generator(_FRAGMENT_PAGE, entries, "atom", EPOCH) if xml else None
        for fmt in formats:
            if fmt == "json":
                # No indent: only then does json use its C encoder, several times faster on full text.
                found[fmt] = [json.dumps(self._item(entry), ensure_ascii=False).encode() for entry in entries]
                continue
            found[fmt] = _split_entries(_serialise(generator, fmt), fmt)
            if len(found[fmt]) != len(entries):
                raise AssertionError(f"feedgen wrote {len(found[fmt])} {fmt} entries for {len(entries)}")
        return found

    def assemble(self, page: Page, fragments: Sequence[bytes], updated: datetime, fmt: Format) -> bytes:
        """A document from its entries' fragments, newest first; `updated` is the newest entry's."""
        if fmt == "json":
            head = json.dumps(self._json_head(page), ensure_ascii=False).encode()
            return head[:-1] + b', "items": [' + b", ".join(fragments) + b"]}\n"
        shell = self._feedgen(page, [_PLACEHOLDER], fmt, updated)
        (placeholder,) = _split_entries(shell, fmt)
        before, after = shell.split(placeholder)
        return before + b"".join(fragments) + after

    def whole(self, page: Page, entries: Sequence[StoredEntry], fmt: Format) -> bytes:
        """The document rendered in one go, as feedgen or json.dumps writes it: what `assemble` must equal."""
        if fmt == "json":
            doc = self._json_head(page)
            doc["items"] = [self._item(entry) for entry in entries]
            return json.dumps(doc, ensure_ascii=False).encode() + b"\n"
        return self._feedgen(page, entries, fmt, self._updated(entries))

    def categories(self, entry: StoredEntry) -> list[str]:
        """The entry's categories as its feeds list them: outlet, topics, tags; a story's, its outlets."""
        if entry.story:
            return self._outlet_names(entry)
        outlet = self.outlet_name(entry.outlet)
        topics = [self.topic_titles[t] for t in entry.topics if t in self.topic_titles]
        return list(dict.fromkeys([outlet, *topics, *entry.tags]))

    def author(self, entry: StoredEntry) -> str:
        """The author the feeds name: the byline, else the outlet; a story's, its outlets."""
        if entry.story:
            return self.words.pgettext("between names", ", ").join(self._outlet_names(entry))
        return entry.author or self.outlet_name(entry.outlet)

    def outlet_name(self, slug: str) -> str:
        return self.outlets[slug].name if slug in self.outlets else slug

    def _outlet_names(self, entry: StoredEntry) -> list[str]:
        return list(dict.fromkeys(self.outlet_name(v.outlet) for v in entry.versions))

    def entry_id(self, entry: StoredEntry) -> str:
        return STORY_URN + entry.id if entry.story else entry.id

    def content(self, entry: StoredEntry) -> str:
        """An article's content; a story's, every outlet's report: its title and link, outlet, time
        where the outlet is (as the site's language writes it), and lead."""
        if not entry.story:
            return entry.content
        items = []
        for version in entry.versions:
            outlet = self.outlets.get(version.outlet)
            when = self.words.when(version.published, outlet.timezone if outlet else "UTC")
            items.append(
                f'<li><p><a href="{escape(version.id)}">{escape(version.title, quote=False)}</a><br>'
                f"{escape(self.outlet_name(version.outlet), quote=False)} · {escape(when, quote=False)}</p>"
                + (f"<p>{escape(version.summary, quote=False)}</p>" if version.summary else "")
                + "</li>"
            )
        return "<ul>" + "".join(items) + "</ul>"

    def _updated(self, entries: Sequence[StoredEntry]) -> datetime:
        return max((e.updated for e in entries), default=EPOCH)

    def _history(self, page: Page, fmt: Format) -> list[tuple[str, str, str]]:
        links = []
        if page.month is not None:
            links.append(("current", self.url(page.path(fmt)).rsplit("/archive/", 1)[0] + "/" + FILENAMES[fmt]))
        if page.prev_archive:
            links.append(("prev-archive", self.url(document_path(page.feed, page.prev_archive, fmt))))
        if page.next_archive:
            links.append(("next-archive", self.url(document_path(page.feed, page.next_archive, fmt))))
        for rel, query in (("first", page.first), ("previous", page.previous), ("next", page.next)):
            if query is not None:
                links.append((rel, self.url(document_path(page.feed, None, fmt)) + query))
        return [(rel, href, MEDIA_TYPES[fmt]) for rel, href in links]

    def _feedgen(self, page: Page, entries: Sequence[StoredEntry], fmt: Format, updated: datetime) -> bytes:
        return _serialise(self._generator(page, entries, fmt, updated), fmt)

    def _generator(self, page: Page, entries: Sequence[StoredEntry], fmt: Format, updated: datetime) -> FeedGenerator:
        from feedgen.feed import FeedGenerator

        feed = page.feed
        fg = FeedGenerator()
        fg.register_extension("history", *_history_extension())
        fg.load_extension("media")
        fg.load_extension("dc", atom=False, rss=True)
        fg.history.archive = page.month is not None
        history = self._history(page, fmt)
        if fmt == "rss":
            fg.history.links = history
        else:
            for rel, href, media_type in history:
                fg.link(href=href, rel=rel, type=media_type)
        self_url = self.url(page.path(fmt))
        # One id for every document of a feed: its archives', and every page of a query feed's answer.
        fg.id(self.url(document_path(feed, None, "atom")) + (page.first if page.first is not None else page.query))
        fg.title(page_title(page, self.words))
        fg.subtitle(feed.description)
        fg.language(feed.language)
        fg.generator("feedtool", version=__version__, uri=GENERATOR_URI)
        fg.author({"name": self.site.title if feed.kind != "outlet" else feed.title})
        if feed.icon:
            fg.icon(feed.icon)
            if _image_type(feed.icon) in RSS_IMAGE_TYPES:  # RSS 2.0 <image> is GIF, JPEG or PNG only
                fg.image(url=feed.icon, title=page_title(page, self.words), link=feed.home)
        fg.updated(updated)
        fg.lastBuildDate(updated)
        # feedgen uses the last link added as RSS <link>: the alternate page must come last.
        fg.link(href=self_url, rel="self", type=MEDIA_TYPES[fmt])
        fg.link(href=feed.home, rel="alternate", type="text/html")
        for entry in entries:
            fe = fg.add_entry(order="append")
            fe.id(self.entry_id(entry))
            fe.guid(self.entry_id(entry), permalink=not entry.story)
            fe.title(entry.title)
            fe.link(href=entry.link, rel="alternate", type="text/html")
            fe.published(entry.published)
            fe.updated(entry.updated)
            fe.author({"name": self.author(entry)})
            fe.dc.dc_creator(self.author(entry))
            # The summary is plain text, and RSS readers take a description as HTML: escaped once for
            # HTML (and declared so in Atom), a "</p>" in the text stays text in every reader.
            fe.summary(escape(entry.summary or entry.title, quote=False), type="html")
            fe.content(self.content(entry), type="html")
            fe.category([{"term": category} for category in self.categories(entry)])
            if entry.image:
                # No group: Media RSS keeps <media:group> for several renditions of one thing.
                fe.media.content(url=entry.image, medium="image", type=_image_type(entry.image), group=None)
                fe.media.thumbnail(url=entry.image, group=None)
        return fg

    def _json_head(self, page: Page) -> dict[str, object]:
        feed = page.feed
        doc: dict[str, object] = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": page_title(page, self.words),
            "home_page_url": feed.home,
            "feed_url": self.url(page.path("json")),
            "description": feed.description,
            "language": feed.language,
            "authors": [{"name": self.site.title if feed.kind != "outlet" else feed.title}],
        }
        if feed.icon:
            doc["favicon"] = feed.icon
        if page.prev_archive:
            doc["next_url"] = self.url(document_path(feed, page.prev_archive, "json"))
        if page.next is not None:  # JSON Feed has no link to newer pages, nor to the first
            doc["next_url"] = self.url(document_path(feed, None, "json")) + page.next
        return doc

    def _item(self, entry: StoredEntry) -> dict[str, object]:
        item: dict[str, object] = {
            "id": self.entry_id(entry),
            "url": entry.link,
            "title": entry.title,
            "content_html": self.content(entry),
            "summary": entry.summary,
            "date_published": _rfc3339(entry.published),
            "date_modified": _rfc3339(entry.updated),
            "authors": [{"name": self.author(entry)}],
            "tags": self.categories(entry),
            "language": entry.language,
        }
        if entry.image:
            item["image"] = entry.image
        return item


def _serialise(fg: FeedGenerator, fmt: Format) -> bytes:
    return cast(bytes, fg.atom_str(pretty=True) if fmt == "atom" else fg.rss_str(pretty=True))


def _split_entries(document: bytes, fmt: Format) -> list[bytes]:
    """The entries' spans in a pretty-printed feedgen document, in order."""
    start, end = _ENTRY_BOUNDS[fmt]
    parts = []
    at = document.find(start)
    while at != -1:
        stop = document.index(end, at) + len(end)
        parts.append(document[at:stop])
        at = document.find(start, stop)
    return parts


def _image_type(url: str) -> str | None:
    """The type its extension says; None when it says none (the type attribute is then left out)."""
    return IMAGE_TYPES.get(posixpath.splitext(urlsplit(url).path)[1].lower())


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
