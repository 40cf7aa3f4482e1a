"""A scraper that writes all its dumps into one folder: the build lists all of it on every run.

Each run of such a scraper adds names to the folder and so moves its mtime, and the folder marks
(ingest/scan.py) cannot spare the listing. What the build can spare is work per known dump beyond the
listing itself: a stat, a row of the file index made into a path. A cron run's cost should follow
what changed, not what is there.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from helpers import age, dump, fresh_build, make_config, published

import feedtool.ingest.run
from feedtool.build import build
from feedtool.config import Config
from feedtool.ingest.scan import Scan, scan
from feedtool.models import Rejection
from feedtool.store import FileStat, Store
from feedtool.store.sources import Sources


def _flat(root: Path, count: int, start: int = 0) -> list[Path]:
    """`count` good dumps side by side in one folder, numbered from `start`, written an hour ago:
    settled, as a scraper's dumps are by the next cron run."""
    root.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(start, start + count):
        path = root / f"{n:05d}.txt"
        path.write_text(dump(title=f"第{n}号", url=f"https://www.rfi.fr/cn/a/{n}", stamp=str(1697291102000 + n)))
        _settle(path)
        made.append(path)
    return made


def _settle(path: Path) -> None:
    past = time.time() - 3600
    os.utime(path, (past, past))


def _scans(monkeypatch: pytest.MonkeyPatch) -> list[Scan]:
    """What each build's walk of the folders found."""
    made: list[Scan] = []
    scan = feedtool.ingest.run.scan

    def kept(*args: object, **options: object) -> Scan:
        made.append(scan(*args, **options))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(feedtool.ingest.run, "scan", kept)
    return made


def _same_as_fresh(tmp_path: Path, dumps: Path, output: Path) -> None:
    fresh = fresh_build(tmp_path / "fresh", [dumps])
    assert published(output) == published(fresh.output)
    shutil.rmtree(tmp_path / "fresh")


def _built_then_grown(tmp_path: Path, known: int) -> tuple[Config, Path]:
    """A flat folder of `known` dumps built, then the scraper's next run: three more dumps, the
    folder's mtime moved."""
    dumps = tmp_path / "dumps"
    _flat(dumps, known)
    age(dumps)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    _flat(dumps, 3, start=known)
    age(dumps)
    return config, dumps


def _written_in_place_and_read(config: Config, path: Path, title: str, url: str, stamp: str) -> None:
    """A dump written again in place, and the folder of dumps listed again for a dump added to it:
    the next build reads both, the one as updated, the other as new."""
    path.write_text(dump(title=title, url=url, stamp=stamp))
    (dumps,) = config.inputs
    _flat(dumps, 1, start=10)
    age(dumps)
    report = build(config, workers=1)
    assert report.ingest is not None and (report.ingest.counts.new, report.ingest.counts.updated) == (1, 1)
    assert title in (config.output / "all" / "atom.xml").read_text("utf-8")


def test_a_flat_folder_listed_again_stats_only_its_new_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The folder's listing is compared with the one kept from the last build: the known dumps are
    neither stat-ed nor looked up in the file index, only the new ones are."""
    known = 200
    config, dumps = _built_then_grown(tmp_path, known)
    scans = _scans(monkeypatch)
    report = build(config, workers=1)
    assert report.ingest is not None and (report.ingest.counts.new, report.ingest.counts.unchanged) == (3, known)
    assert scans[0].listed_in == set(), "the file index was read for the whole folder"
    assert sorted(os.path.basename(path) for path in scans[0].named) == ["00200.txt", "00201.txt", "00202.txt"]
    _same_as_fresh(tmp_path, dumps, config.output)


def test_a_cron_run_over_a_flat_folder_converts_no_stored_path_per_known_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file index is matched against the listing as SQLite gives its rows: no stored path is made
    into a real one in Python for each known dump, only for what changed."""
    known = 200
    config, _ = _built_then_grown(tmp_path, known)
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


def test_a_flat_folder_listed_again_finds_what_was_added_replaced_and_deleted(tmp_path: Path) -> None:
    """Listed because a file was added, the folder's other changes are found too: a dump replaced by a
    rename under the same name (another inode), one deleted, a folder in it deleted whole (their
    records go), a rejected one fixed in place (rejected dumps are stat-ed on every build)."""
    dumps = tmp_path / "dumps"
    files = _flat(dumps, 20)
    _flat(dumps / "later", 2, start=50)
    (dumps / "broken.txt").write_bytes(b"")
    (dumps / "fixed.txt").write_bytes(b"")
    for path in (dumps / "broken.txt", dumps / "fixed.txt"):
        _settle(path)
    age(dumps)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    replacement = tmp_path / "replacement.txt"
    replacement.write_text(dump(title="改稿了", url="https://www.rfi.fr/cn/a/3", stamp="1697291102003"))
    _settle(replacement)
    os.replace(replacement, files[3])  # as an atomic writer does
    files[5].unlink()
    (dumps / "broken.txt").unlink()
    shutil.rmtree(dumps / "later")
    with open(dumps / "fixed.txt", "w", encoding="utf-8") as fh:  # in place: same inode
        fh.write(dump(title="修好了", url="https://www.rfi.fr/cn/a/fixed", stamp="1697291102099"))
    _flat(dumps, 1, start=100)
    age(dumps)
    report = build(config, workers=1)
    assert report.ingest is not None
    assert (report.ingest.counts.new, report.ingest.counts.updated, report.ingest.counts.rejected) == (2, 1, 0)
    assert report.ingest.files == 21
    with Store(config.store, root=config.root) as store:
        assert store.stats()["files"] == 21
    feed = (config.output / "all" / "atom.xml").read_text("utf-8")
    assert "改稿了" in feed and "第100号" in feed and "修好了" in feed


