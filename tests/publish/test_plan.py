"""Publishing by change gives, byte for byte, what publishing everything gives.

Random series of cron runs over a small archive with tiny documents (3 entries a subscription
document, 2 an archive part), so that every run moves entries across the edge of the
subscription document, between parts and months, in and out of topics and feeds. After each
run the output is compared with a build of the same dumps from an empty store.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import dump, fresh_build, make_config, published
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import feedtool.publish.run
from feedtool.build import build
from feedtool.publish.check import check_output

# Three outlets: articles of the same words within days of each other make stories, which grow,
# merge and part as articles come, change and go (the feed of stories, the pages' "also reported by").
OUTLETS = {
    "rfa": "https://www.rfa.org/mandarin/a/{n}",
    "rfi": "https://www.rfi.fr/cn/a/{n}",
    "zaobao": "https://www.zaobao.com/realtime/china/story{n}",
}
TOPICAL = ["", "<p>台湾海峡局势受到关注。</p>", "<p>加沙停火谈判。</p>"]
START = datetime(2023, 1, 1, tzinfo=UTC)

new_article = st.tuples(st.just("new"), st.sampled_from(sorted(OUTLETS)), st.integers(0, 150), st.sampled_from(TOPICAL))
rescrape = st.tuples(
    st.just("again"), st.integers(0, 1000), st.sampled_from(["edit", "redate", "topic", "same"]), st.integers(0, 150)
)
# Another article with an existing one's timestamp and text (a syndicated story under a new URL):
# ties at every edge of the subscription document and the archive parts, in several at once.
twins = st.tuples(st.just("twin"), st.integers(0, 1000), st.integers(1, 5))
# A dump's bytes again under a new name, dated after every other dump or before them all (a copy
# arriving after its original, or an original arriving after its copy); a dump deleted.
copies = st.tuples(st.just("copy"), st.integers(0, 1000), st.booleans())
deletions = st.tuples(st.just("delete"), st.integers(0, 1000))
steps = st.one_of(new_article, rescrape, twins, copies, deletions)
runs = st.lists(st.lists(steps, min_size=1, max_size=4), min_size=1, max_size=4)


class Archive:
    """Dumps as a scraper writes them, each later than the last (the mtime decides which scrape is shown)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.articles: list[tuple[str, int, str]] = []  # (url, day, body)
        self.firsts: list[str] = []  # per article, its first dump's text
        self.files = 0

    def write(self, url: str, day: int, body: str, *, front_matter_day: int | None = None) -> None:
        when = START + timedelta(days=day, hours=self.files % 24)
        front = None if front_matter_day is None else f"date: {(START + timedelta(days=front_matter_day)):%Y-%m-%d}"
        text = dump(title=f"文章 {url[-6:]}", url=url, body=f"<p>正文 {self.files}。</p>{body}",
                    stamp=str(int(when.timestamp() * 1000)), front_matter=front)  # fmt: skip
        if len(self.firsts) < len(self.articles):
            self.firsts.append(text)
        self._save(text)

    def _save(self, text: str) -> None:
        path = self.folder / f"{self.files:05d}.txt"
        path.write_text(text, "utf-8")
        mtime = 1_700_000_000 + self.files * 60
        os.utime(path, (mtime, mtime))
        self.files += 1

    def new(self, outlet: str, day: int, body: str) -> None:
        url = OUTLETS[outlet].format(n=f"{len(self.articles):06d}")
        self.articles.append((url, day, body))
        self.write(url, day, body)

    def twin(self, index: int, copies: int) -> None:
        """New articles with the title, text and timestamp of an existing one's first dump."""
        original = self.firsts[index % len(self.firsts)]
        url = self.articles[index % len(self.firsts)][0]
        for _ in range(copies):
            twin = f"{url}-{len(self.articles)}"  # the same outlet
            self.articles.append((twin, 0, ""))
            self.firsts.append(original.replace(f"({url})", f"({twin})"))
            self._save(self.firsts[-1])

    def copy(self, index: int, newest: bool) -> None:
        files = sorted(self.folder.iterdir())
        data = files[index % len(files)].read_bytes()
        path = self.folder / f"{self.files:05d}.txt"
        path.write_bytes(data)
        mtime = 1_700_000_000 + self.files * 60 if newest else 1_600_000_000 - self.files
        os.utime(path, (mtime, mtime))
        self.files += 1

    def delete(self, index: int) -> None:
        files = sorted(self.folder.iterdir())[12:]  # the first articles stay: every feed keeps its entries
        if files:
            files[index % len(files)].unlink()

    def again(self, index: int, how: str, day: int) -> None:
        url, first_day, body = self.articles[index % len(self.articles)]
        if how == "edit":
            self.write(url, first_day, body + "<p>（更新）</p>")
        elif how == "redate":  # front matter outranks the millisecond comment: the entry moves
            self.write(url, first_day, body, front_matter_day=day)
        elif how == "topic":
            self.write(url, first_day, TOPICAL[(TOPICAL.index(body) + 1) % len(TOPICAL)] if body in TOPICAL else "")
        else:
            self.write(url, first_day, body)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=runs)
