"""The store file itself: schema versioning, SQLite settings, clear errors."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from helpers import ROOT, dump, fresh_build, make_config, published

from feedtool.build import build
from feedtool.config import load_config
from feedtool.errors import StoreError
from feedtool.store import SCHEMA_VERSION, Store
from feedtool.store import migrations as migrations_module
from feedtool.stories.kept import made_with


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


STORES = ROOT / "tests" / "stores"  # the seeds' store as each earlier schema's feedtool wrote it
OLD_STORES = sorted(STORES.glob("schema-*.sqlite3"), key=lambda p: int(p.stem.split("-")[1]))


def test_there_is_a_real_store_of_every_earlier_schema() -> None:
    assert [int(p.stem.split("-")[1]) for p in OLD_STORES] == list(range(1, SCHEMA_VERSION))


@pytest.mark.parametrize("old", OLD_STORES, ids=lambda p: p.stem)
def test_a_migrated_store_is_a_new_store_and_publishes_as_one(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch, old: Path
) -> None:
    """Tables, columns, indexes and triggers as a new store has them; every entry kept, its text
    readable; and a build with it publishes what a build with a new store does."""
    monkeypatch.setattr(migrations_module, "MIGRATION_BATCH", 2)  # the seeds' entries span several batches
    config = make_config(tmp_path, [seeds])
    config.store.parent.mkdir(parents=True)
    shutil.copy(old, config.store)
    ids = _rows(config.store, "SELECT id FROM entries ORDER BY id")
    with Store(config.store, root=config.root) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert _rows(config.store, "SELECT id FROM entries ORDER BY id") == ids
        assert len(list(store.search_texts())) == len(ids)
        assert sorted((f.entry_id,) for f in store.search(None, limit=1000)) == ids  # the index is made
        counted = dict(store.db.execute("SELECT outlet, count(*) FROM entries GROUP BY outlet"))
        assert dict(store.db.execute("SELECT slug, entry_count FROM outlets WHERE entry_count > 0")) == counted
    assert _schema(config.store) == _schema(_fresh_store(tmp_path))
    build(config)
    fresh = fresh_build(tmp_path / "fresh", [seeds])
    assert published(config.output) == published(fresh.output)
    (seeds / "new.txt").write_text(dump(title="新的法广文章", url="https://www.rfi.fr/cn/中国/20231201-new"), "utf-8")
    build(config)
    assert published(config.output) == published(fresh_build(tmp_path / "fresh2", [seeds]).output)


def test_upgrading_to_lead_digests_digests_every_entry_and_marks_no_day_for_the_stories(tmp_path: Path) -> None:
    """Schema 16 keeps a digest of what the stories read of each entry's text (store/packing.py):
    filled for every entry before the triggers that compare it are made, so that the upgrade marks
    no day (each would make about a month's links again). The store of schema 15 had stories on,
    and every day's links made."""
    from feedtool.store.packing import lead_digest

    path = tmp_path / "state.sqlite3"
    shutil.copy(STORES / "schema-15.sqlite3", path)
    marks = (
        "SELECT (SELECT count(*) FROM story_days), (SELECT count(*) FROM story_revised), (SELECT count(*) FROM stories)"
    )
    assert _rows(path, marks) == [(0, 0, 1)]
    with Store(path) as store:
        rows = store.db.execute("SELECT lead, text FROM entries").fetchall()
        digested = [bytes(lead) == lead_digest(store.codec.unpack_text(text)[2]) for lead, text in rows]
    assert digested == [True] * 5
    assert _rows(path, marks) == [(0, 0, 1)]


def test_an_archive_read_folder_by_folder_leaves_the_feeds_index_pages_full(tmp_path: Path) -> None:
    """Entries arrive about oldest first (a scraper files its dumps by day): the index every feed is
    listed from takes them at its end, and its pages are left full, not half empty."""
    from corpus import generate

    dumps = tmp_path / "dumps"
    generate(dumps, 1500, seed=3)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1, do_publish=False)
    query = "SELECT count(*), sum(payload) * 1.0 / sum(pgsize) FROM dbstat WHERE name = 'entries_listing'"
    ((pages, filled),) = _rows(config.store, query)
    assert pages > 20 and filled > 0.8, (pages, filled)


