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


def test_config_extends_tracking_parameters_and_aliases(tmp_path) -> None:
    path = tmp_path / "feedtool.toml"
    path.write_text('[urls]\ntracking_params = ["ref"]\nhost_aliases = { "mirror.example" = "example.com" }\n')
    canon = Canonicaliser(load_config(path).rules)
    assert canon.canonicalise("https://www.mirror.example/a?ref=x&id=1") == "https://www.example.com/a?id=1"


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
