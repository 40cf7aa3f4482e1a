"""A changed setting reaches every stored entry: the next build gives what a build from nothing would.

Each test builds under one setting, changes it, builds again, and compares the store and every
published byte with a build of the same dumps from an empty store under the new setting.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from helpers import SEEDS, dump, make_config, published

import feedtool.ingest.run
from feedtool.build import BuildReport, build
from feedtool.config import Config
from feedtool.derive import keys
from feedtool.derive.normalise import Normaliser
from feedtool.derive.urls import Canonicaliser
from feedtool.models import StoredEntry
from feedtool.store import Store

RFI = "https://www.rfi.fr/cn/%E4%B8%AD%E5%9B%BD/20231028-biden"

# Beside the seeds: an article scraped again under a query parameter and from a mirror host, one
# dated only by its date line, one with a front matter author, one from a site no registry lists.
EXTRA = {
    "original.txt": dump(title="拜登敦促中国合作", url=RFI, stamp="1698488101000"),
    "ref.txt": dump(title="拜登敦促中国合作（更新）", url=RFI + "?ref=home", stamp="1698488101000"),
    "mirror.txt": dump(title="拜登敦促中国合作", url=RFI.replace("www.rfi.fr", "www.rfi-mirror.net"), stamp="1698488101000"),
    "dateline.txt": dump(title="日期行", url="https://www.rfi.fr/cn/a/dateline", stamp=None,
                         body="<div>14/10/2023 - 15:41</div><p>正文。</p>"),
    "author.txt": dump(title="署名", url="https://www.rfi.fr/cn/a/author", stamp="1697291105000",
                       front_matter="author: 法广中文部"),
    "unlisted.txt": dump(title="无名站点", url="https://news.example.org/a/1", stamp="1697291106000"),
}  # fmt: skip


@pytest.fixture
def dumps(tmp_path: Path) -> Path:
    folder = tmp_path / "dumps"
    shutil.copytree(SEEDS, folder)
    for name, text in EXTRA.items():
        (folder / name).write_text(text, "utf-8")
    return folder


def _config(folder: Path, dumps: Path, extra: str) -> Config:
    folder.mkdir(exist_ok=True)
    return make_config(folder, [dumps], extra=extra)


def _entries(config: Config) -> dict[str, StoredEntry]:
    with Store(config.store, root=config.root) as store:
        return store.entries([r.id for r in store.feed_index(("all", "all"))])


def changed_then_built(tmp_path: Path, dumps: Path, before: str, after: str) -> tuple[BuildReport, Config]:
    """Build under `before`, then under `after`; assert the result is what a build from nothing gives."""
    config = _config(tmp_path / "changed", dumps, before)
    build(config, workers=1)
    earlier = published(config.output)
    config = _config(tmp_path / "changed", dumps, after)
    report = build(config, workers=1)
    fresh = _config(tmp_path / "fresh", dumps, after)
    build(fresh, workers=1)
    assert _entries(config) == _entries(fresh)
    assert published(config.output) == published(fresh.output)
    assert published(config.output) != earlier, "the setting changed nothing: the test proves nothing"
    return report, config


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('[clean]\nremove_text = ["法新社"]', '[clean]\nremove_text = ["路透社"]'),
        ("", '[clean]\nremove = ["strong"]'),
        ("", '[clean]\nbyline_labels = ["责编"]'),
    ],
    ids=["remove_text", "remove", "byline_labels"],
)
def test_a_cleaning_rule(tmp_path: Path, dumps: Path, before: str, after: str) -> None:
    report, _ = changed_then_built(tmp_path, dumps, before, after)
    assert report.ingest is not None and report.ingest.rederived
    assert report.ingest.counts.updated > 0


@pytest.mark.parametrize(
    "outlet",
    ['timezone = "Asia/Shanghai"', 'language = "zh-TW"', 'aliases = ["法广中文部"]', 'name = "法广中文部"'],
    ids=["timezone", "language", "aliases", "name"],
)
def test_an_outlet_setting(tmp_path: Path, dumps: Path, outlet: str) -> None:
    changed_then_built(tmp_path, dumps, "", f'[[outlet]]\nslug = "rfi"\n{outlet}')


def test_outlet_hosts_move_entries_to_another_outlet(tmp_path: Path, dumps: Path) -> None:
    after = '[[outlet]]\nslug = "example"\nname = "Example News"\nhosts = ["example.org"]'
    _, config = changed_then_built(tmp_path, dumps, "", after)
    assert {e.outlet for e in _entries(config).values()} >= {"example"}
    assert not (config.output / "outlets" / "example-org").exists()


@pytest.mark.parametrize(
    ("before", "after", "merged"),
    [
        ("", '[urls]\ntracking_params = ["ref"]', True),
        ('[urls]\ntracking_params = ["ref"]', "", False),
        ("", '[urls]\nhost_aliases = { "rfi-mirror.net" = "rfi.fr" }', True),
        ('[urls]\nhost_aliases = { "rfi-mirror.net" = "rfi.fr" }', "", False),
    ],
    ids=["tracking-merges", "tracking-splits", "alias-merges", "alias-splits"],
)
def test_a_url_rule_merges_or_splits_entries(
    tmp_path: Path, dumps: Path, before: str, after: str, merged: bool
) -> None:
    config = _config(tmp_path / "count", dumps, before)
    build(config, workers=1)
    count = len(_entries(config))
    _, config = changed_then_built(tmp_path, dumps, before, after)
    assert len(_entries(config)) == (count - 1 if merged else count + 1)


def test_a_new_normaliser(tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A feedtool whose normaliser code changed: simulated by a changed module list and a changed title rule."""
    config = _config(tmp_path / "changed", dumps, "")
    build(config, workers=1)
    earlier = published(config.output)
    monkeypatch.setattr(keys, "code_digest", lambda package=keys.PACKAGE: "another")  # another code fingerprint
    entry = Normaliser.entry
    monkeypatch.setattr(
        Normaliser,
        "entry",
        lambda self, d, *rest: entry(self, d.__class__(**{**vars(d), "title": d.title + "！"}), *rest),
    )
    report = build(config, workers=1)
    fresh = _config(tmp_path / "fresh", dumps, "")
    build(fresh, workers=1)
    assert report.ingest is not None and report.ingest.rederived
    assert published(config.output) == published(fresh.output) != earlier
    assert all(e.title.endswith("！") for e in _entries(config).values())


