"""The full-text index under any sequence of writes, re-writes and removals, equal timestamps on purpose.

A Hypothesis state machine drives the store's own writers (write_entry, remove_entry, a prune by
date) with entries drawn from a few seconds and a few words, so that entries share a second, and
(with four slots a second, not a million) their row numbers collide and spill into the next
second. After every step each word's search answers as a scan of the entries does, newest first,
and FTS5 holds one document per entry.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from helpers import documents_in_index
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from feedtool.derive.merge import Merged, Shown, iso
from feedtool.derive.topics import fold
from feedtool.search.hits import Search, search
from feedtool.search.language import to_match
from feedtool.store import Store
from feedtool.store import indexing as index_rows

WORDS = ["台湾", "臺灣", "加沙", "选举", "zebra", "kiwi"]
START = datetime(2024, 1, 1, tzinfo=UTC)


def _merged(entry_id: str, second: int, words: list[str]) -> Merged:
    text = " ".join(words) + "。"
    published = iso(START + timedelta(seconds=second, microseconds=len(entry_id)))
    shown = Shown(entry_id, f"标题 {entry_id[-2:]}", text, f"<p>{text}</p>", fold(text), "rfi", "zh-CN")
    return Merged(shown, "k", None, None, (), ("", "", ""), published, published, entry_id + text)


class IndexLife(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.slots = index_rows.SLOTS
        index_rows.SLOTS = 4  # a second holds four entries: row numbers collide, and spill
        self.folder = TemporaryDirectory()
        self.store = Store(Path(self.folder.name) / "s.sqlite3")
        self.store.db.execute("INSERT INTO outlets (slug, name, homepage, language) VALUES ('rfi', 'RFI', '', 'zh')")
        self.entries: dict[str, Merged] = {}

    def teardown(self) -> None:
        index_rows.SLOTS = self.slots
        self.store.close()
        self.folder.cleanup()

    @rule(n=st.integers(0, 11), second=st.integers(0, 2), words=st.lists(st.sampled_from(WORDS), max_size=3))
    def write(self, n: int, second: int, words: list[str]) -> None:
        entry_id = f"https://www.rfi.fr/cn/a/{n:02d}"
        merged = _merged(entry_id, second, words)
        with self.store.transaction():
            self.store.write_entry(entry_id, merged, 0, new=entry_id not in self.entries)
        self.entries[entry_id] = merged

    @precondition(lambda self: bool(self.entries))
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        entry_id = data.draw(st.sampled_from(sorted(self.entries)))
        with self.store.transaction():
            self.store.remove_entry(entry_id)
        del self.entries[entry_id]

    @rule(second=st.integers(0, 3))
    def prune_before(self, second: int) -> None:
        cutoff = iso(START + timedelta(seconds=second))
        with self.store.transaction():
            self.store._remove("published < :before", {"before": cutoff})
        self.entries = {i: m for i, m in self.entries.items() if m.published >= cutoff}

    @invariant()
    def answers_as_a_scan(self) -> None:
        assert self.store.indexed() == len(self.entries) == documents_in_index(self.store)
        for word in WORDS:
            hits = search(self.store, Search(word, limit=100)).hits
            expected = {i for i, m in self.entries.items() if fold(word) in m.shown.search_text}
            assert {h.entry.id for h in hits} == expected, word
            published = [h.entry.published for h in hits]
            assert published == sorted(published, reverse=True)
        everything = [f.entry_id for f in self.store.search(None, limit=100)]
        assert sorted(everything) == sorted(self.entries)
        assert all(re.match(r"https://", i) for i in everything)
        assert to_match("台湾")


IndexLife.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestTheIndexUnderAnyLife = IndexLife.TestCase
