"""The published files as the web sees them: which file an address names, its type, its validators.

Nothing outside the output folder is served, nothing hidden (a build's temporaries start with a
dot), and no folder is listed: a folder's address is its index.html. Files are looked up on every
request, so a new build is served at once, without a restart.

A feed's address opened in a browser gets the feed's HTML page: a request whose Accept header
prefers text/html to the feed's own type is answered with the page beside the document (`Vary:
Accept` says so to caches). A feed reader, which asks for feeds or for anything, gets the feed
byte for byte.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from feedtool.models import Format
from feedtool.publish.feeds import ALL_FOLDER, FEED_FILENAMES, FILENAMES, FORMAT_NAMES, MEDIA_TYPES

SUFFIX_TYPES = {
    ".xml": "application/xml",
    ".json": "application/json",
    ".opml": "text/x-opml",
    ".html": "text/html",
    ".css": "text/css",
}
# Published documents are told apart by name, not by extension: atom.xml and rss.xml are both .xml.
NAMED_TYPES = {FILENAMES[kind]: MEDIA_TYPES[kind] for kind in FILENAMES}
FEED_FILENAMES_IN_ORDER = tuple(FILENAMES[fmt] for fmt in FORMAT_NAMES)  # Atom first: a reader's default
FORMAT_OF: dict[str, Format] = {name: fmt for fmt, name in FILENAMES.items()}
MAX_SEGMENT = 255  # bytes of one path segment: no file name is longer
# Where a page's template left its search box and its notice (templates/base.html). A comment holds
# no "-->" and escaped text no ">", so the first "-->" after the markup ends it.
_SEARCH_SLOT = re.compile(rb"<!--feedtool:search (<form .*?)-->", re.S)
_NOTICE_SLOT = re.compile(rb"<!--feedtool:notice (<p .*?)-->", re.S)


def media_type(path: Path) -> str:
    kind = NAMED_TYPES.get(path.name) or SUFFIX_TYPES.get(path.suffix, "application/octet-stream")
    return f"{kind}; charset=utf-8" if kind != "application/octet-stream" else kind


# What a file system says of a name that is not there to serve; any other OSError is a fault of the
# server's own (out of file handles, permissions, a failing disk), not the client's 404.
ABSENT = frozenset((errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EISDIR, errno.EINVAL))


@dataclass(frozen=True)
class Found:
    """A file to answer with: its size and time; whether the answer at this address depends on the
    Accept header (a feed's, or a folder's with feeds: `varies`), and whether the page stood in for
    a feed (`negotiated`). Read only when it is sent."""

    path: Path
    size: int
    mtime_ns: int
    varies: bool
    negotiated: bool

    @property
    def etag(self) -> str:
        return f'"{self.size:x}-{self.mtime_ns:x}"'


def find(root: Path, path: str, accept: str | None) -> Found | None:
    """The file at a decoded URL path under `root` (resolved), None when nothing may be served
    there; OSError for a fault of the file system's other than an absent name."""
    parts = [p for p in path.split("/") if p]
    if any(unsafe(p) for p in parts):
        return None
    try:
        target = root.joinpath(*parts)
        folder_feeds = False  # a folder's address, whose answer depends on the Accept header
        if target.is_dir():
            # A reader given a folder's address (the site's own: its all-outlets feed) gets the
            # feed, a browser the page: feed readers that ask for no HTML are sent no HTML.
            feeds = target if parts else target / ALL_FOLDER
            published = [feeds / name for name in FEED_FILENAMES_IN_ORDER if (feeds / name).is_file()]
            folder_feeds = bool(published)
            target = _folder_feed(published, accept) or target / FILENAMES["html"]
        resolved = target.resolve()
        if not resolved.is_relative_to(root) or not resolved.is_file():
            return None
        negotiated = False
        if resolved.name in FEED_FILENAMES and prefers_html(accept, NAMED_TYPES[resolved.name]):
            page = resolved.with_name(FILENAMES["html"])
            if page.is_file():
                resolved, negotiated = page, True
        st = resolved.stat()
    except ValueError:  # a name the file system cannot hold (a NUL is refused above)
        return None
    except OSError as exc:  # a file a build replaced meanwhile is absent too
        if exc.errno in ABSENT:
            return None
        raise
    asked = parts[-1] if parts else ""
    # A feed's address, and a folder's with feeds: the answer depends on Accept, and caches must vary.
    return Found(resolved, st.st_size, st.st_mtime_ns, asked in FEED_FILENAMES or folder_feeds, negotiated)


def read(found: Found) -> bytes | None:
    """The file's bytes; None when a build replaced it since it was found (the client asks again)."""
    try:
        return found.path.read_bytes()
    except OSError as exc:
        if exc.errno in ABSENT:
            return None
        raise


def unsafe(part: str) -> bool:
    """A path segment never served: hidden (a build's temporaries), a separator of another system,
    a NUL, or longer than any file name."""
    return part.startswith(".") or "\\" in part or "\0" in part or len(part.encode(errors="replace")) > MAX_SEGMENT


def prefers_html(accept: str | None, feed_type: str) -> bool:
    """Whether an Accept header ranks text/html above the feed's type (RFC 9110 quality values).

    A browser sends "text/html,...,*/*;q=0.8": the page. A feed reader sends its feed types, or
    "*/*", or nothing: the feed, which also wins a tie.
    """
    if not accept:
        return False
    quality = _qualities(accept)
    return quality("text/html") > quality(feed_type)


def _qualities(accept: str) -> Callable[[str], float]:
    """How much an Accept header wants a media type: its most specific range's quality."""
    ranges: dict[str, float] = {}
    for item in accept.split(",")[:64]:  # a header of thousands of ranges is not read to its end
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges[media.lower()] = max(quality, ranges.get(media.lower(), 0.0))

    def quality_of(media_type: str) -> float:
        kind = media_type.split("/")[0]
        for candidate in (media_type, f"{kind}/*", "*/*"):
            if candidate in ranges:
                return ranges[candidate]
        return 0.0

    return quality_of


def _folder_feed(published: list[Path], accept: str | None) -> Path | None:
    """The feed a folder's address answers a reader with, of those `published` there: the type its
    Accept header wants most, Atom first on a tie or with no header. None for a client that wants
    the page more than any of them (a browser), or when there is none; a tie goes to the feed."""
    if not published or not accept:
        return published[0] if published else None
    quality = _qualities(accept)
    best = max(published, key=lambda path: quality(NAMED_TYPES[path.name]))  # the first of the best
    wanted = quality(NAMED_TYPES[best.name])
    return best if wanted > 0 and wanted >= quality("text/html") else None


def with_search_box(page: bytes, *, address: str, negotiated: bool) -> bytes:
    """A page with its search box shown, and, when a browser asked for a feed's address, the notice
    that this page stands in for the feed. Both are the page's own, in its language (templates/
    base.html), written in comments that a static copy of the site keeps hidden."""
    page = _SEARCH_SLOT.sub(lambda found: found.group(1), page, count=1)

    def notice(found: re.Match[bytes]) -> bytes:
        if not negotiated:
            return b""
        kind = FORMAT_NAMES.get(FORMAT_OF.get(address.rsplit("/", 1)[-1], "html"), "feed")
        return found.group(1).replace(b"{format}", escape(kind).encode())

    return _NOTICE_SLOT.sub(notice, page, count=1)
