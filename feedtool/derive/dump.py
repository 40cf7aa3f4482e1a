"""One dump file -> a Dump: the parts of the file, decoded and split, nothing yet cleaned.

A dump looks like this (the front matter is optional, so is the comment):

    ---
    title: "..."
    date: 2022-11-01T00:41:00.000Z
    from: https://...
    ---
    <!--1667263260000-->
    [title](url)
    ------
    <div>the article HTML, as scraped</div>

Every way a file can fail to be a dump raises Rejected with a reason a person understands.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from feedtool.derive.dates import plausible
from feedtool.derive.urls import check_http_url
from feedtool.errors import Rejected
from feedtool.models import Dump

# Characters XML 1.0 forbids (or discourages, like C1 controls); feeds must never carry them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_TIMESTAMP = re.compile(r"^<!--\s*(-?\d+|NaN)?\s*-->$")
# The title is greedy, so the split falls on the last "](" whose remainder is one URL token:
# titles may hold [ ] ( ) themselves, URLs hold no spaces.
_LINK = re.compile(r"^\[(?P<title>.*)\]\((?P<url>\S*)\)$")
_RULE = re.compile(r"^-{3,}$")
_COMMENT = re.compile(r"^<!--.*-->$")
_WHITESPACE = re.compile(r"\s+")
# A tag, raw or once entity-escaped: "a < b" and "<中国>" are text, "<em>" and "</b>" are not.
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# The header must start within this many non-blank lines; what comes later is article text.
_HEADER_LINES = 6


def strip_xml_illegal(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def clean_text(text: str) -> str:
    """Plain one-line text: entities decoded exactly once, tags removed, whitespace collapsed, XML-safe.

    Titles, bylines and tags are text to every reader. Markup in them is scraper damage (a headline
    copied with its <em>), and RSS readers would render it as HTML.
    """
    text = strip_xml_illegal(html.unescape(text))
    while (stripped := _TAG.sub("", text)) != text:  # removing "<b>" from "<<b>b>" leaves a tag
        text = stripped
    return _WHITESPACE.sub(" ", text).strip()


# The byte-order marks of the only encodings whose text holds NUL bytes (see _decode_legacy).
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode(data: bytes) -> str:
    """A dump's text. UTF-8 (with or without BOM) is the fast path; anything else is a legacy dump.

    NUL bytes are in no encoding a web page can be in but UTF-16 and UTF-32, which are read only
    with a byte-order mark: without one, they say the file is not text (an image, an archive).
    """
    if not data.strip():
        raise Rejected("empty file")
    if b"\x00" in data and not data.startswith(_WIDE_BOMS):
        raise Rejected("not a text file: it holds NUL bytes (UTF-16 and UTF-32 are read only with a byte-order mark)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _decode_legacy(data)
    if "\x00" in text:
        raise Rejected("not a text file: it holds NUL characters")
    return text.replace("\r\n", "\n").replace("\r", "\n")


# What a page labelled with a legacy encoding really holds, as browsers read it (the WHATWG
# Encoding Standard): each label names a subset whose superset's characters pages use freely.
_SUPERSETS = {
    "ascii": "cp1252", "iso8859-1": "cp1252", "gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs",
    "shift_jis": "cp932", "euc_kr": "cp949",
}  # fmt: skip
# The encodings a web page can be in (those of the WHATWG Encoding Standard, as Python names them).
# Dumps are scraped pages, so the others charset-normalizer knows (DOS and Mac code pages, EBCDIC)
# are only ever false friends. UTF-16 and UTF-32 are left out: they count only with a byte-order
# mark, since any even number of bytes, binary included, is "text" in them.
_WEB_ENCODINGS = [
    "big5hkscs", "cp866", "cp874", "cp932", "cp949", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254",
    "cp1255", "cp1256", "cp1257", "cp1258", "euc_jp", "gb18030", "iso2022_jp", "iso8859_2", "iso8859_3",
    "iso8859_4", "iso8859_5", "iso8859_6", "iso8859_7", "iso8859_8", "iso8859_10", "iso8859_13",
    "iso8859_14", "iso8859_15", "iso8859_16", "koi8_r", "koi8_u", "mac_cyrillic", "mac_roman",
]  # fmt: skip
# Detection needs this many non-ASCII bytes to go on: four bytes of GB18030 read as fine Russian.
_EVIDENCE = 32
# Encodings of two-byte characters. One that reads every lead byte with a valid trail byte is
# evidence no one-byte encoding (in which any byte is some letter) can offer: when one reads the
# bytes about as cleanly as the best guess, only these compete. Else 64 bytes of GBK read as Thai.
_MULTIBYTE = {"big5hkscs", "cp932", "cp949", "euc_jp", "gb18030", "iso2022_jp"}
# A rival that reads the bytes as other text makes the guess a coin toss when it scores within a
# margin of the best on charset-normalizer's "chaos" (the share of the text that looks like noise),
# unless it reads as a language less coherent by _COHERENCE_GAP or more. A wrong two-byte reading
# turns to noise fast (Japanese read as GB18030: 0.1 against 0.006), so its margin is tight. One-byte
# code pages differ in a few letters, so theirs is wide, and on a sentence or two their coherence is
# noise: French in Windows-1252 reads a little more coherently as Baltic (coût -> coūt).
_MULTIBYTE_MARGIN = 0.05
_ONE_BYTE_MARGIN = 0.1
_COHERENCE_GAP = 0.1


def _codec(label: str) -> str | None:
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def _decode_legacy(data: bytes) -> str:
    """A dump not in UTF-8: by its byte-order mark, else its <meta charset>, else detection.

    BeautifulSoup's UnicodeDammit finds the first two and converts; charset-normalizer detects.
    Detection is trusted only when no rival encoding fits the bytes as well and reads them as
    other text: a short dump of GBK bytes is just as good Big5, and guessing would publish
    mojibake. Such a dump is rejected, with what to do about it.
    """
    from bs4.dammit import EncodingDetector, UnicodeDammit

    _, bom = EncodingDetector.strip_byte_order_mark(data)
    declared = EncodingDetector.find_declared_encoding(data, is_html=True, search_entire_document=True)
    for label in (bom, declared):
        codec = _codec(label) if label else None
        if codec:
            dammit = UnicodeDammit(data, known_definite_encodings=[codec], is_html=True)
            if dammit.original_encoding and _codec(dammit.original_encoding) == codec:
                return str(dammit.unicode_markup)
    return _detect(data)


def _detect(data: bytes) -> str:
    import charset_normalizer

    results = charset_normalizer.from_bytes(data, cp_isolation=_WEB_ENCODINGS)
    best = results.best()
    if best is None:
        raise Rejected("not text in UTF-8, and no other encoding fits its bytes")
    if len(data) - len(data.decode("ascii", "ignore")) < _EVIDENCE:
        raise Rejected(
            "cannot tell its encoding: not UTF-8, none declared, and too little non-ASCII text to tell by;"
            " save it as UTF-8 or add <meta charset=...>"
        )
    multibyte = [r for r in results if r.encoding in _MULTIBYTE and r.chaos <= best.chaos + _MULTIBYTE_MARGIN]
    if multibyte:
        best = multibyte[0]
        contenders = [r for r in multibyte if r.chaos <= best.chaos + _MULTIBYTE_MARGIN]
    else:
        contenders = [r for r in results if r.chaos <= best.chaos + _ONE_BYTE_MARGIN]
    text = str(best)
    for rival in contenders:
        if rival is not best and rival.coherence > best.coherence - _COHERENCE_GAP and str(rival) != text:
            raise Rejected(
                f"cannot tell its encoding: not UTF-8, none declared, and it reads as {best.encoding} or as"
                f" {rival.encoding}; save it as UTF-8 or add <meta charset=...>"
            )
    return text


def _as_utc(value: Any) -> datetime | None:
    """A front matter date (YAML datetime, date, or ISO string) as an aware UTC datetime."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        return None
    return plausible(value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC))


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return tuple(t for t in (clean_text(str(i)) for i in items) if t)


