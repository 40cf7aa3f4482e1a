"""Scraped article HTML -> the article alone, as safe HTML, plus what it says about itself.

Two tools, each for what it is good at. BeautifulSoup on lxml does the structural work that needs
judgement about the page: dropping share bars, promos and ad slots by the rule tables, lifting the
date line and byline out into fields, resolving lazy images and relative links, pruning empty
wrappers. nh3 (the Rust sanitiser ammonia) then enforces the allowlist, so whatever the rules
missed, no script, handler or javascript: URL reaches a feed reader.

What to strip is data (CleanRules from the registry and the config, plus per-outlet extras);
this module only knows how to apply each kind of rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from urllib.parse import urljoin

import nh3
import soupsieve
from bs4 import BeautifulSoup, Comment, NavigableString, Tag

from feedtool.config import CleanRules, Outlet
from feedtool.dates import parse_dateline
from feedtool.models import Article

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "i", "img", "ins", "kbd", "li",
    "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "time": {"datetime"},
}
URL_SCHEMES = {"http", "https", "mailto"}

# Elements whose text forms a block of its own; text inside them is joined without spaces
# (Chinese has none), blocks are separated by a newline.
_BLOCKS = {
    "address", "article", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main", "ol", "p", "pre", "section", "table",
    "td", "th", "tr", "ul",
}  # fmt: skip
# Elements that carry meaning without text, so an otherwise empty wrapper holding one stays.
_MEDIA = {"img", "video", "audio", "picture", "iframe"}
_URL_ATTRS = ("href", "src")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[。！？!?…]+[”」』\"'）)]*|\.(?=\s|$)")
SUMMARY_LENGTH = 200


_TAG_ONLY = re.compile(r"^[a-zA-Z][\w-]*$")
_LAST_COMPOUND = re.compile(r"[^\s>+~]+$")


@dataclass(frozen=True)
class Selectors:
    """CSS selectors (soupsieve), applied cheaply.

    Most rule selectors name a tag, or need an attribute on the element itself ([id^=dfp-ad-],
    .paywall). Tag names are a set lookup, and only elements that have attributes (a small part
    of an article: no <p> has any once scraped) are handed to soupsieve for the others. This one
    change makes cleaning about twice as fast as handing soupsieve the whole tree.
    """

    names: frozenset[str]
    attributed: soupsieve.SoupSieve | None
    general: soupsieve.SoupSieve | None

    @classmethod
    def compile(cls, selectors: tuple[str, ...]) -> Selectors:
        names = {s.lower() for s in selectors if _TAG_ONLY.match(s)}
        rest = [s for s in selectors if not _TAG_ONLY.match(s)]

        def needs_attribute(selector: str) -> bool:
            last = _LAST_COMPOUND.search(selector.strip())
            return last is not None and ":" not in last.group() and any(c in last.group() for c in "[.#")

        attributed = [s for s in rest if needs_attribute(s)]
        general = [s for s in rest if not needs_attribute(s)]
        return cls(
            frozenset(names),
            soupsieve.compile(", ".join(attributed)) if attributed else None,
            soupsieve.compile(", ".join(general)) if general else None,
        )

    def matches(self, el: Tag) -> bool:
        return (
            el.name in self.names
            or (self.attributed is not None and bool(el.attrs) and self.attributed.match(el))
            or (self.general is not None and self.general.match(el))
        )

    def select(self, body: Tag) -> list[Tag]:
        return [el for el in body.find_all(True) if self.matches(el)]


@dataclass(frozen=True)
class _OutletRules:
    """The generic rules plus one outlet's extras, compiled once per outlet per process."""

    remove: Selectors
    remove_text: tuple[re.Pattern[str], ...]
    dateline_formats: tuple[str, ...]
    timezone: str


