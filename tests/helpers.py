"""What the tests share besides fixtures: the paths, dumps written as fixtures, configs, builds
compared with builds from nothing, a server in a thread, the CLI in this process. Imported as
`from helpers import ...` (tests/ is on the path: pytest puts conftest.py's folder there).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from feedtool.config import Config, load_config
from feedtool.derive.topics import fold
from feedtool.store import Store
from feedtool.stories.grouping import Report
from feedtool.web.answers import Archive
from feedtool.web.app import App
from feedtool.web.server import bind, make_server

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


def dump(title: str = "标题", url: str = "https://www.rfi.fr/cn/中国/20231014-test", body: str = "<p>正文。</p>",
         stamp: str | None = "1697291102000", front_matter: str | None = None) -> str:  # fmt: skip
    """The text of a dump in the bare style (or with front matter), for fixtures."""
    parts = []
    if front_matter is not None:
        parts.append(f"---\n{front_matter}\n---")
    if stamp is not None:
        parts.append(f"<!--{stamp}-->")
    parts.append(f"[{title}]({url})")
    parts.append("------\n")
    parts.append(body)
    return "\n".join(parts)


sys.path.insert(0, str(ROOT / "bench"))


def make_config(
    tmp_path: Path,
    inputs: list[Path],
    *,
    extra: str = "",
    build: str = "",
    max_items: int = 50,
    archive_items: int = 100,
    stories: bool = False,
) -> Config:
    """A config file of the test's own (topics from the starter config), loaded as the CLI would.

    `build`: more keys for its [build] table; `extra`: more tables; `stories`: stories on."""
    if stories:
        extra = (
            extra.replace("[stories]\n", "[stories]\nenabled = true\n")
            if "[stories]" in extra
            else (f"[stories]\nenabled = true\n{extra}")
        )
    path = tmp_path / "feedtool.toml"
    starter = (ROOT / "feedtool.toml").read_text("utf-8")
    topics = starter[starter.index("[[topic]]") :]
    inputs_toml = ", ".join(f'"{p}"' for p in inputs)
    path.write_text(
        f'[build]\ninputs = [{inputs_toml}]\noutput = "out"\n{build}\n'
        f"[feeds]\nmax_items = {max_items}\narchive_items = {archive_items}\n"
        f"[store]\nlock_timeout = 1\n{extra}\n{topics}",
        "utf-8",
    )
    return load_config(path)


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under a folder with its mtime and bytes: what 'nothing changed' is checked against."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def published(folder: Path) -> dict[str, bytes]:
    """The published bytes under an output folder, by relative path: what a subscriber receives."""
    return {path: data for path, (_, data) in snapshot(folder).items()}


def fresh_build(root: Path, inputs: list[Path], **options: object) -> Config:
    """A build of the same dumps from nothing (a new store and output under `root`): the truth an
    incremental build is compared with."""
    from feedtool.build import build

    root.mkdir(parents=True, exist_ok=True)
    config = make_config(root, inputs, **options)  # type: ignore[arg-type]
    build(config, workers=1)
    return config


def assert_as_fresh(config: Config, inputs: list[Path], root: Path, **options: object) -> None:
    """The incremental output equals a build from nothing, byte for byte, and reads back clean."""
    from feedtool.publish.check import check_output

    fresh = fresh_build(root, inputs, **options)
    mine, truth = published(config.output), published(fresh.output)
    differ = sorted(p for p in mine.keys() | truth.keys() if mine.get(p) != truth.get(p))
    assert differ == [], f"{len(differ)} documents differ from a build from nothing: {differ[:8]}"
    assert check_output(config.output)[0] == []
    shutil.rmtree(root)


class ServedArchive:
    """The seeds and a generated corpus, built and served by `feedtool serve`'s server with the
    store behind it (query feeds, /search), on a loopback port known before the build."""

    def __init__(self, root: Path, articles: int, seed: int, **options: int) -> None:
        from corpus import generate

        from feedtool.build import build

        dumps = root / "dumps"
        shutil.copytree(SEEDS, dumps / "seeds")
        generate(dumps / "corpus", articles, seed=seed)
        sock = bind("127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        self.config = make_config(root, [dumps], extra=f'[site]\nbase_url = "{self.base}"', **options)  # type: ignore[arg-type]
        build(self.config, workers=1)
        self.app = App(self.config.output, Archive(self.config))
        self._running = make_server(self.app, sock=sock).running()
        self._running.__enter__()

    def close(self) -> None:
        self._running.__exit__(None, None, None)


@contextmanager
def serving(folder: Path, archive: Archive | None = None, sock: socket.socket | None = None) -> Iterator[str]:
    """`feedtool serve`'s application and server in a thread of this process, while the block runs:
    its base URL."""
    with make_server(App(folder, archive), sock=sock).running() as server:
        yield server.base_url


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`feedtool ARGS` in this process, as main() runs it: the exit code, stdout and stderr."""
    from feedtool.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