def test_every_file_of_the_derive_package_is_in_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module added to derive/ (or changed, or renamed) changes the key: no list to keep in step."""
    copy = tmp_path / "derivecopy"
    shutil.copytree(Path(keys.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path))
    rules = make_config.__globals__["load_config"](None).rules
    key = keys.derivation_key(rules)
    assert keys.code_digest("derivecopy") == keys.code_digest()
    (copy / "added.py").write_text("RULE = 1\n", "utf-8")
    added = keys.code_digest("derivecopy")
    assert added != keys.code_digest()
    (copy / "added.py").rename(copy / "renamed.py")
    assert keys.code_digest("derivecopy") not in (added, keys.code_digest())
    monkeypatch.setattr(keys, "PACKAGE", "derivecopy")
    monkeypatch.setattr(keys.code_digest, "__defaults__", ("derivecopy",))
    assert keys.derivation_key(rules) != key


def test_every_module_that_shapes_an_entry_is_in_the_derive_package() -> None:
    """What derive/normalise.py (a dump to an entry) and ingest/apply.py (scrapes to a stored entry) run on.

    Every feedtool module they import, at any depth, must be in derive/ (and so in the key), but
    the records and errors, whose contents reach the key as the rules' values or do not shape an
    entry, the store, which keeps what they decide, and the holder of per-thread objects.
    """
    root = Path(keys.__file__).parent.parent
    found, pending = set(), ["derive.normalise", "ingest.apply"]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        for node in ast.walk(ast.parse((root / (name.replace(".", "/") + ".py")).read_text("utf-8"))):
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            if module.startswith("feedtool.") and not module.startswith("feedtool.store"):
                pending.append(module.split(".", 1)[1])
    unshaping = {"models", "errors", "rules", "perthread", "ingest.apply"}
    assert {name for name in found - unshaping if not name.startswith("derive.")} == set()
    assert "derive.merge" in found and "derive.indexed" in found


@pytest.mark.parametrize(
    ("after", "canonicalised"),
    [('[clean]\nremove = ["strong"]', False), ('[urls]\ntracking_params = ["ref"]', True), ("", True)],
    ids=["cleaning-rule", "url-rule", "rederive-forced"],
)
def test_only_a_url_rule_canonicalises_again(
    tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch, after: str, canonicalised: bool
) -> None:
    """Dumps read again for a new cleaning rule keep the ids they had; a URL rule, or --rederive, decides them anew."""
    config = _config(tmp_path / "changed", dumps, "")
    build(config, workers=1)
    calls: list[str] = []
    canonicalise = Canonicaliser.canonicalise
    monkeypatch.setattr(Canonicaliser, "canonicalise", lambda self, url: calls.append(url) or canonicalise(self, url))
    report = build(_config(tmp_path / "changed", dumps, after), workers=1, rederive=not after)
    assert report.ingest is not None and report.ingest.rederived
    assert bool(calls) is canonicalised
    monkeypatch.undo()
    fresh = _config(tmp_path / "fresh", dumps, after)
    build(fresh, workers=1)
    assert _entries(_config(tmp_path / "changed", dumps, after)) == _entries(fresh)


def test_a_new_topic_reads_no_dump(tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path / "changed", dumps, "")
    build(config, workers=1)
    monkeypatch.setattr(Normaliser, "file", lambda *a: pytest.fail("a dump was read again for a topic"))
    topic = '[[topic]]\nslug = "biden"\ntitle = "拜登"\nany = ["拜登"]'
    config = _config(tmp_path / "changed", dumps, topic)
    report = build(config, workers=1)
    assert report.ingest is not None and not report.ingest.rederived
    assert (config.output / "topics" / "biden" / "atom.xml").is_file()


def test_an_icon_change_reads_no_dump(tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Icons and homepages are shown by the feeds only: republished, not derived again."""
    config = _config(tmp_path / "changed", dumps, "")
    build(config, workers=1)
    monkeypatch.setattr(Normaliser, "file", lambda *a: pytest.fail("a dump was read again for an icon"))
    config = _config(tmp_path / "changed", dumps, '[[outlet]]\nslug = "rfi"\nicon = "https://www.rfi.fr/logo.png"')
    report = build(config, workers=1)
    assert report.publish is not None and report.publish.written


