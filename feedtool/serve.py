"""`feedtool serve`: the output folder over HTTP, as a feed reader wants it, and as a person does.

The standard library's http.server, threaded, with what its SimpleHTTPRequestHandler lacks for
feeds: the right media types, an ETag on every response, 304 for If-None-Match as well as
If-Modified-Since, no directory listings, and nothing outside the folder or hidden (temporary
files of a build in progress start with a dot). Files are looked up on every request, so a
new build is served at once, without a restart.

A feed's address opened in a browser gets the feed's HTML page: a request whose Accept header
prefers text/html to the feed's own type is answered with the page beside the document
(`Vary: Accept` says so to caches), with a line saying why. A feed reader, which asks for feeds
or for anything, gets the feed byte for byte.

With the store at hand (the project's config), a feed's address with a query string
(`?q=台湾&limit=20`, RSSHub's parameters) is a query feed, and /search the search page: both
answered from the store by queryfeeds.py, and every page gets a search box.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from contextlib import suppress
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from feedtool.errors import Busy, StoreError
from feedtool.feeds import FEED_FILENAMES, FILENAMES, FORMAT_NAMES, MEDIA_TYPES
from feedtool.models import Format
from feedtool.query import QueryError

if TYPE_CHECKING:
    from feedtool.queryfeeds import Answer, Archive

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


# Bounds on what one client can hold (hostile ones included): a connection idle this long is
# closed, an address longer than this is refused with 414, and past this many connections at once
# a new one is answered 503 at once rather than queued behind slow ones.
IDLE_SECONDS = 20.0
MAX_ADDRESS = 2048
MAX_SEGMENT = 255  # bytes of one path segment: no file name is longer
MAX_CONNECTIONS = 256
MAX_QUERY_PARAMS = 32  # name=value pairs in one query string
FORMAT_OF: dict[str, Format] = {name: fmt for fmt, name in FILENAMES.items()}
_SEARCH_SLOT = re.compile(rb'<!--feedtool:search root="([./]*)"-->')


class FeedRequestHandler(BaseHTTPRequestHandler):
    root: Path
    archive: Archive | None = None  # the store behind the site: query feeds and search
    log_requests: bool = False
    server_version = "feedtool"
    timeout = IDLE_SECONDS  # socketserver sets it on the connection: a silent client is let go

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _resolve(self) -> Path | None:
        parts = [p for p in unquote(urlsplit(self.path).path).split("/") if p]
        if any(_unsafe(p) for p in parts):
            return None
        try:
            return self._find(parts)
        except OSError:  # a name the file system refuses, or a file gone while a build replaced it
            return None

    def _find(self, parts: list[str]) -> Path | None:
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
        if len(self.path) > MAX_ADDRESS:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG, "Address too long")
            return
        address = urlsplit(_as_sent(self.path))
        if self.archive is not None and (address.path == "/search" or address.query):
            try:
                if self._ask_archive(address.path, address.query, send_body=send_body):
                    return
            except QueryError as exc:
                self._plain(HTTPStatus.BAD_REQUEST, f"Bad query: {exc}", send_body=send_body)
                return
            except (StoreError, Busy) as exc:
                self._plain(HTTPStatus.SERVICE_UNAVAILABLE, f"The archive cannot be searched now: {exc}", send_body)
                return
        target = self._resolve()
        try:
            st = target.stat() if target is not None else None
            data = target.read_bytes() if target is not None and send_body else b""
        except OSError:  # replaced by a build between the look-up and the read: not there now
            st = None
        if target is None or st is None:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return
        etag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
        length = st.st_size
        if target.suffix == ".html" and self.archive is not None:  # the page gets its search box
            asked_for = Path(unquote(urlsplit(self.path).path)).name
            page = data if send_body else target.read_bytes()  # a HEAD is told the length a GET gets
            data = self._dressed(page, negotiated=asked_for in FEED_FILENAMES and target.name == FILENAMES["html"])
            etag, length = etag[:-1] + '-s"', len(data)
        vary = Path(unquote(urlsplit(self.path).path)).name in FEED_FILENAMES
        self._reply(HTTPStatus.OK, media_type(target), etag, st.st_mtime, data, length, vary=vary, send_body=send_body)

    def _reply(
        self, status: HTTPStatus, media_type: str, etag: str, modified: float, body: bytes, length: int, *,
        vary: bool, send_body: bool,
    ) -> None:  # fmt: skip
        """Every answer's headers (a feed's address answers by the Accept header: `vary` says so to
        caches), a 304 when the client holds it already, then the body (`length` bytes)."""
        if status == HTTPStatus.OK and self._not_modified(etag, modified):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", formatdate(modified, usegmt=True))
            if vary:
                self.send_header("Vary", "Accept")
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(modified, usegmt=True))
        self.send_header("Cache-Control", "no-cache")
        if vary:
            self.send_header("Vary", "Accept")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _ask_archive(self, path: str, query: str, *, send_body: bool) -> bool:
        """Answer from the store: the search page, or a feed's address with a query. False when the
        address is neither (a query string on a stylesheet: the file is served)."""
        from feedtool.feedquery import from_params

        assert self.archive is not None
        if query.count("&") >= MAX_QUERY_PARAMS:
            raise QueryError(f"more than {MAX_QUERY_PARAMS} parameters")
        params = parse_qs(query, keep_blank_values=True, max_num_fields=MAX_QUERY_PARAMS)
        if path == "/search":
            status, page = self.archive.search_page(params)
            self._send(page, send_body, status=HTTPStatus(status), dress=True)
            return True
        parts = [p for p in unquote(path).split("/") if p]
        name = parts[-1] if parts and "." in parts[-1] else FILENAMES["html"]
        folder = "/".join(parts[:-1] if parts and "." in parts[-1] else parts)
        fmt = FORMAT_OF.get(name)
        if fmt is None or not folder or "archive" in parts:  # not a feed's address: the file, as it is
            return False
        asked = from_params(params)
        if asked is None:
            return False
        negotiated = fmt != "html" and prefers_html(self.headers.get("Accept"), MEDIA_TYPES[fmt])
        answer = self.archive.feed(folder, "html" if negotiated else fmt, asked, datetime.now(UTC))
        if answer is None:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return True
        self._send(answer, send_body, dress=negotiated or fmt == "html", negotiated=negotiated)
        return True

    def _send(
        self, answer: Answer, send_body: bool, *, status: HTTPStatus = HTTPStatus.OK, dress: bool = False,
        negotiated: bool = False,
    ) -> None:  # fmt: skip
        body = self._dressed(answer.body, negotiated=negotiated) if dress else answer.body
        modified = answer.modified.timestamp()
        self._reply(status, answer.media_type, answer.etag, modified, body, len(body), vary=True, send_body=send_body)

    def _plain(self, status: HTTPStatus, text: str, send_body: bool) -> None:
        body = (text.splitlines()[0][:500] + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _dressed(self, page: bytes, *, negotiated: bool) -> bytes:
        """A page with the search box where its template left room for one, and, when a browser
        asked for a feed's address, a line saying that this page stands in for the feed."""

        def box(found: re.Match[bytes]) -> bytes:
            root = found.group(1).decode()
            form = (
                f'<form class="search" action="{root}search" role="search">'
                '<input type="search" name="q" aria-label="Search the archive" placeholder="Search">'
                '<button type="submit">Search</button></form>'
            )
            if negotiated:
                kind = FORMAT_NAMES.get(FORMAT_OF.get(Path(urlsplit(self.path).path).name, "html"), "feed")
                form += (
                    f'<p class="notice">This is the page of the {escape(kind)} feed at this address: a browser'
                    " is shown it, a feed reader given the address gets the feed.</p>"
                )
            return form.encode()

        return _SEARCH_SLOT.sub(box, page, count=1)

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


