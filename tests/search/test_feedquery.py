"""RSSHub's parameters, each with RSSHub's meaning (lib/middleware/parameter.ts), pinned one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedtool.models import StoredEntry
from feedtool.search.folding import folded
from feedtool.search.language import QueryError
from feedtool.search.rsshub import (
    FeedQuery,
    asked_format,
    brief_text,
    compiled,
    from_params,
    keeps,
    shown_as_asked,
    since,
)

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def entry(title: str = "Taiwan talks", content: str = "<p>Blinken met Wang Yi.</p>", author: str | None = "Ann Li",
          tags: tuple[str, ...] = ("Politics",), hours_ago: int = 1) -> StoredEntry:  # fmt: skip
    when = NOW - timedelta(hours=hours_ago)
    return StoredEntry(
        id="https://example.org/1", url="https://example.org/1", title=title, outlet="rfi", language="zh-CN",
        content=content, summary="Blinken met Wang Yi.", published=when, updated=when, author=author, image=None,
        tags=tags,
    )  # fmt: skip


def asked(**params: str) -> FeedQuery:
    query = from_params({name: [value] for name, value in params.items()})
    assert query is not None
    return query


def kept(query: FeedQuery, e: StoredEntry | None = None, categories: tuple[str, ...] = ("法广", "Politics"),
         author: str | None = None) -> bool:  # fmt: skip
    """Whether the entry passes; its author as its feed shows it, the byline unless told otherwise."""
    e = e or entry()
    return keeps(compiled(query), e, categories, author if author is not None else (e.author or ""))


@pytest.mark.parametrize(
    ("params", "result"),
    [
        # filter: the title, the description, the author or a category
        ({"filter": "Taiwan"}, True),
        ({"filter": "Wang"}, True),
        ({"filter": "Ann"}, True),
        ({"filter": "Politics"}, True),
        ({"filter": "Gaza"}, False),
        ({"filter": "Tai|Gaza"}, True),  # a regular expression
        # each field alone, and all of them together
        ({"filter_title": "talks$"}, True),
        ({"filter_title": "Wang"}, False),
        ({"filter_description": "<p>Blinken"}, True),  # the description is HTML, as RSSHub's is
        ({"filter_description": "Taiwan"}, False),
        ({"filter_author": "^Ann"}, True),
        ({"filter_author": "Bob"}, False),
        ({"filter_category": "^Politics$"}, True),
        ({"filter_category": "Sport"}, False),
        ({"filter_title": "Taiwan", "filter_author": "Ann"}, True),
        ({"filter_title": "Taiwan", "filter_author": "Bob"}, False),
        ({"filter": "Taiwan", "filter_author": "Bob"}, True),  # filter given: the field forms are ignored
        # filterout: what matches is left out; plain filterout is the title's and the description's
        ({"filterout": "Wang"}, False),
        ({"filterout": "Ann"}, True),  # not the author's
        ({"filterout_title": "Taiwan"}, False),
        ({"filterout_title": "Gaza", "filterout": "Taiwan"}, True),  # the title's own overrides filterout
        ({"filterout_description": "Blinken"}, False),
        ({"filterout_author": "Ann"}, False),
        ({"filterout_category": "Polit"}, False),
        ({"filterout_category": "Sport"}, True),
        ({"filter": "Taiwan", "filterout": "Wang"}, False),
        # case: sensitive unless told otherwise
        ({"filter": "taiwan"}, False),
        ({"filter": "taiwan", "filter_case_sensitive": "false"}, True),
        ({"filterout": "TAIWAN", "filter_case_sensitive": "false"}, False),
        ({"filter": "taiwan", "filter_case_sensitive": "true"}, False),
        ({"filter": "taiwan", "filter_case_sensitive": "FALSE"}, False),  # RSSHub's test is `=== 'false'`
        ({"filter": "taiwan", "filter_case_sensitive": "False"}, False),
    ],
)
def test_filters_mean_what_they_mean_in_rsshub(params: dict[str, str], result: bool) -> None:
    assert kept(asked(**params)) is result


def test_filter_author_reads_the_author_the_feed_shows() -> None:
    """Where an article has no byline its feeds name the outlet, and so does filter_author."""
    no_byline = entry(author=None)
    assert kept(asked(filter_author="^BBC"), no_byline, author="BBC 中文")
    assert not kept(asked(filterout_author="BBC"), no_byline, author="BBC 中文")
    assert not kept(asked(filter_author="BBC"), entry(author="Ann Li"))


def test_filter_time_is_seconds_before_now() -> None:
    cutoff = since(asked(filter_time="7200"), NOW)
    assert cutoff == NOW - timedelta(hours=2)
    assert since(asked(limit="3"), NOW) is None


def test_zero_is_a_number_rsshub_takes_limit_and_filter_time_of_nothing() -> None:
    assert asked(limit="0").limit == 0
    assert since(asked(filter_time="0"), NOW) == NOW


def test_a_parameter_given_twice_is_taken_at_its_first_value_as_rsshub_takes_it() -> None:
    query = from_params({"limit": ["3", "9"], "filter": ["a", "b"], "filter_case_sensitive": ["false", "true"]})
    assert query is not None and (query.limit, query.wanted, query.case_sensitive) == (3, (("filter", "a"),), False)


def test_format_names_a_feed_format_and_alone_asks_nothing_of_the_archive() -> None:
    assert [asked_format({"format": [f]}) for f in ("atom", "rss", "json", "")] == ["atom", "rss", "json", None]
    assert asked_format({"limit": ["3"]}) is None
    for wrong in ("ums", "JSON", "html", "debug.json"):
        with pytest.raises(QueryError, match="not a feed format"):
            asked_format({"format": [wrong]})
    assert from_params({"format": ["json"]}) is None
    assert from_params({"sorted": ["false"], "fold": ["1"]}) is None  # nothing to sort or fold: the feed as it is
    assert asked(sorted="false", limit="3").canonical() == "?limit=3"


def test_brief_reads_the_text_as_rsshub_does_its_tags_gone_with_nothing_in_their_place() -> None:
    """RSSHub's brief fixture, `<p>宇宙無敵</p><br>` a thousand times, as cleaning stores it."""
    stored = "<p>宇宙無敵</p>\n" * 1000
    assert brief_text(stored) == "宇宙無敵" * 1000
    brief = shown_as_asked(asked(brief="100"), entry(content=stored))
    assert brief.content == "<p>" + "宇宙無敵" * 25 + "…</p>"
    assert brief_text("<p>A &amp; B<br>C <a href=x>d</a></p>\n<pre>x\n  y</pre>\n<p>E</p>\n") == "A & BC dx\n  yE"
    # a reader's characters are counted, and the cut is escaped after: no entity cut in half
    assert shown_as_asked(asked(brief="100"), entry(content="<p>" + "&amp;" * 120 + "</p>")).content == (
        "<p>" + "&amp;" * 100 + "…</p>"
    )


