"""Builds as cron runs them: every article once, incremental, idempotent, reproducible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from corpus import generate
from helpers import SEEDS, dump, make_config, published, snapshot

from feedtool.build import build
from feedtool.config import load_config
from feedtool.derive.normalise import Normaliser
from feedtool.errors import ConfigError
from feedtool.publish.check import check_output
from feedtool.publish.feeds import Renderer
from feedtool.store import Store
from feedtool.workers import pool as parallel


def all_feed_ids(out: Path) -> list[str]:
    """Every entry id met by following the all-outlets JSON feed's archive links."""
    ids: list[str] = []
    path: Path | None = out / "all" / "feed.json"
    while path is not None:
        doc = json.loads(path.read_text("utf-8"))
        ids += [item["id"] for item in doc["items"]]
        next_url = doc.get("next_url")
        path = out / next_url.split("/", 3)[3] if next_url else None
    return ids


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("corpus") / "dumps"
    return folder, generate(folder, 240, seed=3)


@pytest.mark.slow
def test_every_article_exactly_once_despite_rescrapes(tmp_path: Path, corpus) -> None:
    folder, manifest = corpus
    assert manifest.rescrapes > 20 and manifest.malformed >= 1
    config = make_config(tmp_path, [folder], max_items=20)
    report = build(config)
    assert report.ingest.counts.new == len(manifest.articles)
    assert report.ingest.counts.rejected == manifest.malformed
    ids = all_feed_ids(config.output)
    assert len(ids) == len(set(ids)) == len(manifest.articles)
    with Store(config.store, root=config.root) as store:
        titles = {e.title for e in store.entries([r.id for r in store.feed_index(("all", "all"))]).values()}
    assert titles == set(manifest.titles.values())
    assert check_output(config.output) == ([], len(snapshot(config.output)))


def test_second_build_changes_nothing(tmp_path: Path, corpus) -> None:
    folder, _ = corpus
    config = make_config(tmp_path, [folder], max_items=20)
    build(config)
    before = snapshot(config.output)
    report = build(config)
    assert report.publish.written == () and report.publish.removed == ()
    assert report.ingest.counts.new == report.ingest.counts.updated == 0
    assert snapshot(config.output) == before


def test_unchanged_dumps_are_not_read_and_unchanged_feeds_not_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, [SEEDS])
    build(config)
    reads: list[str] = []
    real_read = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(str(self)) or real_read(self))
    monkeypatch.setattr(Renderer, "fragments", lambda *a: pytest.fail("rendered an entry"))
    monkeypatch.setattr(Renderer, "assemble", lambda *a: pytest.fail("assembled a document"))
    build(config)
    assert [r for r in reads if "seeds" in r] == []


def test_deleting_the_output_rebuilds_identical_bytes(tmp_path: Path, corpus) -> None:
    folder, _ = corpus
    config = make_config(tmp_path, [folder], max_items=20)
    build(config)
    before = published(config.output)
    shutil.rmtree(config.output)
    build(config)
    assert published(config.output) == before


def test_a_deleted_output_file_is_restored(tmp_path: Path) -> None:
    config = make_config(tmp_path, [SEEDS])
    build(config)
    target = config.output / "outlets" / "rfi" / "atom.xml"
    data = target.read_bytes()
    target.unlink()
    report = build(config)
    assert report.publish.written == ("outlets/rfi/atom.xml",)
    assert target.read_bytes() == data


@pytest.mark.parametrize("edit", ["longer", "same size"])
def test_an_output_file_edited_by_hand_is_put_back(tmp_path: Path, edit: str) -> None:
    """Edited in place (its folder's mtime unmoved): told by its size, or by its mtime alone."""
    config = make_config(tmp_path, [SEEDS])
    build(config)
    target = config.output / "outlets" / "rfi" / "index.html"
    data = target.read_bytes()
    written = target.stat().st_mtime_ns
    with open(target, "r+b") as fh:
        if edit == "longer":
            fh.seek(0, os.SEEK_END)
            fh.write(b"<!-- edited -->")
        else:
            fh.write(b"X" if data[:1] != b"X" else b"Y")
    # Edited a second later than written: a clock tick coarser than the two writes could not tell them.
    os.utime(target, ns=(written + 10**9, written + 10**9))
    report = build(config)
    assert report.publish.written == ("outlets/rfi/index.html",)
    assert target.read_bytes() == data