class Cleaner:
    def __init__(self, rules: CleanRules) -> None:
        self.rules = rules
        self._per_outlet: dict[str, _OutletRules] = {}

    @cached_property
    def _remove_links(self) -> re.Pattern[str] | None:
        return re.compile("|".join(f"(?:{p})" for p in self.rules.remove_links)) if self.rules.remove_links else None

    @cached_property
    def _byline(self) -> re.Pattern[str]:
        labels = "|".join(re.escape(label) for label in sorted(self.rules.byline_labels, key=len, reverse=True))
        return re.compile(rf"^\s*(?:{labels})\s*(?:[：:／/]|\s)\s*(?P<name>\S.{{0,38}}?)\s*$")

    @cached_property
    def _byline_label(self) -> re.Pattern[str]:
        labels = "|".join(re.escape(label) for label in self.rules.byline_labels)
        return re.compile(rf"^\s*(?:{labels})\s*(?:[：:／/]|\s|$)")

    def _for(self, outlet: Outlet) -> _OutletRules:
        if outlet.slug not in self._per_outlet:
            selectors = (*self.rules.remove, *outlet.remove)
            self._per_outlet[outlet.slug] = _OutletRules(
                remove=Selectors.compile(selectors),
                remove_text=tuple(re.compile(p) for p in (*self.rules.remove_text, *outlet.remove_text)),
                dateline_formats=(*outlet.dateline_formats, *self.rules.dateline_formats),
                timezone=outlet.timezone,
            )
        return self._per_outlet[outlet.slug]

    def clean(self, html: str, base_url: str, outlet: Outlet) -> Article:
        rules = self._for(outlet)
        soup = BeautifulSoup(html, "lxml")
        body = soup.body or soup
        for comment in [d for d in body.descendants if isinstance(d, Comment)]:
            comment.extract()
        self._sweep(body, rules, base_url)
        self._remove_by_text(body, rules.remove_text)
        self._make_figures(body, soup)
        dateline = self._take_dateline(body, rules)
        author = self._take_byline(body)
        for span in body.find_all("span"):
            span.unwrap()
        _collapse_whitespace(body)
        _prune(body)
        image = next((img["src"] for img in body.find_all("img") if img.get("src")), None)
        summary = _lead(body)
        paragraphs = " ".join(p.get_text() for p in body.find_all("p"))
        for block in body.find_all(_BLOCKS):
            block.insert_after("\n")
        text = "\n".join(line.strip() for line in body.get_text().splitlines() if line.strip())
        content = nh3.clean(
            body.decode_contents().strip(),
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            strip_comments=True,
        )
        return Article(
            content=content,
            text=text,
            summary=summary or first_sentences(paragraphs or text),
            author=author,
            image=image if image and image.startswith(("http://", "https://")) else None,
            dateline=dateline,
        )

    def _sweep(self, body: Tag, rules: _OutletRules, base_url: str) -> None:
        """One walk over the elements applies every rule that looks at one element alone.

        Clutter by selector or by attribute prefix goes; lazy images get their real src; every
        href and src becomes absolute against the article URL; share links go.
        """
        prefixes = tuple(self.rules.remove_attr_prefixes)
        for el in body.find_all(True):
            if el.decomposed:  # inside something removed earlier in this walk
                continue
            if rules.remove.matches(el) or (prefixes and any(a.startswith(prefixes) for a in el.attrs)):
                el.decompose()
                continue
            if not el.attrs:
                continue
            if el.name == "img":
                lazy = next((el[a] for a in self.rules.lazy_src if el.get(a, "").strip()), None)
                if lazy:
                    el["src"] = lazy
            for attr in _URL_ATTRS:
                value = el.get(attr)
                if isinstance(value, str) and value.strip():
                    el[attr] = urljoin(base_url, value.strip())
            if el.name == "a" and self._remove_links is not None and self._remove_links.search(el.get("href", "")):
                el.decompose()

    @cached_property
    def _captions(self) -> Selectors:
        return Selectors.compile(self.rules.captions)

    def _make_figures(self, body: Tag, soup: BeautifulSoup) -> None:
        """A caption right after an image becomes <figure><img><figcaption>, as readers style it."""
        for caption in self._captions.select(body):
            if caption.parent is None or caption.find_parent("figure") is not None:
                continue
            image = caption.find_previous_sibling(True)
            if image is not None and image.name != "img":
                images = image.find_all("img")
                image = images[0] if len(images) == 1 and not image.get_text().strip() else None
            if image is None or not caption.get_text().strip():
                continue
            figure = soup.new_tag("figure")
            caption.insert_before(figure)
            figure.append(image.extract())
            text = caption.extract().get_text().strip()
            figcaption = soup.new_tag("figcaption")
            figcaption.string = text
            figure.append(figcaption)

    @staticmethod
    def _remove_by_text(body: Tag, patterns: tuple[re.Pattern[str], ...]) -> None:
        """Remove the smallest block whose whole text matches, found from the text that starts it."""
        hits = [s for s in _strings(body) if any(p.search(s) for p in patterns)]
        for string in hits:
            if getattr(string, "parent", None) is None:  # gone with a block removed before
                continue
            block = string.parent
            while block is not body and block.name not in _BLOCKS and block.parent is not None:
                block = block.parent
            if block is not body and any(p.search(block.get_text()) for p in patterns):
                block.decompose()
            else:
                string.extract()

    @staticmethod
    def _take_dateline(body: Tag, rules: _OutletRules) -> datetime | None:
        """The date line is the first few text nodes or none; it moves into a field."""
        for string in body.find_all(string=True, limit=8)[:3]:
            if not string.strip():
                continue
            when = parse_dateline(string, rules.dateline_formats, rules.timezone)
            if when is not None:
                parent = string.parent
                if parent is not body and parent.get_text().strip() == string.strip():
                    parent.decompose()
                else:
                    string.extract()
                return when
        return None

    def _take_byline(self, body: Tag) -> str | None:
        """A short block that starts with a byline label: its name becomes the author, the block goes."""
        for string in body.find_all(string=self._byline_label):
            node: Tag | None = string.parent
            for _ in range(4):
                if node is None or node is body:
                    break
                text = _SPACE.sub(" ", node.get_text()).strip()
                if len(text) > 60:
                    break
                if match := self._byline.match(text):
                    node.decompose()
                    return match["name"]
                node = node.parent
        return None