VALIDATOR = ROOT.parent / "shared" / "tools" / "w3c-validate"


def validate(out: Path, base_url: str) -> None:
    """Every document under an output folder through the W3C validator, as served at `base_url`."""
    validate_documents([str(out), "--base-url", base_url])


def validate_documents(documents: list[str]) -> None:
    """These documents (files, folders, URLs, with the validator's options) through the W3C
    validator: 0 errors and 0 warnings. Skipped, saying why, where ../shared is absent; failed under CI."""
    if not VALIDATOR.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the W3C validator is missing at {VALIDATOR}; CI must have ../shared")
        pytest.skip(f"the W3C validator is not at {VALIDATOR} (it comes with the project's shared/ folder)")
    result = subprocess.run([str(VALIDATOR), *documents], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " 0 errors, 0 warnings" in result.stdout.splitlines()[-1]


def age(root: Path) -> None:
    """Every folder under root (and root) an hour old: what a folder looks like by the next cron run."""
    past = time.time() - 3600
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.utime(folder, (past, past))


def scanned_for(store: Store, term: str) -> set[str]:
    """The entries whose folded text holds the term as topics look for it: the index's answer, by scan."""
    found = set()
    word = re.compile(rf"(?<![0-9a-z]){re.escape(fold(term))}(?![0-9a-z])")
    for entry in store.entries([i for (i,) in store.db.execute("SELECT id FROM entries")]).values():
        text = fold(" ".join([entry.title, entry.summary, entry.content, entry.author or "", *entry.tags]))
        text = re.sub(r"<[^>]+>", " ", text)
        if word.search(text) if term.isascii() else fold(term) in text:
            found.add(entry.id)
    return found


def documents_in_index(store: Store) -> int:
    """The documents FTS5 holds, counted by the one outlet word each has: rows no entry maps to included."""
    store.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.words USING fts5vocab(main, search, 'row')")
    query = "SELECT coalesce(sum(doc), 0) FROM temp.words WHERE term GLOB 'outlet[0-9a-f]*'"
    return int(store.db.execute(query).fetchone()[0])


# Corpus A of the stories benchmark (bench/stories_wire.py) as dumps: one outlet's URLs a format.
STORY_URLS = {
    "rfi": "https://www.rfi.fr/cn/国际/{n}",
    "zaobao": "https://www.zaobao.com/news/world/story{n}",
    "rfa": "https://www.rfa.org/mandarin/yataibaodao/{n}.html",
    "dw": "https://www.dw.com/zh/a-{n}",
    "bbc": "https://www.bbc.com/zhongwen/simp/world-{n}",
    "voa": "https://www.voachinese.com/a/{n}.html",
}


def story_corpus(events: int = 30, seed: int = 1) -> list[Report]:
    """A slice of corpus A: its events' reports, commentary and other news, as dumps would give them."""
    from stories_wire import reports

    return [r for r, _ in reports(seed, events)]


def write_reports(folder: Path, reports: list[Report], mtime: int = 1_700_000_000) -> None:
    """Reports as dumps, one file each, their mtime the scrape's."""
    folder.mkdir(parents=True, exist_ok=True)
    for report in reports:
        outlet, number = report.id.split("/")
        body = "".join(f"<p>{line}</p>" for line in report.text.split("\n"))
        stamp = str(int(report.published.timestamp() * 1000))
        path = folder / f"{outlet}-{int(number):05d}.txt"
        path.write_text(
            dump(title=report.title, url=STORY_URLS[outlet].format(n=number), body=body, stamp=stamp), "utf-8"
        )
        os.utime(path, (mtime, mtime))
