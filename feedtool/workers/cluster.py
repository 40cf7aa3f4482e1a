"""A Dask distributed cluster as a build's pool: `feedtool build --executor dask:tcp://HOST:8786`.

Dask rather than a pool of our own: its scheduler already does what a cluster needs (placing
tasks on workers as they free up, running a lost worker's tasks again elsewhere, workers joining
and leaving), and its workers run lxml and nh3 as they are. Each stage's `Setup` becomes a worker
plugin, so every worker, including one that joins midway, makes the stage's state once.

The workers read the dumps and write the published files through the same paths as the build
process (a shared filesystem: docs/scale.md), and never open the store: the build process is its
one writer. A dump's time bound (`[build] dump_seconds`) holds in the thread Dask runs a task in
as it does in a local worker (derive/limits.py); a dump stuck in C code, which no bound in
Python interrupts, holds its worker until Dask's own limits (`--memory-limit`, the nanny) end it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from feedtool.errors import ClusterError, ConfigError
from feedtool.workers.tasks import Outcome, PoolFactory, Setup

if TYPE_CHECKING:
    from distributed import Client

T = TypeVar("T")
R = TypeVar("R")

CONNECT_SECONDS = 10.0  # how long an unreachable scheduler is waited for before the build gives up
INSTALL = "pip install 'feedtool[dask]'"


def address_of(executor: str) -> str | None:
    """The scheduler address of an executor named in the config or on the command line
    (`local`, or `dask:tcp://HOST:PORT`); None for the local processes."""
    if executor in ("", "local"):
        return None
    scheme, _, address = executor.partition(":")
    if scheme != "dask" or not address:
        raise ConfigError(f"executor {executor!r}: say 'local' or 'dask:tcp://HOST:8786' (a Dask scheduler's address)")
    return address


@contextmanager
def connected(address: str) -> Iterator[PoolFactory]:
    """A client of the scheduler at `address`, for the block: raises ClusterError within
    CONNECT_SECONDS when it cannot be reached, before the build touches anything."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(f"--executor dask:… needs Dask's distributed scheduler: {INSTALL}") from None
    with _quiet_dask():
        try:
            client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {_said(exc)}") from None
        try:
            yield lambda _workers, setup: _on(client, address, setup)
        finally:
            # A client whose scheduler is gone can fail to close too (the same race as in `_lost`):
            # that must not take the place of the ClusterError the build is ending with.
            with suppress(Exception):
                client.close(timeout=CONNECT_SECONDS)  # type: ignore[no-untyped-call]


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own log (a traceback for each failed reconnection) off, but with -v: the build says
    in one line what went wrong with the cluster."""
    if logging.getLogger("feedtool").isEnabledFor(logging.DEBUG):
        yield
        return
    loggers = [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict) if name.startswith("distributed")
    ]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in zip(loggers, before, strict=True):
            logger.disabled = disabled


def _plugin_name(setup: Setup[Any]) -> str:
    return f"feedtool-{setup.stage}"


def _run_chunk(name: str, fn: Callable[[Any, T], R], chunk: list[T]) -> list[R]:
    """On a worker: the chunk's jobs, each on the state its stage's plugin made there."""
    from distributed import get_worker

    state = get_worker().plugins[name].state  # type: ignore[attr-defined]
    return [fn(state, job) for job in chunk]


@dataclass
class _Outcome:
    """A Dask future, whose failures for want of a scheduler become a ClusterError."""

    future: Any
    address: str

    def result(self) -> Any:
        from distributed import KilledWorker

        try:
            return self.future.result()
        except KilledWorker:
            raise  # the pool's `broken`: a job that killed every worker it was given to
        except Exception as exc:
            if self.future.status == "error":  # the job's own exception, raised on a worker
                raise
            raise _scheduler_lost(self.address, exc) from None

    def done(self) -> bool:
        return bool(self.future.done())

    def exception(self) -> BaseException | None:
        return self.future.exception()  # type: ignore[no-any-return]


@dataclass
class _DaskPool:
    client: Client
    name: str
    address: str
    broken: tuple[type[BaseException], ...]
    broken_for_good = False

    def submit(self, fn: Callable[[Any, T], R], chunk: list[T], seconds: float | None) -> Outcome[list[R]]:
        try:
            future = self.client.submit(_run_chunk, self.name, fn, chunk, pure=False)
        except Exception as exc:
            if (lost := _lost(self.client, self.address, exc)) is not None:
                raise lost from None
            raise
        return _Outcome(future, self.address)


@contextmanager
def _on(client: Client, address: str, setup: Setup[Any]) -> Iterator[_DaskPool]:
    from distributed import KilledWorker

    from feedtool.workers.plugin import StagePlugin

    plugin = StagePlugin(setup)
    name = _plugin_name(setup)
    try:
        client.register_plugin(plugin, name=name)  # made on every worker before this returns
    except Exception as exc:
        if (lost := _lost(client, address, exc)) is not None:
            raise lost from None
        raise  # a worker's own error in making the stage's state
    try:
        yield _DaskPool(client, name, address, (KilledWorker,))
    finally:
        if client.status == "running":
            with suppress(Exception):  # the cluster went away meanwhile, and its workers with it
                client.unregister_worker_plugin(name)  # type: ignore[no-untyped-call]


def _lost(client: Any, address: str, exc: Exception) -> ClusterError | None:
    """The ClusterError a failure of the client stands for when the scheduler is gone; None when it
    is not that. What Dask raises then depends on the moment: an OSError or a timeout while it
    reconnects, a RuntimeError from a timeout already expiring (asyncio's, while the client has not
    yet noticed the loss), an AttributeError from a client the loss has closed. So it is told by
    the client's state, and by the type for the first three: a worker's own failure to make the
    stage's state comes back as the exception it raised."""
    if isinstance(exc, (OSError, TimeoutError, RuntimeError)) or client.status != "running":
        return _scheduler_lost(address, exc)
    return None


def _scheduler_lost(address: str, exc: Exception) -> ClusterError:
    return ClusterError(
        f"lost the Dask scheduler at {address} midway ({_said(exc)}); what the build had written stays,"
        " and the next build carries on from it"
    )


def _said(exc: BaseException) -> str:
    """What went wrong, in a few words: Dask's messages name its internal objects first."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text.rpartition(">: ")[2] or type(exc).__name__
