"""The served archive as an ASGI application: the published files, query feeds and /search.

Any ASGI server can run it (`feedtool serve` runs it on uvicorn, server.py; an operator may mount
it in their own, see docs/serving.md). A request is one of:

- a file of the output (files.py), read in the event loop's default thread pool, never waiting
  for the answers from the store;
- with the store beside the site, `/search` or a feed's address with a query string: an answer
  made in a `Workers` thread (answers.py), once `FairSlots` grants its client a turn, within a
  `Budget` (budget.py) that stops it when it costs too much or its client hangs up.

Every way a request can fail is one status and one line here, in `_failure`: a bad query is a 400
(never "the store cannot be read"), one address asking too much at once a 429, a server too busy
or a store that cannot be read a 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from feedtool.errors import Busy, InputError, OverBudget, StoreError
from feedtool.feedquery import from_params
from feedtool.feeds import FILENAMES, MEDIA_TYPES
from feedtool.query import QueryError
from feedtool.web.answers import Answer, Archive, Workers
from feedtool.web.budget import Budget, FairSlots, Gone, TooMany
from feedtool.web.files import FORMAT_OF, dressed, find, media_type, prefers_html

log = logging.getLogger("feedtool")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_ADDRESS = 2048  # bytes of a request's path and query: a longer one is a 414
MAX_QUERY_PARAMS = 32  # name=value pairs in one query string
RETRY_SECONDS = 5  # Retry-After of a 429 or a busy 503


def from_config(path: Path | None = None) -> App:
    """The application of a project, as `feedtool serve` makes it, for any ASGI server:
    `uvicorn --factory feedtool.web.app:from_config`. The config is `path`, else
    $FEEDTOOL_CONFIG, else ./feedtool.toml; with no store beside it, only the files are served."""
    from feedtool.config import find_config, load_config

    config = load_config(find_config(path))
    if not config.output.is_dir():
        raise InputError(f"output folder {config.output} does not exist; run 'feedtool build' first")
    return App(config.output, Archive(config) if config.store.is_file() else None)


class App:
    """The ASGI application over an output folder, and the archive behind it when there is one."""

    def __init__(self, folder: Path, archive: Archive | None = None) -> None:
        self.root = folder.resolve()
        self.archive = archive
        self.slots = FairSlots()
        self.workers = Workers(archive.config.store) if archive is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """The answering threads end and their store connections close."""
        if self.workers is not None:
            self.workers.close()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = _Request(scope)
        if request.method not in ("GET", "HEAD"):
            await request.plain(send, HTTPStatus.METHOD_NOT_ALLOWED, "Only GET and HEAD", ("allow", "GET, HEAD"))
            return
        if len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") > MAX_ADDRESS:
            await request.plain(send, HTTPStatus.REQUEST_URI_TOO_LONG, "Address too long")
            return
        try:
            if self.archive is not None and (request.path == "/search" or request.query):
                answered = await self._ask_archive(request, receive, send)
                if answered:
                    return
            await self._file(request, send)
        except Gone:
            return  # nobody to answer
        except Exception as exc:  # one status and one line for each failure: _failure
            status, text, headers = _failure(exc)
            await request.plain(send, status, text, *headers)

    async def _file(self, request: _Request, send: Send) -> None:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, partial(find, self.root, request.path, request.accept, read=True))
        if found is None:
            await request.plain(send, HTTPStatus.NOT_FOUND, "Not found")
            return
        body, etag = found.body, found.etag
        if found.path.suffix == ".html" and self.archive is not None:  # the page gets its search box
            body = dressed(body, address=request.path, negotiated=found.negotiated)
            etag = etag[:-1] + '-s"'
        modified = found.mtime_ns / 1e9
        await request.reply(send, media_type(found.path), etag, modified, body, vary=found.feed_address)

    async def _ask_archive(self, request: _Request, receive: Receive, send: Send) -> bool:
        """Answer from the store: the search page, or a feed's address with a query. False when the
        address is neither (a query string on a stylesheet: the file is served)."""
        assert self.archive is not None and self.workers is not None
        if request.query.count("&") >= MAX_QUERY_PARAMS:
            raise QueryError(f"more than {MAX_QUERY_PARAMS} parameters")
        params = parse_qs(request.query, keep_blank_values=True, max_num_fields=MAX_QUERY_PARAMS)
        archive, negotiated, status = self.archive, False, HTTPStatus.OK
        work: Callable[[Any, Budget], tuple[int, Answer] | Answer | None]
        if request.path == "/search":
            work = partial(_search_page, archive, params)
        else:
            parts = [p for p in request.path.split("/") if p]
            named = bool(parts) and "." in parts[-1]
            fmt = FORMAT_OF.get(parts[-1] if named else FILENAMES["html"])
            folder = "/".join(parts[:-1] if named else parts)
            if fmt is None or not folder or "archive" in parts:  # not a feed's address: the file, as it is
                return False
            asked = from_params(params)
            if asked is None:
                return False
            negotiated = fmt != "html" and prefers_html(request.accept, MEDIA_TYPES[fmt])
            shown = "html" if negotiated else fmt
            work = partial(_feed, archive, folder, shown, asked, datetime.now(UTC))
        made = await self._made(request, receive, work)
        if made is None:
            await request.plain(send, HTTPStatus.NOT_FOUND, "Not found")
            return True
        if isinstance(made, tuple):
            code, answer = made
            status = HTTPStatus(code)
            body = dressed(answer.body, address=request.path, negotiated=False)
        else:
            answer = made
            html = negotiated or answer.media_type.startswith("text/html")
            body = dressed(answer.body, address=request.path, negotiated=negotiated) if html else answer.body
        await request.reply(
            send, answer.media_type, answer.etag, answer.modified.timestamp(), body, vary=True, status=status
        )
        return True

    async def _made(self, request: _Request, receive: Receive, work: Callable[[Any, Budget], Any]) -> Any:
        """`work` done in a Workers thread once this client's turn comes, stopped if the client goes."""
        assert self.workers is not None
        budget, gone = Budget(), asyncio.Event()

        async def watch() -> None:  # a GET has no body: the next message is the client hanging up
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            budget.gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            async with self.slots.slot(request.client, gone):
                return await asyncio.wrap_future(self.workers.submit(lambda store: work(store, budget), budget))
        finally:
            watcher.cancel()


