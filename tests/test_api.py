"""feedtool from Python, as a user's program calls it: only the names `feedtool` exports, typed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, SEEDS

import feedtool


def _project(tmp_path: Path) -> Path:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    config = tmp_path / "feedtool.toml"
    config.write_text('[site]\nbase_url = "https://feeds.example.org/"\n[build]\ninputs = ["seeds"]\n', "utf-8")
    return config


def test_a_program_builds_searches_prunes_and_reads_the_stats(tmp_path: Path) -> None:
    archive = feedtool.open_archive(_project(tmp_path))
    with pytest.raises(feedtool.FeedtoolError, match=r"no store at .*run 'feedtool build' first"):
        archive.stats()  # nothing built yet: an error, not an empty store made
    report = archive.build(workers=1)
    assert report.ingest is not None and report.ingest.counts.new == 5
    assert report.publish is not None and "all/atom.xml" in report.publish.written
    assert archive.ingest(workers=1).counts.new == 0  # one stage alone, as `feedtool ingest`
    published = archive.publish(workers=1)
    assert (published.written, published.unchanged) == ((), len(report.publish.written))

    found = archive.search("台湾问题")
    assert [hit.entry.title for hit in found.hits] == ["王毅与布林肯通电话 聚焦加沙战事和台湾问题 - 要闻解说"]
    with pytest.raises(feedtool.ConfigError, match="1 to 200 entries"):
        archive.search("台湾", limit=0)
    with pytest.raises(feedtool.ConfigError, match="cursor='nowhere' is not a place this archive gave"):
        archive.search("台湾", cursor="nowhere")
    with pytest.raises(feedtool.ConfigError, match="a quote '\"' is not closed"):
        archive.hits('"台湾')  # said when asked, not when the first hit is read
    every = [hit.entry.id for hit in archive.hits()]  # no words: every entry
    one_by_one, cursor = [], None
    while True:
        page = archive.search(limit=1, cursor=cursor)
        one_by_one += [hit.entry.id for hit in page.hits]
        if (cursor := page.next) is None:
            break
    assert one_by_one == every and len(every) == len(set(every)) == 5
    assert [hit.entry.id for hit in archive.hits(limit=2)] == every[:2]
    with pytest.raises(feedtool.ConfigError, match="at least one entry"):
        archive.hits(limit=0)

    with pytest.raises(feedtool.ConfigError, match="say what to prune"):
        archive.prune()
    with pytest.raises(feedtool.ConfigError, match=r"no outlet 'nope'; known outlets: .*rfi"):
        archive.prune(outlet="nope")
    with pytest.raises(feedtool.ConfigError, match="URL is not http"):
        archive.prune(url="javascript:alert(1)")
    with pytest.raises(feedtool.ConfigError, match=r"no prune 9 \(in force: none\)"):
        archive.lift_prune(9)
    pruned = archive.prune(url=found.hits[0].entry.url)
    assert (pruned.removed, pruned.address_known) == (1, True)
    assert [p.id for p in archive.prunes()] == [pruned.prune.id]
    stats = archive.stats()
    assert (stats.entries, stats.pruned, stats.files, stats.rejected) == (4, 1, 5, 0)
    assert sum(outlet.entries for outlet in stats.outlets) == 4
    archive.build(workers=1)
    items = json.loads((tmp_path / "out" / "all" / "feed.json").read_text("utf-8"))["items"]
    assert found.hits[0].entry.id not in {item["id"] for item in items} and len(items) == 4
    assert archive.rejects() == []
    checked = archive.health()  # the seeds' outlets, each judged against its own (short) history
    assert {o.outlet for o in checked.outlets} == {o.slug for o in stats.outlets} and checked.rejected == 0
    assert [(folder.folder, folder.flags) for folder in checked.inputs] == [(str(tmp_path / "seeds"), ())]
    read_back = archive.check()  # every document read back, each under the configured base_url
    assert (read_back.problems, read_back.base_url, read_back.local_only) == ((), "https://feeds.example.org/", False)
    assert read_back.checked == len([path for path in (tmp_path / "out").rglob("*") if path.is_file()])
    server = archive.server(port=0)  # bound now, served by run()
    assert server.base_url.startswith("http://127.0.0.1:") and server.base_url != read_back.base_url
    server.sock.close()


def test_the_public_names_are_typed_for_a_users_code(tmp_path: Path) -> None:
    """mypy --strict on a program that uses feedtool as its docs show, and on one that misuses it."""
    good = tmp_path / "good.py"
    good.write_text(
        "import feedtool\n\n"
        "def newest(config: str) -> list[str]:\n"
        "    archive: feedtool.Archive = feedtool.open_archive(config)\n"
        "    report: feedtool.BuildReport = archive.build()\n"
        "    print(report.summary())\n"
        "    stats: feedtool.Stats = archive.stats()\n"
        "    pruned: feedtool.PruneReport = archive.prune(outlet='rfi')\n"
        "    print(stats.entries, pruned.removed)\n"
        "    checked: feedtool.Health = archive.health()\n"
        "    print(checked.trouble or 'all is well')\n"
        "    results: feedtool.Results = archive.search('台湾', limit=5)\n"
        "    hits: tuple[feedtool.Hit, ...] = results.hits\n"
        "    if results.next is not None:\n"
        "        hits += archive.search('台湾', limit=5, cursor=results.next).hits\n"
        "    every: list[feedtool.Hit] = list(archive.hits('台湾', outlets=('rfi',)))\n"
        "    print(len(every), every[0].published_local.tzinfo)\n"
        "    return [hit.entry.title for hit in hits]\n",
        "utf-8",
    )
    bad = tmp_path / "bad.py"
    bad.write_text("import feedtool\n\ncount: str = feedtool.open_archive('x').stats().entries\n", "utf-8")
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent"]
    checked = subprocess.run([*mypy, str(good), str(bad)], capture_output=True, text=True, cwd=ROOT)
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith(str(bad)), checked.stdout  # the good program passes
    assert 'Incompatible types in assignment (expression has type "int"' in errors[0]


def test_every_public_name_is_there_and_nothing_private_is_exported() -> None:
    assert sorted(feedtool.__all__) == sorted(set(feedtool.__all__))
    for name in feedtool.__all__:
        assert getattr(feedtool, name) is not None, name
        assert not name.startswith("_") or name == "__version__"
    assert (Path(feedtool.__file__).parent / "py.typed").is_file()


def test_the_command_line_is_a_client_of_the_public_api() -> None:
    """cli/ imports from feedtool's public names (and the config and errors they take and raise),
    never from a stage's package: what the command does, a program can do too."""
    import ast

    allowed = {"feedtool", "feedtool.config", "feedtool.errors", "feedtool.version"}
    reached = {}
    for path in (ROOT / "feedtool" / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            inner = module is not None and (module == "feedtool.cli" or module.startswith("feedtool.cli."))
            if module and module.startswith("feedtool") and module not in allowed and not inner:
                reached[f"{path.name}:{node.lineno}"] = module
    assert reached == {}


def test_every_report_the_api_returns_is_frozen_all_the_way_down() -> None:
    """A report handed to a user's code cannot be changed by it, nor change under it: each record
    `feedtool` exports is a frozen dataclass, and what it holds is too, or a tuple, or a plain
    value (no list, no dict, no mutable record)."""
    import dataclasses
    import importlib
    import typing

    def mutable_parts(record: type, seen: set[type]) -> list[str]:
        if record in seen:
            return []
        seen.add(record)
        found = [] if record.__dataclass_params__.frozen else [record.__name__]  # type: ignore[attr-defined]
        hints = typing.get_type_hints(record, localns=names)  # names imported only for type checking too
        for field in dataclasses.fields(record):
            for part in _types_in(hints[field.name]):
                if part in (list, dict, set, bytearray):
                    found.append(f"{record.__name__}.{field.name}: {part.__name__}")
                elif dataclasses.is_dataclass(part) and isinstance(part, type):
                    found += mutable_parts(part, seen)
        return found

    records = [getattr(feedtool, name) for name in feedtool.__all__]
    importlib.import_module("feedtool.health.verdicts")  # what Health holds, named there for type checking only
    names = {
        name: value
        for module in list(sys.modules.values())
        if module.__name__.startswith("feedtool")
        for name, value in vars(module).items()
        if isinstance(value, type)
    }
    seen: set[type] = set()
    assert [p for r in records if dataclasses.is_dataclass(r) for p in mutable_parts(r, seen)] == []


def _types_in(hint: object) -> list[object]:
    """Every class a type hint names, through unions, tuples and mappings."""
    import typing

    origin = typing.get_origin(hint)
    found = [origin if origin is not None else hint]
    for arg in typing.get_args(hint):
        found += _types_in(arg)
    return found


def test_progress_counts_up_to_the_files_on_disk(tmp_path: Path) -> None:
    """What a progress bar is told: every dump on disk, known ones counted done from the start."""
    archive = feedtool.open_archive(_project(tmp_path))
    told: list[tuple[int, int]] = []
    archive.ingest(workers=1, progress=lambda done, total: told.append((done, total)))
    assert told and told[-1] == (5, 5) and {total for _, total in told} == {5}
    assert [done for done, _ in told] == sorted(done for done, _ in told)
