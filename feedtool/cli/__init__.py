"""The command line: click options in, one call of the Python API (feedtool.Archive), a line out.

- `main`: the commands. `options`: what they share. `search`: `feedtool search`.
"""

from feedtool.cli.main import main

__all__ = ["main"]
