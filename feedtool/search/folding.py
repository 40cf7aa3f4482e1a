"""Simplified and traditional Chinese folded in a filter's regular expression (`fold=1`).

RSSHub's `filter` finds a word in the script it is written in, so `filter=臺灣` misses an article
that writes 台湾. With `fold=1` each Chinese character written in the expression stands for every
character that folds to the same one, by the table topics and the full-text index fold by
(OpenCC's traditional to simplified): `臺灣` is matched as `[台檯臺颱][湾灣]`.

The expression is rewritten, not the texts: an answer tries up to 5,000 entries, and converting
their texts with OpenCC would take seconds where RE2 over them takes milliseconds. The rewriting
reads the expression as RE2 does: inside a character class a character's forms join the class
(`[^臺]` leaves out every form), a range keeps its ends as written (`[一-龥]` is already every
character between), and escapes (`\\p{Han}`, `\\x{81FA}`, `\\Q…\\E`) and group names stay as they are.
"""

from __future__ import annotations

import threading

# Where Chinese characters are in Unicode: the unified ideographs and their extensions. Folding
# looks each of them up once. Not the compatibility ideographs (U+F900…): each is another code for
# a unified one, which Unicode normalisation makes of it, and they would double many classes.
HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0x20000, 0x2A6DF), (0x2A700, 0x2EBEF), (0x30000, 0x3134F))

_lock = threading.Lock()
_table: dict[str, str] = {}


def forms(char: str) -> str:
    """Every character that folds as `char` does, itself among them, in code point order; `char`
    alone when it has no other form (or is not Chinese)."""
    return _forms().get(char, char)


def _forms() -> dict[str, str]:
    """The table, made on the first use in this process: 25 ms of OpenCC over every Chinese
    character, one converter of its own (OpenCC's may not be shared between threads)."""
    if not _table:
        with _lock:
            if not _table:
                import opencc

                chars = [chr(code) for first, last in HAN for code in range(first, last + 1)]
                folded = str(opencc.OpenCC("t2s").convert("\n".join(chars))).split("\n")
                groups: dict[str, set[str]] = {}
                for char, simple in zip(chars, folded, strict=True):
                    if simple != char and len(simple) == 1:
                        groups.setdefault(simple, {simple}).add(char)
                _table.update({c: "".join(sorted(group)) for group in groups.values() for c in group})
    return _table


def folded(pattern: str) -> str:
    """The expression with each Chinese character in it standing for all of its forms."""
    table = _forms()
    out: list[str] = []
    i, n = 0, len(pattern)
    opened = -1  # where the open character class's members begin, or -1 outside one
    while i < n:
        char = pattern[i]
        if char == "\\":
            end = _escape_end(pattern, i)
        elif opened >= 0:
            end = i + 1
            if char == "]" and i > opened:
                opened = -1
            elif pattern.startswith("[:", i) and (close := pattern.find(":]", i + 2)) != -1:
                end = close + 2  # [:alpha:]
            elif char in table and not _range_end(pattern, i, opened):
                out.append(table[char])
                i = end
                continue
        elif char == "[":
            end = i + 2 if pattern.startswith("[^", i) else i + 1
            opened = end  # a "]" first in a class is one of its members
        elif pattern.startswith(("(?P<", "(?<"), i) and not pattern.startswith(("(?<=", "(?<!"), i):
            close = pattern.find(">", i)
            end = close + 1 if close != -1 else i + 1  # a group's name
        elif char in table:
            out.append(f"[{table[char]}]")
            i += 1
            continue
        else:
            end = i + 1
        out.append(pattern[i:end])
        i = end
    return "".join(out)


def _escape_end(pattern: str, i: int) -> int:
    """Where the escape beginning at `i` (a backslash) ends: `\\p{…}`, `\\x{…}`, `\\Q…\\E`, or
    the backslash and one character."""
    kind = pattern[i + 1 : i + 2]
    if kind in ("p", "P", "x") and pattern.startswith("{", i + 2) and (close := pattern.find("}", i + 3)) != -1:
        return close + 1
    if kind == "Q":
        close = pattern.find("\\E", i + 2)
        return close + 2 if close != -1 else len(pattern)
    return min(i + 2, len(pattern))


def _range_end(pattern: str, i: int, opened: int) -> bool:
    """Whether the class member at `i` is one end of a range (`一-龥`)."""
    before = i - 1 > opened and pattern[i - 1] == "-"
    after = pattern.startswith("-", i + 1) and i + 2 < len(pattern) and pattern[i + 2] != "]"
    return before or after
