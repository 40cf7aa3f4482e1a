"""Typed errors. Each carries a message a person can act on; the CLI maps the type to an exit code."""


class FeedtoolError(Exception):
    """Base class: the job failed (exit 1)."""

    exit_code = 1


class ConfigError(FeedtoolError):
    """The config file or a command-line value is wrong (exit 2, like a usage error)."""

    exit_code = 2


class InputError(FeedtoolError):
    """An input folder is missing or unreadable (exit 2: the command line names it)."""

    exit_code = 2


class LockHeld(FeedtoolError):
    """Another build holds the store's lock (exit 75, EX_TEMPFAIL: cron may simply try again)."""

    exit_code = 75


class StoreError(FeedtoolError):
    """The store cannot be opened or is from a newer feedtool."""


class PublishError(FeedtoolError):
    """An output file could not be written; what was published before is left intact."""


class WorkerLost(FeedtoolError):
    """A worker process died under a task that no other can take over, publishing's or stories'
    (on a cluster: a task that killed every worker it was given). Killed by the system, for its
    memory most often; what the build committed and published stays, and the next build plans
    what is left (exit 1)."""

    def __init__(self, stage: str) -> None:
        doing = {"ingest": "reading dumps", "stories": "linking stories", "publish": "publishing"}.get(stage, stage)
        super().__init__(
            f"a worker process died while {doing} (killed by the system, most often"
            " for its memory: see dmesg); what was written before stays, and the next build finishes the job"
        )
        self.stage = stage


class Busy(Exception):
    """`feedtool serve` is making as many answers from the store as it makes at once, and was for
    as long as a request waits its turn (web/budget.py): the client may try again (HTTP 503)."""


class OverBudget(Exception):
    """An answer from the store ran past its budget (web/budget.py): the query's own work (`busy`
    False: a 400, the client should narrow it) or the wall time of a server too busy (a 503)."""

    def __init__(self, message: str, *, busy: bool) -> None:
        super().__init__(message)
        self.busy = busy


class Rejected(Exception):
    """A dump cannot become an entry. Not a FeedtoolError: a rejection never stops a run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClusterError(FeedtoolError):
    """The Dask cluster a build runs on cannot be reached, or was lost midway (exit 69, EX_UNAVAILABLE):
    what the build committed before stays, and the next build carries on from it."""

    exit_code = 69
