"""The store file itself: schema versioning, SQLite settings, clear errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import dump, make_config, snapshot

from feedtool import store as store_module
from feedtool.build import build
from feedtool.errors import StoreError
from feedtool.store import SCHEMA_VERSION, Store, unpack

# A store as schema 8 left it: no index of rejected dumps, no count of each outlet's entries.
BEFORE_SCHEMA_9 = (
    "DROP TRIGGER entries_counted; DROP TRIGGER entries_uncounted; DROP TRIGGER entries_moved;"
    " DROP INDEX sources_rejected; ALTER TABLE outlets DROP COLUMN entry_count;"
)


def test_a_new_store_is_versioned_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    with Store(tmp_path / "s" / "state.sqlite3") as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    with Store(tmp_path / "state.sqlite3") as store, store.transaction():
        store.set_meta("k", "v")
    with Store(tmp_path / "state.sqlite3") as store:
        assert store.get_meta("k") == "v"


def test_a_store_from_a_newer_feedtool_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="from a newer feedtool"):
        Store(path)


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"the store is damaged .*mv .* and run 'feedtool build' to make it anew"):
        Store(path)


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "state.sqlite3") as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.set_meta("half", "done")
            raise RuntimeError("killed")
        assert store.get_meta("half") is None


def test_a_store_of_schema_1_is_migrated_and_its_output_carries_on(tmp_path: Path, seeds: Path) -> None:
    """A store written before entries' rendered markup was kept: the next build fills it in."""
    config = make_config(tmp_path, [seeds])
    build(config)
    db = sqlite3.connect(config.store)
    _uncompress(db)
    db.executescript(
        BEFORE_SCHEMA_9 + "DROP TABLE fragments; DROP INDEX entries_listing;"
        " CREATE INDEX entries_published ON entries(published);"
        " DROP INDEX entries_derivation; ALTER TABLE entries DROP COLUMN derivation;"
        " ALTER TABLE sources DROP COLUMN derivation; ALTER TABLE entries DROP COLUMN author_from;"
        " ALTER TABLE entries DROP COLUMN image_from; ALTER TABLE entries DROP COLUMN tags_from;"
        " DROP TABLE folders; DROP TABLE changes; DROP TABLE heads; DROP TABLE parts; PRAGMA user_version = 1;"
    )
    db.close()
    (seeds / "new.txt").write_text(dump(title="新的法广文章", url="https://www.rfi.fr/cn/中国/20231201-new"), "utf-8")
    build(config)
    with Store(config.store) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    fresh = make_config(scratch, [seeds])
    build(fresh)
    assert {k: v[1] for k, v in snapshot(config.output).items()} == {k: v[1] for k, v in snapshot(fresh.output).items()}
    assert _schema(config.store) == _schema(fresh.store)


