"""Stories end to end: kept in the store by every build, published as a feed, shown on the pages.

On the seeds, RFI's and RFA's reports of Wang Yi's visit to Washington are one story of the feed;
on a slice of the labelled corpus A (bench/stories_wire.py) written as dumps, the stories the
store keeps are those `group` makes of its entries after every cron run, kill, prune and change
of rules, and the output is what a build from nothing publishes.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import feedparser
import pytest
from helpers import (
    ROOT,
    SEEDS,
    STORY_URLS,
    ServedArchive,
    assert_as_fresh,
    fresh_build,
    make_config,
    published,
    story_corpus,
    write_reports,
)
from stories_wire import reports as wire_reports

from feedtool.build import build
from feedtool.config import Config
from feedtool.models import Entry
from feedtool.store import Store, from_iso
from feedtool.stories import kept as kept_module
from feedtool.stories.grouping import Report, group
from feedtool.stories.kept import rules_of

RFI_VISIT = "https://www.rfi.fr/cn/%E4%B8%AD%E5%9B%BD/20231028-%E6%8B%9C%E7%99%BB%E6%95%A6%E4%BF%83%E4%B8%AD%E5%9B%BD%E5%90%88%E4%BD%9C-%E5%85%B1%E5%90%8C%E5%BA%94%E5%AF%B9%E5%85%A8%E7%90%83%E6%8C%91%E6%88%98"
RFA_VISIT = "https://www.rfa.org/mandarin/Xinwen/6-10282023125450.html"


def seed_ids(config: Config) -> dict[str, str]:
    """The seeds' entry ids by the first three characters of their file name."""
    from feedtool.derive.normalise import Normaliser

    normaliser = Normaliser(config.rules)
    found = {}
    for path in sorted(SEEDS.glob("*.txt")):
        entry = normaliser.file(path.read_bytes(), str(path))
        assert isinstance(entry, Entry)
        found[path.name[:3]] = entry.id
    return found


def test_the_seeds_reports_of_wang_yis_visit_are_one_entry_of_the_stories_feed(tmp_path: Path) -> None:
    config = make_config(tmp_path, [SEEDS], stories=True)
    build(config, workers=1)
    seeds = seed_ids(config)
    assert (seeds["003"], seeds["004"]) == (RFI_VISIT, RFA_VISIT)
    atom = feedparser.parse((config.output / "stories" / "atom.xml").read_bytes())
    assert atom.bozo == 0, atom.get("bozo_exception")
    (story,) = atom.entries
    assert story.title == "拜登敦促中国合作 共同应对全球挑战"  # the earliest report's
    assert story.id.startswith("urn:feedtool:story:") and story.link == RFI_VISIT
    content = story.content[0].value
    assert RFI_VISIT in content and RFA_VISIT in content
    assert seeds["001"] not in content and seeds["002"] not in content  # RFI's 2023-12-06 call, Zaobao's 2022 report
    assert "法广 RFI" in content and "自由亚洲电台" in content  # each outlet named
    assert story.published_parsed[:3] == (2023, 10, 28) and story.updated > story.published
    rss = feedparser.parse((config.output / "stories" / "rss.xml").read_bytes())
    assert rss.bozo == 0 and [e.link for e in rss.entries] == [RFI_VISIT]
    (item,) = json.loads((config.output / "stories" / "feed.json").read_text("utf-8"))["items"]
    assert item["url"] == RFI_VISIT and RFA_VISIT in item["content_html"]
    page = (config.output / "stories" / "index.html").read_text("utf-8")
    assert "拜登敦促中国合作" in page and RFA_VISIT in page


def test_each_article_of_a_story_says_which_other_outlets_reported_it(tmp_path: Path) -> None:
    config = make_config(tmp_path, [SEEDS], stories=True)
    build(config, workers=1)
    page = (config.output / "outlets" / "rfi" / "index.html").read_text("utf-8")
    rfi = page[page.index(f'data-id="{RFI_VISIT}"') :]
    rfi = rfi[: rfi.index("</article>")]
    also = "其他媒体的报道："  # "Also reported by", in the site's language (simplified Chinese unless set)
    assert also in rfi and f'href="{RFA_VISIT}"' in rfi and ">自由亚洲电台<" in rfi
    others = page.replace(rfi, "")
    assert also not in others and 'class="also"' not in others  # RFI's other articles are of no story


