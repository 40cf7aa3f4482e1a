"""Feeds -> HTML pages for people: a page per feed and per archive document, and the index page.

People who open the site, or a feed's address, in a browser need pages they can read: browsers
show Atom and RSS as raw text, and the XSLT that once dressed them is on its way out of all of
them. Each feed's pages follow its documents (the newest entries, then the RFC 5005 archives by
month and part, linked newer and older), so the whole history is browsable.

The pages are Jinja2 templates with autoescaping: a title or byline holding markup shows as
text, and only the content, already sanitised by nh3, goes in as HTML. A `[site] templates`
folder overrides any built-in template by name, as Hugo and Jekyll themes do. Every label in them
is a message of the site's catalogue (messages.py), through Jinja2's i18n extension: `_()`,
`{% trans %}`, and the filters `when` and `day` that write a time or a day as the site's
language does, in an outlet's time zone when given one.

An entry is rendered once (`entry.html`) into a fragment kept in the store, like its feed
markup, and a page is its frame (`feed.html`) around the fragments of its entries: so pages are
built as incrementally as the feeds. Links inside a fragment are absolute (it appears at every
depth); links between pages are relative, so the site can be opened from disk too.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from posixpath import relpath
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from feedtool.config import Site
from feedtool.errors import ConfigError
from feedtool.models import FeedFormat, StoredEntry, Version
from feedtool.publish import parts
from feedtool.publish.feeds import (
    FILENAMES,
    FORMAT_NAMES,
    MEDIA_TYPES,
    FeedSpec,
    OutletInfo,
    Page,
    document_path,
    page_title,
)
from feedtool.publish.messages import N_, Messages
from feedtool.publish.site import FeedSummary, grouped

if TYPE_CHECKING:  # Jinja2 loads only when a page is rendered, never for a no-op build
    import jinja2

    from feedtool.search.rsshub import FeedQuery

TEMPLATES = (
    "base.html", "entry.html", "feed.html", "index.html", "pager.html", "search.html", "story.html", "subscribe.html",
)  # fmt: skip
# The fields a query feed's filters look in (search/rsshub.py), as its page names them.
FIELD_NAMES = {
    "filter": N_("title or text"), "title": N_("title"), "description": N_("full text"), "author": N_("author"),
    "category": N_("category"),
}  # fmt: skip
# How the templates are compiled: the environment's settings and policies, and gettext's style,
# which the compiled code depends on (and so the names of the compiled templates kept, _compiled).
_SETTINGS: dict[str, Any] = {
    "autoescape": True, "keep_trailing_newline": True, "trim_blocks": True, "lstrip_blocks": True,
    "extensions": ["jinja2.ext.i18n"],
}  # fmt: skip
_POLICIES = {"ext.i18n.trimmed": True}  # a {% trans %} block's message is its text on one line
_NEWSTYLE = True  # gettext's newstyle: %(name)s filled by the call, autoescaped
# Content comes sanitised, so "<img " is always a tag there (text would read "&lt;img"): images
# in an article load only when shown, and ask their host without saying which page they are on.
_IMG = re.compile(r"<img ")


@dataclass(frozen=True)
class Link:
    """A feed document as a page offers it: to subscribe to, and for autodiscovery."""

    name: str  # for autodiscovery: "Atom" on the feed's own pages, "Topic title (Atom)" elsewhere
    format: str  # "Atom", "RSS", "JSON Feed"
    type: str
    url: str  # absolute: what a person copies into a reader
    href: str  # relative to the page


@dataclass(frozen=True)
class Pages:
    site: Site
    formats: tuple[FeedFormat, ...]  # the feed formats published, which every page offers
    templates: Path | None = None  # the user's folder, whose files override the built-in ones by name

    @cached_property
    def messages(self) -> Messages:
        """The site's catalogue, with the operator's from the `locale/` folder of their templates."""
        return Messages.of(self.site.language, self.templates)

    @cached_property
    def env(self) -> jinja2.Environment:
        import jinja2

        loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("feedtool.publish", "templates")]
        if self.templates is not None:
            loaders.insert(0, jinja2.FileSystemLoader(self.templates))
        # Not auto_reload: a build renders tens of thousands of fragments and pages, and Jinja would
        # stat each template file (and every one it extends or includes) before each of them. The
        # templates are read once a process, as `fingerprint` and `check` read them.
        env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders), bytecode_cache=_compiled(), auto_reload=False, **_SETTINGS
        )
        env.policies.update(_POLICIES)
        env.install_gettext_translations(self.messages.translations, newstyle=_NEWSTYLE)  # type: ignore[attr-defined]
        env.filters["when"] = self.messages.when
        env.filters["day"] = self.messages.day
        return env

    @cached_property
    def fingerprint(self) -> str:
        """What the pages are made with: every template that can be used, the user's first, and the catalogue."""
        digest = hashlib.sha1(self.messages.fingerprint.encode())
        package = resources.files("feedtool.publish").joinpath("templates")
        for name in TEMPLATES:
            digest.update(name.encode() + b"\0" + package.joinpath(name).read_bytes())
        if self.templates is not None:
            for path in sorted(p for p in self.templates.rglob("*") if p.is_file()):
                digest.update(str(path.relative_to(self.templates)).encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def check(self) -> None:
        """Load every template and the catalogue now, so a broken one is one line naming its file and
        line, before any work."""
        self.messages.check()
        for name in TEMPLATES:
            self._template(name)

    def _template(self, name: str) -> jinja2.Template:
        import jinja2

        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(f"template {exc.filename or name}, line {exc.lineno}: {exc.message}") from None

    def _render(self, name: str, **variables: Any) -> bytes:
        import jinja2

        template = self._template(name)
        try:
            return template.render(site=self.messages.site(self.site), **variables).encode()
        except jinja2.TemplateError as exc:
            where = _template_line(exc, template)
            raise ConfigError(f"template {where}: {exc}") from None

    def entry(self, entry: StoredEntry, outlet: OutletInfo, outlets: Mapping[str, OutletInfo] | None = None) -> bytes:
        """An article's fragment (`outlets`: every outlet's details, for the other reports of its story);
        a story's (`story.html`)."""
        import markupsafe

        outlets = outlets or {}
        if entry.story:
            return self._render("story.html", entry=entry, reports=_reports(entry.versions, outlets))
        zone = ZoneInfo(outlet.timezone)
        return self._render(
            "entry.html",
            entry=entry,
            outlet=outlet,
            published=entry.published.astimezone(zone),
            updated=entry.updated.astimezone(zone) if entry.updated != entry.published else None,
            content=markupsafe.Markup(_IMG.sub('<img loading="lazy" referrerpolicy="no-referrer" ', entry.content)),
            repeated=_repeated(entry.summary, entry.content),
            also=[(name, version) for name, _, version in _reports(entry.versions, outlets)],
        )

    def feed_page(self, page: Page, fragments: Sequence[bytes], asked: FeedQuery | None = None) -> bytes:
        """A feed's page, or (`asked`) a query feed's, served by `feedtool serve`."""
        import markupsafe

        here = document_path(page.feed, page.month, "html")
        # The newest archive's newer neighbour (next_archive None) is the feed's own page.
        newer = _relative(document_path(page.feed, page.next_archive, "html"), here) if page.month else None
        older = _relative(document_path(page.feed, page.prev_archive, "html"), here) if page.prev_archive else None
        if asked is not None:  # a page of a query feed's answer: its neighbours are this address, another cursor
            newer = FILENAMES["html"] + page.previous if page.previous is not None else None
            older = FILENAMES["html"] + page.next if page.next is not None else None
        return self._render(
            "feed.html",
            feed=page.feed,
            title=page_title(page, self.messages),
            month=page.month,
            start=parts.start(page.month) if page.month else None,
            count=len(fragments),
            entries=markupsafe.Markup(b"".join(fragments).decode()),
            links=self.links(page.feed, here, page.query),
            asked=asked,
            fields={name: self.messages.gettext(label) for name, label in FIELD_NAMES.items()},
            root=_relative("", here),
            newer=newer,
            older=older,
        )

    def search(self, **variables: Any) -> bytes:
        """The search page (`feedtool serve` only): see search.html for its variables."""
        return self._render("search.html", root="", **variables)

    def index(self, feeds: Sequence[FeedSummary], opml_name: str, zones: dict[str, str]) -> bytes:
        """The front page; `zones`: each outlet's time zone (slug -> name), its articles' days are its own."""
        here = FILENAMES["html"]
        return self._render(
            "index.html",
            groups=[
                (label, [(summary, self.links(summary.feed, here)) for summary in group])
                for label, group in grouped(feeds, self.messages)
            ],
            zones=zones,
            links=[link for summary in feeds for link in self.links(summary.feed, here)],
            page_href={s.feed.folder: _relative(document_path(s.feed, None, "html"), here) for s in feeds},
            opml_name=opml_name,
            root="",
        )

    def links(self, feed: FeedSpec, here: str, query: str = "") -> list[Link]:
        """The feed's documents, named for the page at `here`: by format alone on the feed's own pages.
        `query` ("?q=…"): those of a query feed."""
        own = here.startswith(feed.folder + "/")
        return [
            Link(
                FORMAT_NAMES[fmt] if own else f"{feed.title} ({FORMAT_NAMES[fmt]})",
                FORMAT_NAMES[fmt],
                MEDIA_TYPES[fmt],
                self.site.base_url + document_path(feed, None, fmt) + query,
                _relative(document_path(feed, None, fmt), here) + query,
            )
            for fmt in self.formats
        ]


def _reports(versions: Sequence[Version], outlets: Mapping[str, OutletInfo]) -> list[tuple[str, datetime, Version]]:
    """Each report with its outlet's name and its time where the outlet is."""
    found = []
    for version in versions:
        outlet = outlets.get(version.outlet)
        zone = ZoneInfo(outlet.timezone if outlet else "UTC")
        found.append((outlet.name if outlet else version.outlet, version.published.astimezone(zone), version))
    return found


def _repeated(summary: str, content: str) -> bool:
    """Whether the content opens with the summary (most dumps' summary is the first paragraph), cut or not."""
    from feedtool.search.hits import plain_text

    start = summary.rstrip("….").strip()[:80]
    return bool(start) and plain_text(content[: 4 * len(summary) + 400]).startswith(start)


def _relative(target: str, here: str) -> str:
    """A link from the page at `here` to `target` (both relative to the site's root)."""
    folder = here.rsplit("/", 1)[0] if "/" in here else "."
    path = relpath(target or ".", folder)
    if not target:
        return "" if path == "." else path + "/"
    return path


def _template_line(exc: Exception, template: jinja2.Template) -> str:
    """The template file and line an error at render time came from, read off its traceback."""
    tb = exc.__traceback__
    found = template.name or "?"
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".html"):
            found = f"{filename}, line {tb.tb_lineno}"
        tb = tb.tb_next
    return found


@cache
def _compiled() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs, in Jinja2's own folder for the user's caches (under
    the temporary folder, made private), or none where it cannot be had.

    Compiling the templates is a tenth of a second in each process of a publish, the build's and
    every worker's: a third of a cron run. Jinja2 keys what it keeps by the template's file and
    checks its source, but not the settings it was compiled under, so the names carry those.
    """
    import jinja2

    compiled_with = (sorted(_SETTINGS.items()), sorted(_POLICIES.items()), _NEWSTYLE, jinja2.__version__)
    settings = hashlib.sha1(repr(compiled_with).encode()).hexdigest()[:12]

    class Compiled(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with contextlib.suppress(OSError):  # a folder full or gone: the next run compiles again
                super().dump_bytecode(bucket)

    try:
        return Compiled(pattern=f"feedtool-{settings}-%s.cache")
    except (OSError, RuntimeError):  # Jinja2 found no folder it could call private
        return None
