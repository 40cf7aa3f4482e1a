"""Parsing dump files: both styles, every encoding seen in the wild, and every way a file can be bad."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from conftest import SEEDS, dump
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feedtool.dump import clean_text, parse_dump, strip_xml_illegal
from feedtool.errors import Rejected
from feedtool.models import Entry, Rejection
from feedtool.normalise import Normaliser


def parse(text: str | bytes):
    return parse_dump(text.encode() if isinstance(text, str) else text, "x.txt")


def test_bare_style() -> None:
    d = parse(dump(title="标题", url="https://www.rfi.fr/cn/a"))
    assert (d.title, d.url, d.timestamp) == (
        "标题",
        "https://www.rfi.fr/cn/a",
        datetime(2023, 10, 14, 13, 45, 2, tzinfo=UTC),
    )
    assert d.html.strip() == "<p>正文。</p>"


def test_title_with_brackets_parentheses_ampersand_and_angle() -> None:
    d = parse(dump(title="[视频] 中美(对话) &amp; <重启>", url="https://www.rfi.fr/cn/a_(b)"))
    assert d.title == "[视频] 中美(对话) & <重启>"
    assert d.url == "https://www.rfi.fr/cn/a_(b)"


def test_entities_are_decoded_exactly_once() -> None:
    assert parse(dump(title="A &amp;amp; B")).title == "A &amp; B"


def test_title_whitespace_collapsed_and_xml_illegal_characters_removed() -> None:
    assert parse(dump(title="  中美\t  对话\x07\x1b 重启 ")).title == "中美 对话 重启"


def test_bom_crlf_and_gb18030() -> None:
    text = dump(title="台灣問題", url="https://www.rfi.fr/cn/a")
    assert parse(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()).title == "台灣問題"
    seed = (SEEDS / "000_98a2bef58e7ca05f.txt").read_text("utf-8")
    legacy, utf8 = parse(seed.replace("\n", "\r\n").encode("gb18030")), parse(seed.encode())
    assert replace(legacy, sha256="") == replace(utf8, sha256="")


def test_nan_or_missing_timestamp() -> None:
    assert parse(dump(stamp="NaN")).timestamp is None
    assert parse(dump(stamp=None)).timestamp is None


def test_front_matter_fields() -> None:
    fm = 'title: "前言标题"\ndate: 2022-11-01T00:41:00.000Z\nauthor: 联合早报\nfrom: https://www.zaobao.com/a\ntags: [ 联合早报, 外交 ]\ncategories: [ 中美 ]'
    d = parse(dump(title="头标题", url="https://www.zaobao.com/a", front_matter=fm))
    assert d.title == "前言标题"
    assert d.front_matter_date == datetime(2022, 11, 1, 0, 41, tzinfo=UTC)
    assert d.author == "联合早报"
    assert d.tags == ("联合早报", "外交", "中美")


def test_front_matter_from_fills_a_relative_link() -> None:
    d = parse(dump(url="/realtime/a", front_matter="from: https://www.zaobao.com/realtime/a"))
    assert d.url == "https://www.zaobao.com/realtime/a"


def test_front_matter_alone_without_header() -> None:
    d = parse('---\ntitle: "只有前言"\nfrom: https://www.zaobao.com/a\n---\n<p>正文</p>')
    assert (d.title, d.url) == ("只有前言", "https://www.zaobao.com/a")


def test_broken_front_matter_uses_the_header_and_warns() -> None:
    d = parse(dump(title="头标题", url="https://www.zaobao.com/a", front_matter='title: "unclosed\ndate: [2022'))
    assert (d.title, d.url) == ("头标题", "https://www.zaobao.com/a")
    assert d.warnings and "front matter is not valid YAML" in d.warnings[0]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n ", "empty file"),
        (b"\x00\x01\x02\xff\xfe\x00binary", "not text in UTF-8, and no other encoding fits its bytes"),
        (b"<!--1697291102000-->\n<p>no header</p>", "no [title](url) line"),
        (dump(url="javascript:alert(1)").encode(), "URL is not http(s): javascript:alert(1)"),
        (dump(url="/cn/relative").encode(), "relative URL and no front matter 'from': /cn/relative"),
        (dump(url="ftp://example.com/a").encode(), "URL is not http(s): ftp://example.com/a"),
        (dump(title="   ").encode(), "no title"),
        (dump(title="&nbsp;\x01").encode(), "no title"),
    ],
)
def test_rejections_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as info:
        parse(data)
    assert info.value.reason == reason


def test_a_rejection_is_a_value_for_the_normaliser(normaliser: Normaliser) -> None:
    result = normaliser.file(b"", "empty.txt")
    assert isinstance(result, Rejection) and result.reason == "empty file" and result.path == "empty.txt"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_an_entry_or_a_rejection(normaliser: Normaliser, data: bytes) -> None:
    assert isinstance(normaliser.file(data, "fuzz.txt"), Entry | Rejection)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_arbitrary_header_text_gives_an_entry_or_a_rejection(normaliser: Normaliser, title: str, body: str) -> None:
    text = dump(title=title, body=body)
    assert isinstance(normaliser.file(text.encode("utf-8", "surrogatepass"), "fuzz.txt"), Entry | Rejection)


def test_markup_in_a_title_byline_or_tag_is_removed_and_its_text_kept() -> None:
    d = parse(
        dump(
            title="<b>粗体</b> &lt;em&gt;强调&lt;/em&gt; a < b <中国>",
            front_matter='author: "<span>夏榕</span>"\ntags: ["<i>外交</i>"]',
        )
    )
    assert (d.title, d.author, d.tags) == ("粗体 强调 a < b <中国>", "夏榕", ("外交",))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
@example("<<b>b>x")  # one pass of tag removal leaves "<b>x"
def test_clean_text_is_one_line_of_plain_xml_safe_text(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned == cleaned.strip() and "  " not in cleaned and "\n" not in cleaned
    assert not re.search(r"</?[A-Za-z][^<>]*>", cleaned)
    assert strip_xml_illegal(cleaned) == cleaned
