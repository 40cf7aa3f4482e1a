"""Cleaning article HTML: each rule on a fixture of its own, and safety on arbitrary HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from feedtool.config import load_config
from feedtool.derive.clean import Cleaner, first_sentences
from feedtool.rules import Outlet

CONFIG = load_config(None)
CLEANER = Cleaner(CONFIG.rules.clean)
RFI = CONFIG.outlet("rfi")
ZAOBAO = CONFIG.outlet("zaobao")
BASE = "https://www.rfi.fr/cn/中国/20231014-article"


def clean(html: str, outlet: Outlet | None = RFI):
    return CLEANER.clean(html, BASE, outlet)


@pytest.mark.parametrize(
    "clutter",
    [
        '<div><div>分享 :</div><div><a href="https://www.facebook.com/dialog/share?x=1"><span></span></a></div></div>',
        '<a href="whatsapp://send?text=x">w</a><a href="https://web.whatsapp.com/send?text=x">w</a>',
        '<a href="https://x.com/intent/tweet?url=x">X</a><a href="https://twitter.com/share?u=1">t</a>',
        "<span data-root-share><share-button></share-button><share-modal></share-modal></span>",
        "<div data-selfpromo-newsletter></div><div data-selfpromo-app>App</div>",
        '<div>获取更多RSS：<br><a href="https://feedx.net">https://feedx.net</a></div>',
        '<section id="imu"><div id="dfp-ad-imu1">AD</div></section><div id="dfp-ad-mid">AD</div>',
        '<div id="innity-in-post">AD</div>',
        '<div class="cx_paywall_placeholder" id="sph_cdp_40">Subscribe</div>',
        '<div id="zoomattribute"><a href="/big.jpg"><img src="https://www.rfa.org/++plone++rfa-resources/img/icon-zoom.png"></a></div>',
        "<br><hr><br>",
        "<div><div><span></span></div></div>",
    ],
)
def test_clutter_is_removed(clutter: str) -> None:
    article = clean(f"<p>正文第一段。</p>{clutter}<p>正文第二段。</p>")
    assert article.content == "<p>正文第一段。</p>\n<p>正文第二段。</p>"


def test_attributes_are_stripped_and_kept_ones_are_safe() -> None:
    html = '<p class="x" id="y" style="color:red" onclick="evil()">文<a href="/cn/x" onmouseover="e()" target="_blank">链接</a></p>'
    content = clean(html).content
    assert content == '<p>文<a href="https://www.rfi.fr/cn/x" rel="noopener noreferrer">链接</a></p>'


@pytest.mark.parametrize(
    "dangerous",
    [
        "<script>alert(1)</script>",
        "<style>p{}</style>",
        '<iframe src="https://evil.example/"></iframe>',
        '<object data="x.swf"></object><embed src="x.swf">',
        '<form action="https://evil.example/"><input name="a"><button>Go</button></form>',
        '<a href="javascript:alert(1)">x</a>',
        '<img src="x" onerror="alert(1)">',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        "<svg><script>alert(1)</script></svg>",
    ],
)
def test_no_executable_markup_survives(dangerous: str) -> None:
    content = clean(f"<p>正文。</p>{dangerous}").content.lower()
    for bad in ["<script", "<style", "<iframe", "<object", "<embed", "<form", "javascript:", "onerror", "data:text"]:
        assert bad not in content


def test_lazy_images_get_their_real_source_made_absolute() -> None:
    article = clean('<img class="lazyload" src="data:image/gif;base64,R0lGOD" data-src="/media/a.jpg"><p>文。</p>')
    assert article.image == "https://www.rfi.fr/media/a.jpg"
    assert '<img src="https://www.rfi.fr/media/a.jpg">' in article.content


def test_relative_links_become_absolute_against_the_article() -> None:
    content = clean('<p><a href="other">a</a><a href="../up">b</a><a href="//cdn.example/x">c</a></p>').content
    assert 'href="https://www.rfi.fr/cn/%E4%B8%AD%E5%9B%BD/other"' in content or "中国/other" in content
    assert 'href="https://www.rfi.fr/cn/up"' in content
    assert 'href="https://cdn.example/x"' in content


def test_rfi_date_line_is_read_in_paris_time_and_removed() -> None:
    article = clean("<div>14/10/2023 - 15:41</div><p>正文。</p>")
    assert article.dateline == datetime(2023, 10, 14, 13, 41, tzinfo=UTC)
    assert "2023" not in article.content


def test_date_line_uses_the_outlet_time_zone() -> None:
    article = clean("<div>2023-10-14 15:41</div><p>正文。</p>", ZAOBAO)
    assert article.dateline == datetime(2023, 10, 14, 7, 41, tzinfo=UTC)


@pytest.mark.parametrize(
    ("html", "author"),
    [
        ('<div><span>作者：</span><a href="/cn/作者/夏榕/">夏榕</a></div>', "夏榕"),
        ("<p>记者：王小明</p>", "王小明"),
        ("<p>記者 陳大文</p>", "陳大文"),
        ("<p>By Jane Doe</p>", "Jane Doe"),
    ],
)
def test_byline_becomes_author(html: str, author: str) -> None:
    article = clean(f"<p>正文第一段。</p>{html}")
    assert article.author == author
    assert article.content == "<p>正文第一段。</p>"


def test_a_long_paragraph_starting_with_a_label_is_not_a_byline() -> None:
    text = "文化部今天宣布，" + "新的政策将在明年实施，" * 10
    article = clean(f"<p>{text}</p>")
    assert article.author is None
    assert "文化部今天宣布" in article.content


def test_figures_keep_their_captions() -> None:
    html = '<div class="figure-media"><img src="/a.jpg"></div><figcaption>图说</figcaption><p>正文。</p>'
    assert clean(html).content.startswith('<figure><img src="https://www.rfi.fr/a.jpg"><figcaption>图说</figcaption>')


def test_lists_quotes_and_emphasis_are_kept() -> None:
    html = "<ul><li>一</li><li>二</li></ul><blockquote><p><em>引</em><strong>文</strong></p></blockquote>"
    content = clean(html).content
    for kept in ["<ul>", "<li>一</li>", "<blockquote>", "<em>引</em>", "<strong>文</strong>"]:
        assert kept in content


def test_outlet_rules_from_the_config_apply_to_that_outlet_only(tmp_path) -> None:
    path = tmp_path / "feedtool.toml"
    path.write_text('[[outlet]]\nslug = "rfi"\nremove = [".promo"]\nremove_text = ["^更多新闻"]\n')
    config = load_config(path)
    cleaner = Cleaner(config.rules.clean)
    html = '<p>正文。</p><div class="promo">推广</div><p>更多新闻请看</p>'
    assert cleaner.clean(html, BASE, config.outlet("rfi")).content == "<p>正文。</p>"
    assert "推广" in cleaner.clean(html, BASE, config.outlet("zaobao")).content


def test_selectors_with_combinators_and_pseudo_classes_apply(tmp_path) -> None:
    path = tmp_path / "feedtool.toml"
    path.write_text("[clean]\nremove = ['div.box > span.ad', 'ul li:first-child', 'p:not(.keep) em']\n")
    cleaner = Cleaner(load_config(path).rules.clean)
    html = (
        '<div class="box"><span class="ad">推广内容</span>正文</div><span class="ad">别处的</span>'
        '<ul><li>第一</li><li>第二</li></ul><p>留<em>去</em></p><p class="keep">留<em>也留</em></p>'
    )
    content = cleaner.clean(html, BASE, RFI).content
    assert content == "<div>正文</div>\n别处的<ul><li>第二</li>\n</ul>\n<p>留</p>\n<p>留<em>也留</em></p>"


@pytest.mark.parametrize("end", ["</body>", "</html>", "</body></html>\n", "</BODY >"])
def test_content_after_a_stray_document_end_tag_is_kept(end: str) -> None:
    assert clean(f"<p>正文一。</p>{end}<p>正文二。</p>").content == "<p>正文一。</p>\n<p>正文二。</p>"


@pytest.mark.parametrize("html", ["", "   \n ", "<!-- 只有注释 -->"])
def test_an_empty_body_gives_an_empty_article(html: str) -> None:
    article = clean(html)
    assert (article.content, article.text, article.summary, article.author, article.image) == ("", "", "", None, None)


def test_attribute_order_does_not_change_the_content() -> None:
    first = clean('<p>文<a title="t" href="/x">链</a><img width="9" src="/i.jpg" alt="a"></p>').content
    second = clean('<p>文<a href="/x" title="t">链</a><img alt="a" src="/i.jpg" width="9"></p>').content
    assert first == second


def test_first_sentences_cut_at_a_sentence_end() -> None:
    text = "第一句话。" * 50 + "最后"
    summary = first_sentences(text)
    assert summary.endswith("。") and len(summary) <= 200
    assert first_sentences("短。") == "短。"
    assert first_sentences("长" * 500).endswith("…")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["<p>", "</p>", "<div>", "</div>", "<script>alert(1)</script>", '<a href="javascript:x()">',
             '<img src=x onerror=alert(1)>', "<iframe src=//e>", "</a>", "文字", "&lt;script&gt;", "<b>",
             "<style>*{}</style>", '<a href="/rel">', "<br>", "<!-- c -->", "]]>", "\x00", "<svg onload=x>"]
        ),
        max_size=40,
    )
)  # fmt: skip
def test_arbitrary_html_comes_out_safe_and_well_formed(parts: list[str]) -> None:
    content = clean("".join(parts)).content
    if content:
        tags = list(lxml_html.fragment_fromstring(content, create_parent="div").iter())
        assert not {t.tag for t in tags} & {"script", "style", "iframe", "svg"}
        for tag in tags:
            assert not any(attr.startswith("on") for attr in tag.attrib)
            assert not tag.get("href", "").lower().startswith("javascript")
    assert "\x00" not in content


def test_a_link_no_reader_could_follow_loses_its_address_and_the_article_stays() -> None:
    """A broken IPv6 host in one link of the article: the link's text stays, its address goes, as an
    image's does (an image without one, like one with an empty src, shows nothing)."""
    article = clean('<p>前文<a href="http://[::1/x">链接</a>后文。</p><img src="http://[::1">')
    assert article.content == '<p>前文<a rel="noopener noreferrer">链接</a>后文。</p>\n<img>'
    assert article.image is None