def test_limit_brief_and_opencc() -> None:
    assert asked(limit="10").limit == 10
    long = entry(content="<p>" + "台灣問題" * 100 + "</p>")
    brief = shown_as_asked(asked(brief="100"), long)
    assert brief.content == "<p>" + ("台灣問題" * 25) + "…</p>" and brief.summary == "台灣問題" * 25 + "…"
    assert shown_as_asked(asked(brief="100"), entry()).content == "<p>Blinken met Wang Yi.</p>"  # short: whole, no …
    converted = shown_as_asked(asked(opencc="t2s"), entry(title="臺灣問題", content="<p>臺灣</p>"))
    assert (converted.title, converted.content) == ("台湾问题", "<p>台湾</p>")
    assert shown_as_asked(asked(opencc="s2tw"), entry(title="台湾")).title == "臺灣"
    assert shown_as_asked(asked(opencc="s2hk"), entry(title="台湾")).title == "台灣"  # Hong Kong writes it so


@pytest.mark.parametrize(
    "params",
    [{"brief": "99"}, {"brief": "abc"}, {"opencc": "zh"}, {"limit": "-1"}, {"limit": "1.5"}, {"filter": "("},
     {"filter_time": "-1"}, {"q": """"unclosed"""}, {"q": "-x"}, {"filter": "x", "fold": "yes"},
     {"filter": "臺" * 500, "fold": "1"}],
)  # fmt: skip
def test_a_value_that_cannot_be_taken_is_a_query_error(params: dict[str, str]) -> None:
    with pytest.raises(QueryError):
        compiled(asked(**params))  # an expression is compiled in the answer's thread, not as the request comes


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(?:a{65535}){65535}", "invalid repetition size"),
        ("(?<=a)b", "RE2 has no lookaround, backreferences or recursion"),
        (r"(\pL.{0,100}){8}x", "too complex"),
        (r"\pL{1000}", "too large for RE2's memory budget"),
    ],
)
def test_an_expression_re2_refuses_says_why_and_is_refused_again_from_memory(pattern: str, reason: str) -> None:
    import gc

    from feedtool.search.rsshub import PATTERNS

    for _ in range(2):
        with pytest.raises(QueryError, match=reason) as caught:
            compiled(asked(filter=pattern))
        assert caught.value.__context__ is None and caught.value.__traceback__ is not None
    assert (pattern, True) in PATTERNS._refused
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o).__name__ == "_Regexp" and o.pattern == pattern]


