"""`feedtool serve`: the application (app.py) on uvicorn, with the bounds a public server needs.

uvicorn, as datasette runs on it: a maintained HTTP/1.1 server (h11's parser), ASGI so that the
application can be mounted in an operator's own server, keep-alive timeouts, an access log, and
a graceful shutdown on SIGTERM or Ctrl-C (files in flight finish, for up to GRACE_SECONDS;
answers from the store end at once with a 503, `_Uvicorn`).
Chosen over gunicorn, which would add a process manager feedtool does not need (its one process
serves files and a few answers at a time), and over waitress, whose WSGI would tie a thread to
every slow client where an event loop holds thousands for a few kilobytes each.

The bounds uvicorn lacks are written here, in its HTTP/1.1 protocol (`_Guarded`):
- its keep-alive timer stops at a request's first byte and nothing bounds the time to send the
  rest, so a client that sends a header line every few seconds (slowloris) would hold its
  connection for good: every connection must send a whole request head within HEADER_SECONDS of
  connecting or of its previous answer;
- nothing bounds a client that stops reading an answer: one that takes nothing for WRITE_SECONDS
  is dropped;
- its connection limit counts every connection alike, so one address could take them all: one
  address has at most PER_ADDRESS (a proxy the server trusts excepted), and past MAX_CONNECTIONS
  a new connection is answered 503 and closed before it is read;
- a head larger than MAX_HEAD_BYTES is a 431, where uvicorn answers h11's hint with a 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from feedtool.errors import FeedtoolError
from feedtool.web.app import App
from feedtool.web.budget import client_key

HEADER_SECONDS = 10.0  # to send a request's whole head, from connecting or from the last answer
WRITE_SECONDS = 20.0  # a client that takes none of an answer for this long is dropped
KEEP_ALIVE_SECONDS = 5  # an idle connection between requests
MAX_CONNECTIONS = 1000  # open at once; past them a new one is answered 503 and closed, not queued
PER_ADDRESS = 50  # open at once from one address (a trusted proxy's excepted)
MAX_HEAD_BYTES = 16 * 1024  # a request line and its headers
GRACE_SECONDS = 10  # for requests in flight when asked to stop
BACKLOG = 256  # connections the kernel holds until the server accepts them


class _Guarded(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the bounds of this module's docstring."""

    _deadline: asyncio.TimerHandle | None = None
    _stalled: asyncio.TimerHandle | None = None
    _address: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits: _Limits = self.config.feedtool_limits  # type: ignore[attr-defined]
        address = client_key(self.client[0]) if self.client else "-"
        if len(self.connections) > limits.connections:
            self._refuse(503, b"Too many connections; try again soon\n")
        elif address not in limits.trusted and limits.open.get(address, 0) >= PER_ADDRESS:
            self._refuse(503, b"Too many connections from this address\n")
        else:
            self._address = address
            limits.open[address] = limits.open.get(address, 0) + 1
            self._arm()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and len(self.conn.trailing_data[0]) + len(data) > MAX_HEAD_BYTES:
            self._refuse(431, b"Request header fields too large\n")
            return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in: the application has it
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._arm()  # the next request's head, if any, within the deadline too

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stalled is None:
            self._stalled = self.loop.call_later(WRITE_SECONDS, self.transport.abort)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._stalled is not None:
            self._stalled.cancel()
            self._stalled = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._stalled is not None:
            self._stalled.cancel()
        if self._address is not None:
            limits: _Limits = self.config.feedtool_limits  # type: ignore[attr-defined]
            left = limits.open.pop(self._address) - 1
            if left:
                limits.open[self._address] = left
            self._address = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(HEADER_SECONDS, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self.conn.trailing_data[0]:  # part of a head came: say why it is dropped
                self._refuse(408, b"Request head not received in time\n")
            else:
                self.transport.close()

    def _refuse(self, status: int, text: bytes) -> None:
        head = f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        head += f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n"
        self.transport.write(head.encode() + text)
        self.transport.close()


@dataclass
class _Limits:
    """The connections open now, by address, and the bounds: one object a server, on its config."""

    connections: int
    trusted: frozenset[str]
    open: dict[str, int] = field(default_factory=dict)


_REASONS = {408: "Request Timeout", 431: "Request Header Fields Too Large", 503: "Service Unavailable"}


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free one), so that the address is known before serving."""
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)  # connections wait in the kernel from now, until the server takes them
    except OSError as exc:
        raise FeedtoolError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def make_server(
    app: App, host: str = "127.0.0.1", port: int = 0, *, access_log: bool = False, sock: socket.socket | None = None
) -> Server:
    """The server on `sock`, or on a socket bound to host:port now (its address known before it runs)."""
    sock = sock if sock is not None else bind(host, port)
    config = uvicorn.Config(
        app,
        http=_Guarded,
        ws="none",
        loop="asyncio",
        lifespan="on",
        log_config=None,
        access_log=access_log,
        server_header=False,
        headers=[("server", "feedtool")],  # no version: nothing to look up a known hole by
        limit_concurrency=2 * MAX_CONNECTIONS,  # _Guarded refuses connections past MAX_CONNECTIONS itself
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACE_SECONDS,
        backlog=BACKLOG,
        h11_max_incomplete_event_size=4 * MAX_HEAD_BYTES,  # _Guarded answers 431 before h11 would
    )
    trusted = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")  # uvicorn's proxies, as it reads them
    config.feedtool_limits = _Limits(_connections(), frozenset(a.strip() for a in trusted.split(",")))  # type: ignore[attr-defined]
    return Server(config, sock, app)


@dataclass
class Server:
    """A uvicorn server on a bound socket: `run()` until SIGTERM or Ctrl-C, or `running()` in a
    thread (the tests, an operator's own program)."""

    config: uvicorn.Config
    sock: socket.socket
    app: App

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def run(self) -> None:
        """Serve until SIGTERM or Ctrl-C, then stop gracefully; a stop asked for returns normally.

        uvicorn, once stopped, raises the signal again for the handler it found in place: that
        handler is the no-op below for SIGTERM, and Python's KeyboardInterrupt for Ctrl-C.
        """
        _loggers(self.config.access_log)
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        with contextlib.suppress(KeyboardInterrupt):
            _Uvicorn(self.config, self.app).run(sockets=[self.sock])

    @contextlib.contextmanager
    def running(self) -> Iterator[Server]:
        """Served from a thread of this process while the block runs, then shut down gracefully."""
        _loggers(self.config.access_log)
        server = _Uvicorn(self.config, self.app)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        thread.start()
        while not server.started and thread.is_alive():
            time.sleep(0.01)
        try:
            yield self
        finally:
            server.should_exit = True
            thread.join(GRACE_SECONDS + 5)


def _loggers(access_log: bool) -> None:
    """uvicorn's messages through feedtool's handler: its errors always, the access log with -v."""
    ours = logging.getLogger("feedtool")
    for name, level in (("uvicorn.error", logging.WARNING), ("uvicorn.access", logging.INFO)):
        logger = logging.getLogger(name)
        logger.handlers[:] = ours.handlers
        shown = level if (access_log or name == "uvicorn.error") else logging.CRITICAL
        logger.setLevel(max(shown, ours.level))
        logger.propagate = False


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, telling the application when it starts to stop: waiting requests are
    answered at once and answers in the making end, so the graceful stop takes no longer than
    the files in flight (uvicorn would wait for them, then cancel what is left)."""

    def __init__(self, config: uvicorn.Config, app: App) -> None:
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        stopping = getattr(self.app, "stopping", None)  # an App wrapped in other ASGI code may not say
        if stopping is not None:
            stopping()
        await super().shutdown(sockets=sockets)


def _connections() -> int:
    """MAX_CONNECTIONS, with the open files they need: the soft limit is raised toward the hard
    one (1,024 on many systems); where it stays lower, the bound is what it allows."""
    wanted = 2 * MAX_CONNECTIONS + 256  # a connection's socket, and room for the store, the files served, logs
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return MAX_CONNECTIONS if soft == resource.RLIM_INFINITY else max(16, min(MAX_CONNECTIONS, (soft - 256) // 2))
