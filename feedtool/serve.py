"""`feedtool serve`: the output folder over HTTP, as a feed reader wants it, and as a person does.

The standard library's http.server, threaded, with what its SimpleHTTPRequestHandler lacks for
feeds: the right media types, an ETag on every response, 304 for If-None-Match as well as
If-Modified-Since, no directory listings, and nothing outside the folder or hidden (temporary
files of a build in progress start with a dot). Files are looked up on every request, so a
new build is served at once, without a restart.

A feed's address opened in a browser gets the feed's HTML page: a request whose Accept header
prefers text/html to the feed's own type is answered with the page beside the document
(`Vary: Accept` says so to caches). A feed reader, which asks for feeds or for anything, gets
the feed byte for byte.
"""

from __future__ import annotations

import logging
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from feedtool.feeds import FEED_FILENAMES, FILENAMES, MEDIA_TYPES

log = logging.getLogger("feedtool")

SUFFIX_TYPES = {
    ".xml": "application/xml",
    ".json": "application/json",
    ".opml": "text/x-opml",
    ".html": "text/html",
    ".css": "text/css",
}
# Published documents are told apart by name, not by extension: atom.xml and rss.xml are both .xml.
NAMED_TYPES = {FILENAMES[kind]: MEDIA_TYPES[kind] for kind in FILENAMES}


def media_type(path: Path) -> str:
    kind = NAMED_TYPES.get(path.name) or SUFFIX_TYPES.get(path.suffix, "application/octet-stream")
    return f"{kind}; charset=utf-8" if kind != "application/octet-stream" else kind


class FeedRequestHandler(BaseHTTPRequestHandler):
    root: Path
    log_requests: bool = False
    server_version = "feedtool"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _resolve(self) -> Path | None:
        parts = [p for p in unquote(urlsplit(self.path).path).split("/") if p]
        if any(p.startswith(".") or "\\" in p or "\0" in p for p in parts):
            return None
        target = self.root.joinpath(*parts)
        if target.is_dir():
            target = target / FILENAMES["html"]
        try:
            resolved = target.resolve()
        except OSError:
            return None
        if not resolved.is_relative_to(self.root) or not resolved.is_file():
            return None
        if resolved.name in FEED_FILENAMES and prefers_html(self.headers.get("Accept"), NAMED_TYPES[resolved.name]):
            page = resolved.with_name(FILENAMES["html"])
            return page if page.is_file() else resolved
        return resolved

    def _respond(self, *, send_body: bool) -> None:
        target = self._resolve()
        if target is None:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return
        st = target.stat()
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
        if self._not_modified(etag, st.st_mtime):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
            self._vary()
            self.end_headers()
            return
        data = target.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", media_type(target))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
        self.send_header("Cache-Control", "no-cache")
        self._vary()
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def _vary(self) -> None:
        """A feed's address answers by the Accept header (the feed or its page): say so to caches."""
        if Path(unquote(urlsplit(self.path).path)).name in FEED_FILENAMES:
            self.send_header("Vary", "Accept")

    def _not_modified(self, etag: str, mtime: float) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:  # RFC 9110: when present, If-Modified-Since is ignored
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return etag in tags or "*" in tags
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return int(mtime) <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def log_message(self, format: str, *args: object) -> None:
        if self.log_requests:
            log.info("%s %s", self.address_string(), format % args)


def prefers_html(accept: str | None, feed_type: str) -> bool:
    """Whether an Accept header ranks text/html above the feed's type (RFC 9110 quality values).

    A browser sends "text/html,...,*/*;q=0.8": the page. A feed reader sends its feed types, or
    "*/*", or nothing: the feed, which also wins a tie.
    """
    if not accept:
        return False
    ranges: dict[str, float] = {}
    for item in accept.split(","):
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

    return quality_of("text/html") > quality_of(feed_type)


def make_server(folder: Path, host: str, port: int, *, log_requests: bool = False) -> ThreadingHTTPServer:
    """A server bound and ready; the caller runs serve_forever() (or handle_request() in tests)."""
    from feedtool.errors import FeedtoolError, InputError

    if not folder.is_dir():
        raise InputError(f"output folder {folder} does not exist; run 'feedtool build' first")
    handler = type("Handler", (FeedRequestHandler,), {"root": folder.resolve(), "log_requests": log_requests})
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise FeedtoolError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    return server
