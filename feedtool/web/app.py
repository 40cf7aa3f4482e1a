"""The served archive as an ASGI application: the published files, query feeds and /search.

Any ASGI server can run it (`feedtool serve` runs it on uvicorn, server.py; an operator may mount
it in their own, see docs/serving.md). A request is one of:

- a file of the output (files.py), read in the event loop's default thread pool, never waiting
  for the answers from the store;
- with the store beside the site, a topic's stories address (`/topics/SLUG/stories/atom.xml`): a
  permanent redirect to the topic's query feed grouped by story, the one address of that answer;
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
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from feedtool.errors import Busy, InputError, OverBudget, StoreError
from feedtool.models import Format
from feedtool.publish.feeds import FILENAMES, MEDIA_TYPES
from feedtool.search.language import QueryError
from feedtool.search.rsshub import asked_format, from_params
from feedtool.store import Store
from feedtool.web.answers import Answer, Archive, Workers
from feedtool.web.budget import Budget, FairSlots, Gone, TooMany, client_key
from feedtool.web.files import FORMAT_OF, find, media_type, prefers_html, read, with_search_box

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
    """The ASGI application over an output folder, and the archive behind it when there is one.

    Mounted in another ASGI application (which may not pass lifespan events on), call `close()`
    when that one shuts down: the answering threads' store connections close then.
    """

    def __init__(self, folder: Path, archive: Archive | None = None) -> None:
        self.root = folder.resolve()
        self.archive = archive
        self.slots = FairSlots()
        self.workers = Workers(archive.config.store) if archive is not None else None
        self.answering: set[Budget] = set()  # the answers waiting or in the making

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
                self.stopping()
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def stopping(self) -> None:
        """The server stops: requests waiting for a slot get a 503 now, answers in the making end."""
        self.slots.stop()
        for budget in self.answering:
            budget.stop.set()

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
        if self.archive is not None and (grouped := _grouped(request.path, request.query, self.archive.topics)):
            location = request.root + grouped
            await request.plain(send, HTTPStatus.PERMANENT_REDIRECT, location, ("location", location))
            return
        try:
            asks = self.archive is not None and (request.path == "/search" or bool(request.query))
            if not (asks and await self._ask_archive(request, receive, send)):
                await self._file(request, send)
        except Gone:
            return  # nobody to answer
        except Exception as exc:  # one status and one line for each failure: _failure
            status, text, headers = _failure(exc, request)
            await request.plain(send, status, text, *headers)

    async def _file(self, request: _Request, send: Send) -> None:
        """A published file: looked up, answered 304 from its validators alone, else read and sent."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, find, self.root, request.path, request.accept)
        if found is None:
            await request.plain(send, HTTPStatus.NOT_FOUND, "Not found")
            return
        boxed = found.path.suffix == ".html" and self.archive is not None  # the page gets its search box
        etag = found.etag[:-1] + '-s"' if boxed else found.etag
        kind, modified = media_type(found.path), found.mtime_ns / 1e9
        if request.not_modified(etag, modified) or (request.head and not boxed):
            await request.reply(send, kind, etag, modified, None, length=found.size, vary=found.varies)
            return
        body = await loop.run_in_executor(None, read, found)
        if body is None:  # replaced by a build since it was found
            await request.plain(send, HTTPStatus.NOT_FOUND, "Not found")
            return
        if boxed:
            body = with_search_box(body, address=request.path, negotiated=found.negotiated)
        await request.reply(send, kind, etag, modified, body, vary=found.varies)

    async def _ask_archive(self, request: _Request, receive: Receive, send: Send) -> bool:
        """Answer from the store: the search page, or a feed's address with a query. False when the
        address is neither (a query string on a stylesheet: the file is served)."""
        archive = self.archive
        assert archive is not None
        negotiated, costly = False, False  # costly: with regular expressions to try (budget.FairSlots)
        work: Callable[[Store, Budget], tuple[int, Answer] | Answer | None]
        if request.path == "/search":
            params = _params(request.query)

            def work(store: Store, budget: Budget) -> tuple[int, Answer]:
                return archive.search_page(store, budget, params)

        else:
            parts = [p for p in request.path.split("/") if p]
            named = bool(parts) and "." in parts[-1]
            addressed = FORMAT_OF.get(parts[-1] if named else FILENAMES["html"])
            folder = "/".join(parts[:-1] if named else parts)
            if addressed is None or not folder or "archive" in parts:  # not a feed's address: the file, as it is
                return False
            params = _params(request.query)
            fmt: Format = asked_format(params) or addressed  # RSSHub's `format=`, at any of the feed's addresses
            asked = from_params(params)
            if asked is None:
                if fmt != addressed:  # `format=` alone: the published feed of that format
                    request.path = f"/{folder}/{FILENAMES[fmt]}"
                return False
            negotiated, costly = fmt != "html" and prefers_html(request.accept, MEDIA_TYPES[fmt]), asked.filters
            shown: Format = "html" if negotiated else fmt
            now = datetime.now(UTC)

            def work(store: Store, budget: Budget) -> Answer | None:
                return archive.feed(store, budget, folder, shown, asked, now)

        made = await self._made(request, receive, work, costly=costly)
        if made is None:
            await request.plain(send, HTTPStatus.NOT_FOUND, "Not found")
            return True
        status, answer = made if isinstance(made, tuple) else (HTTPStatus.OK, made)
        body = answer.body
        if answer.media_type.startswith("text/html"):
            body = with_search_box(body, address=request.path, negotiated=negotiated)
        # Only the ETag says whether a client's copy is current: Last-Modified, the newest entry's
        # update, stays put when entries leave the answer (filter_time).
        await request.reply(
            send, answer.media_type, answer.etag, answer.modified.timestamp(), body, vary=True,
            status=HTTPStatus(status), by_date=False,
        )  # fmt: skip
        return True

    async def _made(
        self, request: _Request, receive: Receive, work: Callable[[Store, Budget], Any], *, costly: bool
    ) -> Any:
        """`work` done in a Workers thread once this client's turn comes, stopped if the client goes."""
        assert self.workers is not None
        budget, gone = Budget(), asyncio.Event()
        if self.slots.stopped:
            budget.stop.set()

        async def watch() -> None:  # a GET has no body: the next message is the client hanging up
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()
            budget.gone.set()

        watcher = asyncio.ensure_future(watch())
        self.answering.add(budget)
        try:
            async with self.slots.slot(request.client, gone, costly=costly):
                future = self.workers.submit(lambda store: work(store, budget), budget)
                try:
                    return await asyncio.wrap_future(future)
                except asyncio.CancelledError:  # the server gave up waiting: the thread stops too
                    budget.gone.set()
                    raise
                finally:
                    self.slots.charge(request.client, budget.spent)
        except Gone:
            log.info("%s: %s: the client hung up; its answer stopped after %.2f s of work",
                     request.client, request.target, budget.spent)  # fmt: skip
            raise
        finally:
            self.answering.discard(budget)
            watcher.cancel()


