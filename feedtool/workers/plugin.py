"""A stage's setup as a Dask worker plugin (its own module: it imports distributed, an optional extra)."""

from __future__ import annotations

from typing import Any

from distributed import WorkerPlugin

from feedtool.workers.tasks import Setup


class StagePlugin(WorkerPlugin):
    """Runs a stage's setup on every worker of the cluster, and on any that joins later; the
    stage's tasks find the state here (cluster._run_chunk)."""

    def __init__(self, setup: Setup[Any]) -> None:
        self.recipe = setup
        self.state: Any = None

    def setup(self, worker: Any) -> None:
        self.state = self.recipe()

    def teardown(self, worker: Any) -> None:
        self.state = None
