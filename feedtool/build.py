"""A build: ingest, then publish, under an exclusive lock on the store.

The lock (filelock, a file beside the store) makes overlapping cron runs safe: the second one
waits up to `lock_timeout` seconds, then gives up with LockHeld (exit 75), touching nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from feedtool.config import Config
from feedtool.errors import ConfigError, InputError, LockHeld
from feedtool.ingest.run import IngestReport, ingest
from feedtool.models import Progress
from feedtool.publish.run import PublishReport, publish, rendering
from feedtool.store import Store
from feedtool.stories.kept import Kept, keep
from feedtool.workers import PoolFactory, Workers
from feedtool.workers.cluster import address_of, connected

log = logging.getLogger("feedtool")


@dataclass(frozen=True)
class BuildReport:
    ingest: IngestReport | None
    publish: PublishReport | None
    seconds: float
    local_links: str | None = None  # published with no base URL configured: the local server's, said once
    stories: Kept | None = None  # None when stories are turned off

    def summary(self) -> str:
        parts = []
        if self.ingest is not None:
            c = self.ingest.counts
            again = "rules or feedtool changed, every dump read again: " if self.ingest.rederived else ""
            parts.append(f"{again}{c.new} new, {c.updated} updated, {c.unchanged} unchanged, {c.rejected} rejected")
            if self.ingest.kept:
                kept = self.ingest.kept
                parts.append(
                    f"{kept} entr{'y' if kept == 1 else 'ies'} kept as stored: derived under earlier rules, dumps gone"
                )
        if self.publish is not None:
            p = self.publish
            parts.append(f"{len(p.written)} files written, {len(p.removed)} removed")
            if p.moved_from is not None:
                parts.append(f"published under a new base URL (was {p.moved_from})")
            if self.local_links is not None:
                parts.append(f"links point at {self.local_links}, where feedtool serve listens (no [site] base_url)")
        if self.stories is not None:
            parts.append(_stories(self.stories))
        return "; ".join(parts) + f" in {self.seconds:.1f} s"


def _stories(kept: Kept) -> str:
    """How many stories stand, and how many outlets they span: "12 stories of 2 to 5 outlets"."""
    if not kept.stories:
        return "no story of several outlets"
    spans = [outlets for outlets, _ in kept.sizes]
    outlets = f"{spans[0]}" if spans[0] == spans[-1] else f"{spans[0]} to {spans[-1]}"
    said = f"{kept.stories} stor{'y' if kept.stories == 1 else 'ies'} of {outlets} outlets"
    return said + (f" ({kept.changed} made or changed)" if kept.changed else "")


@contextmanager
def locked(config: Config) -> Iterator[None]:
    """The store's lock, held while the block runs. A run that finds it held says so once, as it
    starts to wait (silent for all it knows, it could be a hung cron job), then waits."""
    from filelock import FileLock, Timeout

    lock_path = config.store.with_name(config.store.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(lock_path, timeout=config.lock_timeout)
    try:
        try:
            lock.acquire(blocking=False)
        except Timeout:
            if config.lock_timeout > 0:
                log.warning("another build holds the lock on %s; waiting up to %g s", config.store, config.lock_timeout)
            lock.acquire()
    except Timeout:
        raise LockHeld(
            f"another feedtool build holds the lock on {config.store} (waited {config.lock_timeout:g} s);"
            " this run changed nothing, try again later"
        ) from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def on_executor(config: Config) -> Iterator[PoolFactory | None]:
    """The pools of the executor the config names: None for local processes, else a Dask
    cluster's, connected for the block (ClusterError when its scheduler cannot be reached)."""
    address = address_of(config.executor)
    if address is None:
        yield None
        return
    with connected(address) as pool:
        yield pool


def check_layout(config: Config, *, reading: bool) -> None:
    """Before anything is created: the store must never be published (it holds every source path of
    the archive), and the input folders must exist, so that a mistake leaves no empty store behind."""
    store, out = config.store.resolve(), config.output.resolve()
    if store.is_relative_to(out):
        raise ConfigError(f"the store {config.store} is inside the output folder {config.output}; move it out")
    for folder in config.inputs if reading else ():
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise InputError(f"input folder {folder} {what}; set [build] inputs in the config, or pass -i FOLDER")


def build(
    config: Config,
    *,
    do_ingest: bool = True,
    do_publish: bool = True,
    ingest_progress: Progress | None = None,
    publish_progress: Progress | None = None,
    workers: int | None = None,
    rederive: bool = False,
    rescan: bool = False,
) -> BuildReport:
    started = time.monotonic()
    check_layout(config, reading=do_ingest)
    # The cluster, if any, is reached first: an unreachable scheduler fails the build before
    # it takes the lock or touches the store.
    with on_executor(config) as pool, locked(config), Store(config.store, root=config.root) as store:
        if do_ingest and not store.index_current():  # indexed by a feedtool that cut words otherwise
            store.reindex()
        pools = Workers(workers, pool)
        # A build that lists every folder (the first, or a rescan) holds its listing, hundreds of
        # megabytes at a million dumps, until it publishes: publishing's workers start first.
        lists_every_folder = do_ingest and (rescan or not store.listed_before())
        with pools.early(rendering(config), when=do_publish and lists_every_folder):
            ingested = (
                ingest(store, config, progress=ingest_progress, workers=pools, rederive=rederive, rescan=rescan)
                if do_ingest
                else None
            )
            # Before publishing: a prune since the last build, or new rules, change stories too.
            stories = keep(store, config.stories, pools)
            published = publish(store, config, progress=publish_progress, workers=pools) if do_publish else None
        store.checkpoint()
    local = config.site.base_url if do_publish and not config.base_url_set else None
    return BuildReport(ingested, published, time.monotonic() - started, local, stories)
