"""The documents around the feeds: the OPML subscription list for readers, and the stylesheet.

OPML is written with the standard library: six attributes per line need no template. The pages
for people, the index among them, are publish/pages.py's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources

from feedtool.config import Site
from feedtool.models import FeedFormat, StoredEntry
from feedtool.publish.feeds import FeedSpec, document_path
from feedtool.publish.messages import N_, Messages

GROUPS = (("all", N_("All outlets")), ("stories", N_("Stories")), ("outlet", N_("Outlets")), ("topic", N_("Topics")))
NEWEST_SHOWN = 5
STATIC_FILES = ("style.css",)


@dataclass(frozen=True)
class FeedSummary:
    """What the index page says about one feed."""

    feed: FeedSpec
    count: int
    newest: tuple[StoredEntry, ...]


def grouped(feeds: Sequence[FeedSummary], messages: Messages) -> Iterator[tuple[str, list[FeedSummary]]]:
    """The feeds by kind (all outlets, stories, outlets, topics), each kind named in the site's
    language, leaving out kinds with none."""
    for kind, label in GROUPS:
        group = [f for f in feeds if f.feed.kind == kind]
        if group:
            yield messages.gettext(label), group


def opml(site: Site, feeds: Sequence[FeedSummary], fmt: FeedFormat, messages: Messages) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head>\n    <title>{escape(site.title)}</title>\n  </head>",
        "  <body>",
    ]
    for label, group in grouped(feeds, messages):
        lines.append(f'    <outline text="{escape(label)}">')
        for summary in group:
            feed = summary.feed
            attrs = {
                "type": "rss",
                "text": feed.title,
                "title": feed.title,
                "description": feed.description,
                "language": feed.language,
                "xmlUrl": site.base_url + document_path(feed, None, fmt),
                "htmlUrl": feed.home,
            }
            lines.append("      <outline " + " ".join(f'{k}="{escape(v)}"' for k, v in attrs.items()) + "/>")
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode()


def static_files() -> dict[str, bytes]:
    """The files shipped with the package and copied as they are."""
    package = resources.files("feedtool.publish")
    return {name: package.joinpath(name).read_bytes() for name in STATIC_FILES}
