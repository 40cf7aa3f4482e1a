"""CSS selectors compiled for lxml: how a rule table's selectors find what they name in an article.

Its own module because two stages use it: the cleaner applies the rules, and the config checks
them when it loads, naming the bad selector, rather than in a worker halfway through a build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias, cast

import cssselect
from cssselect import HTMLTranslator
from cssselect.parser import Attrib, Class, Hash
from cssselect.parser import Element as Element_
from lxml import etree

Element: TypeAlias = etree._Element


@dataclass(frozen=True)
class Selection:
    """CSS selectors (and attribute-name prefixes) compiled for lxml, split by what they look at.

    Handing lxml one XPath union of every selector walks the tree once per selector, forty times
    with the built-in rules. Instead, selectors that are a bare tag name are one tag filter in C;
    those that test an attribute of the element itself (.x, #y, [z]) are one XPath predicate
    checked only on elements that have attributes (few, in a scraped article); only the rest
    (combinators, pseudo-classes) are separate paths. About twice as fast as the union on the
    benchmark corpus. Prefixes are XPath variables, so user text needs no quoting.
    """

    names: tuple[str, ...]
    attributed: etree.XPath | None
    general: etree.XPath | None
    prefixes: dict[str, str]

    @classmethod
    def compile(cls, selectors: tuple[str, ...], attr_prefixes: tuple[str, ...] = ()) -> Selection:
        """Raises cssselect.SelectorError for a selector it cannot read (the config checks with this)."""
        translator = HTMLTranslator()
        names: list[str] = []
        tests: list[str] = []
        paths: list[str] = []
        for selector in (parsed for s in selectors for parsed in cssselect.parse(s)):
            if selector.pseudo_element is not None:
                raise cssselect.ExpressionError(f"::{selector.pseudo_element} is part of an element, not one")
            tree = selector.parsed_tree
            if isinstance(tree, Element_) and tree.namespace is None and tree.element not in (None, "*"):
                names.append(tree.element.lower())
            elif isinstance(tree, (Attrib, Class, Hash)):
                tests.append(translator.selector_to_xpath(selector, prefix="self::"))
            else:
                paths.append(translator.selector_to_xpath(selector))
        tests += [f"@*[starts-with(name(), $p{i})]" for i in range(len(attr_prefixes))]
        return cls(
            tuple(dict.fromkeys(names)),
            etree.XPath("descendant::*[@*][" + " or ".join(f"({t})" for t in tests) + "]") if tests else None,
            etree.XPath(" | ".join(paths)) if paths else None,
            {f"p{i}": prefix for i, prefix in enumerate(attr_prefixes)},
        )

    def __call__(self, body: Element) -> list[Element]:
        found = [el for el in body.iter(*self.names) if el is not body] if self.names else []
        if self.attributed is not None:
            found += elements(self.attributed(body, **self.prefixes))
        if self.general is not None:
            found += [el for el in elements(self.general(body, **self.prefixes)) if el is not body]
        return found


def elements(answer: object) -> list[Element]:
    """An XPath answer as what it is when the expression selects elements only.

    lxml's stubs type every XPath answer as the union of all XPath can return (a number, a string,
    a list of nodes); the expressions here say which one, so the answer is narrowed, not checked.
    """
    return cast(list[Element], answer)
