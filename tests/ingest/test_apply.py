"""A batch of scrapes merged together gives the store that merging them one at a time gives.

`apply_batch` reads and writes each table once for a batch's scrapes of stored entries, where
`merge_scrape` is the rule written one scrape at a time. Both are run here over the same batches
(re-scrapes with edited text and other dates, several of one entry in a batch, files that now hold
another article, a retention cutoff that keeps some out) into two stores, compared row by row,
the full-text index's every term included.
"""

from __future__ import annotations

import os
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from corpus import generate
from helpers import make_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedtool.config import Config
from feedtool.derive.keys import derivation_key, identity_key
from feedtool.derive.normalise import Normaliser
from feedtool.derive.topics import matchers, topics_of
from feedtool.ingest import apply
from feedtool.ingest.apply import Outcome, apply_batch, merge_scrape
from feedtool.models import Entry
from feedtool.store import FileStat, Store

Scrape = tuple[FileStat, Entry, tuple[str, ...]]


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, list[Scrape]]:
    """A generated archive's dumps as entries (a quarter of its articles scraped again later,
    some with their text edited), in path order, each with its topics."""
    root = tmp_path_factory.mktemp("apply")
    dumps = root / "dumps"
    generate(dumps, 160, seed=11)
    generate(dumps, 40, seed=11, start=160, rescrape_of=60)
    config = make_config(root, [dumps])
    normaliser, topics = Normaliser(config.rules), matchers(config.topics)
    found: list[Scrape] = []
    for path in sorted(str(p) for p in dumps.rglob("*.txt")):
        st_ = os.stat(path)
        entry = normaliser.file(Path(path).read_bytes(), path)
        if isinstance(entry, Entry):
            stat = FileStat(path, st_.st_size, st_.st_mtime_ns)
            found.append((stat, entry, tuple(topics_of(topics, entry.outlet, entry.search_text))))
    return config, found


def _apply(store: Store, batch: Sequence[Scrape], cutoff: str | None, *, together: bool) -> list[Outcome]:
    with store.transaction():
        if together:
            return apply_batch(store, batch, cutoff)
        return [merge_scrape(store, stat, entry, topics, cutoff) for stat, entry, topics in batch]


_TOGETHER: list[bool] = []  # whether each call of _merge_together merged its scrapes (or left them to merge_scrape)


def _noted(*args: object) -> object:
    made = apply._merge_together_as_written(*args)  # type: ignore[attr-defined]
    _TOGETHER.append(made is not None)
    return made


# What several writes of an entry leave that one write of its last state does not: dictionaries
# trained after a number of rows packed; the days and entries a trigger marks for the stories stage
# at each write (one write from the first state to the last marks those the stories depend on, a
# subset: the stories made from them are held to a build from nothing's in tests/stories).
_SEVERAL_WRITES = ("dictionaries", "story_days", "story_revised")


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows (but when the store was made and _SEVERAL_WRITES), the entries' packed
    texts unpacked, and the index as fts5vocab lists each term's places."""
    with Store(path) as store:
        texts = {
            entry_id: store.codec.unpack_text(text)
            for entry_id, text in store.db.execute("SELECT id, text FROM entries")
        }
    db = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if name not in _SEVERAL_WRITES and not (name.startswith("search") and name != "search_rows")
        ]
        rows = {}
        for table in tables:
            found = db.execute(f"SELECT * FROM {table}" + (" WHERE key != 'created'" if table == "meta" else ""))
            columns = [c[0] for c in found.description]
            rows[table] = sorted(
                (
                    tuple(
                        texts[r[0]] if table == "entries" and c == "text" else v
                        for c, v in zip(columns, r, strict=True)
                    )
                    for r in found
                ),
                key=repr,
            )
        db.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, search, 'instance')")
        rows["index"] = sorted(db.execute("SELECT term, doc, col, offset FROM temp.terms"))
    finally:
        db.close()
    return rows


@pytest.fixture(autouse=True, scope="module")
def noting() -> object:
    apply._merge_together_as_written = apply._merge_together  # type: ignore[attr-defined]
    apply._merge_together = _noted  # type: ignore[assignment]
    yield
    apply._merge_together = apply._merge_together_as_written  # type: ignore[attr-defined]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=st.randoms(use_true_random=False),
    sizes=st.lists(st.integers(1, 120), min_size=1, max_size=6),
    moved=st.integers(0, 3),
    cutoff=st.sampled_from([None, "2023-09-01T00:00:00.000000Z"]),
)
def test_a_batch_merged_together_is_the_store_one_scrape_at_a_time_makes(
    tmp_path_factory: pytest.TempPathFactory,
    scraped: tuple[Config, list[Scrape]],
    order: random.Random,
    sizes: list[int],
    moved: int,
    cutoff: str | None,
) -> None:
    config, scrapes = scraped
    first, later = scrapes[: len(scrapes) // 2], list(scrapes[len(scrapes) // 2 :])
    order.shuffle(later)
    # Files that now hold another stored article than the one their path was read for, the article
    # they held scraped again beside them under another date (its files' claims are then read
    # without the one that file made).
    for k in range(moved):
        (stat, held, held_topics), (_, entry, topics) = first[k * 7], first[k * 7 + 3]
        assert held.id != entry.id
        again = FileStat(f"{stat.path}.again", stat.size, stat.mtime_ns + 2 * 10**9)
        dated = replace(held, published=held.published + timedelta(days=1)) if held.published else held
        later[k * 5 : k * 5] = [
            (FileStat(stat.path, stat.size, stat.mtime_ns + 10**9), entry, topics),
            (again, dated, held_topics),
        ]
    batches = [first]
    while later:
        size = sizes[len(batches) % len(sizes)]
        batches.append(later[:size])
        later = later[size:]
    folder = tmp_path_factory.mktemp("stores")
    outcomes: dict[bool, list[object]] = {}
    _TOGETHER.clear()
    for together in (True, False):
        path = folder / f"{together}.sqlite3"
        with Store(path) as store:
            store.begin_derivation(derivation_key(config.rules), identity_key(config.rules))
            outcomes[together] = []
            for batch in batches:
                outcomes[together].append(_apply(store, batch, cutoff, together=together))
                # What the batch's changes tell the publish after it, which then empties the log.
                outcomes[together].append(sorted(store.db.execute("SELECT * FROM changes"), key=repr))
                with store.transaction():
                    store.db.execute("DELETE FROM changes")
                    store.set_meta("publish_whole", "0")
    assert outcomes[True] == outcomes[False]
    assert True in _TOGETHER  # not every batch left to merge_scrape
    if moved and cutoff is None:
        assert False in _TOGETHER  # a moved file, which _merge_together leaves to merge_scrape, was met
    assert any(o in ("updated", "unchanged") for batch in outcomes[True][::2] for o in batch)  # type: ignore[attr-defined]
    mine, truth = _rows(folder / "True.sqlite3"), _rows(folder / "False.sqlite3")
    assert mine.keys() == truth.keys()
    for table in truth:
        assert mine[table] == truth[table], table
