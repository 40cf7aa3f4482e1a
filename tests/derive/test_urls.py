"""URL identity: every variant a scraper produces of one article URL has one canonical form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from feedtool.config import load_config
from feedtool.derive.urls import Canonicaliser
from feedtool.errors import Rejected

CANON = Canonicaliser(load_config(None).rules)
ARTICLE = "https://www.rfi.fr/cn/%E4%B8%AD%E4%B8%9C/20231014-%E7%BE%8E%E5%9B%BD"


@pytest.mark.parametrize(
    "variant",
    [
        ARTICLE,
        "http://www.rfi.fr/cn/%E4%B8%AD%E4%B8%9C/20231014-%E7%BE%8E%E5%9B%BD",
        "https://www.rfi.fr/cn/%e4%b8%ad%e4%b8%9c/20231014-%e7%be%8e%e5%9b%bd",
        "https://www.rfi.fr/cn/中东/20231014-美国",
        "https://WWW.RFI.FR:443/cn/中东/20231014-美国",
        "http://www.rfi.fr:80/cn/中东/20231014-美国#comments",
        "https://www.rfi.fr/cn/中东/20231014-美国?utm_source=rss&utm_medium=feed&xtor=RSS-1",
        "https://www.rfi.fr/cn/中东/20231014-美国?fbclid=abc&gclid=def&spm=1.2",
        "https://www.rfi.fr/cn/中东/20231014-美国?from=rss",
        "https://www.rfi.fr./cn/中东/20231014-美国",
    ],
)
def test_variants_share_one_identity(variant: str) -> None:
    assert CANON.canonicalise(variant) == ARTICLE


def test_mirror_hosts_fold_into_the_outlet() -> None:
    assert CANON.canonicalise("https://www.zaobao.com.sg/realtime/china/story1") == (
        "https://www.zaobao.com/realtime/china/story1"
    )


def test_meaningful_query_is_kept_and_sorted() -> None:
    assert CANON.canonicalise("https://a.com/x?b=2&from=app&a=1") == "https://a.com/x?a=1&b=2&from=app"


def test_unreserved_escapes_are_decoded_and_other_ports_kept() -> None:
    assert CANON.canonicalise("http://a.com:8080/%7Euser/%2D") == "https://a.com:8080/~user/-"


# Articles of English, French and German outlets as shared, fed or mailed, and each one's address
# without its tracking.
SHARED = [
    ("https://www.theguardian.com/world/2024/mar/01/gaza-aid?CMP=share_btn_tw", ""),
    ("https://www.theguardian.com/world/2024/mar/01/gaza-aid?cmp=share_btn_fb&fbclid=IwAR0xYz", ""),
    ("https://www.bbc.com/news/world-europe-68441238?at_medium=RSS&at_campaign=KARANGA", ""),
    ("https://www.bbc.com/news/uk-68441238?ns_mchannel=social&ns_source=twitter&ns_campaign=bbc&ocid=sf", ""),
    ("https://www.nytimes.com/2024/03/01/world/europe/navalny.html?smid=nytcore-ios-share", ""),
    ("https://www.nytimes.com/2024/03/01/world/europe/navalny.html?partner=rss&emc=rss", ""),
    ("https://www.dailymail.co.uk/news/article-13147657/x.html?ITO=1490&ns_mchannel=rss&ns_campaign=1490", ""),
    ("https://www.washingtonpost.com/world/2024/03/01/haiti/?itid=hp-top-table-main&wpisrc=nl_today", ""),
    ("https://www.reuters.com/world/x-2024-03-01/?utm_source=newsletter&mc_cid=8a1b&mc_eid=77c2", ""),
    ("https://apnews.com/article/x-9e1?gclid=Cj0K&dclid=CJ4&msclkid=5f1&yclid=123&twclid=2-7y&_ga=2.1.2", ""),
    ("https://www.npr.org/2024/03/01/x?igshid=MzRlODBiNWFlZA%3D%3D&icid=ios&s_cid=soc&WT.mc_id=tw", ""),
    ("https://edition.cnn.com/2024/03/01/world/x/index.html?ref_src=twsrc%5Etfw&ref_url=https%3A%2F%2Ft.co", ""),
    ("https://www.lemonde.fr/international/article/2024/03/01/x_6219573_3210.html?xtor=RSS-3208", ""),
    ("https://www.lemonde.fr/international/article/2024/03/01/x_6219573_3210.html?at_custom1=post&at_platform=x", ""),
    ("https://www.liberation.fr/international/europe/x-20240301_ABCD/?xtor=rss-450", ""),
    ("https://www.francetvinfo.fr/monde/x_6398877.html?at_medium=RSS&at_campaign=google#xtor=RSS-3", ""),
    ("https://www.spiegel.de/ausland/x-a-1d5b12a1?sara_ref=re-so-app-sh", ""),
    ("https://www.spiegel.de/ausland/x-a-1d5b12a1?sara_ecid=soci_upd_wbMbjhOSvViISjc8RPU89NcCvtlFcJ", ""),
    ("https://www.zeit.de/politik/ausland/2024-03/x?wt_zmc=sm.ext.zonaudev.twitter&utm_medium=sm", ""),
    ("https://www.heise.de/news/x-9641234.html?wt_mc=rss.red.ho.ho.atom.beitrag.beitrag", ""),
    ("https://www.faz.net/aktuell/politik/x-19555555.html?GEPC=s5&seite=2", "?seite=2"),
    ("https://www.dw.com/de/x/a-68412345?maca=de-rss-de-all-1119-rdf", ""),
    ("https://www.tagesschau.de/ausland/x-100.html?FBCLID=abc&UTM_SOURCE=x&id=7", "?id=7"),
]


@pytest.mark.parametrize(("address", "kept"), SHARED)
def test_outlets_tracking_in_any_language_never_changes_identity(address: str, kept: str) -> None:
    """The parameters their own outlets and the platforms they are shared on add, in any case;
    what the article's address needs (a page, an id) stays."""
    article = address.split("?")[0].replace("http://", "https://")
    assert CANON.canonicalise(address) == article + kept


