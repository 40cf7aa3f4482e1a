"""A generator of dump corpora modelled on the seeds, for the benchmark and the tests.

Six outlets and an unknown one, both dump styles, bodies with the real clutter (share bars,
ad slots, promo footers, lazy images, date lines, bylines), about 15% of articles scraped again
under URL variants (http, tracking tags, fragments, escapes in the other case or raw Unicode,
mirror hosts, the other dump style, sometimes with edited text), and about 1% malformed dumps.
Deterministic for a given seed; file mtimes are the scrape times, so merges are reproducible,
and files are kept in a folder per day of scraping (YYYY/MM/DD), as archivers keep them, or with
`--flat` all in the one folder, as a scraper that writes one folder does (the seeds' feedx style):
then every run of the scraper moves that folder's mtime, and a build lists all of it.

    python bench/corpus.py OUT_FOLDER --articles 20000 --seed 1 [--flat]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

NEUTRAL = [
    "欧洲央行宣布维持利率不变。",
    "日本首相访问东南亚三国，加强经济合作。",
    "专家认为，全球经济复苏仍面临不确定性。",
    "香港立法会通过新的法案。",
    "新加坡政府公布新的住房政策。",
    "气候变化会议在迪拜举行，各国代表出席。",
    "俄罗斯与乌克兰的战事进入第三年。",
    "中國外交部發言人在例行記者會上回答提問。",
    "印度尼西亚举行大选，投票率创新高。",
    "韩国央行调降经济增长预期。",
    "世界卫生组织发布新的健康指南。",
    "澳大利亚山火造成大面积损失。",
    "巴西总统出席金砖国家峰会。",
    "Analysts expect markets to remain volatile this quarter.",
]
# Sentences that put an article in one of the starter config's topics, in both scripts.
TOPICAL = {
    "us-china": [
        "美国国务卿布林肯与中国外长王毅通电话，讨论双边关系。",
        "White House officials said Blinken would travel to Beijing.",
        "中美關係出現緩和跡象。",
    ],
    "middle-east": ["以色列与哈马斯的冲突持续，加沙人道主义危机加剧。", "伊朗表示将继续支持巴勒斯坦。"],
    "taiwan": ["台湾海峡局势受到国际社会关注。", "臺灣問題是國際關注的議題。"],
}
TITLE_WORDS = [
    "中美",
    "外长",
    "通话",
    "会晤",
    "加沙",
    "停火",
    "台海",
    "经济",
    "峰会",
    "选举",
    "臺灣",
    "制裁",
    "合作",
    "危机",
]
AUTHORS = ["夏榕", "王小明", "陈大文", "李四", "Anna Chen"]


@dataclass(frozen=True)
class OutletStyle:
    slug: str
    host: str
    mirror: str | None
    front_matter: str | None  # the outlet name written in front matter, None for the bare style
    timezone: str
    path: str


OUTLETS = [
    OutletStyle("rfi", "www.rfi.fr", None, None, "Europe/Paris", "/cn/中国/{d:%Y%m%d}-{slug}"),
    OutletStyle("zaobao", "www.zaobao.com", "www.zaobao.com.sg", "联合早报", "Asia/Singapore",
                "/realtime/china/story{d:%Y%m%d}-{n}"),
    OutletStyle("rfa", "www.rfa.org", None, "自由亚洲电台", "America/New_York",
                "/mandarin/Xinwen/6-{d:%m%d%Y}{n:06d}.html"),
    OutletStyle("bbc", "www.bbc.com", None, None, "Europe/London", "/zhongwen/simp/world-{n}"),
    OutletStyle("dw", "www.dw.com", None, "德国之声", "Europe/Berlin", "/zh/新闻/a-{n}"),
    OutletStyle("voa", "www.voachinese.com", None, None, "America/New_York", "/a/{n}.html"),
    OutletStyle("example-news-com", "news.example-news.com", None, "Example News", "UTC", "/story/{n}"),
]  # fmt: skip


@dataclass
class Manifest:
    """What a generated corpus holds, for checking a build against."""

    articles: dict[str, str] = field(default_factory=dict)  # a key per article -> its outlet slug
    files: int = 0
    rescrapes: int = 0
    malformed: int = 0
    titles: dict[str, str] = field(default_factory=dict)  # key -> title


def _body(rng: random.Random, style: OutletStyle, when: datetime, author: str | None, image: str) -> str:
    pool = list(NEUTRAL)
    for sentences in TOPICAL.values():
        if rng.random() < 0.2:
            pool += sentences
    paragraphs = "".join(f"<p>{''.join(rng.sample(pool, 2))}</p>" for _ in range(rng.randint(4, 12)))
    local = when.astimezone(ZoneInfo(style.timezone))
    lead = f"<p><strong>{rng.choice(pool)}</strong></p>"
    share = (
        '<div><div>分享 :</div><div><a href="https://www.facebook.com/dialog/share?app_id=1&amp;href=x">'
        '<span></span></a><a href="whatsapp://send?text=x"><span></span></a>'
        "<span data-root-share><share-button></share-button></span></div></div>"
    )
    promo = '<br><hr><div>获取更多RSS：<br><a href="https://feedx.net" style="color:orange">https://feedx.net</a></div>'
    byline = f'<div><span>作者：</span><a href="/cn/作者/{author}/">{author}</a></div>' if author else ""
    if style.slug == "rfi":
        return (f"<div>{local:%d/%m/%Y - %H:%M}</div><img src=\"{image}\">{lead}<div>{paragraphs}"
                f"<div data-selfpromo-newsletter></div></div>{share}{byline}{promo}")  # fmt: skip
    if style.slug == "zaobao":
        return (f'<div><div class="figure-media"><img class="lazyload" data-src="{image}"'
                f' src="data:image/gif;base64,R0l"></div><figcaption>图片说明</figcaption>{paragraphs[:200]}'
                f'<section id="imu"><div id="dfp-ad-imu1"></div></section>{paragraphs[200:]}'
                f'<div class="cx_paywall_placeholder"></div>{byline}</div>')  # fmt: skip
    if style.slug == "rfa":
        return (f'<div><img src="{image}"><span class="lead_image_caption">说明</span><div id="zoomattribute">'
                f'<img src="https://www.rfa.org/++plone++rfa-resources/img/icon-zoom.png"></div>{paragraphs}'
                f'<p style="font-weight: 400;">责编：梒青</p></div>')  # fmt: skip
    return f'<div><img src="{image}">{lead}{paragraphs}{byline}<script>track()</script>{share}</div>'


def _dump(style: OutletStyle, title: str, url: str, body: str, when: datetime, *, front_matter: bool,
          stamp: str, rng: random.Random) -> str:  # fmt: skip
    text = ""
    if front_matter:
        name = style.front_matter or style.slug
        tags = rng.choice(["", "外交"])
        text += (f'---\nlayout: post\ntitle: "{title}"\ndate: {when:%Y-%m-%dT%H:%M:%S.000Z}\nauthor: {name}\n'
                 f"from: {url}\ntags: [ {name}{', ' + tags if tags else ''} ]\ncomments: True\n"
                 f"categories: [ {name} ]\n---\n")  # fmt: skip
    return text + f"<!--{stamp}-->\n[{title}]({url})\n------\n\n{body}\n"


def _variant(rng: random.Random, style: OutletStyle, url: str) -> str:
    """The same article URL as another scrape might have written it."""
    choice = rng.randrange(6)
    if choice == 0:
        return url.replace("https://", "http://", 1)
    if choice == 1:
        return url + ("&" if "?" in url else "?") + "utm_source=rss&utm_medium=feed"
    if choice == 2:
        return url + "#comments"
    if choice == 3 and "%" in url:
        return url.replace("%E4", "%e4").replace("%B8", "%b8")
    if choice == 4 and style.mirror:
        return url.replace(style.host, style.mirror, 1)
    return url.replace(style.host, style.host.upper(), 1)


MALFORMED = [
    b"",
    b"\x00\x01\x02binary\xff\xfe",
    "<!--1697291102000-->\n<p>没有标题行</p>\n".encode(),
    "<!--1697291102000-->\n[点我](javascript:alert(1))\n------\n<p>x</p>\n".encode(),
    "<!--1697291102000-->\n[相对链接](/cn/relative)\n------\n<p>x</p>\n".encode(),
    b"<!--1697291102000-->\n[   ](https://www.rfi.fr/cn/no-title)\n------\n<p>x</p>\n",
]


def generate(
    folder: Path, articles: int, seed: int = 1, *, start: int = 0, rescrape_of: int = 0, flat: bool = False
) -> Manifest:
    """Write `articles` new articles numbered from `start`; plus re-scrapes of `rescrape_of` older ones.

    In day folders, or all in `folder` when `flat`: the same files under the same names either way."""
    rng = random.Random(seed * 1_000_003 + start)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest()
    epoch = datetime(2023, 1, 1, tzinfo=UTC)
    file_no = 0

    def write(data: bytes, mtime: datetime) -> None:
        nonlocal file_no
        name = f"{start:07d}_{file_no:07d}_{hashlib.sha1(data).hexdigest()[:16]}.txt"
        day = folder if flat else folder / f"{mtime:%Y/%m/%d}"  # by the day it was scraped, as archivers file them
        day.mkdir(parents=True, exist_ok=True)
        path = day / name
        path.write_bytes(data)
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
        file_no += 1
        manifest.files += 1

    def article(n: int) -> tuple[OutletStyle, str, str, datetime, str | None, str]:
        r = random.Random(seed * 7919 + n)
        style = OUTLETS[n % len(OUTLETS)]
        # The first batch spreads over two years; a later batch is news: the days after it.
        span = 2 * 365 * 86400 if n < start or start == 0 else 2 * 86400
        when = epoch + timedelta(seconds=r.randrange(span) + (2 * 365 * 86400 if n >= start > 0 else 0))
        title = "".join(r.sample(TITLE_WORDS, 4)) + f" 第{n}号"
        slug = quote(f"{title[:6]}-{n}")
        url = f"https://{style.host}" + style.path.format(d=when, n=n, slug=slug)
        url = quote(url, safe=":/%?=&-")
        author = r.choice(AUTHORS) if r.random() < 0.4 else None
        image = f"https://img.example-cdn.com/{style.slug}/{n}.jpg"
        return style, title, url, when, author, image

    for n in range(start, start + articles):
        style, title, url, when, author, image = article(n)
        body = _body(random.Random(seed * 31 + n), style, when, author, image)
        stamp = "NaN" if style.slug == "rfa" else str(int(when.timestamp() * 1000))
        scraped = when + timedelta(minutes=rng.randrange(5, 600))
        data = _dump(style, title, url, body, when, front_matter=style.front_matter is not None, stamp=stamp, rng=rng)
        write(data.encode(), scraped)
        manifest.articles[url] = style.slug
        manifest.titles[url] = title
        if rng.random() < 0.15:
            for _ in range(rng.randint(1, 3)):
                edited = body.replace("</p>", "（更新）</p>", 1) if rng.random() < 0.3 else body
                again = _dump(style, title, _variant(rng, style, url), edited, when,
                              front_matter=rng.random() < 0.5, stamp=stamp, rng=rng)  # fmt: skip
                write(again.encode(), scraped + timedelta(hours=rng.randint(1, 48)))
                manifest.rescrapes += 1
        if rng.random() < 0.01:
            write(rng.choice(MALFORMED), scraped)
            manifest.malformed += 1
    for n in rng.sample(range(start), min(rescrape_of, start)) if start else []:
        style, title, url, when, author, image = article(n)
        body = _body(random.Random(seed * 31 + n), style, when, author, image)  # the same text as first scraped
        if rng.random() < 0.3:
            body = body.replace("</p>", "（更新）</p>", 1)
        stamp = "NaN" if style.slug == "rfa" else str(int(when.timestamp() * 1000))
        again = _dump(style, title, _variant(rng, style, url), body, when, front_matter=True, stamp=stamp, rng=rng)
        write(again.encode(), when + timedelta(days=3))
        manifest.rescrapes += 1
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0, help="number the new articles from here")
    parser.add_argument("--rescrape-of", type=int, default=0, help="also re-scrape this many older articles")
    parser.add_argument("--flat", action="store_true", help="every dump in the one folder, not a folder per day")
    args = parser.parse_args()
    m = generate(args.folder, args.articles, args.seed, start=args.start, rescrape_of=args.rescrape_of, flat=args.flat)
    print(f"{len(m.articles)} articles in {m.files} files ({m.rescrapes} re-scrapes, {m.malformed} malformed)")


if __name__ == "__main__":
    main()
