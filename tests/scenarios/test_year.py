"""A year of cron, in fifteen runs: the store keeps faith with the operator and with what is on disk.

Each run changes the project as an operator's year does (new articles, re-scrapes, broken dumps
added, fixed and deleted, a folder of good and broken dumps deleted whole, a prune by date, a takedown, a rule change, a forced re-derivation, the
whole folder moved, a prune lifted), builds, and is compared with a build from nothing under the
same prunes: the same published bytes. After every run `rejects`, `stats` and `build --strict`
agree with the dumps on disk.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import dump, published, run_cli

OUTLETS = ("https://www.rfi.fr/cn/a/{n}", "https://www.zaobao.com/realtime/china/story{n}")
BROKEN = b"not a dump at all"
CONFIG = """[build]
inputs = ["dumps"]
output = "out"
[feeds]
max_items = 4
archive_items = 3
[store]
lock_timeout = 1
[clean]
remove = []
[[topic]]
slug = "taiwan"
title = "台湾"
any = ["台湾"]
"""


class Project:
    """A project folder as `feedtool init` lays it out: config, dumps, store and output together."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "dumps").mkdir(parents=True)
        (root / "feedtool.toml").write_text(CONFIG, "utf-8")
        self.files = 0
        self.prunes: list[list[str]] = []  # the prune commands in force, in order

    def article(self, n: int, day: int, text: str = "正文", name: str | None = None) -> None:
        body = f"<p>{text} {n}。{'台湾。' if n % 3 == 0 else ''}</p><p><strong>要点</strong>。</p>"
        stamp = str(int((1_700_000_000 + day * 86400) * 1000))
        data = dump(title=f"文章 {n}", url=OUTLETS[n % 2].format(n=n), body=body, stamp=stamp)
        self.write(name or f"{self.files:04d}.txt", data.encode())

    def write(self, name: str, data: bytes) -> None:
        path = self.root / "dumps" / name
        path.write_bytes(data)
        mtime = 1_700_000_000 + self.files * 3600
        os.utime(path, (mtime, mtime))
        self.files += 1

    def feedtool(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        os.chdir(self.root)
        return run_cli(capsys, *args)

    def dumps(self) -> list[Path]:
        return [p for p in (self.root / "dumps").rglob("*") if p.is_file()]

    def broken(self) -> set[str]:
        return {p.name for p in self.dumps() if p.read_bytes() == BROKEN}


def _fresh(project: Project, capsys: pytest.CaptureFixture[str], where: Path) -> dict[str, bytes]:
    """A build from nothing over the same dumps, config and prunes."""
    twin = Project.__new__(Project)
    twin.root, twin.prunes = where, project.prunes
    where.mkdir()
    shutil.copytree(project.root / "dumps", where / "dumps", symlinks=True)
    shutil.copy(project.root / "feedtool.toml", where / "feedtool.toml")
    assert twin.feedtool(capsys, "build", "-q")[0] == 0
    for prune in project.prunes:
        assert twin.feedtool(capsys, "prune", "-q", *prune)[0] == 0
    assert twin.feedtool(capsys, "build", "-q")[0] == 0
    found = published(where / "out")
    found.update(_searches(twin, capsys))
    shutil.rmtree(where)
    return found


SEARCHES = ("台湾", "正文 OR 再次", "文章 -要点", "改正文", "修好了")


def _searches(project: Project, capsys: pytest.CaptureFixture[str]) -> dict[str, bytes]:
    """What the full-text index answers, as published files are compared: the index kept in step."""
    found = {}
    for query in SEARCHES:
        code, out, _ = project.feedtool(capsys, "search", query, "--json", "--limit", "200")
        assert code == 0
        found[f"search: {query}"] = json.dumps([hit["id"] for hit in json.loads(out)]).encode()
    assert found["search: 台湾"] != b"[]"  # the comparison compares something
    return found


def test_a_year_of_cron_keeps_faith_with_the_operator_and_the_disk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    project = Project(tmp_path / "project")

    def lift(number: str) -> Callable[[], None]:
        def run() -> None:
            assert project.feedtool(capsys, "prune", "--lift", number)[0] == 0
            project.prunes.pop(int(number) - 1)

        return run

    def prune(*args: str) -> Callable[[], None]:
        def run() -> None:
            assert project.feedtool(capsys, "prune", *args)[0] == 0
            project.prunes.append(list(args))

        return run

    def move() -> None:
        moved = tmp_path / "moved"
        shutil.move(project.root, moved)
        project.root = moved

    def rule() -> None:
        config = project.root / "feedtool.toml"
        config.write_text(config.read_text("utf-8").replace("remove = []", 'remove = ["strong"]'), "utf-8")

    def news(*numbers: int, text: str = "正文") -> Callable[[], None]:
        def run() -> None:
            for n in numbers:
                project.article(n, n, text)

        return run

    def broken(*numbers: int) -> Callable[[], None]:
        def run() -> None:
            for n in numbers:
                project.write(f"zz-broken-{n}.txt", BROKEN)

        return run

    def delete(name: str) -> Callable[[], None]:
        return lambda: (project.root / "dumps" / name).unlink()

    def folder() -> None:
        """A copy of a dump and two broken ones in a folder of their own, one of them a folder deeper."""
        (project.root / "dumps" / "later" / "deeper").mkdir(parents=True)
        project.write("later/0005.txt", (project.root / "dumps" / "0005.txt").read_bytes())
        project.write("later/zz-broken-4.txt", BROKEN)
        project.write("later/deeper/zz-broken-5.txt", BROKEN)

    def fix() -> None:
        fixed = dump(title="修好了", url="https://www.rfi.fr/cn/a/fixed")
        (project.root / "dumps" / "zz-broken-1.txt").write_text(fixed, "utf-8")  # in place

    def copy() -> None:
        project.write("copy.txt", (project.root / "dumps" / "0003.txt").read_bytes())

    steps: list[tuple[str, Callable[[], None]]] = [
        ("first articles", news(*range(8))),
        ("a broken dump", broken(1)),
        ("re-scrapes", news(1, 2, text="改正文")),
        ("news", news(9)),
        ("the broken dump fixed in place", fix),
        ("two more broken", broken(2, 3)),
        ("a folder of a copy and broken dumps", folder),
        ("a prune by date", prune("--before", "2023-11-17")),
        ("a takedown", prune("--url", "http://www.rfi.fr/cn/a/7?utm_source=x")),
        ("a broken dump deleted", delete("zz-broken-2.txt")),
        ("the folder deleted whole", lambda: shutil.rmtree(project.root / "dumps" / "later")),
        ("the taken-down article scraped again", news(7, text="再次")),
        ("a cleaning rule", rule),
        ("a forced re-derivation", lambda: None),
        ("the project folder moved", move),
        ("the prune by date lifted", lift("1")),
        ("more news", news(10, 11)),
        ("a copy of an old dump", copy),
        ("the last broken dump deleted", delete("zz-broken-3.txt")),
    ]
    for run, (what, change) in enumerate(steps):
        change()
        args = ["build", "-q", "--rederive"] if what == "a forced re-derivation" else ["build", "-q"]
        assert project.feedtool(capsys, *args)[0] == 0, what
        lived = {**published(project.root / "out"), **_searches(project, capsys)}
        assert lived == _fresh(project, capsys, tmp_path / f"fresh{run}"), what
        broken = project.broken()
        code, out, _ = project.feedtool(capsys, "rejects", "--json")
        assert {Path(r["path"]).name for r in json.loads(out)} == broken, what
        assert all(Path(r["path"]).is_file() for r in json.loads(out)), what
        stats = json.loads(project.feedtool(capsys, "stats", "--json")[1])
        assert stats["rejected"] == len(broken), what
        assert stats["indexed"] == stats["entries"], what
        assert stats["files"] == len(project.dumps()), what
        code, _, err = project.feedtool(capsys, "build", "--strict", "-q")
        assert code == (1 if broken else 0), what
        assert (f"{len(broken)} dump" in err) == bool(broken), what
