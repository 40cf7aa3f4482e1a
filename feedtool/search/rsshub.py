"""A feed address's query string -> what to pick from the archive and how to dress it: RSSHub's words.

RSSHub's users already write `?filter=…&limit=10&opencc=t2s` after a route; a feed of feedtool's
takes the same parameters with the same meaning (lib/middleware/parameter.ts in RSSHub, whose own
tests tests/search/test_rsshub.py asks of `feedtool serve`), plus `q`, a full-text search
(search/language.py) that RSSHub cannot offer, having only the items it fetched, and `fold`,
simplified and traditional Chinese folded in the expressions (search/folding.py).
PARAMETERS below says what each one does (the documentation's table is made from it).

The expressions run on RE2, as RSSHub's do by default (its FILTER_REGEX_ENGINE is `re2`, re2js):
time linear in the text, no backtracking, and a memory budget for each compiled expression
(PATTERN_BYTES), so no expression can hold the server; what RE2 does not take (lookaround,
backreferences, recursion) is refused with the reason. Unlike RSSHub's, these run over the whole
archive of the feed, newest first, on at most MAX_SCANNED entries per answer, within the answer's
budget (web/budget.py).
"""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

import re2

from feedtool.models import FeedFormat, StoredEntry
from feedtool.perthread import per_thread
from feedtool.search import cursor as cursors
from feedtool.search.folding import folded
from feedtool.search.language import QueryError, parse

Field = Literal["title", "description", "author", "category"]
FIELDS: tuple[Field, ...] = ("title", "description", "author", "category")
MAX_ITEMS = 200  # entries in one page of a query feed, whatever `limit` asks
PARAMETERS = {
    "q": "a search of the feed's whole archive, in the search language above",
    "filter": "a regular expression found in the title, the full text, the author or a category",
    "filter_title": "a regular expression found in the title (all the `filter_` fields given must match;"
    " ignored when `filter` is given)",
    "filter_description": "the same, in the full text (as HTML, as RSSHub's description is)",
    "filter_author": "the same, in the author the feed shows (the outlet's name where an article has no byline)",
    "filter_category": "the same, in a category (the outlet's name, the topics, the tags)",
    "filterout": "entries whose title or full text holds this regular expression are left out",
    "filterout_title": "entries whose title holds it are left out (over `filterout`, for the title)",
    "filterout_description": "the same, for the full text",
    "filterout_author": "the same, for the author",
    "filterout_category": "the same, for any category",
    "filter_case_sensitive": "`false` (exactly that): the expressions ignore case (they heed it by default)",
    "fold": "`1`: a Chinese character in the expressions finds its simplified and traditional forms alike"
    " (`臺灣` finds 台湾); feedtool's own, `0` or absent as in RSSHub",
    "filter_time": "only entries published in the last that many seconds (`0`: none)",
    "limit": f"at most that many entries a page (the feed's `max_items` by default; {MAX_ITEMS} at most; `0`: none)",
    "cursor": "where a page starts: a page's `next`, `previous` and `first` links carry it, not a person",
    "brief": "the text replaced by its first that many characters, as plain text (100 or more)",
    "opencc": "the title and text converted by OpenCC: `s2t`, `t2s`, `s2tw`, `tw2s`, `s2hk`, `hk2s`, `s2twp`, …",
    "format": "`atom`, `rss` or `json`: the feed in that format, whichever of its addresses is asked",
    "sorted": "taken and ignored: entries come newest first, the only order an archive has",
    "group": "`story`: each event once: the articles found that are of a story given as the story, with every"
    " outlet's report (feedtool's own; a query of the feed of stories gives only stories)",
}
NAMES = tuple(PARAMETERS)
# The names that ask the archive a question: the others alone leave the published feed as it is
# (`format` names which of them, `fold` and `sorted` change nothing without a filter).
ASKING = tuple(name for name in NAMES if name not in ("fold", "format", "sorted"))
FORMATS: tuple[FeedFormat, ...] = ("atom", "rss", "json")
MAX_SCANNED = 5000  # entries an expression is tried on for one answer
MAX_PATTERN = 500  # characters of one expression
# RE2's max_mem for one compiled expression: its program and the DFA states it caches while it
# matches. Past it, a program is refused at compile ("too large"), a DFA falls back to RE2's NFA,
# slower but still linear. Filters over news text need a few kilobytes.
PATTERN_BYTES = 1 << 20
CACHE_BYTES = 32 << 20  # compiled expressions kept for the next request, each counted at PATTERN_BYTES
REFUSALS_KEPT = 1024  # reasons for refused expressions, kept so that the same one asked again is free
# RE2's time over a text grows with its program's size where its DFA cannot be used: an expression
# of more steps than this is refused, and one reads at most MAX_FILTERED characters of a text.
MAX_PROGRAM = 1000
MAX_FILTERED = 20_000
MAX_SECONDS = 10 * 365 * 86400  # filter_time: ten years covers it
OPENCC = frozenset(
    ("s2t", "t2s", "s2tw", "tw2s", "s2hk", "hk2s", "s2twp", "tw2sp", "t2tw", "tw2t", "t2hk", "hk2t", "t2jp", "jp2t",
     "s2hkp", "hk2sp")
)  # fmt: skip


