"""Topics: which entries a topic feed carries, matched across simplified and traditional Chinese.

Text and terms are both folded the same way (traditional -> simplified with OpenCC, then
case-folded), so `台湾问题` finds `台灣問題` and `Blinken` finds `BLINKEN`. Terms made only of
Latin letters and digits match whole words (`US` must not match `bus`); other terms match as
substrings, since Chinese has no spaces to find words by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from feedtool.perthread import per_thread
from feedtool.rules import Topic

_WORDLIKE = re.compile(r"^[0-9a-z][0-9a-z .'-]*$")


@per_thread
def _converter() -> Any:  # OpenCC ships no type information
    import opencc

    return opencc.OpenCC("t2s")


def fold(text: str) -> str:
    return str(_converter().convert(text)).casefold()


@dataclass(frozen=True)
class _Term:
    text: str
    word: re.Pattern[str] | None

    @classmethod
    def of(cls, raw: str) -> _Term:
        text = fold(raw.strip())
        word = re.compile(rf"(?<![0-9a-z]){re.escape(text)}(?![0-9a-z])") if _WORDLIKE.match(text) else None
        return cls(text, word)

    def found_in(self, folded: str) -> bool:
        if self.word is not None:
            return self.word.search(folded) is not None
        return self.text in folded


@dataclass(frozen=True)
class Matcher:
    slug: str
    any: tuple[_Term, ...]
    all: tuple[_Term, ...]
    none: tuple[_Term, ...]
    outlets: frozenset[str]

    @classmethod
    def of(cls, topic: Topic) -> Matcher:
        return cls(
            slug=topic.slug,
            any=tuple(_Term.of(t) for t in topic.any),
            all=tuple(_Term.of(t) for t in topic.all),
            none=tuple(_Term.of(t) for t in topic.none),
            outlets=frozenset(topic.outlets),
        )

    def matches(self, outlet: str, folded: str) -> bool:
        return (
            (not self.outlets or outlet in self.outlets)
            and any(t.found_in(folded) for t in self.any)
            and all(t.found_in(folded) for t in self.all)
            and not any(t.found_in(folded) for t in self.none)
        )


def matchers(topics: Iterable[Topic]) -> tuple[Matcher, ...]:
    return tuple(Matcher.of(t) for t in topics)


def topics_of(matchers: Iterable[Matcher], outlet: str, folded: str) -> tuple[str, ...]:
    """The slugs of the topics an entry belongs to; `folded` is its title and text through fold()."""
    return tuple(m.slug for m in matchers if m.matches(outlet, folded))
