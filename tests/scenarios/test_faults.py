"""Faults an operator meets: killed builds, overlapping cron runs, a full disk. Real processes, real files."""

from __future__ import annotations

import errno
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from corpus import generate
from filelock import FileLock
from helpers import ROOT, SEEDS, assert_as_fresh, dump, fresh_build, make_config, published, snapshot

from feedtool.build import build
from feedtool.config import load_config
from feedtool.errors import PublishError
from feedtool.publish.check import check_output
from feedtool.publish.run import TEMP_SUFFIX
from feedtool.store import Store


def feedtool(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "feedtool", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kwargs,
    )  # fmt: skip


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def store_rows(path: Path) -> list[tuple[str, str]]:
    with Store(path) as store:
        return [(r.id, r.revision) for r in store.feed_index(("all", "all"))]


@pytest.mark.slow
def test_builds_killed_at_random_moments_finish_equal_to_an_uninterrupted_one(tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    generate(dumps, 400, seed=5)
    (tmp_path / "reference").mkdir()
    reference = make_config(tmp_path / "reference", [dumps], max_items=10)
    build(reference)

    (tmp_path / "killed").mkdir()
    config = make_config(tmp_path / "killed", [dumps], max_items=10)
    for delay in (0.4, 0.9, 1.5, 2.2, 3.0, 4.0):
        process = feedtool("build", "-q", "-c", str(config.path))
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        # Whatever is published at this moment is whole: every document parses.
        if config.output.exists():
            problems, _ = check_output(config.output)
            assert not [p for p in problems if "not a valid" in p]
    finished = feedtool("build", "-q", "-c", str(config.path))
    out, err = finished.communicate(timeout=300)
    assert (finished.returncode, out, err) == (0, "", "")
    # The killed builds' pool workers notice and end: no process of theirs is left behind.
    deadline = time.monotonic() + 60  # for a busy machine; they go as soon as they notice
    while left := [p for p in Path("/proc").iterdir() if p.name.isdigit() and str(config.path) in _cmdline(p)]:
        assert time.monotonic() < deadline, [_cmdline(p) for p in left]
        time.sleep(0.1)

    assert store_rows(config.store) == store_rows(reference.store)
    assert published(config.output) == published(reference.output)
    assert not list(config.output.rglob(f"*{TEMP_SUFFIX}"))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 11])
def test_cron_runs_killed_at_random_moments_end_as_a_build_from_nothing(tmp_path: Path, seed: int) -> None:
    """Six cron runs, each bringing new articles and re-scrapes of old ones (some the same bytes as an
    earlier scrape, at the same mtime as another), each run killed twice at a random moment and then
    left to finish: the store and every published byte are those of a build from nothing."""
    rng = random.Random(seed)
    dumps = tmp_path / "dumps"
    generate(dumps, 300, seed=seed)
    config = make_config(tmp_path, [dumps], max_items=10, archive_items=20)
    build(config, workers=1)
    for start in range(300, 540, 40):
        generate(dumps, 40, seed=seed, start=start, rescrape_of=15)
        for _ in range(2):
            process = feedtool("build", "-q", "-c", str(config.path))
            time.sleep(rng.uniform(0.2, 2.0))
            process.send_signal(signal.SIGKILL)
            process.communicate()
    finished = feedtool("build", "-q", "-c", str(config.path))
    assert finished.communicate(timeout=300) == ("", "")
    (tmp_path / "fresh").mkdir()
    reference = make_config(tmp_path / "fresh", [dumps], max_items=10, archive_items=20)
    build(reference, workers=1)
    assert store_rows(config.store) == store_rows(reference.store)
    assert published(config.output) == published(reference.output)


def test_an_overlapping_build_gives_up_with_exit_75_and_changes_nothing(tmp_path: Path) -> None:
    config = make_config(tmp_path, [SEEDS])
    config.store.parent.mkdir(parents=True)
    with FileLock(str(config.store) + ".lock"):
        process = feedtool("build", "-c", str(config.path))
        out, err = process.communicate(timeout=60)
    assert process.returncode == 75
    assert out == ""
    waiting, failed = err.splitlines()
    assert waiting == f"feedtool: another build holds the lock on {config.store}; waiting up to 1 s"
    assert failed.startswith("feedtool: error: another feedtool build holds the lock")
    assert not config.output.exists()


