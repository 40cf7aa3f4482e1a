"""Whether a publish writes nothing, plans by change, or plans every document: one pure decision.

What the store says before a publish is read at once, in one snapshot (`PublishState`, read by
publish/run.py), so that a build committing meanwhile cannot give the decision facts from two
moments. Every fact the decision weighs is named here (`PublishFacts`), made from that state by a
pure function, and the decision is a function of them alone, so that each way a publish can go
is one branch with its test (tests/publish/test_decision.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from feedtool.store import Head, Placed

PublishMode = Literal["nothing", "by_change", "whole"]


@dataclass(frozen=True, kw_only=True)
class PublishState:
    """What the store says of the output before a publish, read in one snapshot."""

    documents: Mapping[str, tuple[str, int, int]]  # path -> (fingerprint, size, mtime_ns) as written
    generation: str  # the store's change counter
    marker: str | None  # what the output was last published from, whole ("" while a publish runs)
    config: str | None  # the digest of the config the output was last published with, whole
    newest: str | None  # the date empty documents had in the last complete publish
    changes: Mapping[str, Placed | None] | None  # entry -> where it was before; None: the log cannot say
    placed: Mapping[str, Placed]  # where the changed entries are now (those still stored)
    heads: Mapping[str, Head]  # feed folder -> its newest entries and size, as last published
    outlets: Mapping[str, tuple[str, str, str]]  # slug -> (name, homepage, language), as stored
    stories: Mapping[str, str | None] | None = field(default_factory=dict)  # story -> its date before (None:
    # new), or None when the log cannot say
    dated: Mapping[str, str] = field(default_factory=dict)  # the changed stories' dates now (those that stand)


def facts_of(state: PublishState, *, published_as: str, shaped_by: str, intact: bool, feeds: list[str]) -> PublishFacts:
    """The facts a decision weighs, from the state read and what this publish would be: the marker
    it would leave (`published_as`), the digest of its config, whether every file is as written,
    and the folders of the feeds it would publish."""
    changes = state.changes
    return PublishFacts(
        marked=state.marker == published_as,
        finished=state.marker != "",
        intact=intact,
        same_config=state.config == shaped_by,
        logged=changes is not None and state.stories is not None,
        feeds_known=bool(state.newest) and all(folder in state.heads for folder in feeds),
        entries_kept=changes is not None and len(state.placed) == len(changes),
    )


@dataclass(frozen=True)
class PublishFacts:
    """What the store and the output say before a publish."""

    marked: bool  # the store and the config are as they were when everything was last published
    finished: bool  # the last publish ran to its end: it was not killed or failed midway
    intact: bool  # every published file is still the one written then (same size and mtime)
    same_config: bool  # the config is the one the output was last published with, whole
    logged: bool  # the logs of changes say where every change was (entries', stories'; not overflowed)
    feeds_known: bool  # every feed was published before: none is new (an outlet's first entry)
    entries_kept: bool  # every entry the log names is still in the store


def decide(facts: PublishFacts) -> PublishMode:
    """Nothing when nothing changed; by change when the log can say what the changes reached, over
    an output that is as it was published, from the same config; otherwise every document.

    A publish stopped midway may have written documents a later plan by change knows nothing of:
    parts of a layout it never recorded, in months the next run's changes do not reach. So the run
    after it plans every document, and removes every recorded one it does not plan (publish/run.py
    records each file before it is first written, for this)."""
    if facts.marked and facts.intact:
        return "nothing"
    by_change = (facts.finished, facts.intact, facts.same_config, facts.logged, facts.feeds_known, facts.entries_kept)
    if all(by_change):
        return "by_change"
    return "whole"