def _as_built_from_nothing(config: Config, fresh_root: Path, seeds: Path) -> None:
    """The stored stories' rows and every published file are what a build from nothing makes."""

    def rows(store: Path) -> list[tuple[str, ...]]:
        with sqlite3.connect(store) as db:
            return list(db.execute("SELECT id, published, updated, revision, reporters, members FROM stories"))

    fresh = fresh_build(fresh_root, [seeds], stories=True)
    assert rows(config.store) == rows(fresh.store)
    assert published(config.output) == published(fresh.output)


def test_an_article_changed_only_in_what_it_publishes_keeps_its_links_and_its_story_is_made_again(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFI's report of Wang Yi's visit scraped again with an author in its front matter, its title
    and text the same: what the grouping reads of it is as it was, so no link is made again (that
    reads the articles of a week either side), and its story's row, which digests its members'
    revisions, is made again: the stored stories and the output are a build from nothing's."""
    import feedtool.stories.kept

    config = make_config(tmp_path, [seeds], stories=True)
    build(config, workers=1)
    (rfi,) = seeds.glob("003_*.txt")
    again = seeds / "003-again.txt"
    again.write_text("---\nauthor: 法广记者\n---\n" + rfi.read_text("utf-8"), "utf-8")
    later = rfi.stat().st_mtime + 3600
    os.utime(again, (later, later))
    remade: list[object] = []
    real = feedtool.stories.kept.zone_links
    monkeypatch.setattr(feedtool.stories.kept, "zone_links", lambda *a: remade.append(a[1]) or real(*a))
    build(config, workers=1)
    assert remade == []
    entry = json.loads((config.output / "outlets" / "rfi" / "feed.json").read_text("utf-8"))["items"]
    assert [i["authors"] for i in entry if i["url"] == RFI_VISIT] == [[{"name": "法广记者"}]]

    monkeypatch.undo()
    _as_built_from_nothing(config, tmp_path / "fresh", seeds)


@pytest.mark.parametrize(
    ("old", "new", "remade"),
    [("以免误判。", "以免发生误判。", False), ("拜登周五与中国", "拜登周五在白宫与中国", True)],
    ids=["past its lead", "in its lead"],
)
def test_an_article_edited_past_its_lead_keeps_its_links_and_one_edited_in_it_is_linked_again(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, remade: bool
) -> None:
    """RFI's report of Wang Yi's visit, with a closing paragraph, scraped again with a word
    changed. The grouping reads an article's first STORY_LEAD_CHARS characters: changed past them
    (a last paragraph corrected), no link is made again, only its story's row; changed in them,
    its week's links are. Either way the stored stories and the output are a build from nothing's."""
    import feedtool.stories.kept
    from feedtool.derive.normalise import Normaliser
    from feedtool.rules import STORY_LEAD_CHARS

    (rfi,) = seeds.glob("003_*.txt")
    mtime = rfi.stat().st_mtime
    closing = "<p>美国官员说，" + "双方同意继续保持沟通渠道畅通，" * 8 + "以免误判。</p>"
    rfi.write_text(rfi.read_text("utf-8") + closing, "utf-8")
    os.utime(rfi, (mtime, mtime))
    config = make_config(tmp_path, [seeds], stories=True)
    build(config, workers=1)
    again = seeds / "003-again.txt"
    again.write_text(rfi.read_text("utf-8").replace(old, new), "utf-8")
    os.utime(again, (mtime + 3600, mtime + 3600))
    edited = Normaliser(config.rules).file(again.read_bytes(), str(again))
    assert (edited.search_text.index(new) >= STORY_LEAD_CHARS) is not remade  # type: ignore[union-attr]
    made: list[object] = []
    real = feedtool.stories.kept.zone_links
    monkeypatch.setattr(feedtool.stories.kept, "zone_links", lambda *a: made.append(a[1]) or real(*a))
    build(config, workers=1)
    assert bool(made) is remade
    assert new in (config.output / "outlets" / "rfi" / "feed.json").read_text("utf-8")

    monkeypatch.undo()
    _as_built_from_nothing(config, tmp_path / "fresh", seeds)


def test_with_stories_off_the_entries_changed_only_in_what_they_publish_are_not_kept(
    tmp_path: Path, seeds: Path
) -> None:
    """The store notes them for the stories alone: while stories are off, a build forgets them."""
    config = make_config(tmp_path, [seeds])
    build(config, workers=1)
    (rfi,) = seeds.glob("003_*.txt")
    (seeds / "003-again.txt").write_text("---\nauthor: 法广记者\n---\n" + rfi.read_text("utf-8"), "utf-8")
    build(config, workers=1)
    with sqlite3.connect(config.store) as db:
        assert db.execute("SELECT count(*) FROM story_revised").fetchone() == (0,)


def _serve(output: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "feedtool", "serve", "-o", str(output), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, "http://127.0.0.1:" + line.rsplit(":", 1)[1].split("/")[0] + "/"


def test_a_feed_reader_reads_the_stories_feed_from_feedtool_serve(tmp_path: Path) -> None:
    config = make_config(tmp_path, [SEEDS], stories=True)
    build(config, workers=1)
    process, base = _serve(config.output)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "index.html", timeout=5).close()
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        for address in ("stories/atom.xml", "stories/rss.xml", "stories/"):
            parsed = feedparser.parse(base + address)
            assert parsed.get("status") == 200 and parsed.bozo == 0, (address, parsed.get("bozo_exception"))
            assert [e.link for e in parsed.entries] == [RFI_VISIT], address
        request = urllib.request.Request(base + "stories/", headers={"Accept": "text/html"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert "拜登敦促中国合作" in response.read().decode()
        opml = urllib.request.urlopen(base + "feeds.opml", timeout=10).read().decode()
        assert 'xmlUrl="http://127.0.0.1:8000/stories/atom.xml"' in opml
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- the labelled corpus as dumps ---------------------------------------------------------------


def stored_stories(config: Config) -> list[tuple[str, tuple[str, ...]]]:
    """The stories the store keeps: (id, members in order), by their first members."""
    db = sqlite3.connect(config.store)
    try:
        rows = db.execute("SELECT id, members FROM stories ORDER BY published, id").fetchall()
        members = db.execute("SELECT entry_id, story FROM story_members ORDER BY entry_id").fetchall()
    finally:
        db.close()
    assert sorted(members) == sorted((m, i) for i, ms in rows for m in json.loads(ms))
    return [(story_id, tuple(json.loads(ms))) for story_id, ms in rows]


def grouped_afresh(config: Config) -> list[tuple[str, tuple[str, ...]]]:
    """The stories `group` makes of the store's entries, in one pass."""
    with Store(config.store) as store:
        found, _ = store.packed_reports("0000", "9999", {})
        reports = [
            Report(i, outlet, from_iso(published), title, store.codec.unpack_text(text)[2])
            for i, outlet, published, title, text in found
        ]
    made = group(reports, rules_of(config.stories))
    return sorted(
        ((s.id, s.members) for s in made), key=lambda s: (min(r.published for r in reports if r.id == s[1][0]), s[0])
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_the_stored_stories_are_those_of_one_pass_after_cron_runs_prunes_and_rule_changes(
    tmp_path: Path, seed: int
) -> None:
    """Articles arriving in random runs, some edited or pruned, the rules changed: after every build
    the store keeps what `group` makes of its entries, and publishes what a build from nothing does."""
    rng = random.Random(seed)
    reports = story_corpus()
    rng.shuffle(reports)
    dumps = tmp_path / "dumps"
    config = make_config(tmp_path, [dumps], max_items=5, archive_items=4, stories=True)
    cuts = sorted(rng.sample(range(1, len(reports)), 3))
    for run, (start, stop) in enumerate(zip([0, *cuts], [*cuts, len(reports)], strict=True)):
        write_reports(dumps, reports[start:stop], mtime=1_700_000_000 + run)
        build(config, workers=1)
        assert stored_stories(config) == grouped_afresh(config), f"after run {run}"
        assert_as_fresh(config, [dumps], tmp_path / "fresh", max_items=5, archive_items=4, stories=True)
    assert len(stored_stories(config)) > 10
    # An article edited into another event's words; one story's reports moved together six weeks
    # earlier, another's later, and one report a week later: each story is to be found where its
    # reports are now, its day's zone made before or after the one it left.
    files = sorted(dumps.iterdir())
    edited = files[rng.randrange(len(files))]
    other = reports[rng.randrange(len(reports))]
    _rewrite(edited, edited.read_text("utf-8").replace("<p>", f"<p>{other.text[:200]}</p><p>", 1))
    address = {_address(f): f for f in files}
    stories = rng.sample(stored_stories(config), 3)
    moves = [(members, days) for (_, members), days in zip(stories[:2], (-42, 42), strict=True)]
    for members, days in [*moves, (stories[2][1][:1], 7)]:
        for member in members:
            text = address[member].read_text("utf-8")
            stamp = text[4 : text.index("-->")]
            _rewrite(address[member], text.replace(stamp, str(int(stamp) + days * 86_400_000)))
    build(config, workers=1)
    assert stored_stories(config) == grouped_afresh(config)
    together = {m: set(ms) for _, ms in stored_stories(config) for m in ms}
    assert any(set(members) <= together.get(members[0], set()) for members, _ in moves)  # found where they went
    assert_as_fresh(config, [dumps], tmp_path / "fresh", max_items=5, archive_items=4, stories=True)
    # Rules changed: every story made again under them.
    before = stored_stories(config)
    strict = "[stories]\nsimilarity = 0.5"
    config = make_config(tmp_path, [dumps], max_items=5, archive_items=4, extra=strict, stories=True)
    build(config, workers=1)
    assert stored_stories(config) == grouped_afresh(config) != before
    assert_as_fresh(config, [dumps], tmp_path / "fresh", max_items=5, archive_items=4, extra=strict, stories=True)
    # A prune of one outlet's articles: the stories it parts lose them, or are gone.
    from feedtool.archive import Archive

    Archive(config).prune(outlet="rfa")
    build(config, workers=1)
    assert stored_stories(config) == grouped_afresh(config)
    assert not any("rfa.org" in m for _, members in stored_stories(config) for m in members)


def _rewrite(dump_file: Path, text: str) -> None:
    """A dump written again as a scraper does, to a new file renamed over the old one: one edited in
    place under the same inode is seen only by `feedtool build --rescan` (ingest/scan.py)."""
    written = dump_file.with_name(f".{dump_file.name}.part")
    written.write_text(text, "utf-8")
    os.replace(written, dump_file)


def _address(dump_file: Path) -> str:
    """The entry id a dump of `write_dumps` gives: its address, as canonical."""
    from feedtool.config import load_config
    from feedtool.derive.urls import Canonicaliser

    outlet, number = dump_file.stem.split("-")
    return Canonicaliser(load_config(None).rules).canonicalise(STORY_URLS[outlet].format(n=int(number)))


@pytest.mark.slow
def test_a_build_killed_while_stories_are_made_is_finished_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after some of the links were made again: the next build makes the stories a fresh one does."""
    import feedtool.stories.kept as kept

    dumps = tmp_path / "dumps"
    reports = sorted(story_corpus(), key=lambda r: r.published)
    write_reports(dumps, reports[: len(reports) // 2])
    config = make_config(tmp_path, [dumps], stories=True)
    build(config, workers=1)
    write_reports(dumps, reports[len(reports) // 2 :], mtime=1_700_000_100)
    calls = 0
    real = kept.zone_links

    def dying(*args: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(kept, "zone_links", dying)
    monkeypatch.setattr(kept, "PIECE_ARTICLES", 30)
    with pytest.raises(KeyboardInterrupt):
        build(config, workers=1)
    monkeypatch.undo()
    build(config, workers=1)
    assert stored_stories(config) == grouped_afresh(config)
    assert_as_fresh(config, [dumps], tmp_path / "fresh", stories=True)


_RAN: list[Path] = []  # where `_noting_links` notes each task it runs: set by the test, inherited by forked workers


def _noting_links(state: Any, job: tuple[Any, ...]) -> Any:
    """stories/kept.py's task, noting which process ran it on which zone."""
    (_RAN[0] / f"{os.getpid()}-{job[0][0]}").touch()
    return _LINKS(state, job)


_LINKS = kept_module._links  # the task itself, kept before the test puts `_noting_links` in its place


def test_the_links_of_several_pieces_are_made_on_the_workers_as_one_pass_makes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first build's zone cut into pieces, then a run whose articles fall far apart: each piece's
    links are a task on the build's workers, carrying the articles it reads, and the build process
    writes them; the stories are those one pass makes of the entries, the output a fresh build's."""
    import feedtool.stories.kept as kept

    ran = tmp_path / "ran"
    ran.mkdir()
    monkeypatch.setattr(sys.modules[__name__], "_RAN", [ran])
    monkeypatch.setattr(kept, "_links", _noting_links)
    monkeypatch.setattr(kept, "PIECE_ARTICLES", 30)
    dumps = tmp_path / "dumps"
    reports = sorted(story_corpus(), key=lambda r: r.published)
    config = make_config(tmp_path, [dumps], stories=True)
    for run, batch in enumerate((reports[::2], reports[1::2])):
        write_reports(dumps, batch, mtime=1_700_000_000 + run)
        build(config, workers=2)
        tasks = list(ran.iterdir())
        assert len(tasks) > 2 and str(os.getpid()) not in {t.name.split("-")[0] for t in tasks}, f"run {run}"
        assert stored_stories(config) == grouped_afresh(config), f"after run {run}"
        for task in tasks:
            task.unlink()
    monkeypatch.undo()
    assert_as_fresh(config, [dumps], tmp_path / "fresh", stories=True)


def test_stories_turned_off_publish_no_stories_and_turned_on_make_them_all(tmp_path: Path) -> None:
    off = make_config(tmp_path, [SEEDS], extra="[stories]\nenabled = false")
    build(off, workers=1)
    assert not (off.output / "stories").exists()
    assert 'class="also"' not in (off.output / "all" / "index.html").read_text("utf-8")
    on = make_config(tmp_path, [SEEDS], stories=True)
    build(on, workers=1)
    assert len(feedparser.parse((on.output / "stories" / "atom.xml").read_bytes()).entries) == 1
    build(off, workers=1)
    assert not (off.output / "stories").exists()


def test_stats_and_the_build_summary_count_stories_and_the_outlets_they_span(tmp_path: Path) -> None:
    from feedtool.archive import Archive

    config = make_config(tmp_path, [SEEDS], stories=True)
    report = build(config, workers=1)
    assert "1 story of 2 outlets" in report.summary()
    stats = Archive(config).stats()
    assert stats.stories == 1 and stats.story_outlets == ((2, 1),)
    assert stats.as_json()["stories"] == {"stories": 1, "outlets": {"2": 1}}


def test_the_stories_of_a_day_in_another_year_are_found(tmp_path: Path) -> None:
    """Dates far apart are days apart: a story is found wherever its articles fall."""
    dumps = tmp_path / "dumps"
    at = datetime(2031, 2, 3, 4, 5, tzinfo=UTC)
    text = "外长王毅与国务卿布林肯在华盛顿会谈，讨论芬太尼管制和两军沟通渠道，会谈持续约七十分钟。"
    write_reports(
        dumps, [Report("rfi/1", "rfi", at, "王毅布林肯会谈", text), Report("dw/2", "dw", at, "王毅与布林肯会谈", text)]
    )
    config = make_config(tmp_path, [dumps], stories=True)
    build(config, workers=1)
    assert [len(m) for _, m in stored_stories(config)] == [2]


@pytest.mark.slow
def test_the_stories_feed_and_its_archives_pass_the_w3c_validator(tmp_path: Path) -> None:
    """Corpus A's slice: stories of two to six outlets in simplified and traditional characters,
    over months, in subscription documents of five and archive parts of four."""
    from helpers import validate

    dumps = tmp_path / "dumps"
    write_reports(dumps, story_corpus())
    base = "https://feeds.example.org/news/"
    config = make_config(
        tmp_path, [dumps], max_items=5, archive_items=4, extra=f'[site]\nbase_url = "{base}"', stories=True
    )
    build(config, workers=1)
    stories = config.output / "stories"
    assert len(list(stories.glob("archive/*/*/atom.xml"))) >= 3  # months cut into parts
    entries = [e for path in stories.rglob("atom.xml") for e in feedparser.parse(path.read_bytes()).entries]
    assert len(entries) == len(stored_stories(config)) > 20
    assert max(len(e.tags) for e in entries) >= 4  # a story of four outlets or more
    validate(config.output, base)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedArchive]:
    """The seeds beside a generated corpus, served by `feedtool serve`'s server with the store behind it."""
    served = ServedArchive(tmp_path_factory.mktemp("stories-served"), 60, seed=3, stories=True)
    yield served
    served.close()


def _query_feed(served: ServedArchive, path: str, **params: str) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(served.base + path + "?" + urlencode(params))
    assert parsed.get("status") == 200 and parsed.bozo == 0, (path, params, parsed.get("bozo_exception"))
    return parsed


def test_a_query_feed_asked_for_stories_gives_each_event_once(served: ServedArchive) -> None:
    """`group=story`: the articles found, those of a story given as the story, with every outlet's report."""
    articles = _query_feed(served, "all/atom.xml", q="王毅")
    assert {RFI_VISIT, RFA_VISIT} <= {e.link for e in articles.entries}
    grouped = _query_feed(served, "all/atom.xml", q="王毅", group="story")
    links = [e.link for e in grouped.entries]
    assert RFA_VISIT not in links and links.count(RFI_VISIT) == 1  # the story, linked to its first report
    (story,) = [e for e in grouped.entries if e.id.startswith("urn:feedtool:story:")]
    assert RFA_VISIT in story.content[0].value
    assert len(grouped.entries) == len(articles.entries) - 1
    topic = _query_feed(served, "topics/us-china/atom.xml", group="story")
    assert [e.id for e in topic.entries].count(story.id) == 1 and RFA_VISIT not in [e.link for e in topic.entries]


def test_the_stories_feed_asked_a_question_gives_the_stories_of_the_articles_found(served: ServedArchive) -> None:
    found = _query_feed(served, "stories/atom.xml", q="王毅")
    assert [e.link for e in found.entries] == [RFI_VISIT]
    assert _query_feed(served, "all/atom.xml", q="富有成效").entries  # Zaobao's 2022 report, of no story
    assert _query_feed(served, "stories/atom.xml", q="富有成效").entries == []
    page = urllib.request.urlopen(served.base + "stories/?q=王毅".replace("王毅", "%E7%8E%8B%E6%AF%85"), timeout=10)
    assert RFA_VISIT in page.read().decode()


def test_group_takes_story_alone(served: ServedArchive) -> None:
    try:
        urllib.request.urlopen(served.base + "all/atom.xml?group=outlet", timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and b"group=" in exc.read()
    else:
        pytest.fail("group=outlet was taken")


def _walked(served: ServedArchive, path: str, **params: str) -> list[str]:
    """The ids of every entry of a query feed, page after page by its `next` links."""
    parsed = _query_feed(served, path, **params)
    ids = [e.id for e in parsed.entries]
    for _ in range(500):
        after = [link.href for link in parsed.feed.links if link.rel == "next"]
        if not after:
            return ids
        parsed = feedparser.parse(after[0])
        assert parsed.get("status") == 200 and parsed.bozo == 0, after
        ids += [e.id for e in parsed.entries]
    pytest.fail(f"{path} pages on and on")


@pytest.mark.parametrize(
    ("path", "params"),
    [("all/atom.xml", {}), ("all/atom.xml", {"q": "王毅"}), ("stories/atom.xml", {}), ("topics/us-china/rss.xml", {})],
)
def test_a_grouped_feed_read_page_by_page_gives_each_story_once(
    served: ServedArchive, path: str, params: dict[str, str]
) -> None:
    """A story is on the page of its newest article found, not on every page one of its articles is."""
    group = {} if path.startswith("stories/") else {"group": "story"}
    whole = _walked(served, path, **params, **group, limit="200")
    assert any(i.startswith("urn:feedtool:story:") for i in whole)
    for limit in ("1", "2", "5"):
        paged = _walked(served, path, **params, **group, limit=limit)
        assert sorted(paged) == sorted(whole), limit  # every story and lone article, each once


def test_a_topic_has_a_feed_of_stories_at_its_stories_address(served: ServedArchive) -> None:
    """/topics/SLUG/stories/: the topic's feed given as stories, at the address its query feed has."""
    grouped = _query_feed(served, "topics/us-china/atom.xml", group="story")
    for address, canonical in [
        ("topics/us-china/stories/atom.xml", "topics/us-china/atom.xml?group=story"),
        ("topics/us-china/stories/feed.json?q=王毅&group=x", "topics/us-china/feed.json?q=王毅&group=story"),
        ("topics/us-china/stories/", "topics/us-china/?group=story"),
        ("topics/us-china/stories", "topics/us-china/?group=story"),  # as /all is /all/
    ]:
        request = urllib.request.Request(served.base + address.replace("王毅", "%E7%8E%8B%E6%AF%85"), method="HEAD")
        with pytest.raises(urllib.error.HTTPError) as redirected:  # not followed: urllib follows 308 only for GET
            urllib.request.build_opener(_NoRedirect).open(request, timeout=10)
        assert redirected.value.code == 308, address
        assert redirected.value.headers["location"] == "/" + canonical.replace("王毅", "%E7%8E%8B%E6%AF%85")
    followed = feedparser.parse(served.base + "topics/us-china/stories/atom.xml")
    assert followed.get("status") == 200 and followed.bozo == 0
    assert followed.href == served.base + "topics/us-china/atom.xml?group=story"  # where the redirect led
    assert [e.id for e in followed.entries] == [e.id for e in grouped.entries]
    assert any(e.id.startswith("urn:feedtool:story:") for e in followed.entries)
    for missing in ("topics/no-such-topic/stories/atom.xml", "outlets/rfi/stories/atom.xml", "stories/stories/"):
        with pytest.raises(urllib.error.HTTPError) as absent:
            urllib.request.urlopen(served.base + missing, timeout=10)
        assert absent.value.code == 404, missing


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_a_feed_reader_follows_a_story_as_outlets_join_it(tmp_path: Path) -> None:
    """`reader` (the library) subscribed over HTTP to the feed of stories, on a slice of corpus A:
    an event's last report, arriving on a later build, joins the story the reader already holds,
    the same entry updated rather than a second one."""
    from reader import make_reader

    from feedtool.web.answers import Archive as Answers
    from feedtool.web.app import App
    from feedtool.web.server import bind, make_server

    labelled = wire_reports(1, 30)
    events: dict[str, list[Report]] = {}
    for report, label in labelled:
        if label is not None:
            events.setdefault(label, []).append(report)
    event = next(sorted(reports, key=lambda r: r.published) for reports in events.values() if len(reports) >= 4)
    late = event[-1]
    sock = bind("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    config = make_config(tmp_path, [tmp_path / "dumps"], extra=f'[site]\nbase_url = "{base}"', stories=True)
    write_reports(tmp_path / "dumps", [r for r, _ in labelled if r.id != late.id])
    build(config, workers=1)
    subscriber = make_reader(str(tmp_path / "reader.sqlite"))
    stories = base + "stories/atom.xml"
    first, joined = (
        STORY_URLS[event[0].outlet].format(n=event[0].id.split("/")[1]),
        STORY_URLS[late.outlet].format(n=late.id.split("/")[1]),
    )
    with make_server(App(config.output, Answers(config)), sock=sock).running():
        subscriber.add_feed(stories)
        subscriber.update_feeds(scheduled=False)
        (feed,) = subscriber.get_feeds()
        assert feed.last_exception is None, feed.last_exception
        (before,) = [e for e in subscriber.get_entries(feed=stories) if first in e.content[0].value]
        assert joined not in before.content[0].value
        write_reports(tmp_path / "dumps", [late])
        build(config, workers=1)
        subscriber.update_feeds(scheduled=False)
        holding = [e for e in subscriber.get_entries(feed=stories) if joined in e.content[0].value]
        assert [e.id for e in holding] == [before.id]  # the story the reader holds, not a new one
        assert first in holding[0].content[0].value and holding[0].updated > before.updated