HOLDER = """
import sys
from pathlib import Path
from feedtool.build import locked
from feedtool.config import load_config
with locked(load_config(Path(sys.argv[1]))):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_build_waiting_for_the_lock_says_so_once_and_goes_on_when_it_is_free(tmp_path: Path) -> None:
    """Two real processes: one holds the lock as a build does, the other waits, says so, and builds
    once the first lets go; with -q it says nothing of waiting, only, past its wait, the error."""
    config = make_config(tmp_path, [SEEDS], extra="")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for quiet in (False, True):
        wait = 1 if quiet else 60  # quiet: run out its wait, so that it surely met the lock
        config.path.write_text(re.sub(r"lock_timeout = \d+", f"lock_timeout = {wait}", config.path.read_text("utf-8")))
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(config.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=env,
        )  # fmt: skip
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        waiting = feedtool("build", *(["-q"] if quiet else []), "-c", str(config.path))
        assert waiting.stderr is not None
        if quiet:
            out, err = waiting.communicate(timeout=300)
            holder.communicate("go\n", timeout=60)
            assert waiting.returncode == 75 and out == "" and err.count("\n") == 1 and "waiting up to" not in err, err
            continue
        said = waiting.stderr.readline()
        assert said == f"feedtool: another build holds the lock on {config.store}; waiting up to 60 s\n"
        assert waiting.poll() is None  # still waiting
        holder.communicate("go\n", timeout=60)
        out, err = waiting.communicate(timeout=300)
        assert waiting.returncode == 0 and err == "" and out != ""
        assert (config.output / "all" / "atom.xml").is_file()


@pytest.mark.slow
def test_two_racing_builds_leave_one_complete_output(tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    generate(dumps, 150, seed=9)
    config = make_config(tmp_path, [dumps], max_items=10)
    config.path.write_text(config.path.read_text("utf-8").replace("lock_timeout = 1", "lock_timeout = 120"), "utf-8")
    first, second = feedtool("build", "-q", "-c", str(config.path)), feedtool("build", "-q", "-c", str(config.path))
    results = [(*p.communicate(timeout=300), p.returncode) for p in (first, second)]
    assert results == [("", "", 0), ("", "", 0)]
    assert check_output(config.output)[0] == []
    assert len(store_rows(config.store)) == 150


def test_a_full_disk_leaves_the_previous_output_intact(tmp_path: Path, seeds: Path, monkeypatch) -> None:
    config = make_config(tmp_path, [seeds])
    build(config)
    before = snapshot(config.output)
    (seeds / "new.txt").write_text(dump(title="新文章", url="https://www.rfi.fr/cn/new"), "utf-8")

    def no_space(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("feedtool.publish.run.os.replace", no_space)
    with pytest.raises(PublishError, match=r"No space left on device.*left as they were"):
        build(config)
    assert snapshot(config.output) == before
    assert not list(config.output.rglob(f"*{TEMP_SUFFIX}"))

    monkeypatch.undo()
    report = build(config)
    assert "all/atom.xml" in report.publish.written
    assert check_output(config.output)[0] == []


def test_an_output_path_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    config = make_config(tmp_path, [SEEDS])
    config.output.write_text("not a folder")
    with pytest.raises(PublishError, match="cannot create the output folder"):
        build(config)


def test_temporary_files_of_a_killed_run_are_removed_and_never_listed(tmp_path: Path, monkeypatch) -> None:
    """Killed while writing under a new config, which is then put back: the next run still cleans up."""
    config = make_config(tmp_path, [SEEDS])
    build(config)
    original = config.path.read_text("utf-8")
    config.path.write_text(original + '\n[site]\ntitle = "另一个标题"\n', "utf-8")

    def killed(*args: object) -> None:
        raise KeyboardInterrupt  # not an OSError: nothing cleans up after it, as after SIGKILL

    monkeypatch.setattr("feedtool.publish.run.os.replace", killed)
    with pytest.raises(KeyboardInterrupt):
        build(load_config(config.path))
    assert list(config.output.rglob(f"*{TEMP_SUFFIX}"))
    monkeypatch.undo()
    config.path.write_text(original, "utf-8")
    build(load_config(config.path))
    assert not list(config.output.rglob(f"*{TEMP_SUFFIX}"))
    assert TEMP_SUFFIX not in (config.output / "index.html").read_text("utf-8")


def test_a_build_stopped_mid_publish_leaves_no_mark_of_a_finished_one(tmp_path: Path, monkeypatch) -> None:
    """Documents written under a new config, the run stopped, the config put back: nothing stale is kept."""
    config = make_config(tmp_path, [SEEDS])
    build(config)
    before = published(config.output)
    original = config.path.read_text("utf-8")
    config.path.write_text(original + '\n[site]\ntitle = "另一个标题"\n', "utf-8")

    def stopped(*args: object) -> bytes:
        raise PublishError("stopped here")

    monkeypatch.setattr("feedtool.publish.run.opml", stopped)  # after the feeds are written, before the OPML
    with pytest.raises(PublishError):
        build(load_config(config.path))
    assert (config.output / "all" / "atom.xml").read_bytes() != before["all/atom.xml"]
    monkeypatch.undo()
    config.path.write_text(original, "utf-8")
    build(load_config(config.path))
    assert published(config.output) == before


@pytest.mark.parametrize(
    ("stop", "after"),
    [
        # After the feeds' documents were written and recorded, before the site's pages and the
        # feeds' layouts were: the part it wrote is one no later plan by change knows of.
        ("_write_documents", True),
        # After a worker wrote a document, before the build recorded it: on disk, nowhere in the store.
        ("_record", False),
    ],
)
def test_a_publish_stopped_midway_leaves_no_document_a_build_from_nothing_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: str, after: bool
) -> None:
    """Articles of October built, then one dated in June (a month of its own in the archive) and
    the publish stopped midway, June's part written; then that article scraped again with front
    matter that dates it in August, so that June's archive goes: the next build publishes what a
    build from nothing does, and no file more."""
    import feedtool.publish.run

    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for n in range(4):
        url = f"https://www.rfi.fr/cn/中国/202310{n + 10}-a{n}"
        (dumps / f"{n}.txt").write_text(dump(title=f"文章{n}", url=url, stamp=f"169729{n}102000"), "utf-8")
    config = make_config(tmp_path, [dumps], max_items=2)
    build(config, workers=1)
    june = "https://www.rfi.fr/cn/中国/june"
    (dumps / "june.txt").write_text(dump(title="六月的文章", url=june, stamp="1686000000000"), "utf-8")
    real = getattr(feedtool.publish.run, stop)

    def stopped(*args: Any) -> None:
        if after:
            real(*args)
        raise PublishError("stopped here")

    monkeypatch.setattr(feedtool.publish.run, stop, stopped)
    with pytest.raises(PublishError):
        build(config, workers=1)
    assert (config.output / "all" / "archive" / "2023-06" / "atom.xml").is_file()
    monkeypatch.undo()
    again = dump(title="六月的文章", url=june, front_matter="date: 2023-08-02")
    (dumps / "june-again.txt").write_text(again, "utf-8")
    build(config, workers=1)
    assert published(config.output) == published(fresh_build(tmp_path / "fresh", [dumps], max_items=2).output)


def test_a_failed_publish_leaves_no_store_connection_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small publish renders in this process; an error must not leave its store connection behind."""
    import feedtool.publish.run

    config = make_config(tmp_path, [SEEDS])

    def disk_full(*args: object) -> None:
        raise PublishError("cannot write out/all/atom.xml: No space left on device")

    monkeypatch.setattr(feedtool.publish.run, "_put", disk_full)
    with pytest.raises(PublishError):
        build(config, workers=1)
    store = str(config.store.resolve())
    held = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd") if _link(fd)]
    assert not [path for path in held if path.startswith(store)], "a connection to the store is still open"