def _feed(archive: Archive, folder: str, fmt: Any, asked: Any, now: datetime, store: Any, budget: Budget) -> Any:
    return archive.feed(store, budget, folder, fmt, asked, now)


def _search_page(archive: Archive, params: Any, store: Any, budget: Budget) -> Any:
    return archive.search_page(store, budget, params)


def _failure(exc: Exception) -> tuple[HTTPStatus, str, tuple[tuple[str, str], ...]]:
    """The status, the one line, and any header that says what a failed request met."""
    retry = (("retry-after", str(RETRY_SECONDS)),)
    if isinstance(exc, QueryError):
        return HTTPStatus.BAD_REQUEST, f"Bad query: {exc}", ()
    if isinstance(exc, OverBudget):
        if exc.busy:
            return HTTPStatus.SERVICE_UNAVAILABLE, f"Too busy: {exc}", retry
        return HTTPStatus.BAD_REQUEST, f"Bad query: {exc}", ()
    if isinstance(exc, TooMany):
        return HTTPStatus.TOO_MANY_REQUESTS, f"Too many requests: {exc}", retry
    if isinstance(exc, Busy):
        return HTTPStatus.SERVICE_UNAVAILABLE, f"Too busy: {exc}", retry
    if isinstance(exc, StoreError):
        return HTTPStatus.SERVICE_UNAVAILABLE, f"The archive cannot be searched now: {exc}", retry
    log.error("internal error answering a request: %s: %s", type(exc).__name__, exc, exc_info=exc)
    return HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error; the server's log has it", ()


class _Request:
    """What the application reads of an HTTP request, and its two ways to answer."""

    def __init__(self, scope: Scope) -> None:
        self.method: str = scope["method"]
        self.head = self.method == "HEAD"
        root, path = scope.get("root_path", ""), scope["path"]
        # Mounted under a prefix (uvicorn's --root-path, a Starlette Mount), the path is the whole one.
        self.path: str = (path[len(root) :] or "/") if root and path.startswith(root) else path
        self.query = (scope.get("query_string") or b"").decode("utf-8", "replace")
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        self.accept = headers.get("accept")
        self.if_none_match = headers.get("if-none-match")
        self.if_modified_since = headers.get("if-modified-since")
        client = scope.get("client")
        self.client: str = client[0] if client else "-"

    async def reply(
        self, send: Send, media_type: str, etag: str, modified: float, body: bytes, *, vary: bool,
        status: HTTPStatus = HTTPStatus.OK,
    ) -> None:  # fmt: skip
        """Every answer's headers (a feed's address answers by the Accept header: `vary` says so to
        caches), a 304 when the client holds it already, then the body (none for a HEAD)."""
        headers = [(b"etag", etag.encode()), (b"last-modified", formatdate(modified, usegmt=True).encode())]
        if vary:
            headers.append((b"vary", b"Accept"))
        if status == HTTPStatus.OK and self._not_modified(etag, modified):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-cache"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if self.head else body})

    async def plain(self, send: Send, status: HTTPStatus, text: str, *extra: tuple[str, str]) -> None:
        body = (text.splitlines()[0][:500] + "\n").encode() if text else b"\n"
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *((name.encode(), value.encode()) for name, value in extra),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if self.head else body})

    def _not_modified(self, etag: str, mtime: float) -> bool:
        if self.if_none_match is not None:  # RFC 9110: when present, If-Modified-Since is ignored
            tags = [t.strip().removeprefix("W/") for t in self.if_none_match.split(",")[:64]]
            return etag in tags or "*" in tags
        if self.if_modified_since:
            try:
                return int(mtime) <= parsedate_to_datetime(self.if_modified_since).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return False
        return False
