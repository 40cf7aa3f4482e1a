"""`feedtool check`: read every published document back the way a reader would, and list problems.

Atom and RSS go through feedparser (the parser most readers' behaviour is modelled on), JSON
Feed through its JSON schema; every link between documents (self, archives, OPML, the index
page's autodiscovery) must point at a file that exists, following a feed's archive links must
meet each entry exactly once, and every language a document declares (Atom's xml:lang, RSS's
<language>, JSON Feed's and OPML's language, a page's lang) must be a BCP 47 tag, which readers
pick fonts, hyphenation and speech by.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

from feedtool.publish.feeds import FEED_FILENAMES, FILENAMES

_ALTERNATE = re.compile(r'<link rel="alternate" type="[^"]+" title="[^"]*" href="([^"]+)">')
_LANG = re.compile(r'<[a-zA-Z][^<>]*\slang="([^"]*)"')  # an element's lang: text holds no raw "<"


class _Checker:
    def __init__(self, folder: Path, base_url: str | None = None) -> None:
        self.folder = folder
        self.problems: list[str] = []
        self.base_url = base_url  # the configured one, else learnt from the first self link
        self.expected = base_url is not None
        self.elsewhere: set[str] = set()  # documents found published under another base URL
        self.ids: dict[str, list[str]] = {}
        self.older: dict[str, str] = {}
        self.tags: dict[str, bool] = {}  # language tag -> whether it is one
        self.told: set[tuple[str, str]] = set()  # (document, tag) said not to be one

    def language(self, where: Path, tag: str | None) -> None:
        """A declared language that is no BCP 47 tag (`english`): said once a document."""
        if tag is None:
            return
        if tag not in self.tags:
            import langcodes

            self.tags[tag] = langcodes.tag_is_valid(tag)
        if not self.tags[tag] and (str(where), tag) not in self.told:
            self.told.add((str(where), tag))
            self.problem(where, f"language {tag!r} is not a BCP 47 language tag")

    def problem(self, path: Path | str, text: str) -> None:
        self.problems.append(f"{path}: {text}")

    def outside(self, where: Path, url: str, what: str) -> bool:
        """Whether a link or id is not under the configured base URL; said once a document, as every
        link of a document published for another address is."""
        if not self.expected or url.startswith(str(self.base_url)):
            return False
        if str(where) not in self.elsewhere:
            self.elsewhere.add(str(where))
            self.problem(
                where,
                f"{what} {url} is not under the base URL {self.base_url} ([site] base_url);"
                " 'feedtool build' publishes it there",
            )
        return True

    def local(self, url: str) -> Path | None:
        """The file a published URL points at, when it is under the site's base URL."""
        if self.base_url and url.startswith(self.base_url):
            return self.folder / url[len(self.base_url) :]
        return None

    def expect_file(self, where: Path, url: str, what: str) -> None:
        if self.outside(where, url, what):
            return
        target = self.local(url)
        if target is None or not target.is_file():
            self.problem(where, f"{what} {url} is not a published file")

    def located(self, path: Path, self_url: str | None) -> None:
        relative = path.relative_to(self.folder).as_posix()
        if not self_url:
            self.problem(path, "no self link")
        elif self.outside(path, self_url, "self link"):
            return
        elif self.base_url is None and self_url.endswith("/" + relative):
            self.base_url = self_url[: -len(relative)]
        elif self_url != f"{self.base_url}{relative}":
            self.problem(path, f"self link {self_url} does not match the document's location")

    def xml_feed(self, path: Path) -> None:
        import feedparser

        parsed = feedparser.parse(path.read_bytes())
        if parsed.bozo:
            self.problem(path, f"not a valid feed: {parsed.bozo_exception}")
            return
        links = {link.get("rel"): link.get("href") for link in parsed.feed.get("links", [])}
        self.located(path, links.get("self"))
        if parsed.feed.get("id"):
            self.outside(path, parsed.feed["id"], "feed id")
        self.language(path, parsed.feed.get("language"))
        for rel in ("prev-archive", "next-archive", "current"):
            if links.get(rel):
                self.expect_file(path, links[rel], rel)
        if links.get("prev-archive"):
            self.older[str(path)] = str(self.local(links["prev-archive"]))
        ids = []
        for entry in parsed.entries:
            ids.append(entry.get("id", ""))
            for field in ("id", "title", "link"):
                if not entry.get(field):
                    self.problem(path, f"entry {entry.get('id', '?')} has no {field}")
            if not (entry.get("published") or entry.get("updated")):
                self.problem(path, f"entry {entry.get('id', '?')} has no date")
            for content in entry.get("content", ()):
                self.language(path, content.get("language"))
        self.ids[str(path)] = ids

    def json_feed(self, path: Path) -> None:
        import jsonschema

        schema = json.loads(resources.files("feedtool.publish").joinpath("jsonfeed.schema.json").read_text("utf-8"))
        try:
            doc = json.loads(path.read_bytes())
            jsonschema.validate(doc, schema)
        except (ValueError, jsonschema.ValidationError) as exc:
            self.problem(path, f"not a valid JSON Feed: {str(exc).splitlines()[0]}")
            return
        self.located(path, doc.get("feed_url"))
        for tag in [doc.get("language"), *(item.get("language") for item in doc["items"])]:
            self.language(path, tag)
        if doc.get("next_url"):
            self.expect_file(path, doc["next_url"], "next_url")
            self.older[str(path)] = str(self.local(doc["next_url"]))
        self.ids[str(path)] = [item["id"] for item in doc["items"]]

    def opml(self, path: Path) -> None:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as exc:
            self.problem(path, f"not valid XML: {exc}")
            return
        for outline in root.iter("outline"):
            self.language(path, outline.get("language"))
            if outline.get("xmlUrl"):
                self.expect_file(path, outline.get("xmlUrl", ""), "feed")

    def index(self, path: Path) -> None:
        text = path.read_text("utf-8")
        for tag in _LANG.findall(text):
            self.language(path, tag)
        found = _ALTERNATE.findall(text)
        if not found:
            self.problem(path, "no autodiscovery links")
        for href in found:
            self.expect_file(path, href.replace("&amp;", "&"), "alternate link")

    def archives(self) -> None:
        """From each subscription document, the archive chain must hold every entry exactly once."""
        for head in (p for p in self.ids if "/archive/" not in p):
            seen: set[str] = set()
            current: str | None = head
            visited: set[str] = set()
            while current is not None and current in self.ids and current not in visited:
                visited.add(current)
                for entry_id in self.ids[current]:
                    if entry_id in seen:
                        self.problem(current, f"entry {entry_id} appears twice along the archive chain")
                    seen.add(entry_id)
                current = self.older.get(current)
            if current in visited:
                self.problem(head, "the archive links go round in a circle")


