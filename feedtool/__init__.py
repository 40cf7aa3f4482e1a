"""feedtool: scraped news dumps in, clean Atom / RSS / JSON feeds out.

From Python, as the `feedtool` command does it:

    import feedtool

    archive = feedtool.open_archive("feedtool.toml")
    report = archive.build()
    print(report.summary())
    for hit in archive.search("台湾").hits:
        print(hit.entry.title)

`open_archive` and `Archive` are in archive.py; the stages a build runs, in the order data flows
(dump -> entry -> store -> documents -> files), are mapped in docs/design.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from feedtool.archive import Archive, CheckReport, Health, OutletCount, PruneReport, Reject, Stats, open_archive
from feedtool.errors import (
    ClusterError,
    ConfigError,
    FeedtoolError,
    InputError,
    LockHeld,
    PublishError,
    StoreError,
    WorkerLost,
)
from feedtool.version import __version__

if TYPE_CHECKING:  # loaded on first use (see __getattr__): `import feedtool` stays quick for the command
    from feedtool.build import BuildReport
    from feedtool.ingest.run import IngestReport
    from feedtool.publish.run import PublishReport
    from feedtool.search.hits import Hit, Results
    from feedtool.store import Prune

__all__ = [
    "Archive",
    "BuildReport",
    "CheckReport",
    "ClusterError",
    "ConfigError",
    "FeedtoolError",
    "Health",
    "Hit",
    "IngestReport",
    "InputError",
    "LockHeld",
    "OutletCount",
    "Prune",
    "PruneReport",
    "PublishError",
    "PublishReport",
    "Reject",
    "Results",
    "Stats",
    "StoreError",
    "WorkerLost",
    "__version__",
    "open_archive",
]  # fmt: skip

_LATER = {
    "BuildReport": "feedtool.build",
    "Hit": "feedtool.search.hits",
    "IngestReport": "feedtool.ingest.run",
    "PublishReport": "feedtool.publish.run",
    "Results": "feedtool.search.hits",
    "Prune": "feedtool.store",
}


def __getattr__(name: str) -> Any:
    """The report types whose modules load with a build or a search, not with `import feedtool`."""
    if name in _LATER:
        return getattr(importlib.import_module(_LATER[name]), name)
    raise AttributeError(f"module 'feedtool' has no attribute {name!r}")