@dataclass(frozen=True)
class FeedQuery:
    """What a query string asks of a feed. Every field from the network, checked and bounded."""

    q: str | None = None
    wanted: tuple[tuple[str, str], ...] = ()  # ("filter" or a field, expression)
    unwanted: tuple[tuple[Field, str], ...] = ()
    case_sensitive: bool = True
    fold: bool = False
    within: int | None = None  # filter_time, seconds
    limit: int | None = None
    brief: int | None = None
    opencc: str | None = None
    group: bool = False  # group=story
    cursor: str | None = None  # a token search/cursor.py read and found well made

    @property
    def filters(self) -> bool:
        return bool(self.wanted or self.unwanted)

    def canonical(self) -> str:
        """The query string in one order, "?…" (or ""): the self link, and part of the ETag."""
        pairs: list[tuple[str, str]] = []
        if self.q is not None:
            pairs.append(("q", self.q))
        pairs += [(name if name == "filter" else f"filter_{name}", p) for name, p in self.wanted]
        pairs += [(f"filterout_{name}", p) for name, p in self.unwanted]
        if not self.case_sensitive:
            pairs.append(("filter_case_sensitive", "false"))
        if self.fold:
            pairs.append(("fold", "1"))
        for name, value in (("filter_time", self.within), ("limit", self.limit), ("brief", self.brief)):
            if value is not None:
                pairs.append((name, str(value)))
        if self.opencc:
            pairs.append(("opencc", self.opencc))
        if self.group:
            pairs.append(("group", "story"))
        if self.cursor:
            pairs.append(("cursor", self.cursor))
        return "?" + urlencode(pairs) if pairs else ""


def from_params(params: Mapping[str, Sequence[str]]) -> FeedQuery | None:
    """The FeedQuery a query string asks for; None when it names none of ASKING (a cache-buster, say,
    or `format` alone).

    QueryError, one line, for a value that cannot be taken: a search that does not parse, an
    expression too long, a number that is not one. Cheap: it runs as the request arrives. The
    expressions are compiled by `compiled`, in the answer's thread, within its budget. A parameter
    given twice is taken at its first value, as RSSHub (Hono's `query`) takes it.
    """
    if not any(name in params for name in ASKING):
        return None
    one = _first(params)
    q = one.get("q", "").strip() or None
    if q is not None:
        parse(q)  # raises QueryError with the reason
    case_sensitive = one.get("filter_case_sensitive") != "false"  # RSSHub's test: `=== 'false'`
    fold = one.get("fold", "0") or "0"
    if fold not in ("0", "1"):
        raise QueryError(f"fold={fold[:40]!r} is not 1 (fold) or 0 (do not)")
    wanted: list[tuple[str, str]] = []
    if one.get("filter"):
        wanted.append(("filter", _checked(one["filter"], "filter")))
    else:
        wanted += [(f, _checked(one[f"filter_{f}"], f"filter_{f}")) for f in FIELDS if one.get(f"filter_{f}")]
    unwanted: list[tuple[Field, str]] = []
    for f in FIELDS:
        default = one.get("filterout") if f in ("title", "description") else None
        pattern = one.get(f"filterout_{f}") or default
        if pattern:
            unwanted.append((f, _checked(pattern, f"filterout_{f}")))
    opencc = one.get("opencc") or None
    if opencc is not None and opencc not in OPENCC:
        raise QueryError(f"opencc={opencc[:40]!r} is not a conversion; one of {', '.join(sorted(OPENCC))}")
    brief = _number(one, "brief", 100, 100_000)
    group = one.get("group") or None
    if group is not None and group != "story":
        raise QueryError(f"group={group[:40]!r} is not story, the one grouping there is")
    cursor = one.get("cursor") or None
    if cursor is not None:
        cursors.read(cursor)  # raises QueryError with the reason
    return FeedQuery(
        q=q, wanted=tuple(wanted), unwanted=tuple(unwanted), case_sensitive=case_sensitive, fold=fold == "1",
        within=_number(one, "filter_time", 0, MAX_SECONDS), limit=_number(one, "limit", 0, None), brief=brief,
        opencc=opencc, group=group is not None, cursor=cursor,
    )  # fmt: skip


