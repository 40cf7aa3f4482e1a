"""The merge rule as a pure function: the same scrapes give the same entry in any order."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from feedtool.derive.merge import Claim, Merged, Scrape, Shown, copy_is_inert, iso, merge, scrape_key


@st.composite
def _scrapes(draw: st.DrawFn) -> list[Scrape]:
    count = draw(st.integers(1, 6))
    mtimes = draw(st.lists(st.integers(1_600_000_000, 1_600_000_100), min_size=count, max_size=count))
    found = []
    for mtime in mtimes:
        text = draw(st.sampled_from(["原文。", "原文（更新）。"]))
        found.append(
            Scrape(
                key="", mtime_ns=mtime * 10**9,
                shown=Shown(
                    url=draw(st.sampled_from(["http://a.example/1", "https://a.example/1?utm_source=x"])),
                    title=draw(st.sampled_from(["标题", "标题（更新）"])), summary=text, content=f"<p>{text}</p>",
                    search_text=text, outlet="a", language="zh-CN",
                ),
                author=draw(st.sampled_from([None, "夏榕", "王小明"])),
                image=draw(st.sampled_from([None, "https://a.example/1.jpg", "https://a.example/2.jpg"])),
                tags=draw(st.sampled_from([(), ("外交",), ("外交", "中美")])),
                claim=Claim(
                    published=draw(st.sampled_from(["2023-10-14T13:45:02.000000Z", "2023-10-15T00:00:00.000000Z"])),
                    rank=draw(st.integers(0, 4)),
                    text_hash=hashlib.sha1(text.encode()).hexdigest(),
                ),
            )
        )  # fmt: skip
    # Keyed by what the file says, as a dump is by its bytes' hash: equal scrapes at one mtime are one.
    return [replace(s, key=scrape_key(s.mtime_ns, _hash(replace(s, mtime_ns=0)))) for s in found]


def _hash(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()


def _fold(scrapes: list[Scrape]) -> Merged:
    current: Merged | None = None
    for i, scrape in enumerate(scrapes):
        current = merge(current, scrape, [s.claim for s in scrapes[: i + 1]])
    assert current is not None
    return current


@settings(max_examples=500, deadline=None)
@given(_scrapes(), st.randoms(use_true_random=False))
def test_any_order_of_the_same_scrapes_gives_the_same_entry(scrapes: list[Scrape], rng: random.Random) -> None:
    shuffled = list(scrapes)
    rng.shuffle(shuffled)
    assert _fold(shuffled) == _fold(scrapes)


def _scrape(mtime: int, *, author: str | None = None, image: str | None = None, title: str = "标题",
            published: str = "2023-10-14T13:45:02.000000Z", rank: int = 3, text: str = "原文。") -> Scrape:  # fmt: skip
    return Scrape(
        key=scrape_key(mtime, _hash((mtime, author, image, title, text))), mtime_ns=mtime,
        shown=Shown("https://a.example/1", title, text, text, text, "a", "zh-CN"), author=author, image=image,
        tags=(), claim=Claim(published, rank, text),
    )  # fmt: skip


def test_the_newest_scrape_is_shown_and_a_field_it_lacks_comes_from_the_newest_that_has_it() -> None:
    oldest, middle, newest = (_scrape(1, author="甲"), _scrape(2, author="乙", image="i.jpg"),
                              _scrape(3, title="新标题"))  # fmt: skip
    entry = _fold([newest, oldest, middle])
    assert (entry.shown.title, entry.author, entry.image) == ("新标题", "乙", "i.jpg")


def test_published_is_the_earliest_date_of_the_best_kind_and_updated_follows_an_edit() -> None:
    stamp = _scrape(10**18, published="2023-10-15T00:00:00.000000Z", rank=3)
    from_url = _scrape(2 * 10**18, published="2023-10-14T00:00:00.000000Z", rank=1, text="改过的原文。")
    entry = _fold([stamp, from_url])
    assert entry.published == "2023-10-15T00:00:00.000000Z"  # a timestamp outranks an earlier day from the URL
    assert entry.updated == "2033-05-18T03:33:20.000000Z"  # the texts differ: the shown scrape's mtime
    assert _fold([stamp]).updated == stamp.claim.published


@settings(max_examples=500, deadline=None)
@given(_scrapes(), st.integers(1_600_000_000, 1_600_000_100), st.data())
def test_a_copy_called_inert_changes_nothing_a_reader_sees(
    scrapes: list[Scrape], mtime: int, data: st.DataObject
) -> None:
    """A file with the bytes of a merged scrape, under a new path and mtime: where copy_is_inert says
    it can be recorded unparsed, merging it in full gives the same entry, but for which key is kept."""
    original = data.draw(st.sampled_from(scrapes))
    undated = original.claim.rank == 0
    claim = replace(original.claim, published=iso(datetime.fromtimestamp(mtime, UTC))) if undated else original.claim
    copy = replace(
        original, key=scrape_key(mtime * 10**9, original.key.split(" ")[1]), mtime_ns=mtime * 10**9, claim=claim
    )
    entry = _fold(scrapes)
    if copy_is_inert(copy.key, original.claim.published if undated else None, (entry.key, *entry.filled)):
        with_copy = _fold([*scrapes, copy])
        assert replace(with_copy, key="", filled=("", "", "")) == replace(entry, key="", filled=("", "", ""))
