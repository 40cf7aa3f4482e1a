"""Dumps in legacy encodings come out exactly right, or are rejected with a reason: never mojibake.

Every text here is a real article's, as a dump would hold it: the seeds (simplified Chinese), the
seeds in Taiwan's traditional characters (the text of a Big5 page), and paragraphs of Japanese,
Korean and French news.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import opencc
import pytest
from helpers import SEEDS, dump, make_config
from hypothesis import given, settings
from hypothesis import strategies as st

from feedtool.build import build
from feedtool.derive.dump import decode, parse_dump
from feedtool.errors import Rejected
from feedtool.store import Store

URL = "https://www.cna.com.tw/news/aopl/202310140012.aspx"
SIMPLIFIED = (SEEDS / "001_46e50146a1d95ecb.txt").read_text("utf-8")
TRADITIONAL = opencc.OpenCC("s2tw").convert(SIMPLIFIED)
JAPANESE = dump(
    title="米国務長官が中国外相と電話会談",
    url="https://www3.nhk.or.jp/news/html/20231014/k10014226211000.html",
    body="<div><p>ブリンケン米国務長官は14日、中国の王毅外相と電話で会談し、中東情勢をめぐって意見を交わしました。"
    "国務省によりますと、ブリンケン長官は、イスラム組織ハマスによるイスラエルへの攻撃を非難し、"
    "事態の拡大を防ぐため中国が影響力を行使するよう求めたということです。</p>"
    "<p>一方、中国外務省によりますと、王外相は、パレスチナ問題の根本的な解決策は「2国家共存」の実現だと強調しました。</p></div>",
)
KOREAN = dump(
    title="블링컨 美국무, 왕이 中외교부장과 통화…중동 정세 논의",
    url="https://www.yna.co.kr/view/AKR20231014034300071",
    body="<div><p>토니 블링컨 미국 국무장관은 14일 왕이 중국 공산당 중앙외사판공실 주임 겸 외교부장과 전화 통화를 하고 "
    "이스라엘과 하마스 간 전쟁 등 중동 정세를 논의했다고 국무부가 밝혔다.</p>"
    "<p>블링컨 장관은 통화에서 하마스의 테러 공격을 규탄하고 분쟁이 확산하지 않도록 중국이 영향력을 행사해 달라고 "
    "요청한 것으로 전해졌다.</p></div>",
)
FRENCH = dump(
    title="Antony Blinken s’entretient avec Wang Yi : « éviter l’escalade »",
    url="https://www.rfi.fr/fr/monde/20231014-blinken-wang-yi",
    body="<div><p>Le secrétaire d’État américain a appelé samedi son homologue chinois, Wang Yi, à œuvrer pour "
    "éviter une extension du conflit au Proche-Orient. « Nous pensons qu’il est dans l’intérêt de la Chine "
    "d’user de son influence », a déclaré un porte-parole. Le coût de l’aide humanitaire dépasse déjà "
    "100 millions d’€.</p><p>Pékin a de son côté réaffirmé son soutien à une solution à deux États.</p></div>",
)

GREEK = dump(
    title="Μπλίνκεν: συνομιλία με τον Ουάνγκ Γι",
    url=URL,
    body="<p>Ο υπουργός Εξωτερικών των ΗΠΑ Άντονι Μπλίνκεν συνομίλησε το Σάββατο με τον Κινέζο ομόλογό του "
    "Ουάνγκ Γι. Κάλεσε την Κίνα να χρησιμοποιήσει την επιρροή της για να αποτραπεί η εξάπλωση της σύγκρουσης "
    "στη Μέση Ανατολή.</p>",
)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (TRADITIONAL, "big5"),
        (SIMPLIFIED, "gbk"),
        (SIMPLIFIED + "<p>𠀀 — 粤语：佢哋</p>", "gb18030"),  # outside GBK: four-byte GB18030 sequences
        (JAPANESE, "shift_jis"),
        (KOREAN, "euc-kr"),
        (FRENCH.replace("<div>", '<div><meta charset="windows-1252">'), "windows-1252"),  # see below
        (TRADITIONAL, "utf-16"),  # Python writes the byte-order mark
        (SIMPLIFIED, "utf-16-be"),  # with the mark written by hand below
        (SIMPLIFIED, "utf-8-sig"),
    ],
)
def test_a_dump_in_a_legacy_encoding_is_read_exactly(text: str, encoding: str) -> None:
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    assert decode(data) == text


@pytest.mark.parametrize("encoding", ["big5", "gbk", "shift_jis", "euc-kr", "windows-1252"])
def test_a_short_dump_with_a_declared_charset_is_read_as_declared(encoding: str) -> None:
    """Too short to detect, but the page says what it is."""
    title = {"big5": "台灣問題", "gbk": "台湾问题", "shift_jis": "電話", "euc-kr": "통화", "windows-1252": "Café"}
    text = dump(title=title[encoding], url=URL, body=f'<meta charset="{encoding}"><p>x</p>')
    assert parse_dump(text.encode(encoding), "x.txt").title == title[encoding]


def test_a_legacy_label_reads_as_its_superset() -> None:
    """Pages labelled gb2312 use GBK's characters, as browsers read them (the WHATWG Encoding Standard)."""
    text = dump(
        title="镕基与喆", url=URL, body='<meta http-equiv="Content-Type" content="text/html; charset=gb2312"><p>x</p>'
    )
    assert parse_dump(text.encode("gbk"), "x.txt").title == "镕基与喆"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (dump(title="台湾问题", url=URL).encode("gbk"), "too little non-ASCII text"),  # or Big5 mojibake?
        (dump(title="美國國務卿", url=URL).encode("big5"), "too little non-ASCII text"),
        ("'²".encode("gb18030"), "too little non-ASCII text"),  # reads as fine Russian: 'Б0Е5
        (GREEK.encode("cp1253"), "reads as cp1253 or as iso8859_7"),  # the two put Ά at different bytes
        # One-byte code pages differ in a few letters (œuvrer, śuvrer); only a declaration tells them apart.
        (FRENCH.encode("windows-1252"), "reads as cp1252 or as cp1250"),
        (bytes(range(128, 256)) * 4, "no other encoding fits its bytes"),
        (b"\x00\x01\x02\xff\xfe\x00binary", "not a text file: it holds NUL bytes"),
        (
            "<!--1-->\n[标题](https://a.example/)\n------\n<p>正文</p>".encode("utf-16-le"),
            "read only with a byte-order",
        ),
    ],
)
def test_bytes_no_encoding_tells_apart_are_rejected_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(Rejected) as info:
        decode(data)
    assert why in info.value.reason


