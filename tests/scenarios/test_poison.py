"""No single file stops a build: hostile dumps, names, links and rules beside good dumps.

Each poison file is rejected with its reason, or skipped, and everything else is published; the
build exits 0, twice. The whole corpus is built by the CLI in a subprocess held to a bound on
its time and its address space, as cron would run it on a machine that must stay up.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus import generate
from helpers import ROOT, SEEDS, dump, make_config, published

from feedtool.build import build
from feedtool.derive.normalise import Normaliser
from feedtool.store import Store

MEMORY_BOUND = 2 * 2**30  # address space of the build and of each of its workers
TIME_BOUND = 120  # seconds, for a corpus that builds in a few when nothing in it is hostile


def _alias_bomb() -> str:
    """583 bytes of YAML standing for 9**9 strings once its aliases are expanded."""
    anchors = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        anchors.append(f"{name}: &{name} [{','.join(f'*{previous}' for _ in range(9))}]")
    return dump(title="炸弹", url="https://www.rfi.fr/cn/bomb", front_matter="\n".join([*anchors, "title: *i"]))


def write_poison(folder: Path) -> dict[str, str]:
    """The hostile files; returns the name of each that becomes a rejection -> words of its reason."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bomb.txt").write_text(_alias_bomb(), "utf-8")
    (folder / "deep.txt").write_text(
        dump(url="https://www.rfi.fr/cn/deep", body="<div>" * 200_000 + "<p>深处的正文。</p>" + "</div>" * 200_000),
        "utf-8",
    )
    (folder / "huge.txt").write_text(dump(url="https://www.rfi.fr/cn/huge", body="<p>大</p>" * 800_000), "utf-8")
    (folder / "backtrack.txt").write_text(dump(url="https://www.rfi.fr/cn/aaa", body=f"<p>{'a' * 64}!</p>"), "utf-8")
    future = folder / "future.txt"
    future.write_text(dump(url="https://www.rfi.fr/cn/future"), "utf-8")
    os.utime(future, (10_000_000_000, 10_000_000_000))  # the year 2286
    with open(os.fsencode(folder) + b"/bad-\xff-name.txt", "wb") as fh:
        fh.write(dump(url="https://www.rfi.fr/cn/badname").encode())
    os.symlink(".", folder / "loop_a")
    os.symlink(".", folder / "loop_b")
    os.symlink("/etc", folder / "etc")
    return {
        "deep.txt": "nested too deeply",
        "huge.txt": "over the limit of 4,194,304 ([build] max_dump_bytes)",
        "backtrack.txt": "took over 1 s on this dump; simplify it in the config",
        "future.txt": "past the year 2262",
        "bad-\\xff-name.txt": "its name is not UTF-8",
    }


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND, MEMORY_BOUND))


def _feedtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feedtool", *args], capture_output=True, text=True, timeout=TIME_BOUND,
        preexec_fn=_bounded, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


@pytest.mark.slow
def test_a_poison_corpus_builds_twice_publishing_every_good_dump(tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    manifest = generate(dumps / "corpus", 150, seed=3)
    for seed in SEEDS.iterdir():
        (dumps / seed.name).write_bytes(seed.read_bytes())
    expected = write_poison(dumps / "poison")
    config = make_config(
        tmp_path, [dumps], build="max_dump_bytes = 4194304", extra="[clean]\nremove_text = ['(a|aa)+$']"
    )
    for _ in range(2):
        result = _feedtool("build", "-c", str(config.path))
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    rejects = _feedtool("rejects", "-c", str(config.path)).stdout
    for name, reason in expected.items():
        (line,) = [line for line in rejects.splitlines() if f"/{name}: " in line] or [""]
        assert reason in line or name.startswith("bad-"), (name, rejects)
    assert "/etc/" not in rejects  # a link out of the inputs is not followed
    with Store(config.store, root=config.root) as store:
        urls = {row.id for row in store.feed_index(("all", "all"))}
    # Every good article is published: the generated ones, the seeds, and the bomb's (its header is read).
    assert set(manifest.articles) <= urls
    assert "https://www.rfi.fr/cn/bomb" in urls
    assert len(urls) == len(manifest.articles) + len(list(SEEDS.iterdir())) + 1
    assert _feedtool("check", "-c", str(config.path)).returncode == 0


def test_a_link_out_of_the_inputs_is_followed_only_when_the_config_says_so(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "a.txt").write_text(dump(url="https://www.rfi.fr/cn/outside"), "utf-8")
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    os.symlink(outside, dumps / "linked")
    os.symlink(".", dumps / "loop")
    config = make_config(tmp_path, [dumps])
    assert build(config, workers=1).ingest.files == 0
    followed = make_config(tmp_path, [dumps], build="follow_links = true")
    assert build(followed, workers=1).ingest.files == 1


def _fault(path: str) -> None:
    """What Normaliser.file does to a dump named for a fault, in the worker reading it."""
    if "crash" in path:
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
    if "stuck" in path:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # as C code that never returns
        time.sleep(60)
    if "slow" in path:
        time.sleep(60)


# A dump's time, for a busy machine: a fresh worker's first dump (its imports too) takes well over
# 0.5 s there; the faults below sleep far longer. A worker stuck in C code is ended at twice it, + 1 s.
DUMP_SECONDS = 5


@pytest.mark.parametrize(
    ("name", "workers", "reason"),
    [
        ("crash", 2, "reading it ended its worker process (SIGKILL: out of memory, or a crash)"),
        ("stuck", 2, f"reading it took over {2 * DUMP_SECONDS + 1} s"),
        ("slow", 1, f"reading it took over {DUMP_SECONDS} s ([build] dump_seconds)"),
    ],
)
def test_a_dump_that_kills_or_stalls_its_reader_is_rejected_and_the_build_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, workers: int, reason: str
) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for n in range(80):  # enough for a pool of workers
        (dumps / f"{n:03d}.txt").write_text(dump(url=f"https://www.rfi.fr/cn/a/{n}", body=f"<p>正文 {n}。</p>"))
    (dumps / f"040-{name}.txt").write_text(dump(url=f"https://www.rfi.fr/cn/{name}"), "utf-8")
    real = Normaliser.file

    def faulty(self: Normaliser, data: bytes, path: str, canonical: str | None = None) -> object:
        if name in path:
            original = self.entry
            self.entry = lambda *a: (_fault(path), original(*a))[1]  # type: ignore[method-assign]
            try:
                return real(self, data, path, canonical)
            finally:
                self.entry = original  # type: ignore[method-assign]
        return real(self, data, path, canonical)

    monkeypatch.setattr(Normaliser, "file", faulty)
    config = make_config(tmp_path, [dumps], build=f"dump_seconds = {DUMP_SECONDS}")
    report = build(config, workers=workers)
    assert [(Path(r.path).name, r.reason) for r in report.ingest.rejections] == [(f"040-{name}.txt", reason)]
    assert report.ingest.counts.new == 80
    items = json.loads((config.output / "all" / "feed.json").read_text("utf-8"))["items"]
    assert len(items) == 50 and published(config.output)