def test_new_batch_rewrites_only_affected_files(tmp_path: Path, seeds: Path) -> None:
    config = make_config(tmp_path, [seeds])
    build(config)
    before = snapshot(config.output)
    (seeds / "new-rfi.txt").write_text(
        dump(
            title="新的法广文章",
            url="https://www.rfi.fr/cn/中国/20231201-new",
            body="<p>欧洲央行宣布维持利率不变。</p>",
        ),
        "utf-8",
    )
    (seeds / "bad.txt").write_bytes(b"")
    report = build(config)
    assert (report.ingest.counts.new, report.ingest.counts.rejected) == (1, 1)
    after = snapshot(config.output)
    changed = {p for p in after if before.get(p) != after[p]}
    assert changed == {
        "all/atom.xml", "all/rss.xml", "all/feed.json", "all/index.html",
        "outlets/rfi/atom.xml", "outlets/rfi/rss.xml", "outlets/rfi/feed.json", "outlets/rfi/index.html",
        "index.html",
    }  # fmt: skip


def test_rescrape_under_url_variant_updates_the_one_entry(tmp_path: Path, seeds: Path) -> None:
    config = make_config(tmp_path, [seeds])
    build(config)
    original = (seeds / "002_f4e8022c18f30cb8.txt").read_text("utf-8")
    edited = original.replace(
        "https://www.zaobao.com/realtime/china/story20221101-1328512)",
        "http://www.zaobao.com.sg/realtime/china/story20221101-1328512?utm_source=rss#top)",
    ).replace("他说，美中之间", "（更新）他说，美中之间")
    rescrape = seeds / "zz-rescrape.txt"
    rescrape.write_text(edited, "utf-8")
    # Scraped again an hour after the first dump, at a whole microsecond: a float of seconds holds
    # an mtime in nanoseconds to a microsecond or so, and the date compared below would be off by one.
    later = ((seeds / "002_f4e8022c18f30cb8.txt").stat().st_mtime_ns // 1000 + 3_600_000_000) * 1000
    os.utime(rescrape, ns=(later, later))
    report = build(config)
    assert (report.ingest.counts.new, report.ingest.counts.updated) == (0, 1)
    doc = json.loads((config.output / "outlets" / "zaobao" / "feed.json").read_text("utf-8"))
    assert len(doc["items"]) == 1
    item = doc["items"][0]
    assert "（更新）" in item["content_html"]
    assert item["date_published"] == "2022-11-01T00:41:00Z"
    modified = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=later // 1000)
    assert item["date_modified"] == modified.isoformat().replace("+00:00", "Z")


def test_only_the_changed_entry_is_rendered_again_and_the_output_is_as_from_scratch(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents are re-assembled from the stored fragments of the entries that did not change."""
    config = make_config(tmp_path, [seeds], max_items=2)  # with monthly archives
    build(config)
    original = (seeds / "002_f4e8022c18f30cb8.txt").read_text("utf-8")
    (seeds / "zz-rescrape.txt").write_text(original.replace("他说，美中之间", "（更新）他说，美中之间"), "utf-8")
    rendered: list[tuple[str, str]] = []
    real = Renderer.fragments

    def spy(self: Renderer, entries: list, formats: list[str]) -> dict[str, list[bytes]]:
        rendered.extend((e.id, fmt) for e in entries for fmt in formats)
        return real(self, entries, formats)

    monkeypatch.setattr(Renderer, "fragments", spy)
    build(config)
    zaobao = "https://www.zaobao.com/realtime/china/story20221101-1328512"
    assert sorted(rendered) == [(zaobao, "atom"), (zaobao, "json"), (zaobao, "rss")]
    monkeypatch.undo()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    fresh = make_config(scratch, [seeds], max_items=2)
    build(fresh)
    assert published(config.output) == published(fresh.output)


def test_merge_does_not_depend_on_the_order_dumps_arrive_in(tmp_path: Path) -> None:
    old = dump(title="旧标题", url="https://www.rfi.fr/cn/a", stamp=None,
               body='<div>14/10/2023 - 15:41</div><p>旧文。</p><div><span>作者：</span><a>夏榕</a></div>')  # fmt: skip
    new = dump(title="新标题", url="http://www.rfi.fr/cn/a#x", stamp="1697291102000", body="<p>新文。</p>")
    outputs = []
    for order in ([old, new], [new, old]):
        run = tmp_path / f"run{len(outputs)}"
        (run / "in").mkdir(parents=True)
        config = make_config(run, [run / "in"])
        for i, text in enumerate(order):
            path = run / "in" / f"{i}.txt"
            path.write_text(text, "utf-8")
            mtime = 1_700_000_000 if text is old else 1_700_100_000
            os.utime(path, (mtime, mtime))
            build(config)  # one dump at a time, in this order
        outputs.append(json.loads((config.output / "all" / "feed.json").read_text("utf-8"))["items"])
    assert outputs[0] == outputs[1]
    (item,) = outputs[0]
    assert item["title"] == "新标题"  # the most recent scrape is shown
    assert item["authors"] == [{"name": "夏榕"}]  # filled from the older scrape, never blanked
    assert item["date_published"] == "2023-10-14T13:45:02Z"  # the precise timestamp beats the date line


def test_an_undated_article_is_pinned_to_when_it_was_first_seen(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "undated.txt"
    path.write_text(dump(url="https://example.org/story", stamp=None), "utf-8")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    config = make_config(tmp_path, [tmp_path / "in"])
    build(config)
    first = json.loads((config.output / "all" / "feed.json").read_text("utf-8"))["items"][0]
    assert first["date_published"] == "2023-11-14T22:13:20Z"
    before = snapshot(config.output)
    build(config)
    assert snapshot(config.output) == before


def test_a_moved_dump_is_recognised_by_its_hash(tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(tmp_path, [seeds])
    build(config)
    (seeds / "moved").mkdir()
    shutil.move(seeds / "000_98a2bef58e7ca05f.txt", seeds / "moved" / "000.txt")
    monkeypatch.setattr(Normaliser, "file", lambda *a: pytest.fail("parsed a known dump again"))
    report = build(config)
    assert (report.ingest.counts.new, report.publish.written) == (0, ())


def test_a_rejected_dump_fixed_in_place_is_published(tmp_path: Path, seeds: Path) -> None:
    """The operator repairs a malformed dump under the same name; the next build takes it."""
    broken = seeds / "zz-broken.txt"
    broken.write_text("<!--1701388800000-->\n<p>没有标题行</p>\n", "utf-8")
    config = make_config(tmp_path, [seeds])
    assert build(config).ingest.counts.rejected == 1
    broken.write_text(dump(title="修好的文章", url="https://www.rfi.fr/cn/20231201-fixed"), "utf-8")
    os.utime(broken, (broken.stat().st_mtime + 60,) * 2)
    report = build(config)
    assert (report.ingest.counts.new, report.ingest.counts.rejected) == (1, 0)
    with Store(config.store, root=config.root) as store:
        assert store.rejects() == []
    assert "https://www.rfi.fr/cn/20231201-fixed" in all_feed_ids(config.output)


def test_a_dump_overwritten_with_another_article_adds_that_article(tmp_path: Path, seeds: Path) -> None:
    """A scraper that reuses file names: the old article stays published, the new one joins it."""
    reused = seeds / "zz-reused.txt"
    reused.write_text(dump(title="第一篇", url="https://www.rfi.fr/cn/20231201-first"), "utf-8")
    config = make_config(tmp_path, [seeds])
    build(config)
    reused.write_text(dump(title="第二篇", url="https://www.rfi.fr/cn/20231202-second"), "utf-8")
    os.utime(reused, (reused.stat().st_mtime + 60,) * 2)
    assert build(config).ingest.counts.new == 1
    ids = all_feed_ids(config.output)
    assert {"https://www.rfi.fr/cn/20231201-first", "https://www.rfi.fr/cn/20231202-second"} <= set(ids)
    assert len(ids) == len(set(ids)) == 7


def test_an_unlisted_outlet_is_looked_up_in_the_public_suffix_list_once(tmp_path: Path) -> None:
    """The next build answers hosts under a domain found before without loading tldextract."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(dump(url="https://news.example.co.uk/a"), "utf-8")
    (tmp_path / "in" / "b.txt").write_text(dump(url="https://co.uk/b"), "utf-8")  # a bare public suffix
    config = make_config(tmp_path, [tmp_path / "in"])
    build(config)
    with Store(config.store, root=config.root) as store:
        assert store.known_domains() == {"example.co.uk"}
    (tmp_path / "in" / "c.txt").write_text(dump(title="另一篇", url="https://www.example.co.uk/c"), "utf-8")
    probe = (
        "import sys\nfrom pathlib import Path\nsys.modules['tldextract'] = None\n"
        "from feedtool.build import build\nfrom feedtool.config import load_config\n"
        f"print(build(load_config(Path({str(config.path)!r}))).ingest.counts.new)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (0, "1"), result.stderr
    feed = json.loads((config.output / "outlets" / "example-co-uk" / "feed.json").read_text("utf-8"))
    assert sorted(item["id"] for item in feed["items"]) == [
        "https://news.example.co.uk/a", "https://www.example.co.uk/c",
    ]  # fmt: skip
    assert (config.output / "outlets" / "co-uk" / "feed.json").exists()


def test_deleting_dumps_keeps_their_entries(tmp_path: Path, seeds: Path) -> None:
    config = make_config(tmp_path, [seeds])
    build(config)
    for path in seeds.iterdir():
        path.unlink()
    build(config)
    assert len(json.loads((config.output / "all" / "feed.json").read_text("utf-8"))["items"]) == 5


def test_changing_topics_rematches_every_entry(tmp_path: Path) -> None:
    config = make_config(tmp_path, [SEEDS])
    build(config)
    taiwan = json.loads((config.output / "topics" / "taiwan" / "feed.json").read_text("utf-8"))
    assert len(taiwan["items"]) == 2
    text = config.path.read_text("utf-8").replace('any = ["台湾", "台海", "Taiwan"]', 'any = ["台灣問題"]')
    config.path.write_text(text, "utf-8")
    build(load_config(config.path))
    taiwan = json.loads((config.output / "topics" / "taiwan" / "feed.json").read_text("utf-8"))
    assert [i["title"] for i in taiwan["items"]] == ["王毅与布林肯通电话 聚焦加沙战事和台湾问题 - 要闻解说"]


def test_store_inside_output_is_refused(tmp_path: Path) -> None:
    config = replace(make_config(tmp_path, [SEEDS]), store=tmp_path / "out" / "state.sqlite3")
    with pytest.raises(ConfigError, match="inside the output folder"):
        build(config)


def test_small_runs_and_pooled_runs_give_the_same_store(tmp_path: Path, corpus, monkeypatch) -> None:
    folder, _ = corpus
    outputs = []
    for threshold in (10**9, 1):
        monkeypatch.setattr(parallel, "POOL_THRESHOLD", threshold)
        run = tmp_path / str(threshold)
        run.mkdir()
        config = make_config(run, [folder], max_items=20)
        build(config)
        outputs.append(published(config.output))
    assert outputs[0] == outputs[1]


def test_a_no_op_build_loads_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    """Cron runs it every few minutes: starting fast matters more than anything it could do."""
    config = make_config(tmp_path, [SEEDS])
    build(config)
    probe = (
        "import sys\nfrom pathlib import Path\nfrom feedtool.build import build\n"
        "from feedtool.config import load_config\n"
        f"report = build(load_config(Path({str(tmp_path / 'feedtool.toml')!r})))\n"
        "assert report.publish.written == (), report.publish.written\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'lxml', 'feedgen', 'nh3', 'opencc',"
        " 'tldextract', 'jinja2', 'bs4', 'charset_normalizer', 'yaml', 'cssselect', 'multiprocessing', 'zstandard',"
        " 'regex', 'prometheus_client'}"
        " or m in {'feedtool.derive.clean', 'feedtool.derive.normalise'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