# How browsers decode pages labelled so (the WHATWG Encoding Standard), where Python's codec differs.
AS_BROWSERS_READ = {"big5": "big5hkscs", "gbk": "gb18030", "shift_jis": "cp932", "euc-kr": "cp949"}


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["big5", "gbk", "gb18030", "shift_jis", "euc-kr", "windows-1252", "utf-16"]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200),
)
def test_any_text_is_read_exactly_or_refused(encoding: str, text: str) -> None:
    """Declared, a dump is read exactly; undeclared, it is read exactly or refused, never read as other text."""
    declared = dump(title="x", url=URL, body=f'<meta charset="{encoding}">{text}')
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    try:
        data.decode("utf-8")
        return  # bytes that are valid UTF-8 are UTF-8 (scrapers save pages so, keeping the old <meta charset>)
    except UnicodeDecodeError:
        pass
    if data.decode(AS_BROWSERS_READ.get(encoding, encoding)) != text:
        return  # Python's shift_jis writes ¢ as bytes every browser reads as ￠: no page holds this text
    assert decode(declared.encode(encoding)) == _lines(declared)
    try:
        read = decode(data)
    except Rejected:
        return
    assert read == _lines(text)


def test_a_big5_dump_is_published_with_its_title_intact(tmp_path: Path) -> None:
    """The case that once published 瓣瓣叭ガ狶籔い瓣驾硄筿杠: a CNA article saved in Big5."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    title = "美國國務卿布林肯與中國外長王毅通電話"
    cna = TRADITIONAL.replace("[", f"[{title}](https://www.cna.com.tw/news/aopl/202310140012.aspx)\n[", 1)
    cna = cna[cna.index(f"[{title}]") :]
    (dumps / "cna.txt").write_bytes(cna.encode("big5"))
    (dumps / "short.txt").write_bytes(dump(title="台湾问题", url=URL).encode("gbk"))
    config = make_config(tmp_path, [dumps])
    report = build(config)
    assert (report.ingest.counts.new, report.ingest.counts.rejected) == (1, 1)
    feed = json.loads((config.output / "all" / "feed.json").read_text("utf-8"))
    assert [item["title"] for item in feed["items"]] == [title]
    assert "布林肯" in feed["items"][0]["content_html"]
    with Store(config.store, root=config.root) as store:
        ((path, reason),) = store.rejects()
    assert path.endswith("short.txt") and "cannot tell its encoding" in reason


def _sentences(text: str) -> list[str]:
    return [
        s
        for s in re.split(r"(?<=[。！？.!?])", re.sub(r"<[^>]+>|\[|\]\([^)]*\)|<!--\d+-->|-{6}", " ", text))
        if s.strip()
    ]


LANGUAGES = {
    "big5": _sentences(TRADITIONAL),
    "gbk": _sentences(SIMPLIFIED),
    "gb18030": _sentences(SIMPLIFIED),
    "shift_jis": _sentences(JAPANESE),
    "euc-kr": _sentences(KOREAN),
    "windows-1252": _sentences(FRENCH),
}


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_real_sentences_in_any_order_are_read_exactly_or_refused(data: st.DataObject) -> None:
    """Undeclared dumps of real text, in any amount and order: exact, or refused, never other text."""
    encoding = data.draw(st.sampled_from(sorted(LANGUAGES)))
    chosen = data.draw(st.lists(st.sampled_from(LANGUAGES[encoding]), min_size=1, max_size=12))
    text = dump(title=chosen[0].strip()[:40] or "x", url=URL, body="<p>" + "</p><p>".join(chosen) + "</p>")
    try:
        read = decode(text.encode(encoding))
    except Rejected:
        return
    assert read == text
