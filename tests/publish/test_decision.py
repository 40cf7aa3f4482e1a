"""Every way a publish can go, decided by one pure function of named facts (publish/decision.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import dump, make_config

import feedtool.publish.run
import feedtool.store.published
from feedtool.build import build
from feedtool.publish.decision import PublishFacts, PublishState, decide, facts_of
from feedtool.store import Head, Placed, Store

BY_CHANGE = PublishFacts(
    marked=False, finished=True, intact=True, same_config=True, logged=True, feeds_known=True, entries_kept=True
)  # fmt: skip


def test_nothing_when_the_store_config_and_files_are_as_last_published() -> None:
    assert decide(replace(BY_CHANGE, marked=True)) == "nothing"


def test_a_touched_file_is_never_nothing_nor_by_change() -> None:
    assert decide(replace(BY_CHANGE, marked=True, intact=False)) == "whole"
    assert decide(replace(BY_CHANGE, intact=False)) == "whole"


def test_by_change_when_the_log_can_say_what_changed() -> None:
    assert decide(BY_CHANGE) == "by_change"


@pytest.mark.parametrize("fact", ["finished", "same_config", "logged", "feeds_known", "entries_kept"])
def test_whole_when_any_fact_the_log_depends_on_fails(fact: str) -> None:
    assert decide(replace(BY_CHANGE, **{fact: False})) == "whole"


def test_the_log_overflows_past_the_changes_it_keeps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It keeps CHANGES_KEPT entries' places; one more and it can no longer say (a cold build's worth)."""
    monkeypatch.setattr(feedtool.store.published, "CHANGES_KEPT", 3)
    with Store(tmp_path / "state.sqlite3") as store, store.transaction():
        store.db.execute("UPDATE meta SET value = '0' WHERE key = 'publish_whole'")
        for n in range(3):
            store.note_change(f"e{n}", Placed("rfi", "2023-10-14", ()))
        store.note_change("e0", None)  # a second change of one entry keeps its first place
        assert store.changes() == {f"e{n}": Placed("rfi", "2023-10-14", ()) for n in range(3)}
        store.note_change("e3", None)
        assert store.changes() is None


def test_a_cron_run_with_more_changes_than_the_log_keeps_plans_whole(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path, [seeds])
    build(config, workers=1)
    planned = []
    real = feedtool.publish.run.whole
    monkeypatch.setattr(feedtool.publish.run, "whole", lambda *a: planned.append(1) or real(*a))
    (seeds / "a.txt").write_text(dump(url="https://www.rfi.fr/cn/a/1"), "utf-8")
    build(config, workers=1)
    assert planned == []  # one change: by change
    monkeypatch.setattr(feedtool.store.published, "CHANGES_KEPT", 2)
    for n in range(2, 5):
        (seeds / f"{n}.txt").write_text(dump(url=f"https://www.rfi.fr/cn/a/{n}"), "utf-8")
    build(config, workers=1)
    assert planned == [1]


STATE = PublishState(
    documents={}, generation="7", marker="m", config="c", newest="2023-10-28T00:00:00.000000Z",
    changes={"a": None, "b": Placed("rfi", "2023-10-27T00:00:00.000000Z", ())}, heads={"all": Head(["a"], 1)},
    placed={"a": Placed("rfi", "2023-10-28T00:00:00.000000Z", ()), "b": Placed("rfi", "2023-10-27T00:00:00.000000Z", ())},
    outlets={"rfi": ("RFI", "https://www.rfi.fr/cn/", "zh-CN")},
)  # fmt: skip


def test_the_facts_are_a_pure_function_of_the_state_read() -> None:
    """Without a store or a build: what a publish decides from, fact by fact."""

    def facts(state: PublishState = STATE, **asked: object) -> PublishFacts:
        given: dict[str, Any] = {"published_as": "other", "shaped_by": "c", "intact": True, "feeds": ["all"], **asked}
        return facts_of(state, **given)

    assert facts() == BY_CHANGE
    assert facts(published_as="m").marked and not facts(shaped_by="d").same_config
    assert not facts(feeds=["all", "outlets/bbc"]).feeds_known  # a feed published for the first time
    assert not facts(replace(STATE, newest=None)).feeds_known
    assert not facts(replace(STATE, changes=None)).logged
    assert not facts(replace(STATE, placed={"a": STATE.placed["a"]})).entries_kept  # b left the store
    assert not facts(replace(STATE, marker="")).finished  # the last publish was stopped midway
    assert facts(replace(STATE, marker=None)).finished  # never published: no run was stopped


def test_the_state_is_read_in_one_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build committing while a publish reads its state (another process with the store open)
    cannot give the decision facts from two moments."""
    (tmp_path / "dumps").mkdir()
    (tmp_path / "dumps" / "a.txt").write_text(dump(url="https://www.rfi.fr/cn/a"), "utf-8")
    config = make_config(tmp_path, [tmp_path / "dumps"])
    build(config)
    documents = Store.documents

    def then_another_commits(self: Store) -> dict[str, tuple[str, int, int]]:
        found = documents(self)
        with Store(config.store, root=config.root) as other, other.transaction():
            other.bump_generation()
            other.set_published_marker("moved on")
        return found

    with Store(config.store, root=config.root) as store:
        before = (store.generation(), store.published_marker())
        monkeypatch.setattr(Store, "documents", then_another_commits)
        read = feedtool.publish.run.read_state(store)
        assert (read.generation, read.marker) == before
        assert (store.generation(), store.published_marker()) != before  # the commit happened
