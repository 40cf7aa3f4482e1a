"""`feedtool search`: the archive's full-text search from the command line."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from feedtool.cli.options import config_option, json_option, load, setup_logging, state_option, with_verbosity

if TYPE_CHECKING:
    from feedtool import Hit


@click.command("search")
@click.argument("query")
@click.option("--outlet", "outlets", multiple=True, help="Only this outlet (slug); repeat for several.")
@click.option("--topic", help="Only entries of this topic (slug).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after this day (UTC).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Published before this day (UTC).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="Entries shown (200 at most).")
@config_option
@state_option
@json_option
@with_verbosity
def search_command(
    query: str, outlets: tuple[str, ...], topic: str | None, since: datetime | None, until: datetime | None,
    limit: int, config: Path | None, state: Path | None, as_json: bool, quiet: bool, verbose: bool,
) -> None:  # fmt: skip
    """Search every stored entry, newest first: words (all of them), "a phrase", OR, NOT or -word,
    brackets, and word* for a prefix. Simplified and traditional Chinese find each other."""
    from feedtool import open_archive

    setup_logging(verbose, quiet)
    archive = open_archive(load(config, state=state))
    results = archive.search(query, outlets=outlets, topic=topic, since=since, until=until, limit=limit)
    if as_json:
        click.echo(json.dumps([_as_json(hit) for hit in results.hits], ensure_ascii=False, indent=2))
        return
    # sys.stdout, as click.echo writes to it (and CliRunner replaces it); click 8.5 deprecated get_text_stream.
    styled = sys.stdout.isatty()
    for hit in results.hits:
        entry = hit.entry
        click.echo(f"{entry.published:%Y-%m-%d %H:%M}  {entry.outlet}  {entry.title}")
        click.echo(f"  {entry.url}")
        marked = "".join(
            (click.style(text, bold=True, underline=True) if styled else f"[{text}]") if match else text
            for text, match in hit.snippet
        )
        click.echo(f"  {marked}")
    if not results.hits and not quiet:
        click.echo("feedtool: nothing found", err=True)


def _as_json(hit: Hit) -> dict[str, object]:
    entry = hit.entry
    return {
        "published": entry.published.isoformat().replace("+00:00", "Z"),
        "outlet": entry.outlet,
        "title": entry.title,
        "url": entry.url,
        "id": entry.id,
        "snippet": "".join(text for text, _ in hit.snippet),
        "matches": [text for text, match in hit.snippet if match],
        "snippet_pieces": [{"text": text, "match": match} for text, match in hit.snippet],
    }
