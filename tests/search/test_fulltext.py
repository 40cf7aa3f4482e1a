"""The full-text index: what a search finds, in both scripts, and that it keeps in step with the entries."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from helpers import documents_in_index, dump, make_config, run_cli, scanned_for

from feedtool.build import build
from feedtool.config import Config
from feedtool.search.language import QueryError, to_match
from feedtool.store import Store

ARTICLES = {
    "simplified": ("台湾问题再起", "<p>王毅谈台湾问题。美国总统发表讲话。</p>", "https://www.rfi.fr/cn/a/1"),
    "traditional": ("臺灣選舉", "<p>王毅談台灣選舉。加沙局勢緊張。</p>", "https://www.rfa.org/mandarin/a/2.html"),
    "latin": (
        "Election in Taiwan",
        "<p>Blinken met Wang Yi. The U.S. elections are near.</p>",
        "https://www.dw.com/en/a-3",
    ),
    "bus": ("Bus strike", "<p>The bus drivers struck; electricity was cut.</p>", "https://www.dw.com/en/a-4"),
}


def _articles(tmp_path: Path) -> Config:
    """The ARTICLES as dumps an hour apart, and a project's config reading them."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    for n, (name, (title, body, url)) in enumerate(ARTICLES.items()):
        stamp = str((1_700_000_000 + n * 3600) * 1000)
        (folder / f"{name}.txt").write_text(dump(title=title, url=url, body=body, stamp=stamp), "utf-8")
    return make_config(tmp_path, [folder])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    config = _articles(tmp_path)
    build(config)
    return Store(config.store, root=config.root)


def _titles(store: Store, query: str) -> set[str]:
    found = [f.entry_id for f in store.search(to_match(query), limit=100)]
    return {e.title for e in store.entries(found).values()}


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("台湾", {"台湾问题再起", "臺灣選舉"}),  # a two-character word, in both scripts
        ("臺灣", {"台湾问题再起", "臺灣選舉"}),  # and asked in the other
        ("王毅", {"台湾问题再起", "臺灣選舉"}),
        ("加沙", {"臺灣選舉"}),
        ("湾", {"台湾问题再起", "臺灣選舉"}),  # one character: the start of a bigram
        ("起", {"台湾问题再起"}),  # the last character of a run
        ("台湾问题", {"台湾问题再起"}),  # a longer word is a phrase of bigrams
        ("湾问", {"台湾问题再起"}),  # any substring is found, as topics find it
        ("总。", {"台湾问题再起"}),  # one character, punctuation after it: still the start of a bigram
        ('"问题。美国"', {"台湾问题再起"}),  # a phrase of two runs, as the text has them
        ('"王毅，台湾"', set()),
        ("总_", {"台湾问题再起"}),  # "_" is no part of a word for the index
        ("问题 NOT 总统", set()),
        ("台湾 -加沙", {"台湾问题再起"}),
        ("加沙 OR 总统", {"台湾问题再起", "臺灣選舉"}),
        ("(加沙 OR 总统) 王毅", {"台湾问题再起", "臺灣選舉"}),
        ('"wang yi"', {"Election in Taiwan"}),
        ('"yi wang"', set()),
        ("TAIWAN", {"Election in Taiwan"}),  # case is folded
        ("us", set()),  # a Latin word is a whole word: not "bus", and "U.S." is "u" then "s"
        ('"u.s."', {"Election in Taiwan"}),
        ("elect*", {"Election in Taiwan", "Bus strike"}),  # a prefix
        ("elect", set()),
        ("bus AND strike", {"Bus strike"}),
    ],
)
def test_a_search_finds_words_in_both_scripts_with_phrases_and_operators(
    store: Store, query: str, titles: set[str]
) -> None:
    assert _titles(store, query) == titles


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "no word"),
        ("   ", "no word"),
        ("!!! --", "no word"),
        ("NOT 台湾", "not only terms to leave out"),
        ("-台湾", "not only terms to leave out"),
        ("(台湾", "is not closed"),
        ("(台湾 OR", "a bracket '(' is not closed"),  # the bracket, not the OR, is what is wrong
        ("((台湾) OR 美国", "a bracket '(' is not closed"),
        ('"台湾', "a quote '\"' is not closed"),
        ('台湾 "美国 总统', "a quote '\"' is not closed"),
        ('"台湾" "', "a quote '\"' is not closed"),
        ("台湾)", "no opening one"),
        ("台湾 OR", "both sides"),
        ("x" * 501, "at most 500"),
        ("(" * 9 + "a" + ")" * 9, "nested"),
        (" ".join(["a"] * 33), "more than 32 terms"),
        ("NOT", "needs a term"),
        ("台\0湾", "a NUL character"),
        ("\udcff\udcfe", "bytes that are not UTF-8"),  # how Python keeps a command line's undecodable bytes
    ],
)
def test_a_malformed_search_is_one_line_that_says_why(query: str, reason: str) -> None:
    with pytest.raises(QueryError, match=re.escape(reason)) as caught:
        to_match(query)
    assert "\n" not in str(caught.value)


