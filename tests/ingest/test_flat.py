"""A scraper that writes all its dumps into one folder: the build lists all of it on every run.

Each run of such a scraper adds names to the folder and so moves its mtime, and the folder marks
(ingest/scan.py) cannot spare the listing. What the build can spare is work per known dump beyond the
listing itself: a cron run's cost should follow what changed, not what is there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import age, dump, make_config

from feedtool.build import build
from feedtool.models import Rejection
from feedtool.store import FileStat, Store
from feedtool.store.sources import Sources


def _flat(root: Path, count: int, start: int = 0) -> list[Path]:
    """`count` good dumps side by side in one folder, numbered from `start`."""
    root.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(start, start + count):
        path = root / f"{n:05d}.txt"
        path.write_text(dump(title=f"第{n}号", url=f"https://www.rfi.fr/cn/a/{n}", stamp=str(1697291102000 + n)))
        made.append(path)
    return made


def test_a_cron_run_over_a_flat_folder_converts_no_stored_path_per_known_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file index is matched against the listing as SQLite gives its rows: no stored path is made
    into a real one in Python for each known dump, only for what changed."""
    dumps = tmp_path / "dumps"
    known = 200
    _flat(dumps, known)
    age(dumps)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    _flat(dumps, 3, start=known)  # the scraper's next run: the folder's mtime moves
    age(dumps)
    converted: list[str] = []
    real = Sources.real_path

    def counting(self: Sources, stored: str) -> str:
        converted.append(stored)
        return real(self, stored)

    monkeypatch.setattr(Sources, "real_path", counting)
    report = build(config, workers=1)
    assert report.ingest is not None and report.ingest.counts.new == 3
    assert report.ingest.counts.unchanged == known
    assert len(converted) < 10, f"{len(converted)} stored paths made real for {known} known dumps"


def test_a_flat_folder_listed_again_finds_what_was_added_rewritten_and_deleted(tmp_path: Path) -> None:
    """Listed because a file was added, the folder's other changes are found too: a dump rewritten in
    place with another size (its stat tells it), one deleted (its record goes)."""
    dumps = tmp_path / "dumps"
    files = _flat(dumps, 20)
    (dumps / "broken.txt").write_bytes(b"")
    age(dumps)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    files[3].write_text(dump(title="改稿了", url="https://www.rfi.fr/cn/a/3", stamp="1697291102003"))
    files[5].unlink()
    (dumps / "broken.txt").unlink()
    _flat(dumps, 1, start=100)
    age(dumps)
    report = build(config, workers=1)
    assert report.ingest is not None
    assert (report.ingest.counts.new, report.ingest.counts.updated, report.ingest.counts.rejected) == (1, 1, 0)
    assert report.ingest.files == 20
    with Store(config.store, root=config.root) as store:
        assert store.stats()["files"] == 20
    feed = (config.output / "all" / "atom.xml").read_text("utf-8")
    assert "改稿了" in feed and "第100号" in feed


def test_folders_inside_one_another_and_files_named_one_by_one_are_each_matched_once(tmp_path: Path) -> None:
    """The file index of a folder listed with a folder inside it, and of a file both under it and
    named alone (a rejected dump rechecked), is read once: nothing listed is taken for unlisted."""
    rows = ["a/1.txt", "a/b/2.txt", "a-b/3.txt", "a/c/4.txt", "z/5.txt"]
    with Store(tmp_path / "state.sqlite3", root=tmp_path) as store:
        store.begin_derivation("key", "identity")
        with store.transaction():
            for n, name in enumerate(rows):
                stat = FileStat(str(tmp_path / name), n, n)
                store.add_rejection(stat, Rejection(stat.path, "", "broken"))
        stats = [(str(tmp_path / name), n, n) for n, name in enumerate(rows) if name != "a/c/4.txt"]
        stats[0] = (stats[0][0], 99, 0)  # changed
        folders = [str(tmp_path / f) for f in ("a", "a/b", "a-b")]
        changed, unlisted = store.unmatched(stats, folders, [str(tmp_path / "a/b/2.txt"), str(tmp_path / "z/5.txt")])
    assert changed == [(str(tmp_path / "a/1.txt"), 99, 0)]
    assert unlisted == [str(tmp_path / "a/c/4.txt")]


def test_a_listed_folder_holding_a_file_the_store_keeps_by_absolute_path(tmp_path: Path) -> None:
    """Dumps outside the project folder are stored by their absolute path: matched as they are."""
    outside = tmp_path / "elsewhere" / "dumps"
    _flat(outside, 5)
    age(outside)
    project = tmp_path / "project"
    project.mkdir()
    config = make_config(project, [outside])
    build(config, workers=1)
    _flat(outside, 1, start=50)
    os.remove(outside / "00001.txt")
    age(outside)
    report = build(config, workers=1)
    assert report.ingest is not None and (report.ingest.counts.new, report.ingest.counts.unchanged) == (1, 4)
    with Store(config.store, root=config.root) as store:
        assert store.stats()["files"] == 5