def _split_front_matter(text: str) -> tuple[dict[str, Any], str, str | None]:
    """(metadata, rest of the file, what is wrong with the front matter). Front matter that cannot
    be read is a warning when the [title](url) header below it can be, a rejection when not."""
    if not text.startswith("---\n"):
        return {}, text, None
    import frontmatter
    import yaml

    try:
        post = frontmatter.loads(text, handler=_bounded_yaml())
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = str(exc) if isinstance(exc, FrontMatterShape) else f"front matter is not valid YAML{where}"
        return {}, _after_front_matter(text), problem
    return post.metadata, post.content, None


def _after_front_matter(text: str) -> str:
    """What follows front matter that could not be read: the text after its closing --- line."""
    end = text.find("\n---", 4)
    return text[text.index("\n", end + 1) + 1 :] if end >= 0 and "\n" in text[end + 1 :] else ""


# How many nodes front matter may stand for once its aliases are expanded, per character of it.
# Plain YAML stands for fewer nodes than it has characters; an alias bomb (each anchor a list of
# aliases to the one before) stands for billions in a few hundred bytes, and whatever reads its
# values (str() of a title) builds them all.
ALIAS_EXPANSION = 4


class FrontMatterShape(ValueError):
    """YAML that is valid but not front matter, as its message says."""


