"""What the commands share: their common options, the config and store they open, and their words."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from feedtool.config import Config, find_config, load_config

log = logging.getLogger("feedtool")


@contextmanager
def logging_restored() -> Iterator[None]:
    """The `feedtool` logger as it was before the command, once the command is done: a program
    that runs the command in its own process and then calls the library hears the library as it
    set it up, not at the level of an earlier -v."""
    before = list(log.handlers), log.level, log.propagate
    try:
        yield
    finally:
        log.handlers[:], log.level, log.propagate = before


def setup_logging(verbose: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("feedtool: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    log.propagate = False


def load(
    config: Path | None,
    inputs: tuple[Path, ...] = (),
    output: Path | None = None,
    state: Path | None = None,
    base_url: str | None = None,
    executor: str | None = None,
) -> Config:
    return load_config(
        find_config(config), inputs=inputs, output=output, store=state, base_url=base_url, executor=executor
    )


config_option = click.option(
    "-c", "--config", type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: $FEEDTOOL_CONFIG, else ./feedtool.toml when present).",
)  # fmt: skip
state_option = click.option(
    "--state", type=click.Path(path_type=Path, dir_okay=False),
    help="Store file (default: [store] path, else .feedtool/state.sqlite3 beside the config).",
)  # fmt: skip
output_option = click.option(
    "-o", "--output", type=click.Path(path_type=Path, file_okay=False), help="Output folder (default: out/)."
)
input_option = click.option(
    "-i", "--input", "inputs", multiple=True, type=click.Path(path_type=Path),
    help="Folder of dumps; repeat for several (default: [build] inputs, else seeds/).",
)  # fmt: skip
# The same two options on every command. -q: nothing a command says of its own work when it
# succeeds (summaries, notes, warnings); what it was asked for (stats, rejects, hits), problems and
# errors are still printed. -v: detail, and a traceback with an error.
verbosity = [
    click.option("-q", "--quiet", is_flag=True, help="Print nothing of its own when it succeeds (for cron)."),
    click.option("-v", "--verbose", is_flag=True, help="More detail, and tracebacks on errors."),
]


def with_verbosity(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(verbosity):
        fn = option(fn)
    return fn


def count(n: int, noun: str, plural: str | None = None) -> str:
    """'1 dump', '2 dumps', '1 entry', '3 entries'."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