def test_an_expression_reads_the_first_twenty_thousand_characters_of_a_text() -> None:
    from feedtool.search.rsshub import MAX_FILTERED

    far = entry(content="<p>" + "x" * MAX_FILTERED + "needle</p>")
    assert not kept(asked(filter_description="needle"), far)
    assert kept(asked(filter_description="needle"), entry(content="<p>" + "x" * (MAX_FILTERED - 20) + "needle</p>"))


@pytest.mark.parametrize(
    ("pattern", "expanded"),
    [
        ("臺灣", "[台檯臺颱][湾灣]"),
        ("台湾|Taiwan", "[台檯臺颱][湾灣]|Taiwan"),
        ("[臺]湾", "[台檯臺颱][湾灣]"),  # in a class, the forms join it
        ("[^臺]", "[^台檯臺颱]"),  # and a negated one leaves them all out
        ("[]臺]", "[]台檯臺颱]"),  # a "]" first in a class is a member
        ("[[:alpha:]發]", "[[:alpha:]发發髮]"),
        ("[一-龥]", "[一-龥]"),  # a range keeps its ends
        (r"\p{Han}臺{2}", r"\p{Han}[台檯臺颱]{2}"),
        (r"\Q臺\E\x{81FA}", r"\Q臺\E\x{81FA}"),  # escapes stand for themselves
        ("(?P<名>臺)", "(?P<名>[台檯臺颱])"),
        ("abc 王毅", "abc 王毅"),  # no other form: as written
    ],
)
def test_fold_writes_each_chinese_character_as_all_its_forms(pattern: str, expanded: str) -> None:
    assert folded(pattern) == expanded


def test_fold_finds_either_script_and_is_part_of_the_feeds_address() -> None:
    simplified, traditional = entry(title="台湾选举", content="<p>投票</p>"), entry(title="臺灣選舉")
    assert not kept(asked(filter_title="臺灣"), simplified) and kept(asked(filter_title="臺灣"), traditional)
    for e in (simplified, traditional):
        assert kept(asked(filter_title="臺灣", fold="1"), e)
        assert not kept(asked(filterout="台湾", fold="1"), e)
        assert not kept(asked(filter_title="臺灣", fold="0"), simplified)
    assert kept(asked(filter="^TAIWAN|臺灣", fold="1", filter_case_sensitive="false"), simplified)
    assert asked(filter="臺灣", fold="1").canonical() == "?filter=%E8%87%BA%E7%81%A3&fold=1"
    assert asked(filter="臺灣", fold="0").canonical() == "?filter=%E8%87%BA%E7%81%A3"


def test_unknown_parameters_alone_are_no_query_and_the_canonical_form_is_stable() -> None:
    assert from_params({"_": ["12345"], "utm_source": ["x"]}) is None
    one = asked(limit="5", q="台湾", opencc="t2s", filter_title="a")
    two = from_params({"opencc": ["t2s"], "filter_title": ["a"], "q": ["台湾"], "limit": ["5"], "x": ["y"]})
    assert one.canonical() == (two.canonical() if two else None)
    assert one.canonical().startswith("?q=%E5%8F%B0%E6%B9%BE&filter_title=a")