@pytest.mark.parametrize("feed", [("all", ""), ("outlet", "rfi"), ("stories", "")])
def test_every_feed_is_listed_newest_first_and_month_by_month_from_its_index(
    tmp_path: Path, feed: tuple[str, str]
) -> None:
    """Both orders a feed is read in (store/listings.py) are walks of its index: at a million
    entries a sort would be most of a publish."""
    from feedtool.store.listings import _feed_where

    with Store(tmp_path / "state.sqlite3") as store:
        source, where, args = _feed_where(feed)  # type: ignore[arg-type]
        index = "stories_listing" if feed[0] == "stories" else "entries_listing"
        for order in ("published DESC, id", "published, id DESC"):
            plan = store.db.execute(f"EXPLAIN QUERY PLAN SELECT {source} WHERE {where} ORDER BY {order}", args)
            steps = " / ".join(row[3] for row in plan)
            assert f"INDEX {index}" in steps and "TEMP B-TREE" not in steps, (order, steps)


def test_upgrading_to_short_fragment_keys_keeps_every_fragment_current(
    tmp_path: Path, seeds: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema 18 keeps a fragment row's keys short (store/packing.py): the store of schema 17 was
    built from the seeds with this project's config, and the build after the upgrade renders no
    fragment again, and publishes what a build with a new store does."""
    import feedtool.publish.run as publishing

    for project in (tmp_path / "old", tmp_path / "new"):
        project.mkdir()
        (project / "feedtool.toml").write_text('[build]\ninputs = ["seeds"]\n[stories]\nenabled = true\n', "utf-8")
        shutil.copytree(seeds, project / "seeds")
    (tmp_path / "old" / ".feedtool").mkdir()
    shutil.copy(STORES / "schema-17.sqlite3", tmp_path / "old" / ".feedtool" / "state.sqlite3")
    config = load_config(tmp_path / "old" / "feedtool.toml")
    # Its stories as this code makes them: a change of the stories' code makes every story anew,
    # and renders their fragments again, which is by design and not what this test is about.
    db = sqlite3.connect(config.store)
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'stories'", (made_with(config.stories),))
    db.close()
    rendered: list[str] = []
    refresh = publishing._refresh_fragments
    monkeypatch.setattr(
        publishing,
        "_refresh_fragments",
        lambda *a: rendered.extend(a[4]) or refresh(*a),  # type: ignore[func-returns-value]
    )
    build(config, workers=1)
    assert _rows(config.store, "SELECT count(*) FROM fragments") == [(6,)]
    assert rendered == []
    keys = [keys.split() for (keys,) in _rows(config.store, "SELECT keys FROM fragments")]
    assert all(len(k) == 12 and {len(key) for key in k[1::3]} == {16} for k in keys), keys
    fresh = load_config(tmp_path / "new" / "feedtool.toml")
    build(fresh, workers=1)
    assert published(config.output) == published(fresh.output)


def test_a_field_filled_from_the_scrape_shown_is_kept_as_a_mark_and_upgrading_marks_them(
    tmp_path: Path, seeds: Path
) -> None:
    """An entry's image, byline or tags filled from the scrape it shows name it by a mark, not by
    that scrape's key again (store/records.py): in a new store, and in one of schema 18 upgraded,
    which then publishes what a new store does."""
    marks = "SELECT count(*), sum(image_from = '='), sum(image_from = shown), sum(author_from = shown) FROM entries"
    config = make_config(tmp_path, [seeds])
    build(config)
    assert _rows(config.store, marks) == [(5, 5, 0, 0)]
    path = tmp_path / "old" / "state.sqlite3"
    path.parent.mkdir()
    shutil.copy(STORES / "schema-18.sqlite3", path)
    assert _rows(path, marks) == [(5, 0, 5, 1)]
    Store(path).close()
    assert _rows(path, marks) == [(5, 5, 0, 0)]
    assert _rows(path, "SELECT count(*) FROM entries WHERE author_from = '='") == [(1,)]


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


def _schema(path: Path) -> dict[str, object]:
    """Each table's columns (name, type, not null, default, key) and foreign keys, each index's
    columns, uniqueness and condition, each trigger's SQL: what a store is, whatever statements made it."""
    db = sqlite3.connect(path)
    try:
        found: dict[str, object] = {}
        for kind, name, table, sql in db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"):
            if kind == "table":
                columns = [row[1:] for row in db.execute(f"PRAGMA table_info({name})")]
                keys = [row[2:] for row in db.execute(f"PRAGMA foreign_key_list({name})")]
                found[name] = ("table", columns, keys, "WITHOUT ROWID" in (sql or "").upper())
            elif kind == "index":
                columns = [row[2] for row in db.execute(f"PRAGMA index_xinfo({name})") if row[5]]
                where = " ".join(sql.split(" WHERE ", 1)[1].split()) if sql and " WHERE " in sql else None
                found[name] = ("index", table, columns, where)
            else:
                found[name] = (kind, table, " ".join((sql or "").split()))
        return found
    finally:
        db.close()


def test_rows_are_compressed_with_a_dictionary_trained_on_the_stores_own_and_publish_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a store holds TRAIN_AFTER rows of a kind it trains a dictionary on them; rows written
    before and after are read alike, and the output is what a store without one publishes."""
    from corpus import generate

    from feedtool.store import packing

    dumps = tmp_path / "dumps"
    generate(dumps, 120, seed=4)
    monkeypatch.setattr(packing, "TRAIN_AFTER", 10**9)
    plain = fresh_build(tmp_path / "plain", [dumps])
    monkeypatch.setattr(packing, "TRAIN_AFTER", 40)
    config = make_config(tmp_path, [dumps])
    build(config, workers=1)
    with Store(config.store, root=config.root) as store:
        kinds = [kind for (kind,) in store.db.execute("SELECT kind FROM dictionaries ORDER BY kind")]
        assert kinds == ["markup", "text"]
        named = {_frame_dictionary(text) for (text,) in store.db.execute("SELECT text FROM entries")}
        assert 0 in named and len(named) == 2  # the first rows without, the rest with the dictionary
        with Store(plain.store, root=plain.root) as without:
            assert sorted(store.search_texts()) == sorted(without.search_texts())
            assert (
                store.db.execute("SELECT sum(length(markup)) FROM fragments").fetchone()[0]
                < (without.db.execute("SELECT sum(length(markup)) FROM fragments").fetchone()[0])
            )
    assert published(config.output) == published(plain.output)


def test_a_reader_opened_before_a_dictionary_was_made_reads_the_rows_that_use_it(tmp_path: Path) -> None:
    """`feedtool serve` keeps its connections open across builds: a dictionary a later build
    trained is found by its id when a row names it."""
    from feedtool.store import packing

    path = tmp_path / "state.sqlite3"
    with Store(path) as reader, Store(path) as writer:
        reader.codec.unpack(reader.codec.pack("text", b"before"))  # the reader's codec is in use
        with writer.transaction():
            rows = [
                writer.codec.pack("text", f"row {n} of the same words".encode()) for n in range(packing.TRAIN_AFTER + 1)
            ]
        assert _frame_dictionary(rows[-1]) != 0
        assert reader.codec.unpack(rows[-1]) == f"row {packing.TRAIN_AFTER} of the same words".encode()


def test_a_dictionary_made_in_a_transaction_rolled_back_is_not_used_after(tmp_path: Path) -> None:
    from feedtool.store import packing

    with Store(tmp_path / "state.sqlite3") as store:
        with pytest.raises(RuntimeError), store.transaction():
            for n in range(packing.TRAIN_AFTER + 1):
                store.codec.pack("text", f"row {n} of the same words".encode())
            raise RuntimeError("killed")
        assert store.db.execute("SELECT count(*) FROM dictionaries").fetchone()[0] == 0
        with store.transaction():
            row = store.codec.pack("text", b"after")
        assert _frame_dictionary(row) == 0 and store.codec.unpack(row) == b"after"


def _frame_dictionary(blob: bytes) -> int:
    import zstandard

    return int(zstandard.get_frame_parameters(blob).dict_id)


def test_the_newest_update_is_read_from_an_index_not_from_every_entry(tmp_path: Path) -> None:
    """Every publish, a cron run's included, dates its empty documents by the store's newest
    `updated` (publish/plan.py): at a million entries a scan of them was a tenth of a cron run.
    It is read from the end of an index, in steps that do not grow with the entries."""
    with Store(tmp_path / "state.sqlite3") as store:
        with store.transaction():
            store.db.execute(
                "INSERT INTO outlets (slug, name, homepage, language) VALUES ('o', 'O', 'https://o.example/', 'en')"
            )
            store.db.executemany(
                "INSERT INTO entries (id, url, outlet, title, tags, language, published, updated, shown, revision)"
                " VALUES (?, ?, 'o', 't', '[]', 'en', ?, ?, '', '')",
                [
                    (
                        f"https://o.example/{n}",
                        f"https://o.example/{n}",
                        f"2024-01-01T00:00:{n % 60:02}Z",
                        f"2024-{1 + n % 12:02}-01T00:00:00Z",
                    )
                    for n in range(3000)
                ],
            )
        steps: list[int] = []
        store.db.set_progress_handler(lambda: steps.append(1), 100)  # a call every 100 instructions
        newest = store.newest_updated()
        store.db.set_progress_handler(None, 0)
    assert newest == "2024-12-01T00:00:00Z"
    assert len(steps) < 5, f"{len(steps) * 100} instructions"  # a scan of the 3,000 took 12,000


def test_every_public_method_of_the_store_raises_only_store_errors(tmp_path: Path) -> None:
    """The backend's errors are translated once, at the store's edge (store/boundary.py): from a
    plain call, from an iterator it returns, from a transaction whose COMMIT fails at its exit."""
    public = [name for name in dir(Store) if not name.startswith("_") and callable(getattr(Store, name))]
    properties = [name for name in dir(Store) if isinstance(getattr(Store, name), property)]
    assert properties and all(getattr(getattr(Store, name).fget, "__translated__", 0) for name in properties)
    unwrapped = [name for name in public if name != "reader" and not getattr(getattr(Store, name), "__translated__", 0)]
    assert len(public) > 50 and unwrapped == []
    store = Store(tmp_path / "store.sqlite3")
    store.db.close()  # the database gone from under the store, as a disk can fail
    with pytest.raises(StoreError, match=r"store\.sqlite3: Cannot operate on a closed database"):
        store.generation()
    with pytest.raises(StoreError):
        list(store.search_texts())
    with pytest.raises(StoreError):
        store.derivation  # noqa: B018  (a property reads the store too)
    store = Store(tmp_path / "store.sqlite3")
    with pytest.raises(StoreError), store.transaction():
        store.set_meta("k", "v")
        store.db.close()  # its COMMIT, at the transaction's exit, fails


def test_an_unpacker_shared_by_threads_gives_each_its_own_decompressors() -> None:
    """A worker's state (publishing's, the stories') is shared by the threads of a Dask worker
    started with several: zstd's objects must not be used by two at once, so each thread makes its own."""
    import threading

    from feedtool.store import Unpacker
    from feedtool.store.packing import pack_text, texts_of

    frame = pack_text("summary", "content", "text")
    unpacker = Unpacker(lambda number: None)
    used: list[object] = []  # the decompressors themselves: an id alone may be reused once one is freed

    def unpack() -> None:
        assert texts_of(unpacker.unpack(frame)) == ("summary", "content", "text")
        used.append(unpacker._decompressors()[0])

    threads = [threading.Thread(target=unpack) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    unpack()
    assert len(used) == 3 and len({id(d) for d in used}) == 3
