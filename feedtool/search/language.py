"""A search as a person types it -> an FTS5 MATCH expression, or a one-line reason it cannot be.

The language is the one search boxes have taught everybody: words (all must be found), "a
phrase", OR between alternatives, NOT or a leading minus for what must not be there, brackets,
and a trailing * for a word's prefix (`elect*`). AND may be written but need not be.

Why not hand the text to FTS5 as it is: FTS5's own syntax has column filters, NEAR, ^ and
bare-word rules that a typed query trips over ("U.S." is a syntax error there), and what comes
from the network must not be able to ask for more than a search. Every term reaches FTS5 as a
quoted string made by indexed.phrase, so the expression is built only of what this module
writes; and it is passed to SQLite as a bound parameter, never as SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from feedtool.derive.indexed import phrase
from feedtool.derive.topics import fold

MAX_QUERY = 500  # characters of a search
MAX_TERMS = 32
MAX_DEPTH = 8  # brackets within brackets

_TOKEN = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|"(?P<phrase>[^"]*)(?P<closed>")?|(?P<word>[^\s()"]+))')


class QueryError(ValueError):
    """A search that cannot be run, with the reason a person reads (one line): in English as a
    string, in a page's language by `said_in`.

    `message` is the English, with `%(name)s` for each of `values`, so that the pages' catalogues
    (publish/messages.py) can say it; a reason that quotes what came from outside whole (a
    parameter's value, RE2's own words) is made as a plain string, and is English everywhere."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.values = values

    def said_in(self, gettext: Callable[[str], str]) -> str:
        """The reason in the language `gettext` translates to (English where it has no translation)."""
        said = gettext(self.message)
        try:
            return said % self.values if self.values else said
        except (KeyError, TypeError, ValueError):  # an operator's catalogue that names other values
            return str(self)


def N_(message: str) -> str:
    """A reason marked for the catalogues (`pybabel extract` finds it), kept in English here. The
    pages' own marker is publish/messages.py's; the search does not depend on publishing."""
    return message


@dataclass(frozen=True)
class _Token:
    kind: str  # "open", "close", "phrase", "word"
    text: str


def _tokens(text: str) -> list[_Token]:
    """The search cut into brackets, phrases and words; QueryError for a quote or a bracket left
    open, or one closed that was never opened, said before anything else: `(台湾 OR` lacks a
    bracket, not a term after its OR."""
    found, at, depth = [], 0, 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None or m.end() == at:  # only spaces remain
            break
        kind = "phrase" if m.group("phrase") is not None else m.lastgroup or "word"
        if kind == "phrase" and m.group("closed") is None:
            raise QueryError(N_("a quote '\"' is not closed"))
        depth += {"open": 1, "close": -1}.get(kind, 0)
        if depth < 0:
            raise QueryError(N_("a closing bracket ')' has no opening one"))
        found.append(_Token(kind, m.group(kind) or ""))
        at = m.end()
    if depth > 0:
        raise QueryError(N_("a bracket '(' is not closed"))
    return found


@dataclass(frozen=True)
class Parsed:
    """A search compiled: the FTS5 expression, and the terms it looks for (folded), to mark in a snippet."""

    match: str
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Term:
    text: str  # folded
    prefix: bool


def to_match(text: str) -> str:
    """The FTS5 expression for a search; QueryError when it has nothing to look for or is malformed."""
    return parse(text).match


def parse(text: str) -> Parsed:
    """The search compiled (see Parsed); QueryError when it has nothing to look for or is malformed."""
    if len(text) > MAX_QUERY:
        reason = N_("the search is %(length)s characters long; at most %(most)s are taken")
        raise QueryError(reason, length=len(text), most=MAX_QUERY)
    if "\0" in text:
        raise QueryError(N_("the search holds a NUL character"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a command line's bytes that are not UTF-8, kept by Python as surrogates
        raise QueryError(N_("the search holds bytes that are not UTF-8 text")) from None
    tokens = _tokens(text)
    if sum(t.kind in ("word", "phrase") for t in tokens) > MAX_TERMS:
        raise QueryError(N_("the search has more than %(most)s terms"), most=MAX_TERMS)
    parser = _Parser(tokens)
    expression = parser.any_of(0)
    if parser.at < len(tokens):
        raise QueryError(N_("a closing bracket ')' has no opening one"))
    if expression is None:
        raise QueryError(N_("the search has no word to look for"))
    return Parsed(expression, tuple(parser.terms))


class _Parser:
    """Recursive descent over the tokens: any_of := all_of (OR all_of)*; all_of := [NOT] atom ..."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.terms: list[Term] = []  # those looked for, not those left out

    def _peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def any_of(self, depth: int) -> str | None:
        alternatives = [self.all_of(depth)]
        while (token := self._peek()) is not None and token.kind == "word" and token.text == "OR":
            self.at += 1
            alternatives.append(self.all_of(depth))
        kept = [a for a in alternatives if a is not None]
        if len(alternatives) == 1:
            return kept[0] if kept else None
        if len(kept) < len(alternatives):
            raise QueryError(N_("OR needs something to look for on both sides"))
        return "(" + " OR ".join(kept) + ")"

    def all_of(self, depth: int) -> str | None:
        wanted: list[str] = []
        unwanted: list[str] = []
        while (token := self._peek()) is not None and token.kind != "close":
            if token.kind == "word" and token.text == "OR":
                break
            self.at += 1
            if token.kind == "word" and token.text == "AND":
                continue
            negated = token.kind == "word" and (token.text == "NOT" or token.text.startswith("-"))
            if negated:
                token = self._negated(token)
                if token is None:
                    raise QueryError(N_("NOT needs a term after it"))
            atom = self._atom(token, depth, negated)
            if atom is not None:
                (unwanted if negated else wanted).append(atom)
        if not wanted:
            if unwanted:
                raise QueryError(N_("a search needs a term to look for, not only terms to leave out"))
            return None
        expression = wanted[0] if len(wanted) == 1 else "(" + " AND ".join(wanted) + ")"
        for atom in unwanted:  # FTS5's NOT is binary: what is wanted, NOT each unwanted in turn
            expression = f"({expression} NOT {atom})"
        return expression

    def _negated(self, token: _Token) -> _Token | None:
        if token.text != "NOT" and len(token.text) > 1:  # "-word"
            return _Token("word", token.text[1:])
        following = self._peek()
        if following is not None and following.kind != "close":
            self.at += 1
            return following
        return None

    def _atom(self, token: _Token, depth: int, negated: bool) -> str | None:
        if token.kind == "open":
            if depth >= MAX_DEPTH:
                raise QueryError(N_("brackets are nested more than %(most)s deep"), most=MAX_DEPTH)
            inner = self.any_of(depth + 1)
            closing = self._peek()
            if closing is None or closing.kind != "close":
                raise QueryError(N_("a bracket '(' is not closed"))
            self.at += 1
            return inner
        if token.kind == "close":
            raise QueryError(N_("a closing bracket ')' has no opening one"))
        text, prefix = token.text, False
        if token.kind == "word":
            prefix = text.endswith("*") and len(text.rstrip("*")) > 0
            text = text.rstrip("*")
        found = phrase(text, prefix=prefix)
        if found is not None and not negated:
            self.terms.append(Term(fold(text.strip()), prefix))
        return found