def _link(fd: str) -> bool:
    try:
        os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return False
    return True


def test_an_sqlite_error_mid_build_is_one_line_naming_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from feedtool.cli import main

    config = make_config(tmp_path, [SEEDS])
    opened = Store.__init__

    def on_a_full_disk(self: Store, *args: object, **kwargs: object) -> None:
        """SQLite's own SQLITE_FULL, for real: the file may grow by a few pages, not by the seeds."""
        opened(self, *args, **kwargs)
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        self.db.execute(f"PRAGMA max_page_count = {pages + 2}")

    monkeypatch.setattr(Store, "__init__", on_a_full_disk)
    with pytest.raises(SystemExit) as exit_:
        main(["build", "-c", str(config.path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"feedtool: error: {config.store}: database or disk is full;") and "internal" not in err


@pytest.mark.parametrize("command", ["build", "stats", "rejects", "publish"])
def test_a_damaged_store_is_named_with_the_remedy_that_works(tmp_path: Path, command: str) -> None:
    """Pages of the store overwritten (a disk fault): every command that opens it says it is damaged
    and how to make it anew from the dumps, in one line, never "the next build carries on"."""
    config = make_config(tmp_path, [SEEDS])
    build(config)
    size = config.store.stat().st_size
    with open(config.store, "r+b") as fh:
        fh.seek(4096)  # every page after the first, which says what the file is
        fh.write(b"\xa5" * (size - 4096))
    process = feedtool(command, "-c", str(config.path))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err
    assert "the store is damaged" in err and "make it anew" in err


def test_an_output_that_cannot_be_changed_is_one_line(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read-only output (here every unlink refused as a read-only mount refuses it, which root's
    permissions would not show) where a killed run left a temporary file to remove."""
    from feedtool.cli import main

    config = make_config(tmp_path, [seeds])
    build(config)
    (config.output / f".x{TEMP_SUFFIX}").write_bytes(b"")
    with Store(config.store, root=config.root) as store, store.transaction():
        store.set_published_marker("")  # as a run killed midway leaves it

    def refused(self: Path, missing_ok: bool = False) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "unlink", refused)
    with pytest.raises(SystemExit) as exit_:
        main(["build", "-q", "-c", str(config.path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and err.count("\n") == 1
    assert err.startswith("feedtool: error: cannot remove ") and "Read-only file system" in err


# The CLI, with one stage's task dying in whichever worker process runs it (as the OOM killer ends
# a worker): a wrapper around feedtool's own entry point, since no option of the CLI kills anything.
_DYING_TASK = """
import os, signal, sys
import importlib
stage = importlib.import_module(sys.argv[1])
build = os.getpid()
real = getattr(stage, sys.argv[2])

def dying(*args):
    if os.getpid() != build:  # in a worker, never in the build process itself
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args)

setattr(stage, sys.argv[2], dying)
import feedtool.stories.kept
feedtool.stories.kept.PIECE_ARTICLES = 30  # a first build's stories in several pieces: a pool's work
os.cpu_count = lambda: 2  # two workers on any machine, so that the task runs in one
from feedtool.cli.main import main
main(sys.argv[3:])
"""


@pytest.mark.parametrize(
    ("module", "task", "doing"),
    [("feedtool.publish.run", "_assemble", "publishing"), ("feedtool.stories.kept", "_links", "linking stories")],
)
def test_a_worker_killed_under_a_task_no_other_can_take_is_one_line_and_the_next_build_finishes_the_job(
    tmp_path: Path, module: str, task: str, doing: str
) -> None:
    """Publishing's and stories' tasks come from the store, so a worker dying under one fails the
    build (ingest's instead reject the dump): said in one line, as what it is, and mended by the next build."""
    dumps = tmp_path / "dumps"
    generate(dumps, 150, seed=3)
    config = make_config(tmp_path, [dumps], stories=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", _DYING_TASK, module, task, "build", "-q", "-c", str(config.path)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(f"feedtool: error: a worker process died while {doing}"), run.stderr
    again = feedtool("build", "-q", "-c", str(config.path))
    assert again.wait(300) == 0, again.communicate()
    assert_as_fresh(config, [dumps], tmp_path / "fresh", stories=True)
