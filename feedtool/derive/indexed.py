"""Text as the full-text index sees it, and a search's terms as FTS5 asks for them.

The index is SQLite's FTS5 with its `unicode61` tokenizer, which cuts text into words at spaces
and punctuation. Chinese and Japanese have no spaces: unicode61 would take a whole sentence for
one word. So, before FTS5 sees it, each run of Han or kana characters is cut into overlapping
two-character words ("台湾问题" -> "台湾 湾问 问题"), as CJK search engines (Lucene's CJK analyzer,
Elasticsearch's cjk_bigram) do, and the run's last character is kept alone as well (" 题").

Why bigrams rather than FTS5's `trigram` tokenizer: trigrams find nothing shorter than three
characters, and most Chinese words are two (台湾, 王毅, 加沙). Why not a dictionary segmenter
(jieba): it finds only the words its dictionary cuts, so a name it cuts differently is missed,
and its cuts change with its version. Bigrams find every string of two or more characters as a
phrase of consecutive bigrams ("台湾问题" is the phrase "台湾 湾问 问题"), and one character as a
prefix ("台*": the bigrams it starts, and the run-final character). The price is an index about
twice the size of one of words, which the numbers in docs/performance.md show.

Text and terms are folded first, as topics fold them (topics.fold: OpenCC traditional ->
simplified, then case), so that 台灣 finds 台湾 and Taiwan finds TAIWAN. The folding and cutting
here is the one definition of what the index holds: an entry is removed from a contentless FTS5
index by giving its values again, so the same entry must always give the same values
(VERSION names this code; a store indexed under another is indexed again).
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from feedtool.derive.topics import fold

VERSION = "4"  # raise when index_values or the cutting changes: stores indexed before are indexed again

_CJK = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD_CHAR = re.compile(r"[^\W_]")  # a character unicode61 keeps in a word, near enough (not "_")
_APART = re.compile(r"[PSZ]|Cc")  # the categories unicode61 splits words at
_HAS_CJK = re.compile(f"[{_CJK}]")

_WORD = re.compile(r"\w+")  # what unicode61 keeps as a word, near enough to tell a term with none


def _bigrams(run: str, *, final: bool) -> str:
    if len(run) == 1:
        return f" {run} "
    # map() pairs the characters in C: a cold build cuts every article's text, and a loop in
    # Python over each character was a fifth of the build process's time.
    pairs = " ".join(map(operator.add, run, run[1:]))
    return f" {pairs} {run[-1]} " if final else f" {pairs} "


def cut(folded: str) -> str:
    """Folded text as it is indexed: each CJK run as its bigrams and its last character."""
    if not _HAS_CJK.search(folded):
        return folded
    return _CJK_RUN.sub(_final_bigrams, folded)


def _final_bigrams(found: re.Match[str]) -> str:
    return _bigrams(found.group(), final=True)


@dataclass(frozen=True)
class IndexValues:
    """One entry's columns in the index, in the FTS table's order (store/fulltext.py)."""

    title: str
    summary: str
    body: str
    byline: str
    outlet: str
    tags: str

    def columns(self) -> tuple[str, str, str, str, str, str]:
        return (self.title, self.summary, self.body, self.byline, self.outlet, self.tags)


def outlet_token(slug: str) -> str:
    """The one word that stands for an outlet in the index, whatever its slug holds ("voa-chinese"
    would be two words and a prefix of "voa-chinese-extra"): a query for one outlet's entries is
    then a lookup of that word, not a filter over every match."""
    return "outlet" + slug.encode().hex()


def index_values(
    title: str,
    summary: str,
    search_text: str,
    author: str | None,
    tags: Sequence[str],
    outlet: str,
    *,
    made: Sequence[str] = (),
) -> IndexValues:
    """An entry's indexed columns. `search_text` is the entry's folded title and text as stored
    (derive/normalise.py folds it once, when the dump is read); the rest is folded here. `made`: the
    title, summary and search_text as `cut_texts` made them already, where the dump was read."""
    title_cut, summary_cut, body = made or cut_texts(title, summary, search_text)
    return IndexValues(
        title=title_cut,
        summary=summary_cut,
        body=body,
        byline=cut(fold(author or "")),
        outlet=f"{outlet_token(outlet)} {outlet.replace('-', ' ')}",
        tags=cut(fold(" ; ".join(tags))),
    )


def cut_texts(title: str, summary: str, search_text: str) -> tuple[str, str, str]:
    """An entry's long texts as the index holds them: the part of `index_values` worth making in
    the worker that reads the dump (OpenCC's folding and the cutting are most of its cost).

    The title and the summary are left out when the body repeats them, as it nearly always does
    (`search_text` begins with the title; a summary is the lead paragraph or the first
    sentences): a search finds the entry by its body then, and FTS5 kept every such word twice.
    On the 20,000-article benchmark's archive the index's data went from 36.5 to 33.4 MB."""
    folded_title, folded_summary = fold(title), fold(summary)
    spaced = " ".join(search_text.split())
    return (
        "" if repeated(folded_title, spaced) else cut(folded_title),
        "" if repeated(folded_summary, spaced) else cut(folded_summary),
        cut(search_text),
    )


def repeated(part: str, body: str) -> bool:
    """Whether every search that finds `part` finds `body` too: `part` (its whitespace made single
    spaces, an ellipsis that cut it dropped) occurs in `body` (whitespace already made single
    spaces), and not within a word of `body`, so that no word of `part` is there only in part.

    A Han or kana character at either end may meet another in `body`: a run is cut into the
    bigrams of every two characters, and those of a piece of a run are among the run's, while a
    search for one character looks for the bigrams it begins (`phrase`). A letter or a digit
    there ("Taiw" cut from "Taiwan") is a word `body` does not have."""
    part = " ".join(part.split())
    if part.endswith("…"):
        part = part[:-1].rstrip()
    if not part:
        return True
    start = body.find(part)
    while start >= 0:
        end = start + len(part)
        if _apart(body[start - 1 : start], part[0]) and _apart(body[end : end + 1], part[-1]):
            return True
        start = body.find(part, start + 1)
    return False


def _apart(neighbour: str, edge: str) -> bool:
    """Whether a character of the body next to a part's edge character leaves the edge's word whole."""
    if not neighbour or _HAS_CJK.match(edge) or _HAS_CJK.match(neighbour):
        return True  # a Han or kana run is cut into bigrams apart from the words beside it
    return not (_in_word(neighbour) and _in_word(edge))


def _in_word(char: str) -> bool:
    """Whether unicode61 may take the character into a word: anything but a space, a control, a
    punctuation mark or a symbol. unicode61 knows characters as Unicode 6.1 did, which Python does
    not keep: it takes one that 6.1 did not have (the ruble sign, newer emoji, the bidi isolates)
    into a word, and some that were symbols once are letters since (the tone marks ˇ ˊ ˋ). So a
    character is apart from words only where Unicode 3.2 (the oldest table Python keeps) and
    Python's own both say so; tests/search/test_fulltext.py asks FTS5 about every one."""
    if char.isascii():
        return char.isalnum()
    return not all(
        _APART.match(category) for category in (unicodedata.ucd_3_2_0.category(char), unicodedata.category(char))
    )


def phrase(term: str, *, prefix: bool = False) -> str | None:
    """One term of a search as an FTS5 phrase: folded, cut as the index is, quoted (so that no
    character of it is FTS5 syntax). None when the term holds no word at all ("--", "!")."""
    folded = fold(term)
    if not _WORD.search(folded):
        return None
    # A run that ends the term's words is cut into bigrams without its final character: "问题" is
    # the bigram "问题", found in "台湾问题" (台湾 湾问 问题 题), and a lone character ending them,
    # punctuation after it or not ("总。"), is looked for as the start of a bigram. A run with a
    # word after it keeps its final character, as the index does, so that "台湾，美国" and
    # "美国CDC" are the phrases of the texts they are in.
    pieces, start, single = [], 0, False
    for run in _CJK_RUN.finditer(folded):
        followed = bool(_WORD_CHAR.search(folded, run.end()))
        pieces += [folded[start : run.start()], _bigrams(run.group(), final=followed)]
        start, single = run.end(), len(run.group()) == 1 and not followed
    text = "".join(pieces) + folded[start:]
    words = " ".join(text.split())
    quoted = '"' + words.replace('"', '""') + '"'
    return quoted + "*" if prefix or single else quoted
