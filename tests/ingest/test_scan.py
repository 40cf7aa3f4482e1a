"""A build lists only the folders of dumps that changed, and still misses no dump a scraper writes.

Dumps here are kept in dated folders, as archivers keep them. Folders are aged an hour into the
past before a build, as a folder changed in the last seconds is never trusted (ingest/scan.py's racy
rule; one test shows that rule itself).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import SEEDS, age, dump, fresh_build, make_config, published

import feedtool.ingest.run
import feedtool.ingest.scan
from feedtool.build import build
from feedtool.cli.main import cli
from feedtool.config import Config
from feedtool.store import FileStat, Store


@pytest.fixture
def dumps(tmp_path: Path) -> Path:
    """The seeds spread over two dated folders, all aged."""
    root = tmp_path / "dumps"
    for i, seed in enumerate(sorted(SEEDS.iterdir())):
        day = root / "2023" / "10" / ("14" if i % 2 else "28")
        day.mkdir(parents=True, exist_ok=True)
        shutil.copy(seed, day / seed.name)
    age(root)
    return root


def listed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders a build lists, recorded as they are."""
    calls: list[str] = []
    real = os.scandir

    def spy(path: str) -> Iterator[os.DirEntry[str]]:
        calls.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", spy)
    return calls


def test_a_no_op_build_lists_no_folder_and_counts_every_dump(
    tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    calls = listed(monkeypatch)
    report = build(config, workers=1)
    assert calls == []
    assert report.ingest is not None and report.ingest.counts.unchanged == len(list(SEEDS.iterdir()))


def test_dumps_added_to_an_old_folder_and_a_new_one_are_read(
    tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    (dumps / "2023" / "10" / "14" / "late.txt").write_text(dump(title="迟到", url="https://www.rfi.fr/cn/a/late"))
    new_day = dumps / "2023" / "11" / "02"
    new_day.mkdir(parents=True)
    (new_day / "new.txt").write_text(dump(title="新的", url="https://www.rfi.fr/cn/a/new", stamp="1698900000000"))
    calls = listed(monkeypatch)
    report = build(config, workers=1)
    assert report.ingest is not None and report.ingest.counts.new == 2
    # The folders that changed and what leads to them; not the day untouched.
    assert str(dumps / "2023" / "10" / "28") not in calls
    assert published(config.output) == published(fresh_build(tmp_path / "fresh", [dumps]).output)


def test_a_rejected_dump_fixed_in_place_is_read_again(tmp_path: Path, dumps: Path) -> None:
    broken = dumps / "2023" / "10" / "14" / "broken.txt"
    broken.write_bytes(b"")
    age(dumps)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    with Store(config.store, root=config.root) as store:
        assert [path for path, _ in store.rejects()] == [str(broken)]
    with open(broken, "w", encoding="utf-8") as fh:  # in place: the folder's mtime does not move
        fh.write(dump(title="修好了", url="https://www.rfi.fr/cn/a/fixed"))
    report = build(config, workers=1)
    assert report.ingest is not None and report.ingest.counts.new == 1
    with Store(config.store, root=config.root) as store:
        assert store.rejects() == []


def test_a_dump_rewritten_in_place_needs_rescan(tmp_path: Path, dumps: Path) -> None:
    """The limit the folder marks come with, and its remedy: a good dump edited in place is seen with --rescan."""
    target = dumps / "2023" / "10" / "14" / "edited.txt"
    url = "https://www.rfi.fr/cn/a/edited"
    target.write_text(dump(title="初稿", url=url))
    age(dumps)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(dump(title="改稿", url=url))
    build(config, workers=1)
    feed = (config.output / "all" / "atom.xml").read_text("utf-8")
    assert "初稿" in feed and "改稿" not in feed
    result = CliRunner().invoke(cli, ["build", "-q", "--rescan", "-c", str(tmp_path / "feedtool.toml")])
    assert result.exit_code == 0, result.output
    feed = (config.output / "all" / "atom.xml").read_text("utf-8")
    assert "改稿" in feed and "初稿" not in feed


def test_a_folder_changed_in_the_last_seconds_is_not_trusted(
    tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file added in the same tick of the clock as the listing keeps the folder's mtime: racy git's case."""
    # "The last seconds" made ten minutes, so that a busy machine's slow start of the build cannot
    # age the folder past them; the other folders are an hour old.
    monkeypatch.setattr(feedtool.ingest.scan, "RACY_SECONDS", 600.0)
    day = dumps / "2023" / "10" / "14"
    os.utime(day)  # changed just now
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    with Store(config.store, root=config.root) as store:
        store.begin_derivation(*_keys(config))
        assert str(day) not in store.folder_marks()
        assert str(dumps / "2023" / "10" / "28") in store.folder_marks()
    mtime = day.stat().st_mtime_ns
    (day / "same-tick.txt").write_text(dump(title="同一时刻", url="https://www.rfi.fr/cn/a/tick"))
    os.utime(day, ns=(mtime, mtime))
    report = build(config, workers=1)
    assert report.ingest is not None and report.ingest.counts.new == 1


def test_a_file_that_could_not_be_read_is_tried_again(
    tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = dumps / "2023" / "10" / "14" / "late.txt"
    late.write_text(dump(title="读不了", url="https://www.rfi.fr/cn/a/unreadable"))
    age(dumps)
    config = make_config(tmp_path, [dumps])
    real = feedtool.ingest.run._read

    def failing(path: str, stat: FileStat, limit: int) -> bytes:
        if stat.path == str(late):
            raise PermissionError(13, "Permission denied")
        return real(path, stat, limit)

    monkeypatch.setattr(feedtool.ingest.run, "_read", failing)
    build(config, workers=1)
    monkeypatch.setattr(feedtool.ingest.run, "_read", real)
    report = build(config, workers=1)
    assert report.ingest is not None and report.ingest.counts.new == 1


def test_a_changed_rule_lists_every_folder_again(tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    config = make_config(tmp_path, [dumps], extra='[clean]\nremove = ["strong"]')
    calls = listed(monkeypatch)
    build(config, workers=1)
    assert {str(dumps / "2023" / "10" / day) for day in ("14", "28")} <= set(calls)


def test_a_folder_removed_or_renamed_is_followed(tmp_path: Path, dumps: Path) -> None:
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    (dumps / "2023" / "10" / "14").rename(dumps / "2023" / "10" / "15")
    report = build(config, workers=1)
    assert report.ingest is not None and report.ingest.counts.new == 0
    assert report.ingest.files == len(list(SEEDS.iterdir()))
    assert published(config.output) == published(fresh_build(tmp_path / "fresh", [dumps]).output)


def _keys(config: Config) -> tuple[str, str]:
    from feedtool.ingest.run import derivation_key, identity_key

    return derivation_key(config.rules), identity_key(config.rules)


def _a_folder_of_good_and_broken_dumps(dumps: Path) -> Path:
    """A month of dumps: an article found only here, two broken dumps, one of them a folder deeper."""
    month = dumps / "2023" / "11"
    (month / "02" / "late").mkdir(parents=True)
    (month / "02" / "only.txt").write_text(dump(title="只在这里", url="https://www.rfi.fr/cn/a/only"), "utf-8")
    (month / "02" / "broken.txt").write_bytes(b"")
    (month / "02" / "late" / "broken.txt").write_text("no header at all", "utf-8")
    age(dumps)
    return month


def _rejects_and_files(config: Config) -> tuple[list[str], object]:
    """The rejected dumps `feedtool rejects` lists, and the dump files `feedtool stats` counts."""
    with Store(config.store, root=config.root) as store:
        return [path for path, _ in store.rejects()], store.stats()["files"]


def test_a_folder_deleted_whole_leaves_the_store_as_its_files_deleted_one_by_one_do(
    tmp_path: Path, dumps: Path
) -> None:
    """Its dumps' records and rejections leave with the next build; the entries only they gave stay
    published, as a deleted file's entry does (a prune removes entries); every count agrees."""
    twin_dumps = tmp_path / "twin" / "dumps"
    shutil.copytree(dumps, twin_dumps)
    configs = []
    for root in (dumps, twin_dumps):
        month = _a_folder_of_good_and_broken_dumps(root)
        config = make_config(root.parent, [root])
        build(config, workers=1)
        assert len(_rejects_and_files(config)[0]) == 2
        if root == dumps:
            shutil.rmtree(month)  # the folder, whole
        else:
            for path in [p for p in month.rglob("*") if p.is_file()]:
                path.unlink()  # its files, one by one, the folders left empty
        report = build(config, workers=1)
        assert report.ingest is not None and report.ingest.counts.rejected == 0
        assert report.ingest.counts.unchanged == len(list(SEEDS.iterdir()))
        assert _rejects_and_files(config) == ([], len(list(SEEDS.iterdir())))
        assert "只在这里" in (config.output / "all" / "atom.xml").read_text("utf-8")
        configs.append(config)
    assert published(configs[0].output) == published(configs[1].output)


def test_rescan_drops_the_records_of_a_folder_gone_unseen(tmp_path: Path, dumps: Path) -> None:
    """A folder deleted while the one above it kept its mtime (put back, or a store from before
    folders were followed): the build lists nothing and keeps its records; --rescan drops them."""
    month = _a_folder_of_good_and_broken_dumps(dumps)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    year = dumps / "2023"
    mtime = year.stat().st_mtime_ns
    shutil.rmtree(month)
    os.utime(year, ns=(mtime, mtime))
    build(config, workers=1)
    assert len(_rejects_and_files(config)[0]) == 2
    result = CliRunner().invoke(cli, ["build", "-q", "--rescan", "-c", str(config.path)])
    assert result.exit_code == 0, result.output
    assert _rejects_and_files(config) == ([], len(list(SEEDS.iterdir())))
    assert "只在这里" in (config.output / "all" / "atom.xml").read_text("utf-8")


def test_a_followed_link_whose_target_is_gone_keeps_what_it_led_to(tmp_path: Path, dumps: Path) -> None:
    """A disk not mounted, a link broken for a while: nothing under it is taken for deleted (the
    folder holding the link is listed again), and the records are as before once it is back."""
    elsewhere = tmp_path / "elsewhere"
    month = _a_folder_of_good_and_broken_dumps(elsewhere)
    (dumps / "linked").symlink_to(month)
    age(dumps)
    config = make_config(tmp_path, [dumps], build="follow_links = true")
    build(config, workers=1)
    before = _rejects_and_files(config)
    assert len(before[0]) == 2
    month.rename(tmp_path / "unmounted")
    (dumps / "new.txt").write_text(dump(title="新的", url="https://www.rfi.fr/cn/a/new"), "utf-8")
    build(config, workers=1)  # the folder holding the link is listed: a dump came
    rejected, files = _rejects_and_files(config)
    assert (rejected, files) == (before[0], before[1] + 1)  # type: ignore[operator]
    (tmp_path / "unmounted").rename(month)
    build(config, workers=1)
    assert _rejects_and_files(config) == (before[0], before[1] + 1)  # type: ignore[operator]


def test_an_input_that_cannot_be_listed_or_links_to_another_is_not_called_empty(
    tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "alias").symlink_to(dumps)  # the same folder, named twice in the config
    locked = tmp_path / "locked"
    locked.mkdir()
    config = make_config(tmp_path, [dumps, tmp_path / "alias", locked])
    real = os.scandir

    def scandir(path: str) -> object:
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(feedtool.ingest.scan.os, "scandir", scandir)
    monkeypatch.setattr(feedtool.ingest.scan.log, "propagate", True)  # to caplog, whatever a CLI test set before
    caplog.set_level("WARNING", logger="feedtool")
    with Store(config.store, root=config.root) as store:
        report = feedtool.ingest.run.ingest(store, config)
        assert report.files == len(list(SEEDS.iterdir()))
        assert store.empty_inputs() == []
    assert f"{locked}: cannot list: Permission denied" in caplog.text
