"""An article's terms as the grouping weighs them: the names, places, figures and words it holds.

Two outlets' reports of one event seldom share a sentence; they share its names (王毅, 布林肯,
Blinken), places (华盛顿), figures (70 分钟, G20) and key words (通电话, 芬太尼). So an article
is a bag of terms, counted:

- Chinese and Japanese text is folded as the full-text index folds it (derive/topics.fold:
  OpenCC traditional to simplified, then case), so that a report in 繁體 and one in 简体 share
  their terms, and each run of Han or kana characters is cut into overlapping bigrams, as
  derive/indexed.py cuts it for the same reason: a dictionary segmenter misses the names it does
  not know, and names are what two reports of one event share most. A bigram across a word
  boundary ("毅与") is noise that the weighting (similarity.py) makes light: it is frequent.
- A bigram holding a function character (的, 了, 与, 在, 是, ...) is dropped: it is a word's
  edge joined to the next word's ("毅与", "的重"), which two unrelated articles share as often as
  two reports of one event. Few names hold one; 以色列 keeps 色列.
- Latin words of two letters or more (blinken, g20, apec) and numbers, a thousands separator
  dropped (2,300 -> 2300), are terms of their own, a decimal whole (4.7).
- The title counts `title_weight` times: it is what the outlet says the article is about.
- Apart from the terms, an article's figures (`figures`): what tells two earthquakes, two days'
  counts of aircraft or two months' prices apart when they are told in the same words.
- Only the first `lead_chars` characters of the text count. The event is in the lead; the rest of
  an article is more often background, which two different events share (the same paragraph on
  the Taiwan question closes many reports), and the cost of grouping grows with the terms.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from dataclasses import dataclass
from functools import cache

from feedtool.derive.topics import fold

_CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_FUNCTION = re.compile("[的了与和在是对为将也并及其就于被把等而之以从向但或都又这那个们有说]")
_FIGURE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([日号]?)")  # a number, and 日 when it is a day of the month
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_LATIN = re.compile(r"[0-9a-z](?:[0-9a-z]|(?<=[0-9]),(?=[0-9]{3})|(?<=[0-9])\.(?=[0-9]))*")


@cache
def _bigrams() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Every two Han or kana characters in a row, overlapping, in two passes of C: those at even
    offsets of each run, then (a Han or kana character before) those at odd ones. One pass with a
    lookahead, `(?=(..))`, finds the same bigrams in another order, a third slower. Compiled on
    first use: each of these classes takes a millisecond or two to compile, and a build with
    stories off never reads an article's terms."""
    return re.compile(f"[{_CJK}]{{2}}"), re.compile(f"(?<=[{_CJK}])[{_CJK}]{{2}}")


def counts(title: str, text: str, *, title_weight: int, lead_chars: int) -> Counter[str]:
    """How often each term occurs in an article: its title `title_weight` times, then its lead."""
    return _counted(fold(title), fold(text[:lead_chars]), title_weight)


def _counted(title: str, lead: str, title_weight: int) -> Counter[str]:
    """`counts` of a title and lead already folded."""
    terms: list[str] = []
    for folded, times in ((title, title_weight), (lead, 1)):
        # A function character made a space, every bigram left is one without any (a regex's sub,
        # six times as fast as str.translate's table on this text). Each is interned: a piece of
        # 12,000 articles holds a million and a half, most of them the same few thousand (286 MiB
        # for that piece's links, 181 MiB interned). The order they are counted in is not read:
        # `signature` sorts them, and the rest counts them.
        spaced = _FUNCTION.sub(" ", folded)
        even, odd = _bigrams()
        found = list(map(sys.intern, even.findall(spaced) + odd.findall(spaced)))
        found += [word.replace(",", "") for word in _LATIN.findall(folded) if len(word) > 1 or word.isdigit()]
        terms += found * times
    return Counter(terms)


def tf(count: int) -> float:
    """A term's weight from its count: sublinear, so a name said five times is not five names."""
    return 1.0 + math.log(count)


@dataclass(frozen=True, slots=True)
class Figures:
    """The figures an article states: in its title (`headline`), and in its title and lead."""

    headline: frozenset[str]
    stated: frozenset[str]


def figures(title: str, text: str, *, lead_chars: int) -> Figures:
    """The figures an article states in its title and lead: numbers of two digits or more, or with
    a decimal part (4.7), a thousands separator dropped; and days of the month, as "12日".

    Two reports of one event state its figures (a magnitude, a count, a share); the same kind of
    news on another day or in another city, told in the same words, states others. Numbers of one
    digit are left out (a "4 以上的余震" is in every report of every earthquake), as are years,
    which every article of a time names. A day of the month is a figure of its own kind: the 13th
    of a dateline is not the 13 ships of the day before's report (and "0112日", January the 12th,
    is the 12th).
    """
    return _stated(fold(title), fold(text[:lead_chars]))


def _stated(title: str, lead: str) -> Figures:
    """`figures` of a title and lead already folded (folding each apart is folding them joined by
    a line break: OpenCC's phrases do not span one)."""
    return Figures(_figures(title), _figures(f"{title}\n{lead}"))


@dataclass(frozen=True, slots=True)
class Reading:
    """An article as the grouping reads it: its terms, counted, and the figures it states."""

    terms: Counter[str]
    figures: Figures


def read(title: str, text: str, *, title_weight: int, lead_chars: int) -> Reading:
    """`counts` and `figures` together, the title and the lead folded once for both."""
    title, lead = fold(title), fold(text[:lead_chars])
    return Reading(_counted(title, lead, title_weight), _stated(title, lead))


def _figures(folded: str) -> frozenset[str]:
    found = _FIGURE.findall(folded.replace(",", ""))
    return frozenset(
        [f"{int(n[-2:])}日" for n, day in found if day and "." not in n]
        + [n for n, day in found if not day and len(n) > 1 and not _YEAR.fullmatch(n)]
    )