_QUERY_SAFE = "=%+-._~!$'()*,;:@/?"


def _grouped(path: str, query: str, topics: frozenset[str]) -> str | None:
    """The address a topic's stories address stands for: `/topics/SLUG/stories/FILE?Q` is the
    topic's `FILE?Q&group=story` (any `group` asked replaced); None for any other address."""
    parts = path.split("/")  # "", "topics", SLUG, "stories", FILE (or "")
    if len(parts) == 4:  # "/topics/SLUG/stories": its page, as a folder's address without its slash is
        parts.append("")
    if len(parts) != 5 or parts[1] != "topics" or parts[2] not in topics or parts[3] != "stories":
        return None
    if parts[4] and parts[4] not in FORMAT_OF:
        return None
    # Quoted as it came, except what no Location header may hold unescaped.
    kept = [quote(pair, safe=_QUERY_SAFE) for pair in query.split("&")[:MAX_QUERY_PARAMS] if pair]
    kept = [pair for pair in kept if pair.split("=", 1)[0] != "group"]
    return f"/topics/{parts[2]}/{parts[4]}?" + "&".join([*kept, "group=story"])


def _params(query: str) -> dict[str, list[str]]:
    if query.count("&") >= MAX_QUERY_PARAMS:
        raise QueryError(f"more than {MAX_QUERY_PARAMS} parameters")
    try:
        return parse_qs(query, keep_blank_values=True, max_num_fields=MAX_QUERY_PARAMS)
    except ValueError as exc:
        raise QueryError(f"the query string cannot be read: {exc}") from None


