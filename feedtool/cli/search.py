"""`feedtool search`: the archive's full-text search from the command line."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from feedtool.cli.options import config_option, json_option, load, setup_logging, state_option, with_verbosity

if TYPE_CHECKING:
    from feedtool import Hit


class _Search(click.Command):
    """`feedtool search`'s arguments: one that starts with '-' and is none of the command's
    options is a word of the search (`-加沙`: leave it out), as it is in the search box, not an
    unknown option."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _words_last(self.get_params(ctx), args))


def _words_last(params: list[click.Parameter], args: list[str]) -> list[str]:
    """The arguments, options first (each with its value) and then, after `--`, the search's words
    in the order given. Unchanged when an option lacks its value: click says so."""
    takes_value: dict[str, bool] = {}
    for param in params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                takes_value[name] = not param.is_flag and not param.count
    flags = {name[1] for name, value in takes_value.items() if len(name) == 2 and not value}
    options: list[str] = []
    words: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            words += rest
            break
        name = arg.split("=", 1)[0]
        if arg.startswith("--") or name in takes_value or (len(arg) > 2 and set(arg[1:]) <= flags):
            options.append(arg)  # an unknown --option too: click names it
            if takes_value.get(name) and "=" not in arg:
                value = next(rest, None)
                if value is None:
                    return args
                options.append(value)
        else:
            words.append(arg)
    return [*options, "--", *words]


@click.command("search", cls=_Search)
@click.argument("words", metavar="QUERY", nargs=-1, required=True)
@click.option("--outlet", "outlets", multiple=True, help="Only this outlet (slug); repeat for several.")
@click.option("--topic", help="Only entries of this topic (slug).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after this day (UTC).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Published before this day (UTC).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="Entries shown, newest first.")
@click.option("--all", "every", is_flag=True, help="Every entry found, however many (with --json, a line each).")
@config_option
@state_option
@json_option
@with_verbosity
def search_command(
    words: tuple[str, ...], outlets: tuple[str, ...], topic: str | None, since: datetime | None,
    until: datetime | None, limit: int, every: bool, config: Path | None, state: Path | None, as_json: bool,
    quiet: bool, verbose: bool,
) -> None:  # fmt: skip
    """Search every stored entry, newest first: words (all of them), "a phrase", OR, NOT or -word,
    brackets, and word* for a prefix. Simplified and traditional Chinese find each other. The
    words may be one argument or several; one starting with - is left out of the hits."""
    from feedtool import open_archive

    setup_logging(verbose, quiet)
    archive = open_archive(load(config, state=state))
    # Page after page, each read as the store stands then: as many as --limit asks, or every one.
    found = archive.hits(
        " ".join(words), outlets=outlets, topic=topic, since=since, until=until, limit=None if every else limit
    )
    shown = _shown(found, as_json=as_json, lines=every)
    if not shown and not quiet:
        click.echo("feedtool: nothing found", err=True)


def _shown(hits: Iterator[Hit], *, as_json: bool, lines: bool) -> int:
    """Print the hits as they come (`--json`: one array, or with `lines` an object a line); how many.
    A reader that stops reading (`| head`) ends the command quietly, as it ends grep."""
    count = 0
    try:
        if as_json and not lines:
            found = [_as_json(hit) for hit in hits]
            click.echo(json.dumps(found, ensure_ascii=False, indent=2))
            return len(found)
        # sys.stdout, as click.echo writes to it (and CliRunner replaces it); click 8.5 deprecated get_text_stream.
        styled = sys.stdout.isatty()
        for hit in hits:
            count += 1
            if as_json:
                click.echo(json.dumps(_as_json(hit), ensure_ascii=False))
                continue
            entry = hit.entry
            click.echo(f"{hit.published_local:%Y-%m-%d %H:%M %Z}  {entry.outlet}  {entry.title}")
            click.echo(f"  {entry.id}")  # the canonical address, as the feeds give it
            marked = "".join(
                (click.style(text, bold=True, underline=True) if styled else f"[{text}]") if match else text
                for text, match in hit.snippet
            )
            click.echo(f"  {marked}")
    except BrokenPipeError:
        # Python would fail again flushing stdout on its way out: it goes to /dev/null instead.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    return count


def _as_json(hit: Hit) -> dict[str, Any]:
    entry = hit.entry
    return {
        "published": entry.published.isoformat().replace("+00:00", "Z"),
        "published_local": hit.published_local.isoformat(),  # in the outlet's time zone
        "outlet": entry.outlet,
        "title": entry.title,
        "url": entry.id,  # the canonical address, as the feeds give it (the id is the same)
        "id": entry.id,
        "snippet": "".join(text for text, _ in hit.snippet),
        "matches": [text for text, match in hit.snippet if match],
        "snippet_pieces": [{"text": text, "match": match} for text, match in hit.snippet],
    }