def _uncompress(db: sqlite3.Connection) -> None:
    """Entries' text as stores before schema 6 kept it, in three columns of plain text."""
    rows = db.execute("SELECT id, text FROM entries").fetchall()
    for column in ("summary", "content", "search_text"):
        db.execute(f"ALTER TABLE entries ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
    db.executemany(
        "UPDATE entries SET summary = ?, content = ?, search_text = ? WHERE id = ?",
        [(*json.loads(unpack(text)), entry_id) for entry_id, text in rows],
    )
    db.execute("ALTER TABLE entries DROP COLUMN text")
    db.commit()


def test_a_store_of_schema_5_has_its_text_compressed_and_its_fragments_rendered_when_needed(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The migration keeps every entry's text; the dropped fragments come back as documents need them."""
    monkeypatch.setattr(store_module, "MIGRATION_BATCH", 2)  # the seeds' entries span several batches
    config = make_config(tmp_path, [seeds])
    build(config)
    with Store(config.store) as store:
        ids = [i for (i,) in store.db.execute("SELECT id FROM entries")]
        before = store.entries(ids)
        texts = sorted(store.search_texts())
    published = snapshot(config.output)
    db = sqlite3.connect(config.store)
    _uncompress(db)
    db.executescript(
        BEFORE_SCHEMA_9 + "DROP TABLE fragments;"
        " CREATE TABLE fragments (entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
        " format TEXT NOT NULL, key TEXT NOT NULL, markup BLOB NOT NULL, PRIMARY KEY (entry_id, format));"
        " CREATE INDEX fragments_keys ON fragments(entry_id, format, key); DROP TABLE folders; DROP TABLE changes; DROP TABLE heads; DROP TABLE parts;"
        " PRAGMA user_version = 5;"
    )
    db.close()
    with Store(config.store) as store:
        assert store.entries(ids) == before
        assert sorted(store.search_texts()) == texts
        assert store.db.execute("SELECT count(*) FROM fragments").fetchone()[0] == 0
    build(config)
    assert {k: v[1] for k, v in snapshot(config.output).items()} == {k: v[1] for k, v in published.items()}
    (seeds / "new.txt").write_text(dump(title="新的法广文章", url="https://www.rfi.fr/cn/中国/20231201-new"), "utf-8")
    build(config)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    fresh = make_config(scratch, [seeds])
    build(fresh)
    assert {k: v[1] for k, v in snapshot(config.output).items()} == {k: v[1] for k, v in snapshot(fresh.output).items()}


def test_a_store_of_schema_8_counts_its_outlets_entries_and_publishes_as_before(tmp_path: Path, seeds: Path) -> None:
    """The counts start from the entries stored, then follow every entry added, moved or deleted;
    and the outlets come out in the order they did, which every fragment's key depends on."""
    config = make_config(tmp_path, [seeds])
    build(config)
    published = snapshot(config.output)
    keys = _fragment_keys(config.store)
    db = sqlite3.connect(config.store)
    db.executescript(BEFORE_SCHEMA_9 + " PRAGMA user_version = 8;")
    counted = dict(db.execute("SELECT outlet, count(*) FROM entries GROUP BY outlet"))
    db.close()
    assert len(counted) > 1
    with Store(config.store) as store:
        assert dict(store.db.execute("SELECT slug, entry_count FROM outlets")) == counted
        assert set(store.outlets()) == set(counted)
    build(config)
    assert snapshot(config.output) == published
    (seeds / "new.txt").write_text(dump(title="新的法广文章", url="https://www.rfi.fr/cn/中国/20231201-new"), "utf-8")
    build(config)
    after = _fragment_keys(config.store)
    assert len(after) == len(keys) + 1
    assert {i: k for i, k in after.items() if i in keys} == keys, "fragments were rendered again"
    with Store(config.store) as store:
        assert store.prune(before=None, outlet="rfi") == counted["rfi"] + 1
        assert set(store.outlets()) == set(counted) - {"rfi"}
    assert _schema(config.store) == _schema(_fresh_store(tmp_path))


def test_fragment_keys_do_not_depend_on_the_order_outlets_were_first_seen(tmp_path: Path, seeds: Path) -> None:
    """The outlets' details are part of every fragment's key: read in another order, every fragment
    would be rendered again on the next publish."""
    stores = []
    for name, order in (("forward", sorted), ("backward", lambda names: sorted(names, reverse=True))):
        folder = tmp_path / name / "dumps"
        folder.mkdir(parents=True)
        for n, seed in enumerate(order(p.name for p in seeds.iterdir())):
            (folder / f"{n:02d}-{seed}").write_bytes((seeds / seed).read_bytes())
        config = make_config(tmp_path / name, [folder])
        build(config)
        stores.append(config.store)
    firsts = [_rows(path, "SELECT slug FROM outlets ORDER BY rowid") for path in stores]
    assert firsts[0] != firsts[1], "the outlets were first seen in the same order: the test proves nothing"
    assert _fragment_keys(stores[0]) == _fragment_keys(stores[1])


def _fragment_keys(path: Path) -> dict[str, str]:
    return dict(_rows(path, "SELECT entry_id, keys FROM fragments"))


def _rows(path: Path, query: str) -> list[tuple[str, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def _fresh_store(tmp_path: Path) -> Path:
    path = tmp_path / "fresh" / "state.sqlite3"
    Store(path).close()
    return path


def _schema(path: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        db.close()