def test_entries_whose_dumps_are_gone_are_kept_and_counted(tmp_path: Path, dumps: Path) -> None:
    config = _config(tmp_path / "changed", dumps, "")
    build(config, workers=1)
    before = _entries(config)
    (dumps / "author.txt").unlink()
    (dumps / "dateline.txt").unlink()
    config = _config(tmp_path / "changed", dumps, '[clean]\nremove = ["strong"]')
    report = build(config, workers=1)
    assert report.ingest is not None and report.ingest.kept == 2
    assert "2 entries kept as stored" in report.summary()
    after = _entries(config)
    assert set(after) == set(before)
    kept = [i for i in after if i.endswith(("/author", "/dateline"))]
    assert all(after[i] == before[i] for i in kept)


def test_a_rederivation_stopped_midway_carries_on(tmp_path: Path, dumps: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after its first batch, the next build finishes it: the same as a build from nothing."""
    config = _config(tmp_path / "changed", dumps, "")
    build(config, workers=1)
    after = '[urls]\ntracking_params = ["ref"]\n[clean]\nremove = ["strong"]'
    config = _config(tmp_path / "changed", dumps, after)
    monkeypatch.setattr(feedtool.ingest.run, "BATCH", 3)
    merge = feedtool.ingest.run._merge
    calls = []

    def dies_on_the_second_batch(*args: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        merge(*args)

    monkeypatch.setattr(feedtool.ingest.run, "_merge", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        build(config, workers=1)
    monkeypatch.setattr(feedtool.ingest.run, "_merge", merge)
    build(config, workers=1)
    fresh = _config(tmp_path / "fresh", dumps, after)
    build(fresh, workers=1)
    assert _entries(config) == _entries(fresh)
    assert published(config.output) == published(fresh.output)