def _with(rule: str) -> str:
    """A query parameter the rule drops: a prefix given a name, a pair as written, a name a value."""
    return rule[:-1] + "id=1" if rule.endswith("*") else rule if "=" in rule else rule + "=1"


@pytest.mark.parametrize("rule", load_config(None).rules.tracking_params)
def test_every_listed_tracking_parameter_is_dropped(rule: str) -> None:
    for address in ("https://www.theguardian.com/uk-news/a", "https://www.lemonde.fr/a.html", "https://www.zeit.de/a"):
        assert CANON.canonicalise(f"{address}?{_with(rule)}&page=2") == f"{address}?page=2"


def test_config_extends_tracking_parameters_and_aliases(tmp_path) -> None:
    path = tmp_path / "feedtool.toml"
    path.write_text(
        '[urls]\ntracking_params = ["ref", "src_*", "via=home"]\nhost_aliases = { "mirror.example" = "example.com" }\n'
    )
    canon = Canonicaliser(load_config(path).rules)
    assert canon.canonicalise("https://www.mirror.example/a?ref=x&id=1") == "https://www.example.com/a?id=1"
    assert canon.canonicalise("https://example.com/a?SRC_list=x&via=home&CMP=x") == "https://example.com/a"
    assert canon.canonicalise("https://example.com/a?via=app") == "https://example.com/a?via=app"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "mailto:a@b.c", "data:text/html,x", "//a.com/x", "/x"])
def test_non_http_urls_are_rejected(url: str) -> None:
    with pytest.raises(Rejected):
        CANON.canonicalise(url)


@settings(max_examples=300, deadline=None)
@given(urls())
def test_canonical_form_is_stable(url: str) -> None:
    """Canonicalising twice changes nothing, and the result is always an https URL."""
    try:
        once = CANON.canonicalise(url)
    except Rejected:
        return
    assert once.startswith("https://")
    assert CANON.canonicalise(once) == once


@settings(max_examples=200, deadline=None)
@given(urls(), st.sampled_from(["#top", "?utm_source=x", "?utm_campaign=a&fbclid=b"]))
def test_tracking_and_fragments_never_change_identity(url: str, suffix: str) -> None:
    base = url.split("#")[0].split("?")[0]
    try:
        expected = CANON.canonicalise(base)
    except Rejected:
        return
    assert CANON.canonicalise(base + suffix) == expected