def check_output(folder: Path, base_url: str | None = None) -> tuple[list[str], int]:
    """(problems, number of documents checked). With `base_url` (the configured one), every document's
    self link, feed id and links to other documents must be under it; without, under the one the
    first self link shows."""
    checker = _Checker(folder, base_url)
    if not folder.is_dir():
        return [f"{folder}: no such folder; run 'feedtool build' first"], 0
    documents = sorted(
        p for p in folder.rglob("*") if p.is_file() and not any(s.startswith(".") for s in p.relative_to(folder).parts)
    )
    feeds = [p for p in documents if p.name in FEED_FILENAMES]
    # The subscription documents first, so the base URL is learnt from a top-level self link.
    for path in sorted(feeds, key=lambda p: ("/archive/" in p.as_posix(), p)):
        checker.json_feed(path) if path.suffix == ".json" else checker.xml_feed(path)
    for path in documents:
        if path.suffix == ".opml":
            checker.opml(path)
        elif path.name == FILENAMES["html"]:
            checker.index(path)
    checker.archives()
    return checker.problems, len(documents)


def output_base_url(folder: Path) -> str | None:
    """The base URL an output was published under, as its all-outlets feed's self link shows."""
    for name in sorted(FEED_FILENAMES):
        path = folder / "all" / name
        if path.is_file():
            checker = _Checker(folder)
            checker.json_feed(path) if path.suffix == ".json" else checker.xml_feed(path)
            return checker.base_url
    return None


def local_only(base_url: str) -> bool:
    """Whether links under this base URL reach only this machine (a loopback address)."""
    import ipaddress
    from urllib.parse import urlsplit

    host = urlsplit(base_url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