def test_a_reason_said_in_a_catalogue_that_names_other_values_is_said_in_english() -> None:
    """An operator's catalogue (`locale/` of their templates) is read as they wrote it: a translation
    naming a value the reason does not have gives the English, not an error on the search page."""
    with pytest.raises(QueryError) as caught:
        to_match(" ".join(["a"] * 33))
    said = {"the search has more than %(most)s terms": "搜索的词超过 %(many)s 个"}
    assert caught.value.said_in(lambda m: said.get(m, m)) == "the search has more than 32 terms"
    assert (
        caught.value.said_in(lambda m: m.replace("the search", "your search")) == "your search has more than 32 terms"
    )


@pytest.mark.parametrize(
    "query", ['a" OR "b', "title:x", "NEAR(a b)", "a + b", "^a", '"', "a:b:c", "{title}: x", "*", "a**", "'"]
)
def test_fts5_syntax_in_a_search_is_only_text(store: Store, query: str) -> None:
    """Whatever is typed, the expression is built of quoted strings: never an FTS5 syntax error."""
    try:
        match = to_match(query)
    except QueryError:
        return
    store.search(match)  # runs without sqlite3.OperationalError


@pytest.mark.parametrize("batch", [2, 500])
def test_the_index_keeps_in_step_through_rescrapes_prunes_deletions_and_rederivation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """After each change the index answers as a scan of the stored entries does, and holds only them.

    The index's writes are made when each transaction commits; `batch` is how many dumps one
    holds: two, so that an entry is written in one and written again or removed in a later one;
    or all of them, so that an entry is written, rewritten and removed within one."""
    from feedtool.ingest import run as ingest

    monkeypatch.setattr(ingest, "BATCH", batch)
    folder = tmp_path / "dumps"
    folder.mkdir()
    config = make_config(tmp_path, [folder])
    words = ["台湾", "加沙", "美国", "选举", "改正", "zebra", "kiwi"]

    def write(name: str, n: int, title: str, body: str, mtime: int) -> None:
        url = f"https://www.rfi.fr/cn/a/{n}"
        path = folder / name
        path.write_text(dump(title=title, url=url, body=f"<p>{body}</p>", stamp=str((1_700_000_000 + n) * 1000)))
        os.utime(path, (mtime, mtime))

    def check() -> None:
        build(config)
        with Store(config.store, root=config.root) as store:
            assert store.indexed() == store.db.execute("SELECT count(*) FROM entries").fetchone()[0]
            for word in words:
                assert {f.entry_id for f in store.search(to_match(word), limit=1000)} == scanned_for(store, word), word
            store.db.execute("INSERT INTO search (search, rank) VALUES ('integrity-check', 0)")
            assert documents_in_index(store) == store.indexed()  # none left behind by an entry gone

    for n in range(12):
        write(f"{n:02d}.txt", n, f"标题 {n} {'台湾' if n % 2 else '加沙'}", f"美国 zebra {n}", 1_700_000_000 + n)
    check()
    write("03-again.txt", 3, "标题 3 改正", "选举 kiwi", 1_800_000_000)  # a newer scrape changes the text
    check()
    (folder / "05.txt").unlink()  # a deleted dump's entry goes
    check()
    from feedtool.cli import main

    os.chdir(tmp_path)
    try:
        main(["prune", "-q", "--url", "https://www.rfi.fr/cn/a/7"])
    except SystemExit as exited:
        assert exited.code in (0, None)
    check()
    text = config.path.read_text("utf-8").replace("[store]", '[clean]\nremove_text = ["zebra"]\n[store]')
    config.path.write_text(text, "utf-8")  # a rule change re-derives every entry
    from feedtool.config import load_config

    config = load_config(config.path)
    check()


