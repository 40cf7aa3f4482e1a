"""Sequences of cron runs, each compared with a build from nothing: incremental equals fresh, always.

The cases here are those that once made incremental output drift: many articles that share one
timestamp (and so one text, as copies of a syndicated story do), arriving over many builds.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from helpers import SEEDS, assert_as_fresh, dump, make_config

from feedtool.build import build


def _with_url_suffix(text: str, suffix: str) -> str:
    """The same dump under another article URL: same timestamp, same title, same text."""
    return re.sub(r"(\(https?://[^)/]*/[^)]*)\)", rf"\1{suffix})", text, count=1)


@pytest.mark.slow
def test_copies_of_one_story_with_one_timestamp_over_ten_cron_runs(tmp_path: Path, seeds: Path) -> None:
    """Ten builds, each bringing copies of one seed under new URLs: the head of every feed and its
    archive parts fill with entries whose timestamp, and whose text, are the same."""
    first = sorted(SEEDS.iterdir())[0].read_text("utf-8")
    config = make_config(tmp_path, [seeds])
    build(config, workers=1)
    for run, count in enumerate([7, 16, 1, 27, 16, 1, 16, 1, 39, 20], 1):
        for k in range(1, count + 1):
            (seeds / f"r_{run}_{k}.txt").write_text(_with_url_suffix(first, f"-r{run}-{k}"), "utf-8")
        build(config, workers=1)
        assert_as_fresh(config, [seeds], tmp_path / f"fresh{run}")


def test_a_rescrape_under_another_address_of_the_same_article_shows_its_link(tmp_path: Path) -> None:
    """The same article and text at a second address (a tracking parameter the URL rules drop): the
    newer scrape is shown, its address included, to a template that shows it (entry.url)."""
    dumps, theme = tmp_path / "dumps", tmp_path / "theme"
    dumps.mkdir()
    theme.mkdir()
    (theme / "entry.html").write_text('<article><a href="{{ entry.url }}">{{ entry.title }}</a></article>\n', "utf-8")
    text = sorted(SEEDS.iterdir())[0].read_text("utf-8")
    (dumps / "a.txt").write_text(text, "utf-8")
    config = make_config(tmp_path, [dumps], extra='[site]\ntemplates = "theme"')
    build(config, workers=1)
    later = dumps / "b.txt"
    later.write_text(_with_url_suffix(text, "?utm_source=newsletter"), "utf-8")
    os.utime(later, ((dumps / "a.txt").stat().st_mtime + 3600,) * 2)
    build(config, workers=1)
    assert "utm_source=newsletter" in (config.output / "all" / "index.html").read_text("utf-8")


def _write(path: Path, text: str, mtime: int) -> None:
    path.write_text(text, "utf-8")
    os.utime(path, (mtime, mtime))


@pytest.mark.parametrize("undated", [False, True], ids=["dated", "undated"])
def test_a_copy_arriving_a_build_later_gives_what_arriving_together_gives(tmp_path: Path, undated: bool) -> None:
    """An article scraped twice with different text, then a third scrape whose bytes equal the first's
    under a new path and a newer mtime: it is the scrape shown, whichever build it arrives in.
    Undated, each copy's own mtime is its claim on the date, the earliest one winning."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    stamp = None if undated else "1697291102000"
    first = dump(url="https://www.rfi.fr/cn/a/1", body="<p>原文。</p>", stamp=stamp)
    edited = dump(url="https://www.rfi.fr/cn/a/1", body="<p>原文（更新）。</p>", stamp=stamp)
    _write(dumps / "b.txt", first, 1_700_000_000)
    _write(dumps / "c.txt", edited, 1_700_003_600)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    _write(dumps / "a.txt", first, 1_700_007_200)  # the same bytes as b.txt, newest of all
    build(config, workers=1)
    assert_as_fresh(config, [dumps], tmp_path / "fresh")
    _write(dumps / "0.txt", edited, 1_600_000_000)  # the same bytes as c.txt, oldest of all
    build(config, workers=1)
    assert_as_fresh(config, [dumps], tmp_path / "fresh")
