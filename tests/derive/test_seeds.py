"""The five real dumps in seeds/ come out with the right fields (the values the normaliser issue lists)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import SEEDS

from feedtool.derive.normalise import Normaliser
from feedtool.models import Entry


def entry(normaliser: Normaliser, prefix: str) -> Entry:
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    result = normaliser.file(path.read_bytes(), str(path))
    assert isinstance(result, Entry), result
    return result


@pytest.mark.parametrize(
    ("prefix", "published"),
    [
        ("000", datetime(2023, 10, 14, 13, 45, 2, tzinfo=UTC)),
        ("001", datetime(2023, 12, 6, 15, 45, 3, tzinfo=UTC)),
        ("002", datetime(2022, 11, 1, 0, 41, 0, tzinfo=UTC)),
        ("003", datetime(2023, 10, 28, 10, 15, 1, tzinfo=UTC)),
        ("004", datetime(2023, 10, 28, 18, 35, 6, 220000, tzinfo=UTC)),
    ],
)
def test_published_dates_are_utc_from_the_best_source(normaliser: Normaliser, prefix: str, published: datetime) -> None:
    assert entry(normaliser, prefix).published == published


@pytest.mark.parametrize(
    ("prefix", "outlet", "name", "title"),
    [
        ("000", "rfi", "法广 RFI", "美国敦促中国利用影响促进缓解巴以危机 北京促华盛顿采负责任做法"),
        ("001", "rfi", "法广 RFI", "王毅与布林肯通电话 聚焦加沙战事和台湾问题 - 要闻解说"),
        ("002", "zaobao", "联合早报", "美国务院：布林肯王毅对话富有成效 不排除G20前再通话"),
        ("004", "rfa", "自由亚洲电台", "美国务院发言人谈布林肯国务卿与中国外长王毅会面"),
    ],
)
def test_outlet_and_title(normaliser: Normaliser, prefix: str, outlet: str, name: str, title: str) -> None:
    e = entry(normaliser, prefix)
    assert (e.outlet, e.outlet_name, e.title, e.language) == (outlet, name, title, "zh-CN")


def test_byline_becomes_the_author_and_leaves_the_content(normaliser: Normaliser) -> None:
    e = entry(normaliser, "001")
    assert e.author == "夏榕"
    assert "作者" not in e.content and "夏榕" not in e.content


def test_outlet_name_in_front_matter_is_not_an_author_or_tag(normaliser: Normaliser) -> None:
    e = entry(normaliser, "002")
    assert e.author is None
    assert e.tags == ()


def test_rfi_lead_paragraph_is_the_summary(normaliser: Normaliser) -> None:
    e = entry(normaliser, "003")
    assert (
        e.summary
        == "美国总统拜登周五与中国外交部长王毅会晤，呼吁中国与美国合作“负责任”处理两国关系并且“共同应对全球挑战”。"
    )


def test_summary_without_a_lead_is_whole_sentences_of_about_200_characters(normaliser: Normaliser) -> None:
    e = entry(normaliser, "004")
    assert e.summary.startswith("10月26日至27日，美国国务卿安东尼·布林肯")
    assert e.summary.endswith("。")
    assert 100 <= len(e.summary) <= 200


@pytest.mark.parametrize("prefix", ["000", "001", "003"])
def test_rfi_clutter_is_gone(normaliser: Normaliser, prefix: str) -> None:
    content = entry(normaliser, prefix).content
    for clutter in ["分享", "facebook", "whatsapp", "x.com/intent", "share-button", "share-modal", "获取更多RSS",
                    "feedx", "selfpromo", "<hr", "<br", "style=", "class=", "/2023 - "]:  # fmt: skip
        assert clutter not in content, clutter


def test_rfi_date_line_is_removed_from_content(normaliser: Normaliser) -> None:
    assert "14/10/2023" not in entry(normaliser, "000").content


def test_zaobao_ads_paywall_and_lazy_image(normaliser: Normaliser) -> None:
    e = entry(normaliser, "002")
    for clutter in ["dfp-ad", "imu", "innity", "paywall", "lazyload", "data-src", "class=", "id="]:
        assert clutter not in e.content, clutter
    assert e.image is not None and e.image.startswith("https://static.zaobao.com/")
    assert "<figure><img" in e.content and "<figcaption>王毅（右）" in e.content


def test_rfa_zoom_widget_is_gone_and_caption_kept(normaliser: Normaliser) -> None:
    e = entry(normaliser, "004")
    assert "icon-zoom" not in e.content and "路透社图片" not in e.content and "fancybox" not in e.content
    assert "<figcaption>布林肯对中国在新疆" in e.content
    assert (
        e.image
        == "https://www.rfa.org/mandarin/Xinwen/6-10282023125450.html/@@images/2fa52236-00b5-426b-ba29-d1f92a88720f.jpeg"
    )


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_full_text_is_kept(normaliser: Normaliser, prefix: str) -> None:
    """Every paragraph of the article survives: the last one of each seed is still there."""
    last = {
        "000": "法新社称，美国官方证实布林肯今天与王毅通话。",
        "001": "他肯定基辛格留下的外交遗产。",
        "002": "双方应在共同关心的领域寻求合作与协调。",
        "003": "以及关注被“不公平拘留”的美国人。",
        "004": "双方重申致力于在一系列问题上保持开放的沟通渠道。",
    }[prefix]
    assert last in entry(normaliser, prefix).content


def test_ids_are_canonical_urls(normaliser: Normaliser) -> None:
    assert entry(normaliser, "002").id == "https://www.zaobao.com/realtime/china/story20221101-1328512"
    assert entry(normaliser, "000").id.startswith("https://www.rfi.fr/cn/%E4%B8%AD%E4%B8%9C/20231014-")