class AliasBomb(FrontMatterShape):
    """Front matter whose aliases expand past ALIAS_EXPANSION nodes a character, or refer to themselves."""


@cache
def _bounded_yaml() -> Any:
    """python-frontmatter's YAML handler on a SafeLoader that refuses what expands past the bound.

    PyYAML shares an aliased node rather than copying it, so composing a bomb is cheap: the
    document's expanded size is counted once composed, each shared node counted once (memoised),
    before any value is built from it.
    """
    import yaml
    from frontmatter.default_handlers import YAMLHandler

    # libyaml's parser where PyYAML has it (as python-frontmatter itself prefers): three times faster.
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class BoundedLoader(base):  # type: ignore[valid-type,misc]
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.limit = ALIAS_EXPANSION * max(len(stream), 64)

        def get_single_node(self) -> Any:
            node = super().get_single_node()
            if node is not None and _expanded(node, {}, self.limit) > self.limit:
                raise AliasBomb(f"front matter's aliases expand past {self.limit:,} values")
            return node

    class BoundedHandler(YAMLHandler):
        def load(self, fm: str, **kwargs: object) -> Any:
            data = yaml.load(fm, Loader=BoundedLoader)  # a SafeLoader
            # What python-frontmatter would drop (not a table) or fail on (keys become keyword arguments).
            if data is not None and not isinstance(data, dict):
                raise FrontMatterShape("front matter is not a table of keys")
            if data and not all(isinstance(key, str) for key in data):
                raise FrontMatterShape("front matter has a key that is not text")
            return data

    return BoundedHandler()


def _expanded(node: Any, sizes: dict[int, int], limit: int) -> int:
    """How many nodes `node` stands for with every alias expanded; past `limit`, some number over it."""
    key = id(node)
    if key in sizes:
        if sizes[key] < 0:
            raise AliasBomb("front matter has an alias inside its own anchor")
        return sizes[key]
    sizes[key] = -1
    total = 1
    if isinstance(node.value, list):
        for child in node.value:
            for part in child if isinstance(child, tuple) else (child,):  # a mapping's (key, value) pairs
                total += _expanded(part, sizes, limit)
                if total > limit:
                    break
            if total > limit:
                break
    sizes[key] = total
    return total


@dataclass(frozen=True)
class _Header:
    """The [title](url) header as found: `why`, when there is no title, says what stands in its way."""

    stamp: str | None
    title: str | None
    url: str | None
    body: str
    why: str | None = None


def _split_header(rest: str) -> _Header:
    """The timestamp text, title, url and body of what follows the front matter."""
    lines = rest.split("\n")
    stamp = title = url = None
    seen = 0
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            continue
        seen += 1
        if stamp is None and title is None and (m := _TIMESTAMP.match(line)):
            stamp = m.group(1) or ""
        elif title is None and (m := _LINK.match(line)):
            title, url = m.group("title"), m.group("url")
        elif _RULE.match(line):
            return _Header(stamp, title, url, "\n".join(lines[i + 1 :]))
        elif title is None:
            return _Header(stamp, None, None, rest, _in_the_way(line, lines[i + 1 :], stamp, _HEADER_LINES - seen))
        else:
            break
        if seen >= _HEADER_LINES:
            break
    if title is not None:  # a link line but no rule: the body follows the link line
        idx = next(i for i, raw in enumerate(lines) if _LINK.match(raw.strip()))
        return _Header(stamp, title, url, "\n".join(lines[idx + 1 :]))
    return _Header(stamp, None, None, rest)


