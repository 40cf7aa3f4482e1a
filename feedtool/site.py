"""The documents around the feeds: OPML for readers, index.html for people, the XSLT for browsers.

Written with the standard library: OPML is six attributes per line, and the page is small
enough that a template engine would be the larger part of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources

from feedtool.config import Site
from feedtool.feeds import MEDIA_TYPES, FeedSpec, document_path
from feedtool.models import StoredEntry

FORMAT_NAMES = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
GROUPS = (("all", "All outlets"), ("outlet", "Outlets"), ("topic", "Topics"))
NEWEST_SHOWN = 5
STYLE_NAME = "style.css"


@dataclass(frozen=True)
class FeedSummary:
    """What the index page says about one feed."""

    feed: FeedSpec
    count: int
    newest: tuple[StoredEntry, ...]


def _grouped(feeds: Sequence[FeedSummary]) -> Iterator[tuple[str, list[FeedSummary]]]:
    """The feeds by kind (all outlets, outlets, topics), leaving out kinds with none."""
    for kind, label in GROUPS:
        group = [f for f in feeds if f.feed.kind == kind]
        if group:
            yield label, group


def opml(site: Site, feeds: Sequence[FeedSummary], fmt: str) -> bytes:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head>\n    <title>{escape(site.title)}</title>\n  </head>",
        "  <body>",
    ]
    for label, group in _grouped(feeds):
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


def index_html(site: Site, feeds: Sequence[FeedSummary], formats: Sequence[str], opml_name: str) -> bytes:
    alternates = [
        f'<link rel="alternate" type="{MEDIA_TYPES[fmt]}" title="{escape(s.feed.title)} ({FORMAT_NAMES[fmt]})"'
        f' href="{escape(site.base_url + document_path(s.feed, None, fmt))}">'
        for s in feeds
        for fmt in formats
    ]
    sections = []
    for label, group in _grouped(feeds):
        sections.append(f"<h2>{escape(label)}</h2>")
        for summary in group:
            sections.append(_feed_section(summary, formats))
    head = "\n".join(
        [
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(site.title)}</title>",
            f'<meta name="description" content="{escape(site.description)}">',
            f'<link rel="stylesheet" href="{STYLE_NAME}">',
            *alternates,
        ]
    )
    page = f"""<!DOCTYPE html>
<html lang="{escape(site.language)}">
<head>
{head}
</head>
<body>
<header><h1>{escape(site.title)}</h1><p>{escape(site.description)}</p>
<p>Every feed as an OPML subscription list: <a href="{opml_name}">{opml_name}</a></p></header>
<main>
{chr(10).join(sections)}
</main>
<footer><p>Made with feedtool.</p></footer>
</body>
</html>
"""
    return page.encode()


def _feed_section(summary: FeedSummary, formats: Sequence[str]) -> str:
    feed = summary.feed
    links = " · ".join(
        f'<a href="{escape(document_path(feed, None, fmt))}" type="{MEDIA_TYPES[fmt]}">{FORMAT_NAMES[fmt]}</a>'
        for fmt in formats
    )
    newest = "\n".join(
        f'<li><a href="{escape(e.id)}">{escape(e.title)}</a> <time datetime="{e.published.isoformat()}">'
        f"{e.published:%Y-%m-%d}</time></li>"
        for e in summary.newest
    )
    count = f"{summary.count} entr{'y' if summary.count == 1 else 'ies'}"
    if summary.newest:
        count += f", newest {summary.newest[0].published:%Y-%m-%d}"
    return f"""<section id="{feed.kind}-{escape(feed.slug)}">
<h3>{escape(feed.title)}</h3>
<p>{escape(feed.description)}</p>
<p>{count}. Subscribe: {links}</p>
<ul>
{newest}
</ul>
</section>"""


def static_files() -> dict[str, bytes]:
    """The files shipped with the package and copied as they are: the stylesheets."""
    package = resources.files("feedtool")
    return {name: package.joinpath(name).read_bytes() for name in ("feed.xsl", STYLE_NAME)}