def _failure(exc: Exception, request: _Request) -> tuple[HTTPStatus, str, tuple[tuple[str, str], ...]]:
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
    if isinstance(exc, OSError):  # not an absent file (files.py): the server's own fault, logged
        log.error("%s: cannot serve it: %s", request.target, exc)
        return HTTPStatus.SERVICE_UNAVAILABLE, "The file cannot be read now; the server's log says why", retry
    log.error("internal error answering %s: %s: %s", request.target, type(exc).__name__, exc, exc_info=exc)
    return HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error; the server's log has it", ()


class _Request:
    """What the application reads of an HTTP request, and its two ways to answer."""

    def __init__(self, scope: Scope) -> None:
        self.method: str = scope["method"]
        self.head = self.method == "HEAD"
        root, path = scope.get("root_path", "").rstrip("/"), scope["path"]
        # Mounted under a prefix (uvicorn's --root-path, a Starlette Mount), the path is the whole one.
        mounted = bool(root) and path.startswith(root + "/")
        self.path: str = (path[len(root) :] or "/") if mounted else path
        self.root = root if mounted else ""  # the prefix of an address this application gives
        self.query = (scope.get("query_string") or b"").decode("utf-8", "replace")
        self.target = (self.path + ("?" + self.query if self.query else ""))[:200]
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        self.accept = headers.get("accept")
        self.if_none_match = headers.get("if-none-match")
        self.if_modified_since = headers.get("if-modified-since")
        client = scope.get("client")
        self.client: str = client_key(client[0]) if client else "-"

    async def reply(
        self, send: Send, media_type: str, etag: str, modified: float, body: bytes | None, *, vary: bool,
        length: int | None = None, status: HTTPStatus = HTTPStatus.OK, by_date: bool = True,
    ) -> None:  # fmt: skip
        """Every answer's headers (a feed's address answers by the Accept header: `vary` says so to
        caches), a 304 when the client holds it already, then the body: none for a HEAD, which is
        told the `length` a GET gets."""
        headers = [(b"etag", etag.encode()), (b"last-modified", formatdate(modified, usegmt=True).encode())]
        if vary:
            headers.append((b"vary", b"Accept"))
        if status == HTTPStatus.OK and self.not_modified(etag, modified if by_date else None):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        size = len(body) if body is not None else length
        headers += [
            (b"content-type", media_type.encode()),
            (b"content-length", str(size).encode()),
            (b"cache-control", b"no-cache"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if self.head or body is None else body})

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

    def not_modified(self, etag: str, mtime: float | None) -> bool:
        """Whether the client's copy is this one: by its ETag, else (`mtime` given) by its date."""
        if self.if_none_match is not None:  # RFC 9110: when present, If-Modified-Since is ignored
            tags = [t.strip().removeprefix("W/") for t in self.if_none_match.split(",")[:64]]
            return etag in tags or "*" in tags
        if self.if_modified_since and mtime is not None:
            try:
                return int(mtime) <= parsedate_to_datetime(self.if_modified_since).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return False
        return False
