"""Parsing dump files: both styles, every encoding seen in the wild, and every way a file can be bad."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import ROOT, SEEDS, dump
from hypothesis import example, given, settings
from hypothesis import strategies as st

import feedtool.derive.normalise
from feedtool.derive.dump import clean_text, parse_dump, strip_xml_illegal
from feedtool.derive.normalise import Normaliser
from feedtool.errors import Rejected
from feedtool.models import UNFORESEEN, Entry, Rejection

NUL_BYTES = "not a text file: it holds NUL bytes (UTF-16 and UTF-32 are read only with a byte-order mark)"


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


def test_a_front_matter_title_that_is_not_text_gives_way_to_the_header() -> None:
    d = parse(dump(title="头标题", front_matter="title: [a, b]"))
    assert d.title == "头标题"
    assert d.warnings == ("front matter title is not text; used the [title](url) header's",)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n ", "empty file"),
        (b"\x00\x01\x02\xff\xfe\x00binary", NUL_BYTES),
        (b"\x01\x02\xff\xfebinary", "not text in UTF-8, and no other encoding fits its bytes"),
        (b"<!--1697291102000-->\n<p>no header</p>", "no [title](url) line"),
        (dump(url="javascript:alert(1)").encode(), "URL is not http(s): javascript:alert(1)"),
        (dump(url="/cn/relative").encode(), "relative URL and no front matter 'from': /cn/relative"),
        (dump(url="ftp://example.com/a").encode(), "URL is not http(s): ftp://example.com/a"),
        (dump(title="   ").encode(), "the [title](url) line has no title"),
        (dump(title="&nbsp;\x01").encode(), "its title is only markup, entities or blanks"),
    ],
)
def test_rejections_say_why(data: bytes, reason: str) -> None:
    with pytest.raises(Rejected) as info:
        parse(data)
    assert info.value.reason == reason


_LINK = "[标题](https://www.rfi.fr/cn/a/{n})"
_REST = "------\n<p>正文。</p>"
_STAMP = "<!--1697291102000-->"
# Malformed dumps as scrapers write them, and what `feedtool rejects` says of each: its cause, in
# words (None: it is published). Never an exception's name, nor a message meant for programmers.
MALFORMED: dict[str, tuple[bytes, str | None]] = {
    "empty": (b"", "empty file"),
    "blank": (b"  \n\n \r\n", "empty file"),
    "only-a-comment": (f"{_STAMP}\n".encode(), "no [title](url) line"),
    "bad-timestamp": (
        f"<!--notanumber-->\n{_LINK.format(n=1)}\n{_REST}".encode(),
        "the comment above the [title](url) line is not a timestamp (milliseconds since 1970, or NaN):"
        " <!--notanumber-->",
    ),
    "two-timestamps": (
        f"{_STAMP}\n<!--1697291103000-->\n{_LINK.format(n=2)}\n{_REST}".encode(),
        "a second comment above the [title](url) line: <!--1697291103000-->",
    ),
    "text-above-the-link": (
        f"Saved from the web\n{_STAMP}\n{_LINK.format(n=3)}\n{_REST}".encode(),
        "the [title](url) line must come first (after the front matter and the timestamp comment);"
        " above it: Saved from the web",
    ),
    "empty-title": (f"{_STAMP}\n[](https://www.rfi.fr/cn/a/4)\n{_REST}".encode(), "the [title](url) line has no title"),
    "markup-title": (
        f"{_STAMP}\n[<b> </b>&nbsp;](https://www.rfi.fr/cn/a/5)\n{_REST}".encode(),
        "its title is only markup, entities or blanks",
    ),
    "empty-url": (f"{_STAMP}\n[标题]()\n{_REST}".encode(), "the [title](url) line has no URL"),
    "relative-url": (
        f"{_STAMP}\n[标题](/cn/a/6)\n{_REST}".encode(),
        "relative URL and no front matter 'from': /cn/a/6",
    ),
    "url-with-spaces": (
        f"{_STAMP}\n[标题](https://www.rfi.fr/cn/a 7)\n{_REST}".encode(),
        "the URL in the [title](url) line has a space in it: https://www.rfi.fr/cn/a 7",
    ),
    "url-broken-host": (
        f"{_STAMP}\n[标题](http://[::1/a)\n{_REST}".encode(),
        "URL is not valid: http://[::1/a",
    ),
    "url-bracketed-host": (
        f"{_STAMP}\n[标题](https://a.b[::1]user:pw@.example)\n{_REST}".encode(),
        "URL is not valid: https://a.b[::1]user:pw@.example",
    ),
    # No rule line, or nothing after it: the article is the headline, published as such.
    "no-rule-line": (f"{_STAMP}\n{_LINK.format(n=8)}\n<p>正文。</p>".encode(), None),
    "nothing-after-the-rule": (f"{_STAMP}\n{_LINK.format(n=9)}\n------\n".encode(), None),
    "binary-junk": (bytes(range(256)) * 8, NUL_BYTES),
    "nul-in-utf8": (f"{_STAMP}\n{_LINK.format(n=10)}\n{_REST}\x00".encode(), NUL_BYTES),
    "front-matter-not-yaml": (
        b"---\ntitle: [unclosed\n---\n<p>x</p>",
        "front matter is not valid YAML (line 3), and no [title](url) line below it",
    ),
    "front-matter-a-list": (
        b"---\n- a\n- b\n---\n<p>x</p>",
        "front matter is not a table of keys, and no [title](url) line below it",
    ),
    "front-matter-keys-not-text": (
        "---\n2024: 新闻\n---\n<p>x</p>".encode(),
        "front matter has a key that is not text, and no [title](url) line below it",
    ),
    "front-matter-title-a-list": (
        b"---\ntitle: [a, b]\nfrom: https://www.rfi.fr/cn/a/1\n---\n<p>x</p>",
        "no [title](url) line, and the front matter's title is a list, not text",
    ),
    "front-matter-without-from": (
        "---\ntitle: 只有标题\n---\n<p>x</p>".encode(),
        "no [title](url) line, and no 'from' address in the front matter",
    ),
    "a-huge-line": (("<p>" + "字" * 400_000 + "</p>").encode(), "no [title](url) line"),
}


def test_every_rejection_names_its_cause_in_words(tmp_path: Path) -> None:
    """Each malformed dump, built by the CLI beside a good one: `feedtool rejects` says why of each."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    (dumps / "good.txt").write_text(dump(), "utf-8")
    for name, (data, _) in MALFORMED.items():
        (dumps / f"{name}.txt").write_bytes(data)
    (tmp_path / "feedtool.toml").write_text('[build]\ninputs = ["dumps"]\n', "utf-8")
    env = {k: v for k, v in os.environ.items() if k != "FEEDTOOL_CONFIG"} | {"PYTHONPATH": str(ROOT)}
    built = subprocess.run([sys.executable, "-m", "feedtool", "build", "-q"], cwd=tmp_path, env=env)
    assert built.returncode == 0
    listed = subprocess.run(
        [sys.executable, "-m", "feedtool", "rejects", "--json"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    said = {Path(r["path"]).stem: r["reason"] for r in json.loads(listed.stdout)}
    assert said == {name: reason for name, (_, reason) in MALFORMED.items() if reason is not None}


def test_a_failure_nobody_foresaw_is_a_rejection_that_names_no_exception(
    normaliser: Normaliser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last resort: a bug met on one dump rejects it, says what to do, and leaks no Python."""

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("clutter")

    monkeypatch.setattr(feedtool.derive.normalise, "parse_dump", broken)
    result = normaliser.file(dump().encode(), "x.txt")
    assert isinstance(result, Rejection)
    assert result.reason == (
        "feedtool failed on it unexpectedly, a fault of feedtool's own; to see it, touch the file"
        " and run 'feedtool build -v'"
    )
    assert "KeyError" not in result.reason and "clutter" not in result.reason


def test_a_failure_nobody_foresaw_shows_its_traceback_with_v_once_the_dump_is_touched(tmp_path: Path) -> None:
    """What the reason says to do shows the failure: the touched dump is read again, not taken
    for the rejected bytes seen before. The command runs as a process of its own, with a fault
    planted in the dump parser, so that the traceback is seen where the operator would see it
    whichever process (the build's or a worker) reads the dump."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    (dumps / "fault.txt").write_text(dump(), "utf-8")
    (tmp_path / "feedtool.toml").write_text('[build]\ninputs = ["dumps"]\n', "utf-8")
    planted = tmp_path / "planted.py"
    planted.write_text(
        "import sys\nimport feedtool.derive.normalise as normalise\nfrom feedtool.cli import main\n"
        "real = normalise.parse_dump\n\n"
        "def faulty(data, path):\n"
        "    if path.endswith('fault.txt'):\n        raise KeyError('clutter')\n    return real(data, path)\n\n"
        "normalise.parse_dump = faulty\nmain(sys.argv[1:])\n",
        "utf-8",
    )

    def feedtool(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run(
            [sys.executable, str(planted), *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )

    quiet = feedtool("build", "-q")
    assert (quiet.returncode, quiet.stderr) == (0, "")
    assert feedtool("rejects").stdout == f"{dumps / 'fault.txt'}: {UNFORESEEN}\n"
    os.utime(dumps / "fault.txt", (1_700_000_000, 1_700_000_000))
    touched = feedtool("build", "-v")
    assert touched.returncode == 0 and "an unexpected error reading it:\nTraceback" in touched.stderr
    assert "KeyError: 'clutter'" in touched.stderr


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
