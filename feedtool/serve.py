"""`feedtool serve`: the output folder over HTTP, as a feed reader wants it.

The standard library's http.server, threaded, with what its SimpleHTTPRequestHandler lacks for
feeds: the right media types, an ETag on every response, 304 for If-None-Match as well as
If-Modified-Since, no directory listings, and nothing outside the folder or hidden (temporary
files of a build in progress start with a dot). Files are looked up on every request, so a
new build is served at once, without a restart.
"""

from __future__ import annotations

import logging
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger("feedtool")

MEDIA_TYPES = {
    ".xml": "application/xml",
    ".json": "application/json",
    ".opml": "text/x-opml",
    ".html": "text/html",
    ".xsl": "text/xsl",
    ".css": "text/css",
}
# Feed documents are told apart by name, not by extension: atom.xml and rss.xml are both .xml.
NAMED_TYPES = {
    "atom.xml": "application/atom+xml",
    "rss.xml": "application/rss+xml",
    "feed.json": "application/feed+json",
}


def media_type(path: Path) -> str:
    kind = NAMED_TYPES.get(path.name) or MEDIA_TYPES.get(path.suffix, "application/octet-stream")
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
            target = target / "index.html"
        try:
            resolved = target.resolve()
        except OSError:
            return None
        if not resolved.is_relative_to(self.root) or not resolved.is_file():
            return None
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
            self.end_headers()
            return
        data = target.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", media_type(target))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if send_body:
            self.wfile.write(data)

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