def _collapse_whitespace(body: Tag) -> None:
    """Scraped HTML is indented with runs of spaces; feeds carry one space, outside <pre>."""
    has_pre = body.find("pre") is not None
    for string in _strings(body):
        if has_pre and string.find_parent("pre") is not None:
            continue
        collapsed = _SPACE.sub(" ", string)
        parent = string.parent
        if not collapsed.strip() and (parent is body or (parent is not None and parent.name in _BLOCKS)):
            string.extract()
        elif collapsed != string:
            string.replace_with(NavigableString(collapsed))


def _strings(body: Tag) -> list[NavigableString]:
    """The text nodes under body, as a list so the tree may change while it is walked.

    A plain walk of .descendants: find_all(string=True) builds filter objects on every call.
    """
    return [d for d in body.descendants if type(d) is NavigableString]


def _prune(body: Tag) -> None:
    """Drop what is left empty once clutter is gone: wrappers with no text and no media, stray <br>."""
    for el in reversed(body.find_all(True)):
        if el.parent is None or el.name in _MEDIA or el.name == "br":
            continue
        if not el.get_text().strip() and not any(d.name in _MEDIA for d in el.descendants if isinstance(d, Tag)):
            el.decompose()
    for br in body.find_all("br"):
        prev, nxt = br.previous_sibling, br.next_sibling
        at_edge = br.parent is not None and br.parent.name in _BLOCKS and (prev is None or nxt is None)
        doubled = isinstance(prev, Tag) and prev.name == "br"
        if at_edge or doubled or br.parent is body:
            br.decompose()


def _lead(body: Tag) -> str | None:
    """RFI-style lead: a first paragraph that is all bold (<p><strong>...</strong></p>)."""
    first = next((p for p in body.find_all("p") if p.get_text().strip()), None)
    if first is None:
        return None
    bold = "".join(b.get_text() for b in first.find_all(["strong", "b"], recursive=False))
    text = first.get_text().strip()
    return _SPACE.sub(" ", text) if bold.strip() == text else None


def first_sentences(text: str, limit: int = SUMMARY_LENGTH) -> str:
    """Whole sentences up to about `limit` characters; one long sentence is cut with an ellipsis."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    end = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > limit:
            break
        end = match.end()
    return text[:end].strip() if end else text[: limit - 1].rstrip() + "…"