def _as_sent(path: str) -> str:
    """The request's address as the client wrote it: http.server reads the request line as Latin-1,
    and a client that does not percent-encode (curl, a script) sends UTF-8 bytes as they are."""
    try:
        return path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return path


def _unsafe(part: str) -> bool:
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


def make_server(
    folder: Path, host: str, port: int, *, log_requests: bool = False, archive: Archive | None = None
) -> ThreadingHTTPServer:
    """A server bound and ready; the caller runs serve_forever() (or handle_request() in tests).
    With an `archive`, query feeds and the search page are answered too."""
    from feedtool.errors import FeedtoolError, InputError

    if not folder.is_dir():
        raise InputError(f"output folder {folder} does not exist; run 'feedtool build' first")
    attributes = {"root": folder.resolve(), "log_requests": log_requests, "archive": archive}
    handler = type("Handler", (FeedRequestHandler,), attributes)
    try:
        server = _Server((host, port), handler)
    except OSError as exc:
        raise FeedtoolError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return server


class _Server(ThreadingHTTPServer):
    """A thread a connection, at most MAX_CONNECTIONS at once; errors of one connection are logged
    as one line, never a traceback on the console."""

    daemon_threads = True
    request_queue_size = 128  # connections the kernel holds until accepted (socketserver's default: 5)

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            with suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        log.info("%s: connection ended: %s: %s", client_address[0], type(exc).__name__, exc)
