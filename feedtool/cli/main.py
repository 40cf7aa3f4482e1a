"""The click layer: options in, one library call, a line out. Nothing below this module imports click.

Exit codes: 0 done; 1 the job failed (or, with --strict, dumps were rejected or an input folder
held none); 2 usage or config error; 75 another build holds the lock. Errors are one line on
stderr; -v adds the traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from feedtool import open_archive
from feedtool.cli.options import (
    config_option,
    count,
    input_option,
    json_option,
    load,
    logging_restored,
    output_option,
    setup_logging,
    state_option,
    verbosity,
    with_verbosity,
)  # fmt: skip
from feedtool.cli.search import search_command
from feedtool.errors import ConfigError, FeedtoolError
from feedtool.version import __version__

log = logging.getLogger("feedtool")


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr, only for a person watching a terminal (never for cron or -q)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="feedtool")
def cli() -> None:
    """Turn folders of scraped news dumps into clean Atom, RSS and JSON feeds."""


def _run_build(
    *, config: Path | None, inputs: tuple[Path, ...], output: Path | None, state: Path | None,
    base_url: str | None, quiet: bool, verbose: bool, strict: bool, rederive: bool, rescan: bool,
    do_ingest: bool, do_publish: bool, executor: str | None = None,
) -> None:  # fmt: skip
    setup_logging(verbose, quiet)
    archive = open_archive(load(config, inputs, output, state, base_url, executor))
    with _progress("reading dumps", quiet) as ingest_bar, _progress("writing feeds", quiet) as publish_bar:
        report = archive.build(
            ingest=do_ingest, publish=do_publish, ingest_progress=ingest_bar, publish_progress=publish_bar,
            rederive=rederive, rescan=rescan,
        )  # fmt: skip
    rejected = report.ingest.counts.rejected if report.ingest else 0
    empty = report.ingest.empty_inputs if report.ingest else ()
    if not quiet:
        click.echo(f"feedtool: {report.summary()}")
        if rejected:
            click.echo(
                f"feedtool: {count(rejected, 'dump')} rejected; 'feedtool rejects' lists them with reasons", err=True
            )
        for folder in empty:
            click.echo(f"feedtool: input folder {folder} holds no dumps; is the scraper writing elsewhere?", err=True)
    if report.ingest and verbose:
        for rejection in report.ingest.rejections:
            log.info("rejected %s: %s", rejection.path, rejection.reason)
    if strict and (rejected or empty):
        failures = [f"{count(rejected, 'dump')} rejected"] if rejected else []
        failures += [f"input folder {folder} holds no dumps" for folder in empty]
        listed = "; 'feedtool rejects' lists them" if rejected else ""
        raise FeedtoolError(f"{', '.join(failures)} (--strict){listed}")


def _build_command(name: str, help_text: str, *, do_ingest: bool, do_publish: bool) -> click.Command:
    """build, ingest and publish share their options; each runs the stages its name says."""

    def command(**kwargs: Any) -> None:
        kwargs.setdefault("inputs", ())
        kwargs.setdefault("strict", False)
        kwargs.setdefault("rederive", False)
        kwargs.setdefault("rescan", False)
        kwargs.setdefault("base_url", None)
        _run_build(**kwargs, do_ingest=do_ingest, do_publish=do_publish)

    params = [config_option, output_option, state_option, *verbosity]
    params.append(
        click.option(
            "--executor", metavar="local|dask:ADDRESS",
            help="Where the work runs: this machine's cores (local, the default), or the Dask cluster"
            " whose scheduler is at ADDRESS (dask:tcp://HOST:8786; needs feedtool[dask]). Default: [build] executor.",
        )
    )  # fmt: skip
    if do_ingest:
        params.append(input_option)
        strict_help = "Exit 1 when any dump is rejected or an input folder holds none."
        params.append(click.option("--strict", is_flag=True, help=strict_help))
        params.append(
            click.option(
                "--rederive", is_flag=True,
                help="Derive every entry again from its dumps (after upgrading lxml, nh3 or w3lib, say);"
                " a change of rules or of feedtool does this by itself.",
            )
        )  # fmt: skip
        params.append(
            click.option(
                "--rescan", is_flag=True,
                help="Check every dump, also in folders unchanged since the last build"
                " (for dumps rewritten in place under the same name).",
            )
        )  # fmt: skip
    if do_publish:
        params.append(click.option("--base-url", help="Absolute URL the output will be served from."))
    for param in reversed(params):
        command = param(command)
    return cli.command(name, help=help_text)(command)


_build_command(
    "build",
    "Ingest new and changed dumps, then publish every feed whose content changed.",
    do_ingest=True,
    do_publish=True,
)
_build_command(
    "ingest", "Read new and changed dumps into the store; publish nothing.", do_ingest=True, do_publish=False
)
_build_command("publish", "Write the feeds from the store; read no dumps.", do_ingest=False, do_publish=True)


@cli.command()
@output_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@config_option
@with_verbosity
def serve(output: Path | None, host: str, port: int, config: Path | None, quiet: bool, verbose: bool) -> None:
    """Serve the output folder over HTTP for feed readers, with ETag and 304 responses; with the
    store beside it, query feeds and /search too. -v logs every request."""
    setup_logging(verbose, quiet)
    cfg = load(config)
    server = open_archive(cfg).server(host, port, output=output, access_log=verbose)
    if not quiet:
        click.echo(f"feedtool: serving {output or cfg.output} on {server.base_url} (Ctrl-C stops)")
    server.run()


@cli.command()
@output_option
@config_option
@with_verbosity
def check(output: Path | None, config: Path | None, quiet: bool, verbose: bool) -> None:
    """Read every published document back and list problems; exit 1 when there are any.

    With [site] base_url configured, a document published for another address is a problem.
    Without, an output whose links are the local server's is fit only for this machine: said.
    """
    setup_logging(verbose, quiet)
    cfg = load(config)
    checked = open_archive(cfg).check(output)
    for problem in checked.problems:
        click.echo(problem)
    if not cfg.base_url_set and not quiet and checked.local_only:
        click.echo(
            f"feedtool: the output's links are under {checked.base_url}, where feedtool serve listens"
            " (no [site] base_url): fit only for serving on this machine",
            err=True,
        )
    if checked.problems:
        raise FeedtoolError(f"{len(checked.problems)} problems in {checked.checked} documents under {checked.folder}")
    if not quiet:
        click.echo(f"feedtool: {checked.checked} documents checked, no problems")


@cli.command()
@config_option
@state_option
@json_option
@with_verbosity
def stats(config: Path | None, state: Path | None, as_json: bool, quiet: bool, verbose: bool) -> None:
    """Entries per outlet and topic, newest dates, rejected dumps, store size."""
    setup_logging(verbose, quiet)
    archive = open_archive(load(config, state=state))
    data = archive.stats()
    if as_json:
        click.echo(json.dumps(data.as_json(), ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{count(data.entries, 'entry', 'entries')} from {count(data.files, 'file')},"
        f" {data.rejected} rejected, {data.pruned} pruned"
    )
    click.echo(f"store: {archive.config.store} ({data.store_bytes / 1e6:.1f} MB), {data.indexed} entries searchable")
    for outlet in data.outlets:
        click.echo(f"  outlet {outlet.slug:<16} {outlet.entries:>7}  newest {outlet.newest[:16]}Z  {outlet.name}")
    for slug, entries in data.topics:
        click.echo(f"  topic  {slug:<16} {entries:>7}")
    if data.stories:
        spans = ", ".join(f"{count(n, 'story', 'stories')} of {outlets}" for outlets, n in data.story_outlets)
        click.echo(f"{count(data.stories, 'story', 'stories')} of several outlets ({spans} outlets)")


@cli.command()
@config_option
@state_option
@json_option
@with_verbosity
def rejects(config: Path | None, state: Path | None, as_json: bool, quiet: bool, verbose: bool) -> None:
    """Every rejected dump with its reason."""
    setup_logging(verbose, quiet)
    rows = open_archive(load(config, state=state)).rejects()
    if as_json:
        click.echo(json.dumps([{"path": r.path, "reason": r.reason} for r in rows], ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row.path}: {row.reason}")


@cli.command()
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False), default="feedtool.toml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@with_verbosity
def init(path: Path, force: bool, quiet: bool, verbose: bool) -> None:
    """Write a commented starter config (default ./feedtool.toml)."""
    from importlib import resources

    setup_logging(verbose, quiet)
    if path.exists() and not force:
        raise click.UsageError(f"{path} already exists; pass --force to overwrite it")
    path.write_text(resources.files("feedtool").joinpath("starter.toml").read_text("utf-8"), "utf-8")
    if not quiet:
        click.echo(f"feedtool: wrote {path}")


@cli.command()
@config_option
@state_option
@click.option("--before", type=click.DateTime(["%Y-%m-%d"]), help="Entries published before this day (UTC).")
@click.option("--outlet", help="Entries of this outlet (slug).")
@click.option("--url", help="One article, by any of its addresses (a takedown).")
@click.option("--list", "show", is_flag=True, help="List the prunes in force.")
@click.option("--lift", type=int, metavar="N", help="Lift prune N; the next build brings its entries back.")
@with_verbosity
def prune(
    config: Path | None, state: Path | None, before: Any, outlet: str | None, url: str | None, show: bool,
    lift: int | None, quiet: bool, verbose: bool,
) -> None:  # fmt: skip
    """Remove entries from the feeds, for good: no later build publishes them while the prune stands.

    The conditions given together must all hold (--before 2023-01-01 --outlet rfi: RFI's older
    articles). Dump files are not touched; `--lift N` brings a prune's entries back.
    """
    setup_logging(verbose, quiet)
    asked = [before is not None or outlet is not None or url is not None, show, lift is not None]
    if sum(asked) != 1:
        raise click.UsageError("say what to prune (--before DAY, --outlet SLUG, --url URL), or --list, or --lift N")
    archive = open_archive(load(config, state=state))
    try:
        if show:
            for made in archive.prunes():
                click.echo(f"{made.id}: {made.describe()} (since {made.made[:10]})")
            return
        if lift is not None:
            if lift not in (in_force := [p.id for p in archive.prunes()]):
                known = ", ".join(map(str, in_force)) or "none"
                raise click.UsageError(f"no prune {lift} (in force: {known}; see 'feedtool prune --list')")
            lifted = archive.lift_prune(lift)
            if not quiet:
                said = f"lifted prune {lift} ({lifted.describe()}); the next build brings its entries back"
                click.echo(f"feedtool: {said}")
            return
        report = archive.prune(before=before, outlet=outlet, url=url)
    except ConfigError as exc:  # a usage error here: the options named something that is not there
        raise click.UsageError(str(exc)) from None
    if not report.address_known:
        click.echo(f"feedtool: no entry has the address {url}; recorded, so it will not be published", err=True)
    if not quiet:
        click.echo(
            f"feedtool: removed {count(report.removed, 'entry', 'entries')} ({report.prune.describe()}),"
            f" kept out as prune {report.prune.id}; run 'feedtool publish' to update the feeds"
        )


@cli.command()
@config_option
@state_option
@json_option
@click.option(
    "--prometheus", type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the metrics to this file, for node_exporter's textfile collector.",
)  # fmt: skip
@with_verbosity
def health(
    config: Path | None, state: Path | None, as_json: bool, prometheus: Path | None, quiet: bool, verbose: bool
) -> None:
    """Is each outlet's scraper still working? Exit 1 when any outlet is late, failing or thin, or an input is empty.

    Judged against each outlet's own history: late when silent longer than its history makes
    likely (or than its [[outlet]] expect_every hours), failing when most recent dumps are
    rejected, thin when its newest articles' text shrank; an input folder with no dump in it is
    flagged too. With -q, silent unless something is flagged.
    """
    setup_logging(verbose, quiet)
    checked = open_archive(load(config, state=state)).health()
    if prometheus is not None:
        checked.write_metrics(prometheus)
    if as_json:
        click.echo(json.dumps(checked.as_json(), ensure_ascii=False, indent=2))
    else:
        for line in checked.lines(quiet=quiet):
            click.echo(line)
    if checked.trouble:
        raise FeedtoolError(checked.trouble)


cli.add_command(search_command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every failure ends as one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args or "--verbose" in args
    with logging_restored():
        _main(args, verbose)


def _main(args: list[str], verbose: bool) -> None:
    try:
        cli.main(args, prog_name="feedtool", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("feedtool: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        where = f"feedtool {exc.ctx.info_name}" if exc.ctx and exc.ctx.parent else "feedtool"
        click.echo(f"feedtool: error: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(2)
    except FeedtoolError as exc:
        if verbose:
            log.exception("traceback:")
        click.echo(f"feedtool: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if verbose:
            log.exception("traceback:")
        click.echo(f"feedtool: internal error: {type(exc).__name__}: {exc} (run with -v for details)", err=True)
        sys.exit(1)