def asked_format(params: Mapping[str, Sequence[str]]) -> FeedFormat | None:
    """The format `format=` names (RSSHub's way to ask for Atom or JSON), None when not given;
    QueryError for one that is not a feed's (RSSHub's `ums` among them)."""
    value = _first(params).get("format")
    if not value:
        return None
    for known in FORMATS:
        if value == known:
            return known
    raise QueryError(f"format={value[:40]!r} is not a feed format; one of {', '.join(FORMATS)}")


def _first(params: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {name: values[0] for name, values in params.items() if name in NAMES and values}


def _number(one: Mapping[str, str], name: str, least: int, most: int | None) -> int | None:
    if not one.get(name):
        return None
    text = one[name]
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise QueryError(f"{name}={text[:40]!r} is not a whole number")
    value = int(text)
    if value < least or (most is not None and value > most):
        bounds = f"from {least} to {most}" if most is not None else f"at least {least}"
        raise QueryError(f"{name}={value} is out of range ({bounds})")
    return value


def _checked(pattern: str, name: str) -> str:
    if len(pattern) > MAX_PATTERN:
        raise QueryError(f"{name} is {len(pattern)} characters long; at most {MAX_PATTERN} are taken")
    return pattern


Pattern = Any  # re2._Regexp: google-re2 ships no types


@dataclass(frozen=True)
class Filters:
    """A FeedQuery's expressions, compiled: what `keeps` tries on each entry."""

    case_sensitive: bool
    wanted: tuple[tuple[str, Pattern], ...]
    unwanted: tuple[tuple[Field, Pattern], ...]


def compiled(asked: FeedQuery) -> Filters:
    """The query's expressions compiled by RE2 (or taken from those kept), each Chinese character
    standing for its every form when the query folds; QueryError, one line, for one that RE2 does
    not take or that is too complex. Runs in an answer's thread: compiling an expression near RE2's
    memory budget takes tens of milliseconds, and the first fold in a process 25 ms more."""
    cs = asked.case_sensitive

    def get(pattern: str, name: str) -> Pattern:
        return PATTERNS.get(folded(pattern) if asked.fold else pattern, cs, name)

    return Filters(
        cs,
        tuple((name, get(p, name if name == "filter" else f"filter_{name}")) for name, p in asked.wanted),
        tuple((field, get(p, f"filterout_{field}")) for field, p in asked.unwanted),
    )


class _Patterns:
    """Compiled expressions kept for reuse, least recently used dropped first, bounded by the memory
    RE2 may hold for them (PATTERN_BYTES each, its budget), not by their number; and the reasons
    expressions were refused, so that asking again for a refused one costs nothing.

    Written here because functools.lru_cache bounds a count, and cachetools, which can weigh, is one
    more dependency for twenty lines. RE2 objects are safe to share between threads. `re2.compile`
    keeps every pattern in a cache of its own (128 of them, whatever their size): `_compile` makes
    the object itself, so that this cache is the only one.
    """

    def __init__(self, budget: int) -> None:
        self.most = max(1, budget // PATTERN_BYTES)
        self._kept: OrderedDict[tuple[str, bool], Pattern] = OrderedDict()
        self._refused: OrderedDict[tuple[str, bool], str] = OrderedDict()  # a reason each: a few KB in all
        self._lock = threading.Lock()

    def get(self, pattern: str, case_sensitive: bool, name: str) -> Pattern:
        key = (pattern, case_sensitive)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
            refused = self._refused.get(key)
        if refused is None:
            made = _compile(pattern, case_sensitive)
            if not isinstance(made, str):
                with self._lock:
                    self._kept[key] = made
                    while len(self._kept) > self.most:
                        self._kept.popitem(last=False)
                return made
            refused = made
            with self._lock:
                self._refused[key] = refused
                while len(self._refused) > REFUSALS_KEPT:
                    self._refused.popitem(last=False)
        raise QueryError(f"{name} is not a regular expression RE2 takes: {refused}")


def _compile(pattern: str, case_sensitive: bool) -> Pattern | str:
    """The compiled expression, or the reason RE2 refuses it (a string, not an exception: a raised
    re2.error would keep its traceback, and through it the half-made program, alive)."""
    options = re2.Options()
    options.max_mem = PATTERN_BYTES
    options.case_sensitive = case_sensitive
    options.log_errors = False  # RE2 would print each refused pattern on the server's stderr
    reason = None
    try:
        made = re2._Regexp(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        del exc
    except (ValueError, TypeError, UnicodeError) as exc:
        reason = str(exc)
    if reason is not None:
        if "too large" in reason:
            return "it is too large for RE2's memory budget; make it simpler"
        if "perl operator" in reason or "escape sequence: \\" in reason:
            reason += " (RE2 has no lookaround, backreferences or recursion)"
        return reason if len(reason) <= 200 else reason[:199] + "…"
    if made.programsize > MAX_PROGRAM:
        return f"it is too complex ({made.programsize:,} steps in RE2's program, at most {MAX_PROGRAM:,})"
    return made


PATTERNS = _Patterns(CACHE_BYTES)


def keeps(filters: Filters, entry: StoredEntry, categories: Sequence[str], author: str) -> bool:
    """Whether the entry passes the filters (RSSHub's rules: see the module's docstring), read as
    its feeds show it: `categories` as they list them (outlet, topics, tags), `author` as they
    name it (the outlet where there is no byline). An expression reads the first MAX_FILTERED
    characters of a text: RE2 cannot be stopped within one search, and its time grows with the text."""
    texts: dict[Field, Sequence[str]] = {
        "title": (entry.title,), "description": (entry.content or entry.title,), "author": (author,),
        "category": categories,
    }  # fmt: skip

    def found(field: Field, pattern: Pattern) -> bool:
        return any(pattern.search(text[:MAX_FILTERED]) is not None for text in texts[field])

    for name, pattern in filters.wanted:
        if name == "filter":
            if not any(found(f, pattern) for f in FIELDS):
                return False
        elif not found(name, pattern):  # type: ignore[arg-type]
            return False
    return not any(found(f, pattern) for f, pattern in filters.unwanted)


def since(asked: FeedQuery, now: datetime) -> datetime | None:
    return now - timedelta(seconds=asked.within) if asked.within is not None else None


def shown_as_asked(asked: FeedQuery, entry: StoredEntry) -> StoredEntry:
    """The entry as the query asks it shown: converted by OpenCC, cut to a brief."""
    if asked.opencc:
        convert = _converter(asked.opencc)
        entry = replace(
            entry, title=convert(entry.title), summary=convert(entry.summary), content=convert(entry.content)
        )
    if asked.brief:
        text = brief_text(entry.content) or entry.summary
        cut = text[: asked.brief] + ("…" if len(text) > asked.brief else "")
        entry = replace(entry, summary=cut, content=f"<p>{html.escape(cut, quote=False)}</p>")
    return entry


_PRE = re.compile(r"(<pre\b.*?</pre>)", re.DOTALL | re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")


def brief_text(content: str) -> str:
    """An entry's content as RSSHub's `brief` reads a description (sanitize-html, no tag allowed):
    the tags taken out with nothing in their place (`<p>宇宙</p><p>無敵</p>` is 宇宙無敵), entities
    decoded, the whitespace kept. Outside <pre> the stored content holds no line break of the
    article's own (cleaning made each run of whitespace one space), only those cleaning wrote
    after each block, which RSSHub's description does not have: they go."""
    parts = _PRE.split(content)  # odd parts are the <pre> elements
    kept = "".join(part if i % 2 else part.replace("\n", "") for i, part in enumerate(parts))
    return html.unescape(_TAGS.sub("", kept))


def _converter(name: str) -> Any:
    """The conversion's OpenCC, this thread's own (see perthread.py)."""
    return _converters()[name].convert if name in _converters() else _made(name)


@per_thread
def _converters() -> dict[str, Any]:
    return {}


def _made(name: str) -> Any:
    import opencc

    converter = _converters()[name] = opencc.OpenCC(name)
    return converter.convert