def test_a_dump_rewritten_in_place_in_a_listed_folder_needs_rescan(tmp_path: Path) -> None:
    """The rule of a folder not listed holds for one listed: a settled dump edited in place (same
    name, same inode) is not stat-ed, and is seen with --rescan."""
    dumps = tmp_path / "dumps"
    files = _flat(dumps, 3)
    age(dumps)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    files[1].write_text(dump(title="改稿", url="https://www.rfi.fr/cn/a/1", stamp="1697291102001"))
    _flat(dumps, 1, start=10)
    age(dumps)
    build(config, workers=1)
    feed = (config.output / "all" / "atom.xml").read_text("utf-8")
    assert "第10号" in feed and "第1号" in feed and "改稿" not in feed
    report = build(config, workers=1, rescan=True)
    assert report.ingest is not None and report.ingest.counts.updated == 1
    _same_as_fresh(tmp_path, dumps, config.output)


def test_a_dump_still_being_written_when_listed_is_stat_ed_again(tmp_path: Path) -> None:
    """A dump modified within RACY_SECONDS of its listing may be half written: the next build stats it
    again, and reads what the scraper finished writing in place."""
    dumps = tmp_path / "dumps"
    _flat(dumps, 3)
    partial = dumps / "partial.txt"
    partial.write_text(dump(title="半截", url="https://www.rfi.fr/cn/a/partial", stamp="1697291102050"))
    age(dumps)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)  # the dump was modified a moment ago
    _written_in_place_and_read(config, partial, "写完了", "https://www.rfi.fr/cn/a/partial", "1697291102050")
    _same_as_fresh(tmp_path, dumps, config.output)


def test_a_folder_deleted_and_made_again_is_listed_anew(tmp_path: Path) -> None:
    """A folder's kept listing goes with the folder: made again later, with a dump of the same name and
    inode (a hard link kept elsewhere), its dump is stat-ed and in the file index again, not taken
    for one known. (The entry stays published meanwhile: an archive keeps what it published.)"""
    dumps = tmp_path / "dumps"
    _flat(dumps, 2)
    day = dumps / "day"
    day.mkdir()
    kept = _flat(tmp_path / "elsewhere", 1, start=70)[0]
    os.link(kept, day / "a.txt")
    age(dumps)
    config = make_config(tmp_path, [dumps])

    def files() -> int:
        with Store(config.store, root=config.root) as store:
            return int(store.stats()["files"])

    build(config, workers=1)
    assert files() == 3
    shutil.rmtree(day)
    age(dumps)
    build(config, workers=1)
    assert files() == 2
    day.mkdir()
    os.link(kept, day / "a.txt")
    age(dumps)
    report = build(config, workers=1)
    assert report.ingest is not None and report.ingest.files == 3
    assert files() == 3


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


def test_a_listing_kept_for_another_folder_under_the_same_path_is_not_trusted(tmp_path: Path) -> None:
    """A folder deleted and made again between two builds has a new inode: the listing kept under its
    path is another folder's, and every file of the new one is stat-ed, whatever inodes they have."""
    dumps = tmp_path / "dumps"
    files = _flat(dumps, 2)
    lines = [f"{os.stat(path).st_ino}/{path.name}" for path in files]

    def kept(inode: int) -> Scan:
        text = "\0".join([*lines, f"./{inode}"])
        return scan([dumps], {}, set(), now_ns=time.time_ns(), listing=lambda folder: text)

    assert kept(os.stat(dumps).st_ino).listed == []
    assert sorted(path for path, _, _ in kept(os.stat(dumps).st_ino + 1).listed) == sorted(map(str, files))


def test_a_link_followed_out_of_the_inputs_is_stat_ed_whenever_its_folder_is_listed(tmp_path: Path) -> None:
    """A link's inode is the link's own: its target rewritten in place (as a person may, outside the
    archive) is seen when the folder is next listed, by a stat, as it was before listings were kept."""
    dumps = tmp_path / "dumps"
    _flat(dumps, 2)
    target = _flat(tmp_path / "outside", 1, start=80)[0]
    (dumps / "linked.txt").symlink_to(target)
    age(dumps)
    config = make_config(tmp_path, [dumps], build="follow_links = true")
    build(config, workers=1)
    _written_in_place_and_read(config, target, "链接改了", "https://www.rfi.fr/cn/a/80", "1697291102080")