def _in_the_way(line: str, below: list[str], stamp: str | None, room: int) -> str | None:
    """Why `line`, met where the header should be, is not part of it, when that is the dump's fault
    rather than its having no header at all: a link line whose URL has spaces, or a line above a
    [title](url) line that follows within the header's lines."""
    if line.startswith("[") and line.endswith(")") and "](" in line:
        return f"the URL in the [title](url) line has a space in it: {line[line.rindex('](') + 2 : -1][:80]}"
    following = (raw.strip() for raw in below if raw.strip())
    if not any(_LINK.match(next_line) for next_line, _ in zip(following, range(room), strict=False)):
        return None
    if _COMMENT.match(line):
        if stamp is None:
            return (
                "the comment above the [title](url) line is not a timestamp (milliseconds since 1970, or NaN):"
                f" {line[:80]}"
            )
        return f"a second comment above the [title](url) line: {line[:80]}"
    return (
        "the [title](url) line must come first (after the front matter and the timestamp comment);"
        f" above it: {line[:80]}"
    )


def _timestamp(text: str | None) -> datetime | None:
    if not text or text == "NaN":
        return None
    try:
        value = datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return plausible(value)


def parse_dump(data: bytes, path: str) -> Dump:
    """Parse one dump's bytes. Raises Rejected when the file cannot become an entry."""
    sha256 = hashlib.sha256(data).hexdigest()
    meta, rest, problem = _split_front_matter(decode(data))
    header = _split_header(rest)
    warnings = [f"{problem}; used the [title](url) header instead"] if problem else []

    fm_url = meta.get("from")
    fm_url = fm_url.strip() if isinstance(fm_url, str) and fm_url.strip() else None
    fm_title = meta.get("title")
    if isinstance(fm_title, list | dict):
        warnings.append("front matter title is not text; used the [title](url) header's")
        fm_title = None
    if header.url is None and not (fm_url and fm_title):
        raise Rejected(_no_header(header, meta, problem))
    url = _pick_url(header.url, fm_url)

    raw_title = str(fm_title or header.title or "")
    title = clean_text(raw_title)
    if not title:
        if raw_title.strip():
            raise Rejected("its title is only markup, entities or blanks")
        raise Rejected("the [title](url) line has no title" if header.title is not None else "its title is empty")
    author = meta.get("author")
    return Dump(
        path=path,
        sha256=sha256,
        url=url,
        title=title,
        html=strip_xml_illegal(header.body),
        front_matter_date=_as_utc(meta.get("date")),
        timestamp=_timestamp(header.stamp),
        author=clean_text(author) if isinstance(author, str) and author.strip() else None,
        tags=tuple(dict.fromkeys(_strings(meta.get("tags")) + _strings(meta.get("categories")))),
        warnings=tuple(warnings),
    )


def _no_header(header: _Header, meta: dict[str, Any], problem: str | None) -> str:
    """The reason a dump with neither a [title](url) line nor front matter standing for one gives."""
    if header.why is not None:
        return header.why
    if problem is not None:
        return f"{problem}, and no [title](url) line below it"
    if meta:
        title = meta.get("title")
        if title and not isinstance(title, str):
            return f"no [title](url) line, and the front matter's title is a {_kind(title)}, not text"
        missing = [what for what, key in (("title", "title"), ("'from' address", "from")) if not meta.get(key)]
        return f"no [title](url) line, and no {' or '.join(missing) or 'usable address'} in the front matter"
    return "no [title](url) line"


def _kind(value: object) -> str:
    """What a YAML value that is not text is, in a reader's words."""
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, bool):
        return "yes or no"
    return "number" if isinstance(value, int | float) else "date"


def _pick_url(link_url: str | None, fm_url: str | None) -> str:
    """Front matter 'from' and the link line agree in practice; either serves when one is missing.

    The first absolute http(s) one wins: scrapers sometimes write the link line relative to the site.
    """
    candidates = [u.strip() for u in (fm_url, link_url) if u and u.strip()]
    if not candidates:
        raise Rejected("the [title](url) line has no URL")
    reasons = []
    for candidate in candidates:
        try:
            check_http_url(candidate)
        except Rejected as exc:
            reasons.append(exc)
            continue
        return candidate
    if fm_url is None and _relative(candidates[0]):
        raise Rejected(f"relative URL and no front matter 'from': {candidates[0][:80]}")
    raise reasons[0]


def _relative(url: str) -> bool:
    try:
        return not urlsplit(url).scheme
    except ValueError:  # not a URL at all: check_http_url has said why
        return False