# Found by the search: the dump of an edit deleted, the entry that held the store's newest date
# went back to its first scrape's, and the empty feeds kept the date they had.
@example(
    runs=[
        [("again", 532, "edit", 21)],
        [("twin", 71, 1), ("twin", 379, 1), ("new", "rfa", 130, "<p>台湾海峡局势受到关注。</p>")],
        [("delete", 736), ("copy", 604, False), ("delete", 833), ("copy", 271, True)],
        [("copy", 13, True), ("delete", 357), ("copy", 997, True), ("copy", 990, True)],
    ]
)
@pytest.mark.slow
def test_publishing_by_change_equals_publishing_everything(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, runs: list[list[tuple]]
) -> None:
    root = tmp_path_factory.mktemp("plan")
    archive = Archive(root / "dumps")
    archive.folder.mkdir()
    for n in range(12):  # both outlets and every topic from the start: a new feed is planned whole
        archive.new(sorted(OUTLETS)[n % 3], n * 13, TOPICAL[n % 3])
    config = make_config(root, [archive.folder], max_items=3, archive_items=2, stories=True)
    build(config, workers=1)

    planned_whole = []
    real_whole = feedtool.publish.run.whole
    monkeypatch.setattr(feedtool.publish.run, "whole", lambda *a: planned_whole.append(1) or real_whole(*a))
    deleted = False
    for i, run in enumerate(runs):
        for step in run:
            if step[0] == "new":
                archive.new(step[1], step[2], step[3])
            elif step[0] == "twin":
                archive.twin(step[1], step[2])
            elif step[0] == "copy":
                archive.copy(step[1], step[2])
            elif step[0] == "delete":
                archive.delete(step[1])
                deleted = True
            else:
                archive.again(step[1], step[2], step[3])
        build(config, workers=1)
        assert check_output(config.output)[0] == [], f"after run {i}: {run}"
        with monkeypatch.context() as m:
            m.setattr(feedtool.publish.run, "whole", real_whole)
            # A whole publish of the same store into an empty folder: what publishing by change must equal.
            whole_root = root / f"whole{i}"
            whole_root.mkdir()
            shutil.copy(config.store, whole_root / "state.sqlite3")
            whole = replace(config, output=whole_root / "out", store=whole_root / "state.sqlite3")
            build(whole, do_ingest=False, workers=1)
            assert published(config.output) == published(whole.output), f"after run {i}: {run}"
            if not deleted:  # entries outlive their dumps: after a deletion, a build from nothing has fewer
                fresh = fresh_build(root / f"fresh{i}", [archive.folder], max_items=3, archive_items=2, stories=True)
                assert published(config.output) == published(fresh.output), f"after run {i}: {run}"
                shutil.rmtree(root / f"fresh{i}")
            shutil.rmtree(whole_root)
    assert planned_whole == [], "every run after the first should have been planned by change"


def test_a_plan_is_made_from_the_store_alone_without_a_build(tmp_path: Path) -> None:
    """The planner reads through its narrow interface (plan.Listing): entries written straight into
    a store, no dump read, no worker started, and the whole plan holds each feed's pages in order."""
    from feedtool.config import load_config
    from feedtool.derive.merge import Merged, Shown
    from feedtool.publish.pages import Pages
    from feedtool.publish.plan import whole
    from feedtool.publish.run import outlet_infos
    from feedtool.store import Store

    config = replace(load_config(None), output=tmp_path / "out", max_items=2, archive_items=2)
    with Store(tmp_path / "state.sqlite3") as store, store.transaction():
        for n, (outlet, day) in enumerate([("rfi", 10), ("rfi", 11), ("rfa", 11), ("rfi", 12), ("zaobao", 20)]):
            published = f"2023-10-{day}T0{n}:00:00.000000Z"
            shown = Shown(f"https://x.example/{n}", f"标题{n}", "", "<p>正文</p>", "正文", outlet, "zh-CN")
            store.add_outlet(outlet, outlet.upper(), f"https://{outlet}.example/", "zh-CN")
            store.write_entry(f"id{n}", Merged(shown, "k", None, None, (), ("", "", ""), published, published, f"r{n}"),
                              store.derivation, new=True)  # fmt: skip
        infos = outlet_infos(config, store.outlets())
    with Store(tmp_path / "state.sqlite3") as store:
        plan = whole(config, store, infos, Pages(config.site, config.formats, config.templates))
    folders = [feed.folder for feed in plan.feeds][:5]
    assert folders == ["all", "outlets/rfa", "outlets/rfi", "outlets/zaobao"]  # stories are off unless asked for
    assert plan.sizes["all"] == 5 and plan.sizes["outlets/rfi"] == 3 and plan.whole
    assert [row.id for row in plan.tops["all"]] == ["id4", "id3", "id2", "id1", "id0"]
    pages = [(page.feed.folder, page.month, page.ids) for page, _ in plan.pages if page.feed.folder == "outlets/rfi"]
    assert pages[0] == ("outlets/rfi", None, ("id3", "id1"))  # the subscription document: the newest two
    assert {month for _, month, _ in pages[1:]} == {"2023-10"}  # its archive, by month
