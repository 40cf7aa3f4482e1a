"""`feedtool serve`: the application (app.py) on uvicorn, with the bounds a public server needs.

uvicorn, as datasette runs on it: a maintained HTTP/1.1 server (h11's parser), ASGI so that the
application can be mounted in an operator's own server, a bounded number of connections (past
MAX_CONNECTIONS a request is answered 503 at once), keep-alive timeouts, an access log, and a
graceful shutdown on SIGTERM or Ctrl-C (requests in flight finish, for up to GRACE_SECONDS).
Chosen over gunicorn, which would add a process manager feedtool does not need (its one process
serves files and a few answers at a time), and over waitress, whose WSGI would tie a thread to
every slow client where an event loop holds thousands for a few kilobytes each.

One bound uvicorn lacks is written here (`_Deadline`): its keep-alive timer stops at a request's
first byte and nothing bounds the time to send the rest, so a client that sends a header line
every few seconds (slowloris) would hold its connection for good, and a few hundred such would
fill the server. Every connection must send a whole request head within HEADER_SECONDS of
connecting or of its previous answer; and a head larger than MAX_HEAD_BYTES is a 431, where
uvicorn answers h11's hint with a 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from feedtool.errors import FeedtoolError
from feedtool.web.app import App

HEADER_SECONDS = 10.0  # to send a request's whole head, from connecting or from the last answer
KEEP_ALIVE_SECONDS = 5  # an idle connection between requests
MAX_CONNECTIONS = 1000  # open at once; past it a request is answered 503 at once, not queued
MAX_HEAD_BYTES = 16 * 1024  # a request line and its headers
GRACE_SECONDS = 10  # for requests in flight when asked to stop
BACKLOG = 2048  # connections the kernel holds until the server accepts them

log = logging.getLogger("feedtool")


class _Deadline(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with a deadline for each request head and a 431 for a huge one."""

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
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

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
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


_REASONS = {408: "Request Timeout", 431: "Request Header Fields Too Large"}


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
    _more_files(MAX_CONNECTIONS + 64)
    sock = sock if sock is not None else bind(host, port)
    config = uvicorn.Config(
        app,
        http=_Deadline,
        ws="none",
        loop="asyncio",
        lifespan="on",
        log_config=None,
        access_log=access_log,
        server_header=False,
        headers=[("server", "feedtool")],  # no version: nothing to look up a known hole by
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=GRACE_SECONDS,
        backlog=BACKLOG,
        h11_max_incomplete_event_size=4 * MAX_HEAD_BYTES,  # _Deadline answers 431 before h11 would
    )
    return Server(config, sock)


@dataclass
class Server:
    """A uvicorn server on a bound socket: `run()` until SIGTERM or Ctrl-C, or `running()` in a
    thread (the tests, an operator's own program)."""

    config: uvicorn.Config
    sock: socket.socket

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
            uvicorn.Server(self.config).run(sockets=[self.sock])

    @contextlib.contextmanager
    def running(self) -> Iterator[Server]:
        """Served from a thread of this process while the block runs, then shut down gracefully."""
        _loggers(self.config.access_log)
        server = uvicorn.Server(self.config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        thread.start()
        while not server.started and thread.is_alive():
            threading.Event().wait(0.01)
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


def _more_files(wanted: int) -> None:
    """Raise the soft limit of open files to serve MAX_CONNECTIONS (1,024 on many systems)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
