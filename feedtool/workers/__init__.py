"""Where a build's CPU-bound stages run: this machine's cores, or a Dask cluster.

Every map stage of a build (ingest's reading of dumps, publishing's rendering and writing) is a
pure function of a worker's state and one job: `fn(state, job) -> result`, with jobs and results
plain values. A `Setup` says how a worker makes its state (the compiled rules, the renderers),
once; the stage's code keeps nothing in module globals. Where the workers are is the pool's
business:

- `local` (the default): worker processes on this machine, forked where the platform allows.
- `cluster`: a Dask distributed cluster (`feedtool build --executor dask:tcp://HOST:8786`), each
  stage's setup a worker plugin. Optional: `pip install 'feedtool[dask]'`.

No task opens the store: the build process is its one writer, and reads what the tasks need.
"""

from feedtool.workers.pool import POOL_THRESHOLD, Workers, batched, fork_early, parallel_map, started
from feedtool.workers.tasks import Pool, PoolFactory, Setup, Stage

__all__ = [
    "POOL_THRESHOLD",
    "Pool",
    "PoolFactory",
    "Setup",
    "Stage",
    "Workers",
    "batched",
    "fork_early",
    "parallel_map",
    "started",
]
