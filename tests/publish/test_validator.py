"""Every published Atom and RSS document passes the W3C Feed Validation Service with no error or warning.

The validator's own code runs offline from ../shared/tools (beside the repository, in CI too).
Documents are checked against the address they are served at, so a wrong self link fails too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import generate
from helpers import SEEDS, dump, make_config, validate

from feedtool.build import build


def test_the_seeds_feeds_pass_the_w3c_validator(tmp_path: Path) -> None:
    config = make_config(tmp_path, [SEEDS])
    build(config)
    validate(config.output, "http://127.0.0.1:8000/")


# Dumps that once made invalid or warned-about documents, each beside the generated corpus. Each
# has its own time: the validator warns when two entries of a document have the same `updated`.
HOSTILE = {
    # Markup in a title: readers would render it; the title keeps its text only.
    "title-markup.txt": dump(
        title="<b>粗体</b> &amp; AT&T &lt;script&gt;alert(1)&lt;/script&gt; 标题",
        url="https://www.rfi.fr/cn/中国/20231014-markup",
        stamp="1697291101000",
    ),
    # A tag broken by a scraper: its pieces are text in the summary, escaped for RSS readers.
    "broken-tag.txt": dump(
        url="https://www.zaobao.com/news/china/story20231014-1",
        body="<p><strong>导语。<<section></section>/p> 里有 &lt;b&gt;假标签&lt;/b&gt;</strong></p><p>正文。</p>",
        stamp="1697291102000",
    ),
    # Images whose type the extension does not say, or says is not JPEG.
    "webp.txt": dump(
        url="https://www.rfa.org/mandarin/a.html", body='<p><img src="/i/x.webp">正文。</p>', stamp="1697291103000"
    ),
    "no-extension.txt": dump(
        url="https://example.org/news/1", body='<p><img src="/image?id=3">正文。</p>', stamp="1697291104000"
    ),
}


@pytest.mark.slow
def test_a_generated_corpus_with_archives_passes_the_w3c_validator(tmp_path: Path) -> None:
    """Every outlet style, re-scrapes, parts of busy months, and an empty topic feed, under a base URL with a path."""
    dumps = tmp_path / "dumps"
    generate(dumps, 300, seed=7)
    for name, text in HOSTILE.items():
        (dumps / name).write_text(text, "utf-8")
    extra = '[[topic]]\nslug = "empty"\ntitle = "Nothing yet"\nany = ["这个词不会出现"]\n'
    config = make_config(tmp_path, [dumps], max_items=10, archive_items=8, extra=extra)
    build(config, workers=1)
    base = "https://feeds.example.org/news/"
    config = make_config(
        tmp_path, [dumps], max_items=10, archive_items=8, extra=extra + f'[site]\nbase_url = "{base}"\n'
    )
    build(config, workers=1)
    assert list(config.output.glob("*/*/archive/*/*/atom.xml")), "no month was cut into parts"
    assert (config.output / "topics" / "empty" / "rss.xml").is_file()
    validate(config.output, base)