def test_a_build_killed_midway_leaves_the_index_in_step_with_what_it_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index's writes go with the transaction they belong to: a build killed after one batch
    has every entry of that batch searchable, and no other."""
    from feedtool.ingest import apply as merging
    from feedtool.ingest import run as ingest

    config = _articles(tmp_path)
    monkeypatch.setattr(ingest, "BATCH", 2)
    applied = merging.apply_batch

    def killed_on_the_second(*args: object, **kwargs: object) -> object:
        if calls.append(1) or len(calls) == 2:
            raise KeyboardInterrupt  # the build killed while its second batch was being written
        return applied(*args, **kwargs)  # type: ignore[arg-type]

    calls: list[int] = []
    monkeypatch.setattr(ingest, "apply_batch", killed_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        build(config, workers=1)
    with Store(config.store, root=config.root) as store:
        assert store.indexed() == store.db.execute("SELECT count(*) FROM entries").fetchone()[0] == 2
        store.db.execute("INSERT INTO search (search, rank) VALUES ('integrity-check', 0)")
    monkeypatch.setattr(ingest, "apply_batch", applied)
    build(config, workers=1)
    with Store(config.store, root=config.root) as store:
        assert store.index_current() and store.indexed() == len(ARTICLES)
        assert _titles(store, "加沙") == {"臺灣選舉"}


def test_a_batch_read_newest_first_goes_into_the_index_as_one_segment(tmp_path: Path) -> None:
    """The index's writes are made in the order of its row numbers (the published time), whatever
    the order the dumps were read in: FTS5 gathers a transaction's terms while the row numbers
    ascend and writes a segment of its own at every step back, which it then has to merge. A
    first build of forty dumps named oldest last, one batch, leaves one segment."""
    folder = tmp_path / "dumps"
    folder.mkdir()
    for n in range(40):
        stamp = str((1_700_000_000 - n * 3600) * 1000)  # read by name: the newest first
        body = f"<p>Report {n} on the harbour strike, day {n}.</p>"
        url = f"https://www.dw.com/en/report-{n}"
        (folder / f"{n:03}.txt").write_text(dump(title=f"Report {n}", url=url, body=body, stamp=stamp), "utf-8")
    config = make_config(tmp_path, [folder])
    build(config, workers=1)
    with Store(config.store, root=config.root) as store:
        assert store.indexed() == 40
        segments = store.db.execute("SELECT count(DISTINCT segid) FROM search_idx").fetchone()[0]
        assert segments == 1
        assert len(_titles(store, "harbour")) == 40


def test_a_store_indexed_by_another_version_of_the_index_is_indexed_anew(tmp_path: Path, store: Store) -> None:
    store.set_meta("fulltext", "0")
    store.db.execute("INSERT INTO search (search) VALUES ('delete-all')")  # as if cut otherwise
    assert _titles(store, "加沙") == set()
    build(make_config(tmp_path, [tmp_path / "dumps"]))
    assert store.index_current()
    assert _titles(store, "加沙") == {"臺灣選舉"}


def test_a_title_and_summary_the_body_repeats_are_indexed_once_and_still_found(tmp_path: Path, seeds: Path) -> None:
    """The seeds' titles and summaries are in their bodies: the index holds their words in the body
    alone, and a search for every word of the title, or of the summary's first or last sentence,
    finds each seed as before (a phrase is one run of Han characters, or one Latin word)."""
    config = make_config(tmp_path, [seeds])
    build(config)
    with Store(config.store, root=config.root) as store:
        store.db.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, search, 'col')")
        columns = dict(store.db.execute("SELECT col, count(*) FROM temp.terms GROUP BY col"))
        assert columns.keys() >= {"body", "outlet"} and "title" not in columns and "summary" not in columns
        entries = store.entries([f.entry_id for f in store.search(None, limit=100)]).values()
        assert len(entries) == 5
        for entry in entries:
            sentences = [s for s in re.split(r"(?<=[。！？.!?])\s*", entry.summary.rstrip("…")) if s.strip()]
            for text in (entry.title, sentences[0], sentences[-1]):
                words = re.findall(r"[\u4e00-\u9fff]+|[^\W\u4e00-\u9fff]+", text)
                found = {f.entry_id for f in store.search(to_match(" ".join(f'"{w}"' for w in words)), limit=100)}
                assert entry.id in found, text


@pytest.mark.parametrize(
    ("part", "body", "repeated"),
    [
        ("台湾问题", "王毅谈台湾问题再起", True),  # a piece of a Han run: its bigrams are the run's
        ("Blinken met\nWang Yi.", "Blinken met Wang Yi. The U.S.", True),
        ("王毅谈台湾问题。美国总…", "王毅谈台湾问题。美国总统发表讲话。", True),  # cut by first_sentences
        ("the U.S. elec…", "the U.S. elections are near", False),  # "elec" is no word of the body
        ("lection", "election", False),
        ("2023", "in 20234", False),
        ("taiwan", "台taiwan湾", True),
        ("Price is 100", "Price is 100₽ today.", False),  # unicode61 takes what Unicode 6.1 lacked into a word
        ("said Ali", "said Ali\u2069 today", False),
        ("covid", "covid🦠 cases", False),
        ("王毅说", "王毅说，「台湾」", True),
        ("Protests in Tver", "Protests in Tverʹ continue.", False),  # a symbol in Unicode 3.2, a letter since
        ("写作ㄋㄧ", "写作ㄋㄧˇ，读作nǐ。", False),
        ("王毅访美", "王毅谈台湾问题", False),
        ("", "anything", True),
    ],
)
def test_a_part_is_repeated_by_a_body_only_where_every_word_of_it_is_one_of_the_bodys(
    part: str, body: str, repeated: bool
) -> None:
    from feedtool.derive.indexed import repeated as repeats

    assert repeats(part, " ".join(body.split())) is repeated


def test_a_character_the_index_splits_words_at_is_one_the_index_splits_words_at() -> None:
    """Every character that `repeated` takes for no part of a word, asked of FTS5's own tokenizer:
    "a", the character, "b" are two words there. A title or summary is left out of the index on
    the strength of this (indexed.py), and unicode61 reads characters as Unicode 6.1 did."""
    import sqlite3

    from feedtool.derive.indexed import _in_word

    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE s USING fts5(b, content='', tokenize='unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(s, 'instance')")
    apart = [c for c in map(chr, range(1, 0x30000)) if not 0xD800 <= ord(c) < 0xE000 and not _in_word(c)]
    db.executemany("INSERT INTO s (rowid, b) VALUES (?, ?)", [(ord(c), f"a{c}b") for c in apart])
    words = dict(db.execute("SELECT doc, count(*) FROM v GROUP BY doc"))
    assert len(apart) > 3000
    assert [hex(ord(c)) for c in apart if words.get(ord(c)) != 2] == []


def test_a_term_of_chinese_and_latin_finds_the_text_it_is_in(tmp_path: Path) -> None:
    folder = tmp_path / "dumps"
    folder.mkdir()
    body = "<p>美国CDC周五发布2024年报告，台湾abc美国。</p>"
    (folder / "cdc.txt").write_text(dump(title="报告", url="https://www.rfi.fr/cn/a/9", body=body), "utf-8")
    config = make_config(tmp_path, [folder])
    build(config)
    with Store(config.store, root=config.root) as store:
        for query in ("美国CDC", '"美国cdc周五"', "CDC周五", "2024年", "台湾abc", "abc美国", '"报告，台湾"'):
            assert [f.entry_id for f in store.search(to_match(query))] == ["https://www.rfi.fr/cn/a/9"], query
        assert store.search(to_match("美国CDC报告")) == []


def test_newest_first_and_time_bounds(store: Store) -> None:
    ids = [f.entry_id for f in store.search(None, limit=10)]
    published = [e.published for e in map(store.entries(ids).get, ids) if e]
    assert published == sorted(published, reverse=True) and len(ids) == 4
    # published 22:13, 23:13, 00:13 and 01:13 UTC
    window = store.search(None, since="2023-11-14T23:00:00.000000Z", until="2023-11-15T01:00:00.000000Z")
    titles = {e.title for e in store.entries([f.entry_id for f in window]).values()}
    assert titles == {"臺灣選舉", "Election in Taiwan"}


_cli = run_cli


def test_feedtool_search_lists_hits_newest_first_with_marked_snippets(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = _cli(capsys, "search", "台灣", "--json")
    hits = json.loads(out)
    assert code == 0 and [h["title"] for h in hits] == ["臺灣選舉", "台湾问题再起"]  # newest first
    assert hits[0]["matches"] == ["台灣"]  # marked in the article's own script
    assert set(hits[0]) >= {"published", "outlet", "title", "url", "snippet"}
    assert hits[0]["published"] == "2023-11-14T23:13:20Z" and hits[0]["outlet"] == "rfa"
    code, out, _ = _cli(capsys, "search", "王毅", "--outlet", "rfi")
    assert code == 0 and out.splitlines()[0].endswith("rfi  台湾问题再起")
    assert "[王毅]" in out.splitlines()[2]
    assert _cli(capsys, "search", "台湾", "--limit", "1", "--json")[1].count('"title"') == 1
    code, out, _ = _cli(capsys, "search", "台湾", "--since", "2023-11-15", "--json")
    assert json.loads(out) == []
    code, out, _ = _cli(capsys, "search", "台湾", "--until", "2023-11-14", "--json")
    assert json.loads(out) == []
    code, out, err = _cli(capsys, "search", "(台湾")
    assert code == 2 and err.count("\n") == 1 and "is not closed" in err
    code, out, err = _cli(capsys, "search", "nothingatall")
    assert code == 0 and out == "" and "nothing found" in err
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # on a terminal: styled, not bracketed
    code, out, _ = _cli(capsys, "search", "王毅", "--outlet", "rfi")
    assert code == 0 and click.style("王毅", bold=True, underline=True) in out and "[王毅]" not in out


def test_bytes_that_are_not_text_on_the_command_line_are_a_usage_error(tmp_path: Path) -> None:
    searched = subprocess.run(
        [sys.executable, "-m", "feedtool", "search", b"\xff\xfe"], cwd=tmp_path, capture_output=True, text=True
    )
    assert searched.returncode == 2 and searched.stderr.count("\n") == 1, searched.stderr
    assert "bytes that are not UTF-8" in searched.stderr and "internal error" not in searched.stderr


@pytest.mark.parametrize(
    "options",
    [
        {}, {"outlets": ("rfi",)}, {"topic": "taiwan"}, {"since": "2023-11-14T23:00:00.000000Z"}, {"below": 10**15},
        {"above": 10**15, "oldest_first": True}, {"outlets": ("rfi",), "oldest_first": True},
    ],
)  # fmt: skip
def test_a_search_walks_the_index_newest_first_and_never_sorts_its_matches(store: Store, options: dict) -> None:
    """Newest first is the order FTS5 walks its rows in: no search sorts every match (at a million
    entries a common word matches a third of them), with or without a feed or a time bound; nor
    does one walking oldest first (from a cursor, towards the newer hits)."""
    captured: list[str] = []
    store.db.set_trace_callback(captured.append)
    store.search(to_match("台湾"), **options)
    store.db.set_trace_callback(None)
    query = next(q for q in captured if "MATCH" in q)
    plan = " ".join(row[3] for row in store.db.execute("EXPLAIN QUERY PLAN " + query))
    assert "VIRTUAL TABLE INDEX" in plan and "TEMP B-TREE" not in plan, plan
